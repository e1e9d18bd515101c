#!/usr/bin/env bash
# Idle-connection cost of longlink against its peers, same load generator, same machine, one run:
#   bench/compare-peers.sh [COUNT] [HOLD] [OUTDIR]
# For each server (longlink, a bare Netty server, nats-server, mosquitto) it starts the server on
# 127.0.0.1, opens COUNT idle connections speaking the server's protocol (heartbeat every 30 s),
# holds them for HOLD, and records RSS (and for JVMs live heap) at 0, COUNT/2 and COUNT plus CPU
# while holding. Writes OUTDIR/<server>.json and .html and prints one table.
# nats-server and mosquitto are Debian packages, installed when missing (needs root).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COUNT=${1:-19000}
HOLD=${2:-30s}
OUT=${3:-$ROOT/bench/results}
mkdir -p "$OUT"
cd "$ROOT"

. "$ROOT/bench/peers-lib.sh"

# run NAME PROTOCOL PORT RATE -- COMMAND...: start the server, measure, stop it.
run() {
  local name=$1 protocol=$2 port=$3 rate=$4
  shift 5
  "$@" >"$OUT/$name.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  wait_port "$port"
  # The measured process is the server itself (the launcher execs java; nats/mosquitto run directly).
  ./longlink bench connections --protocol "$protocol" --server "127.0.0.1:$port" --count "$COUNT" \
      --rate "$rate" --hold "$HOLD" --server-pid "$pid" --out "$OUT/$name.json" --plot "$OUT/$name.html" \
    | tail -n 5
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cat >"$OUT/nats.conf" <<CONF
listen: 127.0.0.1:4333
max_connections: 1000000
ping_interval: "2m"
CONF
cat >"$OUT/mosquitto.conf" <<CONF
listener 1884 127.0.0.1
allow_anonymous true
max_connections -1
CONF

# JVMs get a fixed, pre-touched heap, so their RSS slope is what lives outside the heap and the
# live-heap slope (after a forced GC) is added to it; for the others RSS is all there is.
JVM="LONGLINK_JAVA_OPTS=-Xms2g -Xmx2g -XX:+AlwaysPreTouch"
run longlink LONGLINK 7600 4000 -- env "$JVM" ./longlink server --port 7600 --admin-port -1
run bare-netty TCP 7700 4000 -- env "$JVM" ./longlink bench bare-server --port 7700
run nats-server NATS 4333 4000 -- nats-server -c "$OUT/nats.conf"
# mosquitto listens with a backlog of 100: ramp gently.
run mosquitto MQTT 1884 1000 -- mosquitto -c "$OUT/mosquitto.conf"

printf '\n%-12s %9s %7s %12s %12s %12s %11s %10s\n' server connected failed "memory B/c" "RSS B/c" "heap B/c" "CPU % hold" "login p99"
printf '%s\n' "(memory per connection = RSS slope + live-heap slope for the JVMs, RSS slope otherwise; N/2..N)"
for name in longlink bare-netty nats-server mosquitto; do
  f="$OUT/$name.json"
  [ -f "$f" ] || { printf '%-12s (no result)\n' "$name"; continue; }
  get() { grep -o "\"$1\":[-0-9.]*" "$f" | head -1 | cut -d: -f2; }
  p99=$(grep -o '"p99":[0-9.]*' "$f" | cut -d: -f2)
  heap=$(get heap_bytes_per_connection)
  rss=$(get rss_bytes_per_connection)
  mem=$(awk -v r="$rss" -v h="$heap" 'BEGIN { printf "%.0f", r + (h > 0 ? h : 0) }')
  [ "${heap%%.*}" = "-1" ] && heap="-"
  printf '%-12s %9s %7s %12s %12s %12s %11s %10s\n' "$name" "$(get connected)" "$(get failed)" "$mem" \
    "$rss" "$heap" "$(get server_cpu_percent)" "$p99 ms"
done
