#!/usr/bin/env bash
# The training stage side by side with its Python baselines, on the CPU, in one invocation:
#   a. the model alone on in-memory batches: shared/bench/pyref/stage_f_resnet.py (torchvision
#      ResNet-18, batch 64, Adam) vs kernels/learn's dhs_learn_bench (dhs::learn::Learner, AdamW)
#      and benchmarks' dhs_learn_infer_bench (Learner::predict), same model (ResNet-18 width 64,
#      torchvision's imagenet stem, 64x64x3), batch and threads (1, and 2 when the machine is
#      idle); goal dhs / python >= 1.0x;
#   b. dhs end to end from HDF5: `dhs run --stages train` on an injections.h5 of 101x101 stamps
#      (tests/mpi_stages/train/make_fixture.py), crop 64, the same model, batch 64, 1 thread,
#      on 1 rank (its producer thread makes the batches) and under mpirun -n 2 (1 learner + 1 data
#      rank); images/s and data_wait_fraction of the last epoch from RUN/train.h5 /history;
#      goals: dhs end to end / dhs in-memory (a, 1 thread) >= 0.9, data wait <= 10%;
#   c. the data path alone: train_data_bench (BatchMaker: HDF5 rows, raw_robust, crop, D4 + shift
#      augmentation, batch; 1 thread = one data rank) vs one DataLoader worker of the seed's path,
#      stage_g_npz_train.py over the .npz files `dhs export-npz` writes from the same cutouts.h5
#      (a mock sky's sample + cutouts run); goal >= 10x stamps/s.
# The machine is often shared: each side waits up to QUIET_WAIT seconds for >= 80% idle and
# says what it got; `uptime` is printed at the start and the end; never more busy threads than
# cores (the 2-thread rows run only on a machine with >= 2 cores that is >= 80% idle).
#
#   benchmarks/run_train.sh [BUILD_DIR]      (BUILD_DIR defaults to $REPO/build; needs the
#                                             targets dhs, dhs_learn_bench, dhs_learn_infer_bench,
#                                             train_data_bench of a DHS_WITH_TORCH=ON build)
# Environment: DHS_SHARED_DIR (default $REPO/../shared), QUIET_WAIT (default 20 s per side),
# STEPS (timed steps of a, and of stage_g's training part; default 10), E2E_N (stamps in the
# end-to-end fixture, 70% train; default 1024), E2E_EPOCHS (default 2; the last one is reported),
# DATA_BATCHES (train_data_bench batches of 64; default 40), NEG_PER_POS (sample stage negatives
# per positive for the mock cutouts; default 400), THREADS2 (0: skip the 2-thread rows),
# TRAIN_BENCH_DATA (where the data go; default bench-out/train-data, gitignored; made once and
# reused). The log goes to bench-out/results/train_*.log.
# Default run: ~6-8 minutes on an idle 2-core machine (the first one also makes the data).
set -euo pipefail

# shellcheck source=benchmarks/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" "${1:-}"  # REPO SHARED BUILD PY PYREF OUT RES, wait_quiet
DATA=${TRAIN_BENCH_DATA:-$OUT/train-data}
export PERF_DATA=$DATA PERF_RESULTS=$RES
DHS=$BUILD/apps/dhs/dhs
LEARN_BENCH=$(find "$BUILD" -name dhs_learn_bench -type f -perm -u+x -print -quit 2>/dev/null || true)
INFER_BENCH=$BUILD/benchmarks/dhs_learn_infer_bench
DATA_BENCH=$BUILD/benchmarks/train_data_bench
STAMP=$(date +%Y%m%dT%H%M%S)
LOG=$RES/train_$STAMP.log
STEPS=${STEPS:-10}
E2E_N=${E2E_N:-1024}
E2E_EPOCHS=${E2E_EPOCHS:-2}
DATA_BATCHES=${DATA_BATCHES:-40}
NEG_PER_POS=${NEG_PER_POS:-400}
QW=${QUIET_WAIT:-20}
BS=64
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1

