# Helpers the end-to-end test scripts share (sourced, test code only): a temporary directory
# removed (and every process still using it killed) on exit, PASS/FAIL bookkeeping, the MPI
# launcher with the flags ctest hands over, dataset identity of two dhs result files, and the
# testload config the engine and run-directory tests share.
#   source "$(dirname "${BASH_SOURCE[0]}")/../support/script_support.sh"
#   ... check "name" command args...; ...; finish
tmp="$(mktemp -d)"
pass=0
fails=0
cleanup() {
  pkill -9 -f "$tmp" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
check() {  # check NAME COMMAND...: runs the command, counts and prints PASS or FAIL
  local name="$1"; shift
  if "$@"; then pass=$((pass + 1)); echo "PASS: $name"; else echo "FAIL: $name"; fails=$((fails + 1)); fi
}
mpi() {  # mpi N args...
  local n="$1"; shift
  "${MPIEXEC_EXECUTABLE:-mpiexec}" "${MPIEXEC_NUMPROC_FLAG:--n}" "$n" ${DHS_MPIEXEC_PREFLAGS//;/ } "$@"
}
same() {  # same A.h5 B.h5: identical outside /provenance/run (values, attributes, shapes)
  local out rc
  out="$(h5diff -c --exclude-path /provenance/run "$1" "$2" 2>&1)"
  rc=$?
  # h5diff cannot compare empty datasets (an empty /failures): their shapes are compared below.
  if [ $rc != 0 ] || grep -i "not comparable" <<<"$out" | grep -vq "empty dataset"; then
    echo "$out" | head -20
    return 1
  fi
  diff <(h5ls -r "$1") <(h5ls -r "$2") >/dev/null || { echo "object lists differ"; return 1; }
}
same_group() {  # same_group A.h5 B.h5 GROUP: that group identical (values, attributes, shapes)
  local out
  out="$(h5diff -c "$1" "$2" "$3" "$3" 2>&1)" || { echo "$out" | head -20; return 1; }
  diff <(h5ls -r "$1/$3") <(h5ls -r "$2/$3") >/dev/null || { echo "object lists differ"; return 1; }
}
testload_config() {  # testload_config FILE: the engine tests' testload run (48 uneven units, 9x9 stamps)
  cat > "$1" <<'YAML'
run:
  stages: [testload]
  progress_interval_s: 0.5
testload:
  units: 48
  rows_per_unit: 40
  uneven: true
  stamp_size: 9
  work_per_row: 200
YAML
}
finish() {  # the plain closing line, and the exit status
  echo "$pass passed, $fails failed"
  [ "$fails" = 0 ]
}
