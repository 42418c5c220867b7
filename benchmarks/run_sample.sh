#!/usr/bin/env bash
# The sampling stage (`dhs run --stages sample`) side by side with its baselines on the same
# 1M-row synthetic sweep (shared/bench/pyref/make_data.py's make_sweep), in one invocation:
#   1. shared/bench/pyref/stage_a_sweep.py: fitsio + healpy + SHA-256 (per row and per unique
#      cell) + cuts, as published; then its END-TO-END body (its own functions imported) timed
#      by wall clock and by CPU time;
#   2. shared/bench/limits/sweepc2.c: the C row-block probe (fits_read_tblbytes, chealpix,
#      SHA-256 per unique cell, cuts), built here with gcc -O3 -march=native;
#   3. bench_sample: the stage's per-unit work alone (read; read + derive; the whole unit);
#   4. dhs: the whole stage (plan, read, derive, exclusion against 2,000 lenses, pool/hosts/
#      matches, spool, HDF5 gather, reduce with the positives and the stratified draw) on 1 rank
#      and on 2 ranks.
# Prints rows/s per core for each and the ratios dhs / python (per row and per unique hash)
# and dhs / C probe. The machine these run on is often shared, so every side is measured twice:
# wall-clock rows/s and rows per CPU-second (user + sys of the processes; python:
# time.process_time); on an idle machine the two agree. The load average is printed throughout.
#
#   benchmarks/run_sample.sh [BUILD_DIR]      (BUILD_DIR defaults to $REPO/build)
# Environment: DHS_SHARED_DIR (default $REPO/../shared), QUIET_WAIT (seconds to wait for a
# >= 80% idle machine before each side; default 60, 0: none), REPS (dhs runs per rank count,
# best taken; default 3).
set -euo pipefail

# shellcheck source=benchmarks/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" "${1:-}"  # REPO SHARED BUILD PY PYREF OUT RES, wait_quiet
DATA=$OUT/sample-data
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

# 1. Python: stage_a_sweep.py as published, then its END-TO-END body timed by wall and CPU.
echo "== python [$(wait_quiet)]: $PY $PYREF/stage_a_sweep.py" | tee -a "$LOG"
"$PY" "$PYREF/stage_a_sweep.py" "$SWEEP" 2>&1 | tee -a "$LOG"
echo "== python END-TO-END, wall and CPU [$(wait_quiet)]" | tee -a "$LOG"
cat > "$DATA/stage_a_cpu.py" <<'EOF'
import sys, time
sys.path.insert(0, sys.argv[1])
import fitsio, healpy as hp, numpy as np
import stage_a_sweep as s
from common import NSIDE
path = sys.argv[2]
def e2e(rowwise):  # stage_a_sweep.main()'s e2e(), verbatim
    dd = fitsio.read(path, columns=s.NEEDED, ext=1)
    p = hp.ang2pix(NSIDE, dd["RA"], dd["DEC"], nest=True, lonlat=True)
    sp = s.hash_rows(p) if rowwise else s.hash_unique(p)
    k, *_ = s.cuts(dd)
    return int(k.sum()), np.bincount(sp[k], minlength=3)
n = fitsio.FITS(path)[1].get_nrows()
out = []
for rowwise, reps in ((True, 1), (False, 3)):
    wall = cpu = float("inf")
    for _ in range(reps):
        w0, c0 = time.perf_counter(), time.process_time()
        e2e(rowwise)
        wall, cpu = min(wall, time.perf_counter() - w0), min(cpu, time.process_time() - c0)
    print(f"END-TO-END sha256/{'row' if rowwise else 'unique'}: {n / wall:.4g} rows/s wall, {n / cpu:.4g} rows per CPU-second")
    out += [n / wall, n / cpu]
print(" ".join(f"{x:.6g}" for x in out))
EOF
PY_CPU=$("$PY" "$DATA/stage_a_cpu.py" "$PYREF" "$SWEEP" 2>&1 | tee -a "$LOG" | tail -1)

# 2. The C probe (warm page cache: one run to warm, best of 3; wall and user + sys).
gcc -O3 -march=native "$SHARED/bench/limits/sweepc2.c" -o "$PROBE" -lcfitsio -lchealpix -lcrypto -lm \
  -Wno-deprecated-declarations
