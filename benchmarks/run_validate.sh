#!/usr/bin/env bash
# Validation-stage benchmark, side by side in one invocation on the same kind of stamps (N(0,
# 0.006) noise plus a flat 0.05 core box, 3 x 101 x 101, as shared/bench/pyref/stage_d_features.py
# draws them):
#  (a) the Python baseline stage_d_features.py N: its per-cutout loop and its batch-vectorised
#      numpy figures (cutouts/s, one process);
#  (b) dhs::kernels::compute_stamp_features (bench_validate BM_StampFeatures): stamps/s on one
#      core, the stage's whole per-stamp feature set (more than the baseline computes);
#  (c) the whole stage, `dhs run --stages validate` on a cutouts.h5 of the same N stamps with
#      1 rank and with 2 ranks: stamps/s per core over the processing phase (HDF5 reads,
#      features, spool; /provenance/run/process_seconds) and over the whole run (+ gather and
#      the reduce: 27 AUCs with 1000 bootstrap replicates, two logistic regressions).
# Prints the ratios dhs/python per core (goal >= 5x) and the load average before and after.
#
#   benchmarks/run_validate.sh [BUILD_DIR]      (BUILD_DIR defaults to $REPO/build)
# Environment: DHS_SHARED_DIR (default $REPO/../shared), N (stamps, default 2000).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${DHS_SHARED_DIR:-$REPO/../shared}
BUILD=$(cd "${1:-$REPO/build}" && pwd)
PY=/usr/bin/python3
PYREF=$SHARED/bench/pyref
OUT=$REPO/bench-out/validate
N=${N:-2000}
export PERF_DATA=$OUT/data PERF_RESULTS=$OUT/results
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1
DHS=$BUILD/apps/dhs/dhs
BENCH=$BUILD/benchmarks/bench_validate
STAMP=$(date +%Y%m%dT%H%M%S)
LOG=$PERF_RESULTS/validate_$STAMP.log

[ -x "$BENCH" ] || { echo "no $BENCH: build the bench_validate target in $BUILD first" >&2; exit 2; }
[ -x "$DHS" ] || { echo "no $DHS: build the dhs target in $BUILD first" >&2; exit 2; }
[ -f "$PYREF/stage_d_features.py" ] || { echo "no $PYREF/stage_d_features.py: set DHS_SHARED_DIR" >&2; exit 2; }
mkdir -p "$PERF_DATA" "$PERF_RESULTS"
now() { date +%s.%N; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
LOAD0=$(load)
echo "== machine: $(nproc) cores, load $LOAD0; N = $N stamps" | tee "$LOG"

# (a) Python baseline.
echo "== python: $PY $PYREF/stage_d_features.py $N" | tee -a "$LOG"
PY_OUT=$(cd "$PYREF" && "$PY" stage_d_features.py "$N" 2>&1 | tee -a "$LOG")
PY_LOOP=$(grep 'per-cutout loop' <<< "$PY_OUT" | grep -oE '[0-9.]+(e[+-]?[0-9]+)? cutouts/s' | cut -d' ' -f1)
PY_BATCH=$(grep 'batch-vectorised' <<< "$PY_OUT" | grep -oE '[0-9.]+(e[+-]?[0-9]+)? cutouts/s' | cut -d' ' -f1)

# (b) The kernel, best of 5 repetitions.
echo "== dhs kernel: $BENCH --benchmark_filter=BM_StampFeatures --benchmark_repetitions=5" | tee -a "$LOG"
KJSON=$PERF_RESULTS/validate_kernel_$STAMP.json
"$BENCH" --benchmark_filter='^BM_StampFeatures(/real_time)?$' --benchmark_repetitions=5 \
  --benchmark_out="$KJSON" --benchmark_out_format=json 2>&1 | tee -a "$LOG" >/dev/null
KERNEL=$("$PY" -c "import json,sys; print(max(b['items_per_second'] for b in json.load(open(sys.argv[1]))['benchmarks'] if b.get('run_type')=='iteration'))" "$KJSON")

# (c) The stage on the same stamps.
rm -rf "$OUT/stage" && mkdir -p "$OUT/stage"
"$BENCH" --write-cutouts "$OUT/stage" "$N"
cat > "$OUT/stage/validate.yaml" <<'YAML'
run:
  stages: [validate]
  progress_interval_s: 60
validate:
  comparisons: [real]
  batch_size: 256
  bootstrap_resamples: 1000
YAML
declare -A PROC WALL
for n in 1 2; do
  best_p="" best_w=""
  for rep in 1 2; do
    run=$OUT/stage/run-n$n
    rm -rf "$run" && mkdir -p "$run" && ln -s "$OUT/stage/cutouts.h5" "$run/cutouts.h5"
    t0=$(now)
    mpirun -n $n --oversubscribe --bind-to none "$DHS" run "$OUT/stage/validate.yaml" --out "$run" --log-level warn \
      >> "$LOG" 2>&1
    t1=$(now)
    w=$(echo "$t1 - $t0" | bc -l)
    p=$(h5dump -a /provenance/run/process_seconds "$run/validation.h5" | grep -oE '\(0\): [0-9.e+-]+' | cut -d' ' -f2)
    if [ -z "$best_w" ] || [ "$(echo "$w < $best_w" | bc -l)" = 1 ]; then best_w=$w; fi
    if [ -z "$best_p" ] || [ "$(echo "$p < $best_p" | bc -l)" = 1 ]; then best_p=$p; fi
  done
  PROC[$n]=$best_p
  WALL[$n]=$best_w
done
LOAD1=$(load)

"$PY" - "$N" "${PY_LOOP:-nan}" "${PY_BATCH:-nan}" "$KERNEL" "${PROC[1]}" "${WALL[1]}" "${PROC[2]}" "${WALL[2]}" \
  "$LOAD0" "$LOAD1" <<'PYEOF' 2>&1 | tee -a "$LOG"
import sys
n = int(sys.argv[1])
py_loop, py_batch, kernel, p1, w1, p2, w2 = map(float, sys.argv[2:9])
load0, load1 = sys.argv[9], sys.argv[10]
rows = [
    ("python per-cutout loop (stage_d_features.py)", py_loop, 1),
    ("python batch-vectorised numpy (stage_d_features.py)", py_batch, 1),
    ("dhs kernel compute_stamp_features, 1 core", kernel, 1),
    ("dhs stage, 1 rank: processing (read + features + spool)", n / p1, 1),
    ("dhs stage, 1 rank: whole run (+ gather + reduce)", n / w1, 1),
    ("dhs stage, 2 ranks: processing", n / p2, 2),
    ("dhs stage, 2 ranks: whole run", n / w2, 2),
]
print(f"\n== per-stamp validation features, {n} stamps of 3 x 101 x 101 (load {load0} before, {load1} after)")
print(f"{'':58s} {'stamps/s':>10s} {'per core':>10s} {'vs numpy batch':>15s}")
for name, rate, cores in rows:
    print(f"{name:58s} {rate:10.0f} {rate / cores:10.0f} {rate / cores / py_batch:14.2f}x")
print(f"goal: >= 5x the python baseline per core (best python figure: {max(py_loop, py_batch):.0f}/s)")
PYEOF
echo "== log: $LOG"
