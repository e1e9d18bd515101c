#!/usr/bin/env bash
# Low-rate latency, longlink and nats-server side by side, measured in alternating runs:
#   bench/alternate-flow.sh [RUNS] [RATE] [-- GATEWAY-OPTIONS...]
# On a shared or virtual machine the p99 of a 10 k msg/s flow drifts by half a millisecond from one
# half hour to the next; only runs taken in turn compare. Starts the gateway (in its own JVM, warmed
# by one 200 k msg/s run) and nats-server, then RUNS times: `bench throughput` at RATE msg/s against
# longlink, then the same against NATS; each line gives p99, p99.9 and the server's CPU (cores).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${1:-4}
RATE=${2:-10000}
shift $(( $# < 2 ? $# : 2 ))
[ "${1:-}" = "--" ] && shift
cd "$ROOT"

. "$ROOT/bench/peers-lib.sh"

CONF=$(mktemp)
echo "listen: 127.0.0.1:4335" >"$CONF"
env LONGLINK_LIFECYCLE_LOG=WARN ./longlink server --port 7612 --admin-port -1 \
  --max-inbound-messages-per-second 0 --max-inbound-bytes-per-second 0 "$@" >/dev/null 2>&1 &
GW=$!
PIDS+=("$GW")
nats-server -c "$CONF" >/dev/null 2>&1 &
NATS=$!
PIDS+=("$NATS")
wait_port 7612
wait_port 4335
timeout 120 ./longlink bench throughput --server 127.0.0.1:7612 --rate 200000 --duration 6s >/dev/null 2>&1 || true

run() { # NAME PID ARGS...
  local name=$1 pid=$2
  shift 2
  printf '%-9s %s\n' "$name" "$(timeout 120 ./longlink bench throughput "$@" --rate "$RATE" --duration 8s \
    --server-pid "$pid" 2>&1 | grep -o 'lost [0-9]*\|p50 [0-9.]* ms\|p99 [0-9.]* ms, p99.9 [0-9.]* ms\|server [0-9.]* cores' \
    | tr '\n' ' ')"
}
for _ in $(seq "$RUNS"); do
  run longlink "$GW" --server 127.0.0.1:7612
  run nats "$NATS" --wire NATS --server 127.0.0.1:4335
done
rm -f "$CONF"
