#!/usr/bin/env bash
# Message flow through longlink and its peers, same load generator, same machine, one run:
#   bench/compare-flow.sh [DURATION] [OUTDIR]
# Starts each server on 127.0.0.1 (longlink in its own JVM; nats-server; mosquitto), then runs
# the open-loop flow benches against it with 100 B payloads: one-to-one at 10,000 msg/s (latency),
# 100,000, 1,000,000 and 1,200,000 msg/s offered (throughput), and fan-out 1 -> 1,000 at 1,000 msg/s. Each
# server keeps its own guarantee: longlink numbers, acknowledges and replays; NATS core is at most
# once; MQTT runs at QoS 1 (the receiver acknowledges each message). The receivers count lost,
# duplicated and reordered messages, and each case reports the server's and the load generator's CPU
# (cores) while measured. Writes OUTDIR/flow-<server>-<case>.json and prints one table.
# nats-server and mosquitto are Debian packages, installed when missing (needs root).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${1:-6s}
OUT=${2:-$ROOT/bench/results}
mkdir -p "$OUT"
cd "$ROOT"

. "$ROOT/bench/peers-lib.sh"

# flows NAME WIRE PORT PID: every case against the server listening on PORT (process PID: its CPU).
flows() {
  local name=$1 wire=$2 port=$3 pid=$4
  # Warm-up, not measured: a JVM server compiles its hot paths in the first seconds of traffic.
  timeout 120 ./longlink bench throughput --wire "$wire" --server "127.0.0.1:$port" --rate 200000 --duration 6s \
      >/dev/null 2>&1 || true
  for rate in 10000 100000 1000000 1200000; do
    timeout 300 ./longlink bench throughput --wire "$wire" --server "127.0.0.1:$port" --rate "$rate" \
        --duration "$DURATION" --server-pid "$pid" --out "$OUT/flow-$name-$rate.json" | grep -v '^wrote' || true
  done
  # The 1,000 receivers on two client threads; longlink's acknowledge as the SDK's ackBatch(1000, 50ms)
  # (ignored by the other wires: NATS core has no acks, MQTT QoS 1 acknowledges every message).
  timeout 300 ./longlink bench fanout --wire "$wire" --server "127.0.0.1:$port" --subscribers 1000 --rate 1000 \
      --client-threads 2 --ack-batch 1000 --ack-delay 50ms \
      --duration "$DURATION" --server-pid "$pid" --out "$OUT/flow-$name-fanout.json" | grep -v '^wrote' || true
}

# serve NAME WIRE PORT -- COMMAND...: start the server, run the flows, stop it.
serve() {
  local name=$1 wire=$2 port=$3
  shift 4
  "$@" >"$OUT/flow-$name.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  wait_port "$port"
  flows "$name" "$wire" "$port" "$pid"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cat >"$OUT/flow-nats.conf" <<CONF
listen: 127.0.0.1:4334
CONF
cat >"$OUT/flow-mosquitto.conf" <<CONF
listener 1885 127.0.0.1
allow_anonymous true
CONF
NOLIMITS="--max-inbound-messages-per-second 0 --max-inbound-bytes-per-second 0"
serve longlink LONGLINK 7610 -- env LONGLINK_LIFECYCLE_LOG=WARN ./longlink server --port 7610 --admin-port -1 $NOLIMITS
serve nats-server NATS 4334 -- nats-server -c "$OUT/flow-nats.conf"
serve mosquitto MQTT 1885 -- mosquitto -c "$OUT/flow-mosquitto.conf"

printf '\n%-12s %-18s %14s %8s %6s %10s %10s %10s %9s %9s\n' server case delivered/s lost dup reordered "p50 ms" "p99 ms" \
  "srv cpu" "gen cpu"
for name in longlink nats-server mosquitto; do
  for c in 10000 100000 1000000 1200000 fanout; do
    f="$OUT/flow-$name-$c.json"
    label=$([ "$c" = fanout ] && echo "1->1000 @1000/s" || echo "1->1 @$c/s")
    [ -f "$f" ] || { printf '%-12s %-18s (no result)\n' "$name" "$label"; continue; }
    get() { grep -o "\"$1\":[-0-9.]*" "$f" | head -1 | cut -d: -f2; }
    printf '%-12s %-18s %14s %8s %6s %10s %10s %10s %9s %9s\n' "$name" "$label" "$(get deliveries_per_second)" \
      "$(get lost)" "$(get duplicated)" "$(get reordered)" "$(get p50)" "$(get p99)" "$(get server_cpu_cores)" \
      "$(get generator_cpu_cores)"
  done
done
