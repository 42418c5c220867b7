#!/usr/bin/env bash
# The sampling stage (`dhs run --stages sample`) side by side with its baselines on the same
# 1M-row synthetic sweep (shared/bench/pyref/make_data.py's make_sweep), in one invocation:
#   1. shared/bench/pyref/stage_a_sweep.py: fitsio + healpy + SHA-256 (per row and per unique
#      cell) + cuts; its END-TO-END rows/s figures (one process = one core);
#   2. shared/bench/limits/sweepc2.c: the C row-block probe (fits_read_tblbytes, chealpix,
#      SHA-256 per unique cell, cuts), built here with gcc -O3 -march=native;
#   3. dhs: the whole stage (plan, read, derive, exclusion against 2,000 lenses, pool/hosts/
#      matches, spool, HDF5 gather, reduce with the stratified draw) on 1 rank and on 2 ranks,
#      wall time of `dhs run` and the stage's own process/gather split from its log.
# Prints rows/s per core for each and the ratios dhs / python (per row and per unique hash)
# and dhs / C probe, with the load average before each side.
#
#   benchmarks/run_sample.sh [BUILD_DIR]      (BUILD_DIR defaults to $REPO/build)
# Environment: DHS_SHARED_DIR (default $REPO/../shared), QUIET_WAIT (seconds to wait for a
# >= 80% idle machine before each side; default 60, 0: none), REPS (dhs runs per rank count,
# best taken; default 3).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=$(cd "${DHS_SHARED_DIR:-$REPO/../shared}" && pwd)
BUILD=$(cd "${1:-$REPO/build}" && pwd)
PY=/usr/bin/python3
PYREF=$SHARED/bench/pyref
OUT=$REPO/bench-out
DATA=$OUT/sample-data
RES=$OUT/results
export PERF_DATA=$DATA PERF_RESULTS=$RES
SWEEP=$DATA/sweep-synth.fits
LENSES=$DATA/lenscat-synth.csv
DHS=$BUILD/apps/dhs/dhs
PROBE=$OUT/sweepc2
STAMP=$(date +%Y%m%dT%H%M%S)
LOG=$RES/sample_$STAMP.log
REPS=${REPS:-3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1

[ -x "$DHS" ] || { echo "no $DHS: build the dhs target in $BUILD first" >&2; exit 2; }
[ -d "$PYREF" ] || { echo "no $PYREF: set DHS_SHARED_DIR" >&2; exit 2; }
mkdir -p "$DATA" "$RES"

idle_frac() {  # idle percentage of the whole machine over 3 s, from /proc/stat
  local u n s i w x y z a b c d
  read -r _ u n s i w x y z _ < /proc/stat; a=$((u + n + s + i + w + x + y + z)); b=$i
  sleep 3
  read -r _ u n s i w x y z _ < /proc/stat; c=$((u + n + s + i + w + x + y + z)); d=$i
  echo $(( (100 * (d - b)) / (c - a > 0 ? c - a : 1) ))
}
wait_quiet() {
  local f deadline=$((SECONDS + ${QUIET_WAIT:-60}))
  f=$(idle_frac)
  while [ "$f" -lt 80 ] && [ $SECONDS -lt $deadline ]; do f=$(idle_frac); done
  echo "idle ${f}%, load $(cut -d' ' -f1-3 /proc/loadavg)"
}

# The data: make_data.py's 1M-row sweep (only the table, not the bricks) and 2,000 known
# lenses 0.3" from randomly chosen rows, lenscat format, 30% confident.
if [ ! -f "$SWEEP" ]; then
  echo "== making the 1M-row synthetic sweep in $DATA (once)"
  (cd "$PYREF" && "$PY" -c "import make_data; make_data.make_sweep(1_000_000, '$SWEEP')")
fi
if [ ! -f "$LENSES" ]; then
  "$PY" - "$SWEEP" "$LENSES" <<'EOF'
import sys
import fitsio
import numpy as np
d = fitsio.read(sys.argv[1], columns=["RA", "DEC"], ext=1)
rng = np.random.default_rng(7)
rows = rng.choice(len(d), 2000, replace=False)
with open(sys.argv[2], "w") as f:
    f.write("name,RA [deg],DEC [deg],zlens,type,grading,ref\n")
    for k, i in enumerate(sorted(rows)):
        ra = d["RA"][i] + 0.3 / 3600 / np.cos(np.radians(d["DEC"][i]))
        grading = "confident" if rng.random() < 0.3 else "probable"
        f.write(f"SYN{k:05d},{ra:.7f},{d['DEC'][i]:.7f},{rng.uniform(0.2, 0.9):.3f},galaxy,{grading},synthetic\n")
EOF
fi
ROWS=$("$PY" -c "import fitsio; print(fitsio.FITS('$SWEEP')[1].get_nrows())")

echo "== machine: $(nproc) cores; sweep $SWEEP ($ROWS rows, $(du -m "$SWEEP" | cut -f1) MB)" | tee "$LOG"

# 1. Python.
echo "== python [$(wait_quiet)]: $PY $PYREF/stage_a_sweep.py" | tee -a "$LOG"
PY_START=$(date +%Y-%m-%dT%H:%M:%S)
"$PY" "$PYREF/stage_a_sweep.py" "$SWEEP" 2>&1 | tee -a "$LOG"

# 2. The C probe (warm page cache: one run to warm, best of 3).
gcc -O3 -march=native "$SHARED/bench/limits/sweepc2.c" -o "$PROBE" -lcfitsio -lchealpix -lcrypto -lm \
  -Wno-deprecated-declarations
echo "== C probe [$(wait_quiet)]: sweepc2" | tee -a "$LOG"
"$PROBE" "$SWEEP" > /dev/null
C_BEST=0
for _ in 1 2 3; do
  line=$("$PROBE" "$SWEEP")
  echo "$line" | tee -a "$LOG"
  r=$(echo "$line" | sed -n 's/.*= \([0-9.]*\) Mrows\/s.*/\1/p')
  C_BEST=$("$PY" -c "print(max($C_BEST, $r * 1e6))")
done

# 3. dhs: the whole stage, 1 and 2 ranks, best of REPS wall times.
CFG=$DATA/sample_bench.yaml
cat > "$CFG" <<EOF
run:
  seed: 42
  log_level: info
sample:
  sweep_files: [$SWEEP]
  lens_catalog: $LENSES
  rows_per_unit: 250000
EOF
DHS_BEST=()
for n in 1 2; do
  echo "== dhs, $n rank(s) [$(wait_quiet)]: mpirun -n $n dhs run $CFG --stages sample" | tee -a "$LOG"
  best=1e9
  for rep in $(seq "$REPS"); do
    run=$OUT/sample-run-n$n
    rm -rf "$run"
    t0=$(date +%s.%N)
    mpirun -n "$n" --oversubscribe --bind-to none "$DHS" run "$CFG" --out "$run" --stages sample > "$run.log" 2>&1
    t1=$(date +%s.%N)
    wall=$("$PY" -c "print($t1 - $t0)")
    echo "  run $rep: wall ${wall}s; $(grep -o 'wrote .*' "$run.log" | sed 's/^wrote [^ ]* //')" | tee -a "$LOG"
    best=$("$PY" -c "print(min($best, $wall))")
  done
  grep -A30 "sample: strata" "$run.log" | sed -n '1,14p' >> "$LOG"
  DHS_BEST+=("$best")
done

"$PY" - "$RES/stage_a.jsonl" "$PY_START" "$ROWS" "$C_BEST" "${DHS_BEST[@]}" <<'EOF' 2>&1 | tee -a "$LOG"
import json, sys
jsonl, since, rows, c_best, d1, d2 = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
py = {}
for line in open(jsonl):
    r = json.loads(line)
    if r.get("time", "") >= since:
        py[r["name"]] = r["value"]
row = py.get("END-TO-END fitsio+healpy+sha256/row+cuts (warm)")
uniq = py.get("END-TO-END fitsio+healpy+sha256/unique+cuts (warm)")
dhs1 = rows / d1
dhs2 = rows / d2 / 2
print("\n== sampling, rows/s per core (1M-row synthetic sweep, warm page cache)")
print(f"{'python stage_a END-TO-END, SHA-256 per row':<58s} {row:14.4g}")
print(f"{'python stage_a END-TO-END, SHA-256 per unique cell':<58s} {uniq:14.4g}")
print(f"{'C probe sweepc2 (15 columns, healpix, sha/unique, cuts)':<58s} {c_best:14.4g}")
print(f"{'dhs sample, whole stage (dhs run wall), 1 rank':<58s} {dhs1:14.4g}")
print(f"{'dhs sample, whole stage (dhs run wall), 2 ranks, per core':<58s} {dhs2:14.4g}")
print(f"ratios (1 rank): dhs / python per-row {dhs1 / row:.1f}x, dhs / python per-unique {dhs1 / uniq:.1f}x, "
      f"dhs / C probe {dhs1 / c_best:.2f}x (goal: >= 8x python per-unique)")
EOF
echo "== log: $LOG"
