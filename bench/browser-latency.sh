#!/usr/bin/env bash
# Browser -> Java latency: the TypeScript SDK in headless Chromium sends at a fixed rate over WebSocket
# to a Java SDK client on TCP, through one embedded gateway; prints p50/p90/p99/p99.9/max.
#   bench/browser-latency.sh [RATE] [SECONDS]      (default 1000 msg/s for 20 s)
set -euo pipefail
cd "$(dirname "$0")/.."
./mvnw -B -q install -DskipTests -pl longlink-server,longlink-client,longlink-chaos,clients/typescript -am >/dev/null
cd longlink-app
../mvnw -B -q test -Dtest=BrowserLatencyBench -Dsurefire.failIfNoSpecifiedTests=false \
  -Dlonglink.bench.rate="${1:-1000}" -Dlonglink.bench.seconds="${2:-20}" \
  >/dev/null || { echo "the run failed; see longlink-app/target/surefire-reports" >&2; exit 1; }
grep -h "browser->java latency" target/surefire-reports/io.longlink.app.browser.BrowserLatencyBench-output.txt
