#!/usr/bin/env bash
# Scoring speed, side by side in one invocation (CPU): the whole `score` stage as a user runs it
# (dhs run --stages score: HDF5 rows read, raw_robust + crop, ResNet-18 inference, scores.h5
# written) on 1 rank and under mpirun -n 2, against ../shared/bench/pyref/stage_f_resnet.py's
# inference rate on in-memory tensors (torchvision ResNet-18, same batch 64 and 1 thread per rank).
#
#   QUIET_WAIT=20 benchmarks/run_score.sh [BUILD_DIR]
# Environment: N (stamps scored, default 2048), QUIET_WAIT (seconds to wait for an idle machine).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" "${1:-}"  # REPO SHARED BUILD PY PYREF OUT RES, wait_quiet
N=${N:-2048}
QW=${QUIET_WAIT:-10}
DHS=$BUILD/apps/dhs/dhs
DATA=$OUT/score-data
mkdir -p "$DATA" "$RES"
LOG=$RES/score_$(date -u +%Y%m%dT%H%M%S).log
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1
echo "== run_score.sh $(date -u +%Y%m%dT%H%M%S): $(nproc) cores; N=$N; uptime: $(uptime)" | tee "$LOG"

# The stamps (ring / no-ring fixture, 101x101x3) and a model: ResNet-18 width 64, imagenet
# stem (stage_f's), trained one short epoch so that its weights are a real checkpoint.
STAMPS=$DATA/stamps_n${N}.h5
[ -s "$STAMPS" ] || "$PY" "$REPO/tests/mpi_stages/train/make_fixture.py" "$STAMPS" --n "$N" --size 101
cat > "$DATA/score.yaml" <<YAML
run:
  log_level: info
train:
  dataset: injection
  injections_file: $STAMPS
  arch: resnet18
  stem: imagenet
  width: 64
  crop: 64
  batch_size: 64
  epochs: 1
  learners: "1"
  threads: 1
score:
  sources: [injections]
  injections_file: $STAMPS
  batch_size: 64
  unit_stamps: 256
  threads: 1
YAML
if [ ! -s "$DATA/model-run/model/weights.pt" ]; then
  rm -rf "$DATA/model-run"
  "$DHS" run "$DATA/score.yaml" --out "$DATA/model-run" --stages train --set train.epochs=1 > "$DATA/train.log" 2>&1 ||
    { echo "training the benchmark model failed (see $DATA/train.log)"; exit 1; }
fi

stage_rate() {  # stage_rate LOG: stamps per second of the score stage (its own process + gather + reduce time)
  "$PY" - "$1" "$N" <<'PY'
import re, sys
t = re.search(r"stage score: wrote .* in ([0-9.]+)s \(process ([0-9.]+)s", open(sys.argv[1]).read())
print(f"{int(sys.argv[2]) / float(t.group(1)):.1f} {int(sys.argv[2]) / float(t.group(2)):.1f}")
PY
}
declare -A rate
for n in 1 2; do
  rm -rf "$DATA/score-n$n"
  echo "== dhs run --stages score, $n rank(s) [$(wait_quiet "$QW")]" | tee -a "$LOG"
  start=$(date +%s.%N)
  if [ "$n" = 1 ]; then
    "$DHS" run "$DATA/score.yaml" --out "$DATA/score-n$n" --stages score --set score.model="$DATA/model-run/model" > "$DATA/score-n$n.log" 2>&1
  else
    mpirun -n 2 --oversubscribe --bind-to none "$DHS" run "$DATA/score.yaml" --out "$DATA/score-n$n" --stages score \
      --set score.model="$DATA/model-run/model" > "$DATA/score-n$n.log" 2>&1
  fi
  wall=$(echo "$(date +%s.%N) - $start" | bc)
  read -r stage process < <(stage_rate "$DATA/score-n$n.log")
  rate[$n]="$(echo "scale=1; $N / $wall" | bc) $stage $process"
  echo "   wall ${wall}s: ${rate[$n]} stamps/s (whole command, stage, process)" | tee -a "$LOG"
done
echo "== python stage_f_resnet.py 64 10 1 (inference on in-memory tensors) [$(wait_quiet "$QW")]" | tee -a "$LOG"
py_rate=$("$PY" "$PYREF/stage_f_resnet.py" 64 10 1 2>&1 | tee -a "$LOG" | awk '/inference, batch/ {print $(NF-1)}')
echo "== uptime at end: $(uptime)" | tee -a "$LOG"
"$PY" - "$py_rate" "${rate[1]}" "${rate[2]}" <<'PY' | tee -a "$LOG"
import sys
py = float(sys.argv[1])
one, two = ([float(x) for x in a.split()] for a in sys.argv[2:4])
print("\n== scoring on the CPU: ResNet-18 width 64 (imagenet stem), 64x64x3 crops of 101x101x3 stamps, batch 64, 1 thread/rank")
print(f"{'':52s} {'command':>9s} {'stage':>9s} {'process':>9s}  goal")
print(f"{'python stage_f inference, in-memory tensors':52s} {py:9.1f}")
print(f"{'dhs score from HDF5, 1 rank, stamps/s':52s} {one[0]:9.1f} {one[1]:9.1f} {one[2]:9.1f}")
print(f"{'   / python':52s} {one[0] / py:8.2f}x {one[1] / py:8.2f}x {one[2] / py:8.2f}x  >= 1.0x")
print(f"{'dhs score from HDF5, mpirun -n 2, stamps/s':52s} {two[0]:9.1f} {two[1]:9.1f} {two[2]:9.1f}")
print(f"{'   / 1 rank':52s} {two[0] / one[0]:8.2f}x {two[1] / one[1]:8.2f}x {two[2] / one[2]:8.2f}x")
PY
echo "== log: $LOG"
