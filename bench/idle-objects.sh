#!/usr/bin/env bash
# What one idle connection keeps on the gateway's heap, class by class:
#   bench/idle-objects.sh [COUNT] [OUTDIR]
# Starts a gateway on 127.0.0.1:7600, takes a class histogram (`jcmd PID GC.class_histogram`, which
# collects first), opens COUNT idle sessions with `bench connections`, takes another 8 s after the
# last one logged in (idle connections give back what they need not keep within a second or two),
# and prints the difference divided by COUNT: bytes and objects per connection for each class.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COUNT=${1:-19000}
OUT=${2:-$ROOT/bench/results}
mkdir -p "$OUT"
cd "$ROOT"
. "$ROOT/.mvn/find-jdk25.sh"
. "$ROOT/bench/peers-lib.sh"
JCMD="$JAVA_HOME/bin/jcmd"

env LONGLINK_LIFECYCLE_LOG=WARN ./longlink server --port 7600 --admin-port -1 >"$OUT/idle-objects-gateway.log" 2>&1 &
GW=$!
PIDS+=("$GW")
wait_port 7600
"$JCMD" "$GW" GC.class_histogram >"$OUT/histogram-0.txt"
./longlink bench connections --server 127.0.0.1:7600 --count "$COUNT" --rate 4000 --hold 30s --server-pid "$GW" \
    --out "$OUT/idle-objects.json" >"$OUT/idle-objects-bench.log" 2>&1 &
BENCH=$!
for _ in $(seq 1 1200); do grep -q "$COUNT/$COUNT" "$OUT/idle-objects-bench.log" && break; sleep 0.5; done
sleep 8
"$JCMD" "$GW" GC.class_histogram >"$OUT/histogram-$COUNT.txt"
wait "$BENCH"
grep 'connections (' "$OUT/idle-objects-bench.log"
python3 - "$OUT/histogram-0.txt" "$OUT/histogram-$COUNT.txt" "$COUNT" <<'PY'
import re, sys
def load(f):
    d = {}
    for line in open(f):
        m = re.match(r'\s*\d+:\s+(\d+)\s+(\d+)\s+(\S+)', line)
        if m:
            d[m.group(3)] = (int(m.group(1)), int(m.group(2)))
    return d
before, after, n = load(sys.argv[1]), load(sys.argv[2]), int(sys.argv[3])
rows = sorted(((after.get(k, (0, 0))[1] - before.get(k, (0, 0))[1], after.get(k, (0, 0))[0] - before.get(k, (0, 0))[0], k)
               for k in set(before) | set(after)), reverse=True)
print("objects per connection: %.1f B (class histogram at %d minus at 0, / %d)" % (sum(r[0] for r in rows) / n, n, n))
for size, count, name in rows:
    if size / n >= 4:
        print("%8.1f B %6.2f objects  %s" % (size / n, count / n, name))
PY