echo "== C probe [$(wait_quiet)]: sweepc2" | tee -a "$LOG"
"$PROBE" "$SWEEP" > /dev/null
C_BEST=0
C_CPU=1e9
for _ in 1 2 3; do
  line=$( { /usr/bin/time -f "cpu %U %S" "$PROBE" "$SWEEP"; } 2>&1 )
  echo "$line" | tee -a "$LOG"
  r=$(echo "$line" | sed -n 's/.*= \([0-9.]*\) Mrows\/s.*/\1/p')
  c=$(echo "$line" | sed -n 's/^cpu \([0-9.]*\) \([0-9.]*\)$/\1 + \2/p')
  C_BEST=$("$PY" -c "print(max($C_BEST, $r * 1e6))")
  C_CPU=$("$PY" -c "print(min($C_CPU, $c))")
done

# 3. dhs's per-unit work alone (bench_sample; Google Benchmark rates are per CPU-second).
if [ -x "$BUILD/benchmarks/bench_sample" ]; then
  echo "== bench_sample [$(wait_quiet)]" | tee -a "$LOG"
  "$BUILD/benchmarks/bench_sample" --sweep="$SWEEP" --lenses="$LENSES" --benchmark_repetitions=3 \
    --benchmark_report_aggregates_only=true 2>&1 | grep -E "median|Benchmark" | tee -a "$LOG"
fi

# 4. dhs: the whole stage, 1 rank (no mpirun) and 2 ranks, best of REPS.
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
stage_s() {  # the stage's own time from its log line "wrote ... in 0.934s (process ..."
  grep -o ') in [0-9.]*s (process' "$1" | grep -oE '[0-9]+\.[0-9]+' | head -1
}
# time_runs NAME [LAUNCHER...] -- [EXTRA dhs run ARGS...]: REPS runs of the stage into
# $OUT/NAME; sets R_WALL, R_CPU (user + sys of all ranks) and R_STAGE to the best of each.
time_runs() {
  local name=$1 launch=() run rep t0 t1 wall cpu
  shift
  while [ "$1" != "--" ]; do launch+=("$1"); shift; done
  shift
  run=$OUT/$name
  R_WALL=1e9 R_CPU=1e9 R_STAGE=1e9
  for rep in $(seq "$REPS"); do
    rm -rf "$run"
    t0=$(date +%s.%N)
    /usr/bin/time -o "$run.time" -f "%U %S" "${launch[@]}" "$DHS" run "$CFG" --out "$run" --stages sample "$@" > "$run.log" 2>&1
    t1=$(date +%s.%N)
    wall=$("$PY" -c "print($t1 - $t0)")
    cpu=$("$PY" -c "u, s = open('$run.time').read().split()[-2:]; print(float(u) + float(s))")
    echo "  run $rep: wall ${wall}s, cpu ${cpu}s (user + sys, all ranks); $(grep -o 'wrote .*' "$run.log" | sed 's/^wrote [^ ]* //')" | tee -a "$LOG"
    R_WALL=$("$PY" -c "print(min($R_WALL, $wall))")
    R_CPU=$("$PY" -c "print(min($R_CPU, $cpu))")
    R_STAGE=$("$PY" -c "print(min($R_STAGE, $(stage_s "$run.log")))")
  done
}
# ranks_runs N NAME: time_runs NAME on N ranks (mpirun when N > 1).
ranks_runs() {
  local launch=()
  [ "$1" -gt 1 ] && launch=(mpirun -n "$1" --oversubscribe --bind-to none)
  time_runs "$2" "${launch[@]}" --
}
DHS_BEST=()
DHS_CPU=()
DHS_STAGE=()
for n in 1 2; do
  echo "== dhs, $n rank(s) [$(wait_quiet)]: dhs run $CFG --stages sample" | tee -a "$LOG"
  ranks_runs "$n" "sample-run-n$n"
  grep -A30 "sample: strata" "$OUT/sample-run-n$n.log" | sed -n '1,20p' >> "$LOG"
  DHS_BEST+=("$R_WALL")
  DHS_CPU+=("$R_CPU")
  DHS_STAGE+=("$R_STAGE")
