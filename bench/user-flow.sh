#!/usr/bin/env bash
# User-addressed fan-out next to one-to-one, single node and cluster, in alternating runs:
#   bench/user-flow.sh [RUNS] [RATE] [DEVICES]
# Starts a Redis, two cluster nodes and a single node (each its own JVM, warmed), then RUNS times:
# `bench throughput` (1 -> 1) and `bench user` (1 -> one user's DEVICES devices) at RATE msg/s on the
# single node, on one cluster node, and with the devices spread over both nodes. Each line: delivered/s,
# lost, p50, p99, p99.9 and the CPU of the node the sender is on (cores of the machine's).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${1:-3}
RATE=${2:-10000}
DEVICES=${3:-3}
cd "$ROOT"
command -v redis-server >/dev/null || { echo "user-flow: redis-server missing (apt-get install -y redis-server)" >&2; exit 1; }
./longlink --version >/dev/null # builds the jar once, before anything is timed

PIDS=()
trap 'for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done' EXIT
wait_port() { for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

redis-server --port 16390 --save "" --appendonly no >/dev/null 2>&1 &
PIDS+=("$!")
wait_port 16390
L=(--admin-port -1 --ws-port -1 --max-inbound-messages-per-second 0 --max-inbound-bytes-per-second 0)
start() { # PORT ARGS...
  local port=$1
  shift
  env LONGLINK_LIFECYCLE_LOG=WARN ./longlink server --port "$port" "${L[@]}" "$@" >/dev/null 2>&1 &
  PIDS+=("$!")
  LAST=$!
  wait_port "$port"
}
start 7631
SINGLE=$LAST
start 7632 --redis redis://127.0.0.1:16390 --cluster-name userflow --node-id n1
N1=$LAST
start 7633 --redis redis://127.0.0.1:16390 --cluster-name userflow --node-id n2
for s in 7631 7632; do # warm the message paths (JIT) before anything is measured
  timeout 120 ./longlink bench user --server 127.0.0.1:$s --devices "$DEVICES" --rate 20000 --duration 4s >/dev/null 2>&1 || true
  timeout 120 ./longlink bench throughput --server 127.0.0.1:$s --rate 20000 --duration 4s >/dev/null 2>&1 || true
done

run() { # NAME PID BENCH ARGS...
  local name=$1 pid=$2 bench=$3
  shift 3
  printf '%-30s %s\n' "$name" "$(timeout 180 ./longlink bench "$bench" "$@" --rate "$RATE" --duration 8s --warmup 2s \
    --server-pid "$pid" 2>&1 | grep -o '([0-9,]* deliveries/s)\|lost [0-9]*\|p50 [0-9.]* ms\|p99 [0-9.]* ms, p99.9 [0-9.]* ms\|server [0-9.]* cores' \
    | tr '\n' ' ')"
}
for _ in $(seq "$RUNS"); do
  run "single 1->1" "$SINGLE" throughput --server 127.0.0.1:7631
  run "single user x$DEVICES" "$SINGLE" user --server 127.0.0.1:7631 --devices "$DEVICES"
  run "cluster same node 1->1" "$N1" throughput --server 127.0.0.1:7632
  run "cluster same node user x$DEVICES" "$N1" user --server 127.0.0.1:7632 --devices "$DEVICES"
  run "cluster spread user x$DEVICES" "$N1" user --server 127.0.0.1:7632 --devices "$DEVICES" \
    --receivers-on 127.0.0.1:7632,127.0.0.1:7633
done
