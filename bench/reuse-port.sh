#!/usr/bin/env bash
# One gateway process against two sharing one port (--reuse-port), the same idle-connection load:
#   bench/reuse-port.sh [COUNT]
# Each process is capped at 20,000 open files here, so one process stops short of COUNT=30000; two on
# one port split it (the kernel hashes each new connection to one of them). Prints connections and RSS
# per process while held, then the load generator's summary.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
./longlink --version >/dev/null # builds the jar once
COUNT=${1:-30000}
L=(--ws-port -1 --heartbeat-interval 30s)
wait_port() { for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
stats() { curl -s 127.0.0.1:$1/v1/stats | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("connections"))'; }
rss() { awk '/VmRSS/ {print $2}' /proc/$1/status; }
echo "== two processes, --reuse-port, $COUNT connections"
env LONGLINK_LIFECYCLE_LOG=WARN ./longlink server --port 7700 --admin-port 7701 --reuse-port "${L[@]}" >/dev/null 2>&1 & A=$!
env LONGLINK_LIFECYCLE_LOG=WARN ./longlink server --port 7700 --admin-port 7702 --reuse-port "${L[@]}" >/dev/null 2>&1 & B=$!
wait_port 7701; wait_port 7702
( ./longlink bench connections --server 127.0.0.1:7700 --count $COUNT --rate 4000 --hold 20s 2>&1 | tr "\r" "\n" | grep -o "connections (LONGLINK).*" ) &
BP=$!
sleep 15
for i in 1 2 3; do echo "t+$((15 + (i-1)*4))s: process A $(stats 7701) connections, RSS $(rss $A) kB; process B $(stats 7702) connections, RSS $(rss $B) kB"; sleep 4; done
wait $BP
kill $A $B; wait $A $B 2>/dev/null
echo "== one process, $COUNT connections"
env LONGLINK_LIFECYCLE_LOG=WARN ./longlink server --port 7700 --admin-port 7701 "${L[@]}" >/dev/null 2>&1 & A=$!
wait_port 7701
( ./longlink bench connections --server 127.0.0.1:7700 --count $COUNT --rate 4000 --hold 20s 2>&1 | tr "\r" "\n" | grep -o "connections (LONGLINK).*" ) &
BP=$!
sleep 15
for i in 1 2 3; do echo "t+$((15 + (i-1)*4))s: process A $(stats 7701) connections, RSS $(rss $A) kB"; sleep 4; done
wait $BP
kill $A; wait $A 2>/dev/null
