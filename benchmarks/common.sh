# Shared by the benchmark scripts, sourced as `source "$(dirname "${BASH_SOURCE[0]}")/common.sh" "${1:-}"`:
# the paths every script uses (REPO, SHARED, BUILD from the script's first argument or
# REPO/build, PY, PYREF, OUT, RES) and the wait for a quiet machine before timing a side (the
# machines these run on are often shared, so each side waits up to QUIET_WAIT seconds for >= 80%
# idle and says what it got).

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=$(realpath -m "${DHS_SHARED_DIR:-$REPO/../shared}")
BUILD=$(cd "${1:-$REPO/build}" && pwd)  # absolute: scripts change directory
PY=/usr/bin/python3
PYREF=$SHARED/bench/pyref
OUT=$REPO/bench-out
RES=$OUT/results

idle_frac() {  # idle percentage of the whole machine over 3 s, from /proc/stat
  local u n s i w x y z a b c d
  read -r _ u n s i w x y z _ < /proc/stat; a=$((u + n + s + i + w + x + y + z)); b=$i
  sleep 3
  read -r _ u n s i w x y z _ < /proc/stat; c=$((u + n + s + i + w + x + y + z)); d=$i
  echo $(( (100 * (d - b)) / (c - a > 0 ? c - a : 1) ))
}

wait_idle() {  # wait_idle [DEFAULT_WAIT]: prints the idle percentage it settled for
  local f deadline=$((SECONDS + ${QUIET_WAIT:-${1:-60}}))
  f=$(idle_frac)
  while [ "$f" -lt 80 ] && [ $SECONDS -lt $deadline ]; do f=$(idle_frac); done
  echo "$f"
}

wait_quiet() {  # wait_quiet [DEFAULT_WAIT]: "idle N%, load a b c"
  echo "idle $(wait_idle "${1:-60}")%, load $(cut -d' ' -f1-3 /proc/loadavg)"
}
