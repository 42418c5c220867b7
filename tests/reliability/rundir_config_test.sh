#!/usr/bin/env bash
# Bad parameters and config changes against the run directory (issue #18): every stage's
# parameters are checked before anything is created (exit 2, no RUN_DIR); a RUN_DIR left by a
# run that stopped before finishing any work does not block a rerun or a fixed --resume; one
# with work in it is refused without --resume, and a --resume with another config names the
# keys that differ, old and new values.
set -uo pipefail
dhs="${DHS_EXE:?}"
src="${DHS_SOURCE_DIR:?}"
here="$(dirname "${BASH_SOURCE[0]}")"
source "$here/../support/script_support.sh"
source "$here/rundir_support.sh"

# 1. split_fractions summing to 1.3: exit 2 before anything exists, the key named.
mpi 2 "$dhs" run "$src/configs/demo.yaml" --out "$tmp/split" --stages sample --set survey.root="$tmp/nosky" \
  --set 'sample.split_fractions=[0.7,0.3,0.3]' > "$tmp/split.log" 2>&1
check "split_fractions summing to 1.3: exit 2" [ $? = 2 ]
check "... the key and the sum named" grep -q "sample.split_fractions.*add up to 1.3" "$tmp/split.log"
check "... no run directory created" [ ! -e "$tmp/split" ]
"$dhs" run "$src/configs/demo.yaml" --out "$tmp/split1" --stages sample --set survey.root="$tmp/nosky" \
  --set 'sample.split_fractions=[0.7,0.3,0.3]' > "$tmp/split1.log" 2>&1
check "the same without launcher: exit 2, no run directory" bash -c "[ $? = 2 ] && [ ! -e '$tmp/split1' ]"
# A later stage's parameters are checked before the first stage runs.
mpi 2 "$dhs" run "$src/configs/demo.yaml" --out "$tmp/inj" --stages sample,cutouts,inject \
  --set survey.root="$tmp/nosky" --set inject.oversample=8 --set inject.max_oversample=4 > "$tmp/inj.log" 2>&1
check "a bad inject parameter with sample first: exit 2" [ $? = 2 ]
check "... the key named" grep -q "inject.max_oversample" "$tmp/inj.log"
check "... no run directory created" [ ! -e "$tmp/inj" ]
"$dhs" plan "$src/configs/demo.yaml" --stages sample --set survey.root="$tmp/nosky" \
  --set 'sample.split_fractions=[0.7,0.3,0.3]' > "$tmp/plan.log" 2>&1
check "dhs plan with the bad split: exit 2" [ $? = 2 ]

# 2. A run that stopped before any work (its plan failed: no sweeps under survey.root) leaves a
# RUN_DIR with config.yaml and logs only; it blocks neither a rerun nor a --resume with a fixed
# config.
for how in rerun resume; do
  dir="$tmp/failed-$how"
  mpi 2 "$dhs" run "$tmp/load.yaml" --out "$dir" --stages sample --set survey.root="$tmp/nosky" > "$dir.log" 2>&1
  check "$how: a run whose plan fails exits 1" [ $? = 1 ]
  check "$how: ... leaving config.yaml" [ -f "$dir/config.yaml" ]
  flag=""; [ $how = resume ] && flag="--resume"
  mpi 2 "$dhs" run "$tmp/load.yaml" --out "$dir" $flag > "$dir.2.log" 2>&1
  check "$how: the fixed run into that directory exits 0" [ $? = 0 ]
  check "$how: ... says it starts afresh" grep -q "holds no finished work yet" "$dir.2.log"
  check "$how: ... and records the config it used" bash -c "! grep -q 'nosky' '$dir/config.yaml'"
done
check "the fixed run = a run into a new directory" bash -c "
  ${MPIEXEC_EXECUTABLE:-mpiexec} ${MPIEXEC_NUMPROC_FLAG:--n} 2 ${DHS_MPIEXEC_PREFLAGS//;/ } '$dhs' run '$tmp/load.yaml' --out '$tmp/fresh' > '$tmp/fresh.log' 2>&1" 
check "... identical datasets" same "$tmp/fresh/testload.h5" "$tmp/failed-rerun/testload.h5"

# 3. A directory with work in it: no --resume is refused; a changed config on --resume names the keys.
dir="$tmp/fresh"
mpi 2 "$dhs" run "$tmp/load.yaml" --out "$dir" > "$tmp/again.log" 2>&1
check "a finished run without --resume: exit 2" [ $? = 2 ]
check "... says why" grep -q 'already holds a run' "$tmp/again.log"
mpi 2 "$dhs" run "$tmp/load.yaml" --out "$dir" --resume --set testload.units=47 > "$tmp/changed.log" 2>&1
check "--resume with another config: exit 2" [ $? = 2 ]
check "... names the key, old and new value" grep -q "testload.units: 48 -> 47" "$tmp/changed.log"
mpi 2 "$dhs" run "$tmp/load.yaml" --out "$dir" --resume --set run.seed=7 --set 'testload.fail_units=[1,2]' \
  > "$tmp/changed2.log" 2>&1
check "two keys changed: both named" bash -c "grep -q 'run.seed: 42 -> 7' '$tmp/changed2.log' && grep -q 'testload.fail_units: \[\] -> \[1, 2\]' '$tmp/changed2.log'"
sed -i 's/units: 48/units: 48\n  sleep_ms_per_unit: 5/' "$tmp/load.yaml"
mpi 2 "$dhs" run "$tmp/load.yaml" --out "$dir" --resume > "$tmp/changed3.log" 2>&1
check "a value changed in the config file itself: named" grep -q "testload.sleep_ms_per_unit: 0 -> 5" "$tmp/changed3.log"
check "the refused resumes left the run as it was" same "$tmp/failed-rerun/testload.h5" "$dir/testload.h5"

finish