done
# 4a. Scaling: four copies of the sweep (links, 4M rows), 1 rank and 2 ranks.
for k in 0 1 2 3; do ln -sf "$SWEEP" "$DATA/sweep-synth-copy$k.fits"; done
CFG1=$CFG
CFG=$DATA/sample_bench_4m.yaml
sed "s|sweep_files: \[.*\]|sweep_files: [$DATA/sweep-synth-copy0.fits, $DATA/sweep-synth-copy1.fits, $DATA/sweep-synth-copy2.fits, $DATA/sweep-synth-copy3.fits]|" "$CFG1" > "$CFG"
FOUR=()
for n in 1 2; do
  echo "== dhs, 4M rows (4 files), $n rank(s) [$(wait_quiet)]" | tee -a "$LOG"
  ranks_runs "$n" "sample-4m-n$n"
  FOUR+=("$R_WALL")
done
CFG=$CFG1
"$PY" -c "print(f'4M rows: 1 rank {${FOUR[0]}:.2f} s, 2 ranks {${FOUR[1]}:.2f} s: {${FOUR[0]} / ${FOUR[1]}:.2f}x (goal >= 1.8x)')" | tee -a "$LOG"

# 4b. The same on 1 rank with a magnitude-limited pool (z < 20: 5.7% of these rows, not 31%).
echo "== dhs, 1 rank, sample.pool_max_mag_z=20 [$(wait_quiet)]" | tee -a "$LOG"
time_runs sample-run-z20 -- --set sample.pool_max_mag_z=20
ZBEST=$R_WALL
ZCPU=$R_CPU
ZSTAGE=$R_STAGE
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$LOG"

# shellcheck disable=SC2086  # PY_CPU is four numbers
"$PY" - "$ROWS" "$C_BEST" "$C_CPU" "${DHS_BEST[@]}" "${DHS_CPU[@]}" $PY_CPU "$ZBEST" "$ZCPU" \
  "${DHS_STAGE[@]}" "$ZSTAGE" <<'EOF' 2>&1 | tee -a "$LOG"
import sys
rows, c_wall, c_cpu, d1, d2, c1, c2, pr_w, pr_c, pu_w, pu_c, z_w, z_c, s1, s2, zs = map(float, sys.argv[1:17])
c_cpu = rows / c_cpu
# wall: the whole command (process start, MPI start under mpirun, plan, stage, exit);
# stage: the stage's own time as it logs it (units, spool, gather, reduce); both per core.
dhs = [(rows / d1, rows / c1, rows / s1), (rows / d2 / 2, rows / c2, rows / s2 / 2)]
print("\n== sampling, rows/s per core on the 1M-row synthetic sweep (warm page cache)")
print(f"{'':<62s} {'wall':>12s} {'per CPU-s':>12s} {'stage time':>12s}")
for label, w, c, st in [("python stage_a END-TO-END, SHA-256 per row", pr_w, pr_c, None),
                        ("python stage_a END-TO-END, SHA-256 per unique cell", pu_w, pu_c, None),
                        ("C probe sweepc2 (15 columns, healpix, sha/unique, cuts)", c_wall, c_cpu, None),
                        ("dhs sample, whole stage (dhs run), 1 rank", *dhs[0]),
                        ("dhs sample, whole stage (mpirun -n 2 dhs run), per core", *dhs[1]),
                        ("dhs sample, whole stage, 1 rank, pool_max_mag_z=20", rows / z_w, rows / z_c, rows / zs)]:
    print(f"{label:<62s} {w:12.4g} {c:12.4g} {'' if st is None else f'{st:12.4g}':>12s}")
for basis, k in (("wall", 0), ("CPU", 1), ("stage time", 2)):
    d = dhs[0][k]
    pr, pu, c = (pr_w, pu_w, c_wall) if k != 1 else (pr_c, pu_c, c_cpu)
    print(f"ratios ({basis}, 1 rank): dhs / python per-row {d / pr:.2f}x, dhs / python per-unique {d / pu:.2f}x, "
          f"dhs / C probe {d / c:.3f}x (goal: >= 3x python per-unique by wall clock)")
EOF
echo "== log: $LOG"
