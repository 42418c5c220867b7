#!/usr/bin/env bash
# Search speed (CPU), side by side in one invocation: the whole `search` stage as a user runs it
# (dhs run --stages search: the sample's pool and lenses cut brick by brick from the coadds,
# raw_robust + crop, ResNet-18 inference, search.h5 and the candidates written) on 1 rank and
# under mpirun -n 2, on a mock footprint of 16 bricks of 3600^2 px (configs/mock_sky.yaml's sky,
# 4x4 bricks: ~20k targets; a unit is a whole brick, so few bricks would measure the tail's
# imbalance rather than the stage);
# then its two halves apart, one core each: the data path (search_data_bench: cut + prepare, as
# a data rank does it) and the score path (the stage's inference rate: frozen ResNet-18 on the
# CPU; dhs_learn_infer_bench: the eager model, as a GPU learner runs it), so that the ratio says
# how many data ranks keep one learner busy.
#
#   QUIET_WAIT=20 benchmarks/run_search.sh [BUILD_DIR]
# The model: ResNet-18 width 64, imagenet stem, crop 64 (benchmarks/run_score.sh's), trained one
# short epoch on the ring fixture.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" "${1:-}"  # REPO SHARED BUILD PY PYREF OUT RES, wait_quiet
QW=${QUIET_WAIT:-10}
DHS=$BUILD/apps/dhs/dhs
DATA=$OUT/search-data
mkdir -p "$DATA" "$RES"
LOG=$RES/search_$(date -u +%Y%m%dT%H%M%S).log
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1
echo "== run_search.sh $(date -u +%Y%m%dT%H%M%S): $(nproc) cores; uptime: $(uptime)" | tee "$LOG"

# The footprint, its sample (pool + lenses) and the model, made once and kept in $DATA.
[ -s "$DATA/mock16/truth/lenses.csv" ] || mpirun -n 2 --oversubscribe --bind-to none "$DHS" mock-sky --out "$DATA/mock16" \
  --config "$REPO/configs/mock_sky.yaml" --set mock_sky.bricks_ra=4 --set mock_sky.bricks_dec=4 > "$DATA/mock.log" 2>&1 ||
  { echo "mock-sky failed (see $DATA/mock.log)"; exit 1; }
cfg=(--set "survey.root=$DATA/mock16" --set run.log_level=info --set search.batch_size=64 --set search.top_fraction=1e-3
     --set "search.model=$DATA/model-run/model")
if [ ! -s "$DATA/base/sample.h5" ] || ! grep -q mock16 "$DATA/base/config.yaml"; then
  rm -rf "$DATA/base"
  mpirun -n 2 --oversubscribe --bind-to none "$DHS" run "$REPO/configs/demo.yaml" --out "$DATA/base" --stages sample \
    "${cfg[@]}" > "$DATA/sample.log" 2>&1 || { echo "sample failed (see $DATA/sample.log)"; exit 1; }
fi
if [ ! -s "$DATA/model-run/model/weights.pt" ]; then
  rm -rf "$DATA/model-run"
  "$PY" "$REPO/tests/mpi_stages/train/make_fixture.py" "$DATA/rings.h5" --n 1024 --size 101
  "$DHS" run "$REPO/configs/demo.yaml" --out "$DATA/model-run" --stages train --set "train.injections_file=$DATA/rings.h5" \
    --set train.dataset=injection --set train.arch=resnet18 --set train.stem=imagenet --set train.width=64 \
    --set train.crop=64 --set train.epochs=1 --set train.learners=1 --set train.meta_columns=[] \
    "${cfg[@]}" > "$DATA/train.log" 2>&1 || { echo "training the benchmark model failed (see $DATA/train.log)"; exit 1; }
fi

