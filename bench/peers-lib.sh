# Shared by bench/compare-peers.sh and bench/compare-flow.sh (sourced, not run): installs the
# peers, tracks the servers started, and waits for a port. Expects $ROOT; uses $0's name in errors.
SCRIPT=$(basename "$0" .sh)

need() {
  command -v "$1" >/dev/null && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "$SCRIPT: $1 missing; install the Debian package $2 (as root: apt-get install -y $2)" >&2
    return 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null
}
need nats-server nats-server
need mosquitto mosquitto
./longlink --version >/dev/null # builds the jar once, before anything is timed

PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.2
  done
  echo "$SCRIPT: nothing listening on port $1" >&2
  return 1
}
