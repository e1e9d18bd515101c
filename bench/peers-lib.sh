# Shared by the bench/*.sh scripts that run peers (sourced, not run): installs the peers, tracks the
# servers started, waits for a port, and reports (or, with BENCH_DAMON=off, switches off for the run)
# the host's DAMON memory monitors. Expects $ROOT; uses $0's name in errors.
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
DAMON_STOPPED=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for s in "${DAMON_STOPPED[@]:-}"; do [ -n "$s" ] && echo on >"$s" || true; done
}
trap cleanup EXIT
trap 'exit 130' INT # an interrupted run still stops its servers and restores the host
trap 'exit 143' TERM

# The kernel's DAMON memory monitors (a VM image may run one to page out cold memory) stall every
# CPU for 1-3 ms at each sampling pass, which shows in any sub-millisecond tail (docs/BENCHMARKS.md).
# Says whether any runs; BENCH_DAMON=off (as root) switches them off for this run, back on at exit.
damon() {
  local s running=()
  for s in /sys/kernel/mm/damon/admin/kdamonds/*/state; do
    [ -r "$s" ] && [ "$(cat "$s")" = on ] && running+=("$s")
  done
  if [ "${BENCH_DAMON:-}" = off ] && [ ${#running[@]} -gt 0 ]; then
    for s in "${running[@]}"; do
      echo off >"$s" || { echo "$SCRIPT: BENCH_DAMON=off: cannot write $s (needs root)" >&2; return 1; }
      DAMON_STOPPED+=("$s")
    done
    echo "$SCRIPT: host: ${#running[@]} DAMON memory monitor(s) switched off for this run (back on at exit)"
  else
    echo "$SCRIPT: host: ${#running[@]} DAMON memory monitor(s) running${running:+ (BENCH_DAMON=off switches them off for a run)}"
  fi
}
damon

wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.2
  done
  echo "$SCRIPT: nothing listening on port $1" >&2
  return 1
}