stage_rate() {  # stage_rate DIR: targets, then targets/s of the stage (process + gather + reduce) and of its process part
  "$PY" - "$1" <<'PY'
import re, sys
import h5py
d = sys.argv[1]
t = open(d + ".log").read()
n = int(re.search(r"rows: /targets=(\d+)", t).group(1))
secs = lambda x: sum(float(v) * {"h": 3600, "m": 60, "s": 1}[u] for v, u in re.findall(r"([0-9.]+)([hms])", x))
m = re.search(r"stage search: wrote .* \(process (\S+) \[[^]]*\], gather (\S+), reduce (\S+)\)", t)
process = float(h5py.File(d + "/search.h5")["provenance/run"].attrs["process_seconds"])  # the log rounds above 60 s
stage = process + secs(m.group(2)) + secs(m.group(3))
print(n, f"{n / stage:.1f}", f"{n / process:.1f}")
PY
}
declare -A rate
# n1 and n2: one compute thread per rank (the scaling at fixed resources per rank); n1t2: one
# rank with the node's 2 cores for inference (search.threads 0), as a single-rank dry run has it.
for run in n1 n2 n1t2; do
  n=${run:1:1}
  threads=1; [ "$run" = n1t2 ] && threads=0
  dir="$DATA/search-$run"
  rm -rf "$dir"; mkdir -p "$dir"; cp "$DATA/base/sample.h5" "$dir/"
  echo "== dhs run --stages search, $n rank(s), search.threads $threads [$(wait_quiet "$QW")]" | tee -a "$LOG"
  start=$(date +%s.%N)
  if [ "$n" = 1 ]; then
    "$DHS" run "$REPO/configs/demo.yaml" --out "$dir" --stages search "${cfg[@]}" --set search.threads=$threads \
      > "$dir.log" 2>&1
  else
    mpirun -n 2 --oversubscribe --bind-to none "$DHS" run "$REPO/configs/demo.yaml" --out "$dir" --stages search \
      "${cfg[@]}" --set search.threads=$threads > "$dir.log" 2>&1
  fi
  wall=$(echo "$(date +%s.%N) - $start" | bc)
  read -r targets stage process < <(stage_rate "$dir")
  rate[$run]="$(echo "scale=1; $targets / $wall" | bc) $stage $process"
  echo "   $targets targets, wall ${wall}s: ${rate[$run]} targets/s (whole command, stage, process)" | tee -a "$LOG"
done
echo "== search_data_bench: cut + prepare, one thread [$(wait_quiet "$QW")]" | tee -a "$LOG"
data=$("$BUILD/benchmarks/search_data_bench" "$REPO/configs/demo.yaml" "$DATA/base" "${cfg[@]}" | tee -a "$LOG")
# At DR10's density: Paper IV's z < 20 leaves ~100 targets per brick (DR10: 40M galaxies over
# ~350k bricks), so most of a coadd's tiles are not needed and the cost per stamp changes.
echo "== search_data_bench, search.max_mag_z 20 [$(wait_quiet "$QW")]" | tee -a "$LOG"
data20=$("$BUILD/benchmarks/search_data_bench" "$REPO/configs/demo.yaml" "$DATA/base" "${cfg[@]}" \
  --set search.max_mag_z=20 | tee -a "$LOG")
echo "== dhs_learn_infer_bench: eager ResNet-18 width 64, imagenet stem, crop 64, batch 64, 1 thread [$(wait_quiet "$QW")]" | tee -a "$LOG"
infer=$("$BUILD/benchmarks/dhs_learn_infer_bench" --batch 64 --steps 10 --warmup 2 --width 64 --stem imagenet --crop 64 \
  --device cpu --threads 1 | tee -a "$LOG")
echo "== uptime at end: $(uptime)" | tee -a "$LOG"
"$PY" - "${rate[n1]}" "${rate[n2]}" "${rate[n1t2]}" "$data" "$infer" "$data20" <<'PY' | tee -a "$LOG"
import json, sys
one, two, one2 = ([float(x) for x in a.split()] for a in sys.argv[1:4])
data, infer, data20 = (json.loads(x) for x in sys.argv[4:7])
d = data["stamps_per_cpu_s"]
# The stage on one rank does both halves on its cores; the score path's own rate follows from
# the process time minus the data path's time for the same stamps.
score_path = 1 / max(1e-9, 1 / one[2] - 1 / d)
print("| measure | targets or stamps /s |")
print("|---|---|")
print(f"| search stage, 1 rank, 1 thread: whole command / stage / process | {one[0]:.0f} / {one[1]:.0f} / {one[2]:.0f} |")
print(f"| search stage, mpirun -n 2, 1 thread each: whole command / stage / process | {two[0]:.0f} / {two[1]:.0f} / {two[2]:.0f} |")
print(f"| 2 ranks / 1 rank (stage, 1 thread per rank) | **{two[1] / one[1]:.2f}x** (goal >= 1.8x) |")
print(f"| search stage, 1 rank, 2 threads for inference: whole command / stage | {one2[0]:.0f} / {one2[1]:.0f} (2 ranks: {two[1] / one2[1]:.2f}x this) |")
print(f"| data path alone, 1 core ({data['stamps'] / data['bricks']:.0f} targets per brick; cut {data['cut_s']:.1f} s + prepare {data['prepare_s']:.1f} s) | {d:.0f} |")
print(f"| data path alone at z < 20 ({data20['stamps']} targets, {data20['stamps'] / data20['bricks']:.0f} per brick) | {data20['stamps_per_cpu_s']:.0f} |")
print(f"| score path, 1 thread (frozen ResNet-18 on the CPU, from the 1-rank stage) | {score_path:.0f} |")
print(f"| eager ResNet-18 inference, 1 thread (dhs_learn_infer_bench) | {infer['images_per_s']:.0f} |")
print(f"data path / eager inference per core: {d / infer['images_per_s']:.1f}; a learner inferring R images/s "
      f"needs R / {d:.0f} data ranks")
PY
