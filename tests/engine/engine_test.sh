#!/usr/bin/env bash
# The engine end to end with the testload stage: identical datasets for 1, 2 and 3 ranks
# (h5diff on everything outside /provenance/run); quarantine with retry and exit code 3;
# SIGKILL of the whole job at several points, then --resume, identical to an uninterrupted
# run; --dry-run, refusal to overwrite a run, config errors before any work.
set -uo pipefail
dhs="${DHS_EXE:?}"
source "$(dirname "${BASH_SOURCE[0]}")/../support/script_support.sh"

testload_config "$tmp/load.yaml"

# 1. Same datasets for 1, 2 and 3 ranks.
for n in 1 2 3; do
  mpi $n "$dhs" run "$tmp/load.yaml" --out "$tmp/n$n" > "$tmp/n$n.log" 2>&1
  check "run on $n ranks exits 0" [ $? = 0 ]
done
check "1 vs 2 ranks identical" same "$tmp/n1/testload.h5" "$tmp/n2/testload.h5"
check "1 vs 3 ranks identical" same "$tmp/n1/testload.h5" "$tmp/n3/testload.h5"
# Without a launcher dhs is one rank on the stand-in (no MPI_Init, HDF5's POSIX driver): the
# same datasets as under mpirun -n 1.
"$dhs" run "$tmp/load.yaml" --out "$tmp/standin" > "$tmp/standin.log" 2>&1
check "stand-in run (no launcher) exits 0" [ $? = 0 ]
check "stand-in vs mpirun -n 1 identical" same "$tmp/n1/testload.h5" "$tmp/standin/testload.h5"
check "stand-in run is one rank" grep -q '\[rank 0/1\]' "$tmp/standin/logs/rank-0000.log"
"$dhs" run "$tmp/load.yaml" --out "$tmp/seed7" --set run.seed=7 > /dev/null 2>&1
check "another seed gives other values (the comparison can fail)" bash -c "! h5diff -q --exclude-path /provenance/run '$tmp/n1/testload.h5' '$tmp/seed7/testload.h5' /rows/value /rows/value"
check "provenance differs only where expected" bash -c "! h5diff '$tmp/n1/testload.h5' '$tmp/n2/testload.h5' >/dev/null 2>&1"
check "per-rank logs" [ -f "$tmp/n3/logs/rank-0000.log" ] && [ -f "$tmp/n3/logs/rank-0002.log" ]
check "log lines carry the rank" grep -q '\[rank 2/3\]' "$tmp/n3/logs/rank-0002.log"
check "config.yaml written" grep -q 'units: 48' "$tmp/n1/config.yaml"
check "progress reported" grep -q 'units (100.0%)' "$tmp/n2.log"
rows=$(h5dump -H -d /rows/value "$tmp/n2/testload.h5" | grep -o 'DATASPACE  SIMPLE { ( [0-9]* )' | grep -o '[0-9]*')
check "row count 48 units x 40 x (1..4)" [ "$rows" = "$((12 * 40 * (1 + 2 + 3 + 4)))" ]
check "stamps chunked per few stamps" bash -c "h5dump -p -H -d /rows/stamp '$tmp/n2/testload.h5' | grep -q 'CHUNKED'"

# 2. Rerunning into a finished run without --resume is refused; --resume skips it.
mpi 2 "$dhs" run "$tmp/load.yaml" --out "$tmp/n2" > "$tmp/again.log" 2>&1
check "second run without --resume refused (exit 2)" [ $? = 2 ]
check "refusal says why" grep -q 'already holds a run' "$tmp/again.log"
mpi 2 "$dhs" run "$tmp/load.yaml" --out "$tmp/n2" --resume > "$tmp/resume-done.log" 2>&1
check "resume of a finished run exits 0" [ $? = 0 ]
check "finished stage skipped" grep -q 'complete in the journal, skipped' "$tmp/resume-done.log"
mpi 2 "$dhs" run "$tmp/load.yaml" --out "$tmp/n2" --resume --set testload.units=47 > "$tmp/resume-other.log" 2>&1
check "resume with another config refused (exit 2)" [ $? = 2 ]

