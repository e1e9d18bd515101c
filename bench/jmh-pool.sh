#!/usr/bin/env bash
# Acquire/release under contention, longlink's pool vs Apache Commons Pool 2, at 1, 8 and 64 threads,
# in one run on this machine. Usage: bench/jmh-pool.sh [OUT_DIR]   (results: OUT_DIR/pool-t{1,8,64}.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-target/jmh}"
mkdir -p "$out"
out=$(cd "$out" && pwd)
./mvnw -q -B install -DskipTests -DskipITs -pl longlink-bench -am
./mvnw -q -B dependency:build-classpath -pl longlink-bench -Dmdep.includeScope=test -Dmdep.outputFile="$out/cp.txt"
. ./.mvn/find-jdk25.sh
java_bin="$JAVA_HOME/bin/java"
cp="longlink-bench/target/test-classes:longlink-bench/target/classes:$(cat "$out/cp.txt")"
for t in 1 8 64; do
  "$java_bin" --sun-misc-unsafe-memory-access=allow -cp "$cp" org.openjdk.jmh.Main PoolContentionBenchmark -t "$t" \
    -rf json -rff "$out/pool-t$t.json" | tee "$out/pool-t$t.txt" | grep -E "^(Benchmark|PoolContention)"
done