for exe in "$DHS" "$LEARN_BENCH" "$INFER_BENCH" "$DATA_BENCH"; do
  [ -n "$exe" ] && [ -x "$exe" ] || { echo "missing '$exe': build dhs dhs_learn_bench dhs_learn_infer_bench train_data_bench in $BUILD (DHS_WITH_TORCH=ON)" >&2; exit 2; }
done
[ -d "$PYREF" ] || { echo "no $PYREF: set DHS_SHARED_DIR" >&2; exit 2; }
mkdir -p "$DATA" "$RES"
RESULTS_TSV=$DATA/results_$STAMP.tsv  # key<TAB>value, read by the table at the end
: > "$RESULTS_TSV"
put() { printf '%s\t%s\n' "$1" "$2" >> "$RESULTS_TSV"; }
json_field() { "$PY" -c "import json, sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])['$1'])"; }
# the value of stage_f/stage_g's report line whose name matches PATTERN: "[stage_f] NAME   VALUE unit"
report_value() { grep -E "$1" | tail -1 | awk '{print $(NF-1)}'; }
# capture CMD...: runs it, its output (stdout + stderr) into $out, the log and the terminal;
# returns its exit code (so that set -e ends the script after showing what went wrong).
capture() {
  local rc=0
  out=$("$@" 2>&1 | tee -a "$LOG") || rc=$?
  echo "$out"
  return $rc
}

echo "== run_train.sh $STAMP: $(nproc) cores; STEPS=$STEPS E2E_N=$E2E_N E2E_EPOCHS=$E2E_EPOCHS DATA_BATCHES=$DATA_BATCHES" | tee "$LOG"
echo "== uptime at start: $(uptime)" | tee -a "$LOG"
"$PY" -c "import torch, torchvision; print('python torch', torch.__version__, 'torchvision', torchvision.__version__)" | tee -a "$LOG"

# ---- a. the model on in-memory batches ---------------------------------------------------------
THREAD_LIST="1"
if [ "${THREADS2:-1}" != 0 ] && [ "$(nproc)" -ge 2 ]; then
  idle=$(wait_idle "$QW")
  if [ "$idle" -ge 80 ]; then THREAD_LIST="1 2"; else echo "== machine only ${idle}% idle: skipping the 2-thread rows" | tee -a "$LOG"; fi
fi
for t in $THREAD_LIST; do
  echo "== a. python stage_f_resnet.py $BS $STEPS $t [$(wait_quiet "$QW")]" | tee -a "$LOG"
  capture "$PY" "$PYREF/stage_f_resnet.py" "$BS" "$STEPS" "$t"
  put "f_train_$t" "$(echo "$out" | report_value 'train step')"
  put "f_infer_$t" "$(echo "$out" | report_value 'inference')"
  echo "== a. dhs_learn_bench --stem imagenet --threads $t [$(wait_quiet "$QW")]" | tee -a "$LOG"
  capture "$LEARN_BENCH" --batch "$BS" --steps "$STEPS" --warmup 3 --width 64 --stem imagenet --device cpu --threads "$t"
  put "d_train_$t" "$(echo "$out" | json_field images_per_s)"
  echo "== a. dhs_learn_infer_bench --stem imagenet --threads $t [$(wait_quiet "$QW")]" | tee -a "$LOG"
  capture "$INFER_BENCH" --batch "$BS" --steps "$STEPS" --warmup 1 --width 64 --stem imagenet --device cpu --threads "$t"
  put "d_infer_$t" "$(echo "$out" | json_field images_per_s)"
done

# ---- b. dhs end to end from HDF5 ---------------------------------------------------------------
INJ=$DATA/injections_n${E2E_N}_101.h5
if [ ! -f "$INJ" ]; then
  echo "== b. making $INJ ($E2E_N stamps of 101x101x3, make_fixture.py; once)" | tee -a "$LOG"
  "$PY" "$REPO/tests/mpi_stages/train/make_fixture.py" "$INJ" --n "$E2E_N" --size 101