# 3. Quarantine: units 3 and 7 always fail, unit 5 fails once and is retried.
mpi 2 "$dhs" run "$tmp/load.yaml" --out "$tmp/q" --set 'testload.fail_units=[3,7]' --set 'testload.flaky_units=[5]' > "$tmp/q.log" 2>&1
check "quarantine exit code 3" [ $? = 3 ]
check "quarantined units in /failures" bash -c "h5dump -d /failures/unit_index '$tmp/q/testload.h5' | grep -q '(0): 3, 7'"
check "failure messages kept" bash -c "h5dump -d /failures/message '$tmp/q/testload.h5' | grep -q 'configured to fail'"
check "quarantine logged" grep -q 'quarantined unit 3' "$tmp/q.log"
check "retried unit present" bash -c "h5dump -d /units/unit_index '$tmp/q/testload.h5' | grep -q ' 5, 6, 8'"
units=$(h5dump -H -d /units/unit_index "$tmp/q/testload.h5" | grep -o 'SIMPLE { ( [0-9]* )' | grep -o '[0-9]*')
check "the other 46 units completed" [ "$units" = 46 ]

# 4. SIGKILL the whole job at several points, resume, compare with the uninterrupted run.
kill_job() {  # kill_job PGID RUN_DIR: SIGKILL everything of that job
  kill -9 -- "-$1" 2>/dev/null
  pkill -9 -f -- "--out $2" 2>/dev/null
  sleep 0.3
}
start_job() {  # start_job RUN_DIR [args]: background job in its own process group; echoes pgid
  local dir="$1"; shift
  setsid bash -c "exec ${MPIEXEC_EXECUTABLE:-mpiexec} ${MPIEXEC_NUMPROC_FLAG:--n} 2 ${DHS_MPIEXEC_PREFLAGS//;/ } \"$dhs\" run \"${job_cfg:-$tmp/slow.yaml}\" --out \"$dir\" $*" \
    >> "$dir.log" 2>&1 &
  echo $!
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
sed -e 's/units: 48/units: 60/' -e 's/work_per_row: 200/work_per_row: 200\n  sleep_ms_per_unit: 40/' "$tmp/load.yaml" > "$tmp/slow.yaml"
mpi 2 "$dhs" run "$tmp/slow.yaml" --out "$tmp/ref" > "$tmp/ref.log" 2>&1
check "uninterrupted reference run" [ $? = 0 ]

for k in 3 20 45; do  # after k units are durable
  dir="$tmp/kill$k"
  pg=$(start_job "$dir")
  wait_for 60 spooled "$dir" "$k"
  kill_job "$pg" "$dir"
  check "killed after $k units: run left unfinished" [ ! -f "$dir/journal/testload/COMPLETE" ]
  mpi 2 "$dhs" run "$tmp/slow.yaml" --out "$dir" --resume >> "$dir.log" 2>&1
  check "resume after kill at $k exits 0" [ $? = 0 ]
  check "resume after kill at $k used the journal" grep -qE 'already done \(journal\)' "$dir.log"
  check "kill at $k + resume identical" same "$tmp/ref/testload.h5" "$dir/testload.h5"
done

# The stand-in (no launcher): killed after 20 units, resumed without a launcher too.
dir="$tmp/standin-kill"
setsid bash -c "exec \"$dhs\" run \"$tmp/slow.yaml\" --out \"$dir\"" >> "$dir.log" 2>&1 &
pg=$!
wait_for 60 spooled "$dir" 20
kill_job "$pg" "$dir"
check "stand-in: killed run left unfinished" [ ! -f "$dir/journal/testload/COMPLETE" ]
"$dhs" run "$tmp/slow.yaml" --out "$dir" --resume >> "$dir.log" 2>&1
check "stand-in: kill + resume exits 0" [ $? = 0 ]
check "stand-in: resume used the journal" grep -qE 'already done \(journal\)' "$dir.log"
check "stand-in: kill + resume identical to the 2-rank reference" same "$tmp/ref/testload.h5" "$dir/testload.h5"

# Killed twice: once while processing, again while the resumed run processes; then resumed.
dir="$tmp/twice"
pg=$(start_job "$dir"); wait_for 60 spooled "$dir" 10; kill_job "$pg" "$dir"
pg=$(start_job "$dir" --resume); wait_for 60 spooled "$dir" 30; kill_job "$pg" "$dir"
mpi 2 "$dhs" run "$tmp/slow.yaml" --out "$dir" --resume >> "$dir.log" 2>&1
check "killed twice + resume identical" same "$tmp/ref/testload.h5" "$dir/testload.h5"

# Killed while gathering (the .partial file exists): the stage file is never half-written.
# Bigger stamps (48 x 48: ~60 MB to gather) keep the .partial there long enough to be seen.
sed -e 's/stamp_size: 9/stamp_size: 48/' "$tmp/slow.yaml" > "$tmp/gslow.yaml"
mpi 2 "$dhs" run "$tmp/gslow.yaml" --out "$tmp/gref" > "$tmp/gref.log" 2>&1
dir="$tmp/gather"
pg=$(job_cfg="$tmp/gslow.yaml" start_job "$dir"); wait_for 30 test -e "$dir/testload.h5.partial"
seen=$?
kill_job "$pg" "$dir"
check "the gather's .partial file was seen" [ "$seen" = 0 ]
check "no final file from a killed gather (or gather had finished)" bash -c "[ ! -e '$dir/testload.h5' ] || [ -f '$dir/journal/testload/COMPLETE' ] || h5dump -H '$dir/testload.h5' >/dev/null"
mpi 2 "$dhs" run "$tmp/gslow.yaml" --out "$dir" --resume >> "$dir.log" 2>&1
check "kill during gather + resume identical" same "$tmp/gref/testload.h5" "$dir/testload.h5"

# A torn spool file (as a crash mid-write could leave) is detected and its unit rerun.
dir="$tmp/torn"
pg=$(start_job "$dir"); wait_for 60 spooled "$dir" 12; kill_job "$pg" "$dir"
victim=$(ls "$dir"/journal/testload/spool/*.spool | head -1)
truncate -s -5 "$victim"
mpi 2 "$dhs" run "$tmp/slow.yaml" --out "$dir" --resume >> "$dir.log" 2>&1
check "torn spool file detected" grep -q 'torn or corrupt' "$dir.log"
check "torn spool + resume identical" same "$tmp/ref/testload.h5" "$dir/testload.h5"

# 5. Plan / dry run: no processing, no files.
mpi 2 "$dhs" run "$tmp/load.yaml" --out "$tmp/dry" --dry-run > "$tmp/dry.log" 2>&1
check "dry run exits 0" [ $? = 0 ]
check "dry run lists units" grep -qE '^testload +48 ' "$tmp/dry.log"
check "dry run reports memory per rank" grep -q 'memory/rank' "$tmp/dry.log"
check "dry run wrote nothing" [ ! -e "$tmp/dry/testload.h5" ]
"$dhs" plan "$tmp/load.yaml" > "$tmp/plan.log" 2>&1
check "dhs plan exits 0" [ $? = 0 ]

# 6. Config errors before any work: exit 2, nothing written.
mpi 2 "$dhs" run "$tmp/load.yaml" --out "$tmp/bad" --set testload.units=-1 > "$tmp/bad.log" 2>&1
check "bad value exit 2" [ $? = 2 ]
check "bad value: no run directory" [ ! -e "$tmp/bad" ]
mpi 2 "$dhs" run "$tmp/load.yaml" --out "$tmp/bad2" --stages testload,nosuch > "$tmp/bad2.log" 2>&1
check "unknown stage exit 2" [ $? = 2 ]
check "unknown stage named" grep -q "unknown stage 'nosuch'" "$tmp/bad2.log"

finish
