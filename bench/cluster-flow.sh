#!/usr/bin/env bash
# The cluster message paths on Redis, with what each costs Redis:
#   bench/cluster-flow.sh [RUNS] [RATE] [GATEWAY_JAR...]
# Starts a Redis and, for each GATEWAY_JAR (default: this checkout's), two cluster nodes in their own
# JVMs, then RUNS times, jars alternating within each run: 1 -> 1 at RATE msg/s on one node and across
# the nodes; one user's 3 devices spread over both; 1 -> 1 at each of HIGH_RATES (default 50000);
# fan-out 1 -> 1,000 subscribers spread over both nodes at FANOUT_RATE msg/s (default 100). The load
# generator is always this checkout's. Each line: deliveries/s, lost (not delivered when the bench
# ended: a flow that falls behind), p50, p99, the sending node's CPU, Redis's CPU per 1,000 deliveries.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${1:-3}
RATE=${2:-10000}
shift $(( $# < 2 ? $# : 2 ))
JARS=("$@")
cd "$ROOT"
command -v redis-server >/dev/null || { echo "cluster-flow: redis-server missing (apt-get install -y redis-server)" >&2; exit 1; }
command -v redis-cli >/dev/null || { echo "cluster-flow: redis-cli missing (apt-get install -y redis-tools)" >&2; exit 1; }
./longlink --version >/dev/null # builds the jar once, before anything is timed
[ ${#JARS[@]} -gt 0 ] || JARS=("$ROOT/longlink-app/target/longlink.jar")
. "$ROOT/.mvn/find-jdk25.sh"

PIDS=()
trap 'for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done' EXIT
wait_port() { for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
REDIS_PORT=16392
redis-server --port $REDIS_PORT --save "" --appendonly no >/dev/null 2>&1 &
PIDS+=("$!")
wait_port $REDIS_PORT
redis_cpu() { # seconds of CPU the Redis main thread has used
  redis-cli -p $REDIS_PORT info cpu | tr -d '\r' | awk -F: '/^used_cpu_(user|sys)_main_thread:/ {s += $2} END {printf "%.3f", s}'
}

L=(--admin-port -1 --ws-port -1 --max-inbound-messages-per-second 0 --max-inbound-bytes-per-second 0)
NODE_PIDS=()
PORT=7650
for j in "${!JARS[@]}"; do
  for n in 1 2; do
    env LONGLINK_LIFECYCLE_LOG=WARN "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -XX:+UseCompactObjectHeaders \
      -XX:MaxTenuringThreshold=1 -jar "${JARS[$j]}" server --port $((PORT + 2 * j + n)) "${L[@]}" \
      --redis redis://127.0.0.1:$REDIS_PORT --cluster-name "flow$j" --node-id "n$n" >/dev/null 2>&1 &
    PIDS+=("$!")
    NODE_PIDS+=("$!")
  done
done
for j in "${!JARS[@]}"; do
  wait_port $((PORT + 2 * j + 1))
  wait_port $((PORT + 2 * j + 2))
  # warm the message paths (JIT) before anything is measured
  timeout 120 ./longlink bench throughput --server 127.0.0.1:$((PORT + 2 * j + 1)) --rate 20000 --duration 4s >/dev/null 2>&1 || true
  timeout 120 ./longlink bench throughput --server 127.0.0.1:$((PORT + 2 * j + 1)) \
    --receivers-on 127.0.0.1:$((PORT + 2 * j + 2)) --rate 20000 --duration 4s >/dev/null 2>&1 || true
done

run() { # NAME JAR_INDEX RATE BENCH ARGS...
  local name=$1 j=$2 rate=$3 bench=$4
  shift 4
  local a="127.0.0.1:$((PORT + 2 * j + 1))" b="127.0.0.1:$((PORT + 2 * j + 2))"
  local args=("${@//@A/$a}")
  args=("${args[@]//@B/$b}")
  local before out after
  before=$(redis_cpu)
  out=$(timeout 180 ./longlink bench "$bench" --server "$a" "${args[@]}" --rate "$rate" --duration 8s --warmup 2s \
    --server-pid "${NODE_PIDS[$((2 * j))]}" 2>&1 || true)
  after=$(redis_cpu)
  local delivered
  delivered=$(grep -o 'delivered [0-9,]* of' <<<"$out" | head -1 | tr -dc 0-9)
  printf '%-8s %-26s %s redis %s ms/1k\n' "jar$j" "$name" \
    "$(grep -o '([0-9,]* deliveries/s)\|lost [0-9]*\|p50 [0-9.]* ms\|p99 [0-9.]* ms\|server [0-9.]* cores' <<<"$out" | tr '\n' ' ')" \
    "$(awk -v b="$before" -v a="$after" -v n="${delivered:-0}" 'BEGIN { if (n > 0) printf "%.1f", (a - b) * 1e6 / n; else print "-" }')"
}
for _ in $(seq "$RUNS"); do
  for j in "${!JARS[@]}"; do
    run "same node 1->1" "$j" "$RATE" throughput
    run "cross node 1->1" "$j" "$RATE" throughput --receivers-on @B
    run "user x3 spread" "$j" "$RATE" user --devices 3 --receivers-on @A,@B
    for r in ${HIGH_RATES:-50000}; do
      run "same node 1->1" "$j" "$r" throughput
      run "cross node 1->1" "$j" "$r" throughput --receivers-on @B
    done
    run "fan-out 1->1000 spread" "$j" "${FANOUT_RATE:-100}" fanout --subscribers 1000 --receivers-on @A,@B
  done
done
