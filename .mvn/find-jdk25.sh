# Sourced by ./mvnw, ./longlink and .ci/run: selects a JDK >= 25 for Maven, javac and the tests.
# Order: $JAVA_HOME if it is 25+, then Temurin 25 in Debian's JVM folder, then any other 25+ there.
longlink_find_jdk25() {
  local d v
  for d in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-2[5-9]* \
           /usr/lib/jvm/java-2[5-9]-openjdk-amd64 /usr/lib/jvm/jdk-2[5-9]*; do
    [ -n "$d" ] && [ -x "$d/bin/javac" ] || continue
    v=$("$d/bin/java" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/{print $2}')
    [ "${v%%.*}" -ge 25 ] 2>/dev/null && { echo "$d"; return 0; }
  done
  return 1
}
if ! LONGLINK_JDK=$(longlink_find_jdk25); then
  echo "longlink needs a JDK 25 or newer to build and run. None found at \$JAVA_HOME (${JAVA_HOME:-unset})" >&2
  echo "nor under /usr/lib/jvm. Install Temurin 25 (e.g. /usr/lib/jvm/temurin-25-jdk-amd64) or point JAVA_HOME at one." >&2
  return 1 2>/dev/null || exit 1
fi
export JAVA_HOME="$LONGLINK_JDK"
export PATH="$JAVA_HOME/bin:$PATH"
case " ${MAVEN_OPTS:-} " in
  *" --sun-misc-unsafe-memory-access=allow "*) ;;
  *) export MAVEN_OPTS="${MAVEN_OPTS:+$MAVEN_OPTS }--sun-misc-unsafe-memory-access=allow" ;;
esac
unset LONGLINK_JDK
