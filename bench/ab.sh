#!/usr/bin/env bash
# usage: bench/ab.sh BASE_JAR NEW_JAR OUTDIR PAIRS -- runs two builds through the same benches, alternating
# (base,new; new,base; ...): idle-connection heap slope, a million in-memory sessions, throughput at
# 10 k/s and 1 M/s, fan-out. Results as JSON per run in OUTDIR; compare within pairs (docs/BENCHMARKS.md).
set -u
BASE=$1; NEW=$2; OUT=$3; PAIRS=$4; mkdir -p "$OUT"
J=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
[ -x "$J" ] || J=$(ls -d /usr/lib/jvm/*25*/bin/java | head -1)
FLAGS=(--enable-native-access=ALL-UNNAMED -XX:+UseCompactObjectHeaders -XX:MaxTenuringThreshold=1)
run() { # jar label pair
  local jar=$1 l=$2 p=$3
  "$J" "${FLAGS[@]}" -jar "$jar" server --port 7600 --admin-port -1 >"$OUT/$l-$p-server.log" 2>&1 &
  local spid=$!
  for i in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/7600) 2>/dev/null && break; sleep 0.2; done
  "$J" "${FLAGS[@]}" -jar "$jar" bench connections --server 127.0.0.1:7600 --count 19000 --rate 4000 --hold 20s \
      --server-pid $spid --out "$OUT/$l-$p-conn.json" >"$OUT/$l-$p-conn.log" 2>&1
  kill $spid; wait $spid 2>/dev/null
  "$J" "${FLAGS[@]}" -Xmx10g -jar "$jar" bench sessions --count 1000000 --out "$OUT/$l-$p-sessions.json" >"$OUT/$l-$p-sessions.log" 2>&1
  "$J" "${FLAGS[@]}" -Xms1g -jar "$jar" bench throughput --rate 10000 --duration 6s --out "$OUT/$l-$p-tp10k.json" >"$OUT/$l-$p-tp10k.log" 2>&1
  "$J" "${FLAGS[@]}" -Xms1g -jar "$jar" bench throughput --rate 1000000 --duration 6s --out "$OUT/$l-$p-tp1m.json" >"$OUT/$l-$p-tp1m.log" 2>&1
  "$J" "${FLAGS[@]}" -Xms1g -jar "$jar" bench fanout --subscribers 1000 --rate 1000 --duration 6s --out "$OUT/$l-$p-fanout.json" >"$OUT/$l-$p-fanout.log" 2>&1
}
for p in $(seq 1 $PAIRS); do
  if [ $((p % 2)) = 1 ]; then run "$BASE" base $p; run "$NEW" new $p
  else run "$NEW" new $p; run "$BASE" base $p; fi
  echo "pair $p done $(date)" >> "$OUT/progress"
done
echo done >> "$OUT/progress"