fi
CFG=$DATA/train_bench.yaml
cat > "$CFG" <<EOF
run:
  seed: 42
  stages: [train]
  log_level: info
  progress_interval_s: 60
train:
  dataset: injection
  injections_file: $INJ
  arch: resnet18
  stem: imagenet
  width: 64
  crop: 64
  augment: true
  max_shift_px: 2
  noise_scale: 0
  batch_size: $BS
  eval_batch_size: 256
  epochs: $E2E_EPOCHS
  patience: 100
  learners: "1"
  device: cpu
  threads: 1
EOF
last_epoch() {  # RUN FIELD: the last epoch's value of /history FIELD in RUN/train.h5
  "$PY" -c "import h5py; print(float(h5py.File('$1/train.h5', 'r')['history']['$2'][-1]))"
}
for n in 1 2; do
  run=$DATA/train-run-n$n
  rm -rf "$run"
  launch=()
  [ "$n" -gt 1 ] && launch=(mpirun -n "$n" --oversubscribe --bind-to none)
  echo "== b. dhs run --stages train, $n rank(s) (${launch[*]:-no launcher}) [$(wait_quiet "$QW")]" | tee -a "$LOG"
  if ! "${launch[@]}" "$DHS" run "$CFG" --out "$run" > "$run.log" 2>&1; then
    echo "dhs run FAILED ($n ranks):" | tee -a "$LOG"; tail -20 "$run.log" | tee -a "$LOG"; exit 1
  fi
  grep -E "train: (epoch|plan|groups|rank|.*learner)" "$run.log" | tee -a "$LOG" || true
  put "e2e_ips_$n" "$(last_epoch "$run" images_per_s)"
  put "e2e_wait_$n" "$(last_epoch "$run" data_wait_fraction)"
done

# ---- c. the data path alone ----------------------------------------------------------------------
MOCK=$DATA/mock
CUTRUN=$DATA/cutouts-run
if [ ! -f "$CUTRUN/cutouts.h5" ]; then
  echo "== c. making a mock sky + sample + cutouts run in $DATA (once)" | tee -a "$LOG"
  rm -rf "$MOCK" "$CUTRUN"
  # the test footprint (2 bricks), larger and fuller: ~1,200 stamps of which ~1,100 status ok
  "$DHS" mock-sky --out "$MOCK" --config "$REPO/configs/mock_sky_test.yaml" --set mock_sky.image_size=1600 \
    --set mock_sky.blue_galaxies=1200 --set mock_sky.lrgs=400 > "$DATA/mock.log" 2>&1
  "$DHS" run "$REPO/configs/demo.yaml" --set survey.root="$MOCK" --set sample.negatives_per_positive="$NEG_PER_POS" \
    --set run.log_level=warn --stages sample,cutouts --out "$CUTRUN" > "$DATA/cutouts.log" 2>&1 ||
    { echo "sample + cutouts run FAILED:"; tail -20 "$DATA/cutouts.log"; exit 1; }
fi
NPZ=$DATA/npz
if [ ! -f "$NPZ/manifest.csv" ]; then
  rm -rf "$NPZ"
  "$DHS" export-npz --in "$CUTRUN/cutouts.h5" --out "$NPZ" --select status=ok > "$DATA/export-npz.log" 2>&1
  # stage_g reads the .npz files directly in one folder; export-npz files them per target set
  mkdir -p "$NPZ/flat"
  find "$NPZ" -mindepth 2 -name '*.npz' -not -path "$NPZ/flat/*" | while read -r f; do
    ln -sf "$f" "$NPZ/flat/$(basename "$(dirname "$f")")_$(basename "$f")"
  done
