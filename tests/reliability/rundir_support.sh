# Helpers the rundir_*_test.sh scripts share (sourced after tests/support/script_support.sh):
# the testload configs they run, background jobs in their own process group, waiting, killing.
# shellcheck shell=bash

# A quick testload run, and a slow one (units sleep: ~10 s on 2 ranks, so it is still running
# when a second job, slow to start in a torch build, looks at it).
testload_config "$tmp/load.yaml"
sed -e 's/work_per_row: 200/work_per_row: 200\n  sleep_ms_per_unit: 400/' "$tmp/load.yaml" > "$tmp/slow.yaml"

# start_job LOG CONFIG RUN_DIR [args]: dhs run on 2 ranks in the background, in its own process
# group; sets job_pid (mpiexec's pid = the group's id; `wait $job_pid` gives its exit code).
start_job() {
  local log="$1" cfg="$2" dir="$3"; shift 3
  setsid bash -c "exec ${MPIEXEC_EXECUTABLE:-mpiexec} ${MPIEXEC_NUMPROC_FLAG:--n} 2 ${DHS_MPIEXEC_PREFLAGS//;/ } \"$dhs\" run \"$cfg\" --out \"$dir\" $*" \
    >> "$log" 2>&1 &
  job_pid=$!
}
wait_for() {  # wait_for SECONDS CONDITION...: poll every 20 ms
  local secs="$1" t=0
  shift
  while ! "$@"; do
    sleep 0.02
    t=$((t + 1))
    [ "$t" -gt $((secs * 50)) ] && { echo "wait_for: timed out: $*"; return 1; }
  done
  return 0
}
spooled() { [ "$(ls "$1"/journal/testload/spool/*.spool 2>/dev/null | wc -l)" -ge "$2" ]; }
kill_job() {  # kill_job PGID RUN_DIR: SIGKILL the job's process group and any rank left of it
  kill -9 -- "-$1" 2>/dev/null
  local p
  for p in $(pgrep -f -- "--out $2" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  sleep 0.3
}
has_root_attrs() {  # has_root_attrs FILE: the provenance a finished stage file carries
  local a
  a="$(h5dump -A -g / "$1" 2>/dev/null)" || return 1
  grep -q 'ATTRIBUTE "config_sha256"' <<<"$a" && grep -q 'ATTRIBUTE "dhs_version"' <<<"$a" &&
    h5dump -A -g /provenance/run "$1" >/dev/null 2>&1
}