fi
NFILES=$(find "$NPZ/flat" -name '*.npz' | wc -l)
[ "$NFILES" -ge "$BS" ] || { echo "only $NFILES .npz stamps in $NPZ/flat (< batch $BS): raise NEG_PER_POS" >&2; exit 1; }
echo "== c. $NFILES stamps (status ok) of $CUTRUN/cutouts.h5, as .npz in $NPZ/flat" | tee -a "$LOG"
echo "== c. train_data_bench --group /stamps --batch $BS --batches $DATA_BATCHES --augment 1 [$(wait_quiet "$QW")]" | tee -a "$LOG"
capture "$DATA_BENCH" --file "$CUTRUN/cutouts.h5" --group /stamps --batch "$BS" --batches "$DATA_BATCHES" --augment 1 \
  --max-shift 2
put data_dhs "$(echo "$out" | json_field stamps_per_s)"
echo "== c. python stage_g_npz_train.py $NPZ/flat $BS $STEPS 1 1 [$(wait_quiet "$QW")]" | tee -a "$LOG"
capture "$PY" "$PYREF/stage_g_npz_train.py" "$NPZ/flat" "$BS" "$STEPS" 1 1
put data_py "$(echo "$out" | report_value 'DataLoader alone')"
put data_py_train "$(echo "$out" | report_value 'DataLoader \+ ResNet')"

echo "== uptime at end: $(uptime)" | tee -a "$LOG"

# ---- the table -------------------------------------------------------------------------------------
"$PY" - "$RESULTS_TSV" "$THREAD_LIST" "$BS" <<'EOF' 2>&1 | tee -a "$LOG"
import sys
v = {}
for line in open(sys.argv[1]):
    k, _, x = line.rstrip("\n").partition("\t")
    try:
        v[k] = float(x)
    except ValueError:
        v[k] = None
threads, bs = sys.argv[2].split(), sys.argv[3]
def f(x, unit=""):
    return f"{x:10.1f}{unit}" if x is not None else f"{'-':>10s}"
def r(a, b):
    return f"{a / b:7.2f}x" if a and b else f"{'-':>8s}"
print(f"\n== training on the CPU: ResNet-18 width 64 (torchvision's imagenet stem), 64x64x3, batch {bs}")
print(f"{'':<62s} {'dhs':>10s} {'python':>10s} {'dhs/py':>8s}  goal")
for t in threads:
    print(f"{f'a. train, in-memory batches, {t} thread(s), images/s':<62s} {f(v.get(f'd_train_{t}'))} "
          f"{f(v.get(f'f_train_{t}'))} {r(v.get(f'd_train_{t}'), v.get(f'f_train_{t}'))}  >= 1.0x")
    print(f"{f'a. inference, {t} thread(s), images/s':<62s} {f(v.get(f'd_infer_{t}'))} "
          f"{f(v.get(f'f_infer_{t}'))} {r(v.get(f'd_infer_{t}'), v.get(f'f_infer_{t}'))}")
mem = v.get("d_train_1")
print(f"{'':<62s} {'images/s':>10s} {'/in-mem':>10s} {'wait':>8s}  goal")
for n, label in ((1, "1 rank (producer thread)"), (2, "mpirun -n 2 (learner + data rank)")):
    ips, wait = v.get(f"e2e_ips_{n}"), v.get(f"e2e_wait_{n}")
    ratio = f"{ips / mem:9.2f}x" if ips and mem else f"{'-':>10s}"
    w = f"{100 * wait:7.1f}%" if wait is not None else f"{'-':>8s}"
    print(f"{f'b. dhs end to end from HDF5, {label}':<62s} {f(ips)} {ratio} {w}  >= 0.9x, <= 10%")
print(f"{'':<62s} {'dhs':>10s} {'python':>10s} {'dhs/py':>8s}  goal")
print(f"{'c. data path alone, stamps/s, 1 data rank vs 1 npz worker':<62s} {f(v.get('data_dhs'))} "
      f"{f(v.get('data_py'))} {r(v.get('data_dhs'), v.get('data_py'))}  >= 10x")
print(f"{'   (stage_g: npz DataLoader + training, 1 worker, 1 thread)':<62s} {'':>10s} {f(v.get('data_py_train'))}")
EOF
echo "== log: $LOG"
