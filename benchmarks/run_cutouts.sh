#!/usr/bin/env bash
# The cutout stage side by side with its Python baseline, in one invocation:
#   1. shared/bench/pyref/stage_b_cutouts.py as published (make_data.py's 3-band 3600x3600 RICE
#      brick, 100x100 tiles like DR10): image stamps per brick at 1, 10, 100, 1000 per brick, the
#      better of full decode + slicing and fitsio subset reads;
#   2. benchmarks/cutouts_pyref.py: the same functions on image + invvar (6 files; the invvar
#      bricks are made here, fpack -qz 16 as legacypipe), wall and CPU seconds, with and without
#      opening each brick's files;
#   3. bench_cutouts: the stage's decoding path (TileReader planned per brick: each tile decoded
#      at most once, single-use tiles decoded only down to the rows needed, whole-image decode when
#      >= full_decode_fraction of the tiles are needed) on the same files and positions, and
#      cfitsio's full-image decode rate;
#   4. the whole stage (`dhs run --stages cutouts`: 10 coadd files per brick, image, invvar,
#      maskbits, psfsize, HDF5 output) on a 2x2-brick full-size mock sky with 250 targets per
#      brick, 1 rank and `mpirun -n 2`.
# Prints per core: stamps/s, decoded Mpix/s over cfitsio's full-image rate, dhs / python at each
# occupancy (image only and image + invvar, wall and CPU), then -n 2 over -n 1, with load averages.
#
#   benchmarks/run_cutouts.sh [BUILD_DIR]      (BUILD_DIR defaults to $REPO/build)
# Environment: DHS_SHARED_DIR (default $REPO/../shared), QUIET_WAIT (seconds to wait for a
# >= 80% idle machine before each side; default 60, 0: none), REPS (stage runs per rank count,
# best taken; default 3), SECONDS_PER_CASE (bench_cutouts; default 1).
set -euo pipefail

# shellcheck source=benchmarks/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" "${1:-}"  # REPO SHARED BUILD PY PYREF OUT RES, wait_quiet
DATA=$OUT/cutouts-data
MOCK=$OUT/cutouts-mock
export PERF_DATA=$DATA PERF_RESULTS=$RES
DHS=$BUILD/apps/dhs/dhs
BENCH=$BUILD/benchmarks/bench_cutouts
STAMP=$(date +%Y%m%dT%H%M%S)
LOG=$RES/cutouts_$STAMP.log
REPS=${REPS:-3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1

[ -x "$DHS" ] || { echo "no $DHS: build the dhs target in $BUILD first" >&2; exit 2; }
[ -x "$BENCH" ] || { echo "no $BENCH: build the bench_cutouts target in $BUILD first" >&2; exit 2; }
[ -f "$PYREF/stage_b_cutouts.py" ] || { echo "no $PYREF/stage_b_cutouts.py: set DHS_SHARED_DIR" >&2; exit 2; }
mkdir -p "$DATA" "$RES"


# The data: make_data.py's brick (the 1000-row sweep only: the bricks do not depend on it) and
# invvar bricks for it.
if [ ! -f "$DATA/brick-image-z.fits.fz" ] || [ ! -f "$DATA/cutout-positions.npy" ]; then
  echo "== making the synthetic brick in $DATA (once)"
  (cd "$OUT" && "$PY" "$PYREF/make_data.py" 1000)
fi
if [ ! -f "$DATA/brick-invvar-z.fits.fz" ]; then
  echo "== making its invvar bricks (once)"
  "$PY" - "$DATA" <<'EOF'
import os, subprocess, sys
import numpy as np
from astropy.io import fits
d = sys.argv[1]
rng = np.random.default_rng(5)
for b, sigma in (("g", 0.004), ("r", 0.006), ("z", 0.012)):
    src = os.path.join(d, f"brick-image-{b}.fits")
    img = fits.getdata(src).astype(np.float64)
    h = fits.getheader(src)
    n = img.shape[0]
    # exposures: overlapping CCD-sized rectangles (1-6), a source term, 5% scatter
    nexp = np.ones((n, n))
    for _ in range(12):
        x0, y0 = rng.integers(-1000, n, 2)
        nexp[max(y0, 0):y0 + 2046, max(x0, 0):x0 + 4094] += 1
    var = sigma**2 / np.minimum(nexp, 6) * 3 + np.clip(img, 0, None) * 1e-3
    iv = (1.0 / var * (1 + 0.05 * rng.standard_normal((n, n)))).astype(np.float32)
    h["BUNIT"] = "1/nanomaggy^2"
    p = os.path.join(d, f"brick-invvar-{b}.fits")
    fits.writeto(p, iv, h, overwrite=True)
    if os.path.exists(p + ".fz"):
        os.remove(p + ".fz")
    subprocess.run(["fpack", "-t", "100,100", "-qz", "16", p], check=True)  # legacypipe's invvar: RICE, q = 16, dither 2
    os.remove(p)
EOF
fi
echo "== machine: $(nproc) cores; brick files $(du -ch "$DATA"/brick-*.fits.fz | tail -1 | cut -f1)" | tee "$LOG"

# 1. stage_b_cutouts.py as published.
echo "== python [$(wait_quiet)]: $PY $PYREF/stage_b_cutouts.py" | tee -a "$LOG"
(cd "$OUT" && "$PY" "$PYREF/stage_b_cutouts.py") 2>&1 | tee -a "$LOG" > "$RES/cutouts_stage_b.txt"

# 2. The same functions on image and image + invvar, wall and CPU.
echo "== python [$(wait_quiet)]: $PY $REPO/benchmarks/cutouts_pyref.py" | tee -a "$LOG"
"$PY" "$REPO/benchmarks/cutouts_pyref.py" "$PYREF" 2>&1 | tee -a "$LOG" > "$RES/cutouts_pyref.txt"

# 3. dhs's decoding path.
FRACTION=$("$DHS" config "$REPO/configs/demo.yaml" 2>/dev/null | sed -n 's/^ *full_decode_fraction: *\([0-9.]*\).*/\1/p' | head -1)
echo "== dhs [$(wait_quiet)]: $BENCH $DATA ${FRACTION:-0.9} ${SECONDS_PER_CASE:-1}" | tee -a "$LOG"
"$BENCH" "$DATA" "${FRACTION:-0.9}" "${SECONDS_PER_CASE:-1}" 2>&1 | tee -a "$LOG" > "$RES/cutouts_bench.txt"

# 4. The whole stage on a full-size mock sky, 1 and 2 ranks.
if [ ! -f "$MOCK/survey-bricks.fits.gz" ]; then
  echo "== making a 2x2-brick full-size mock sky in $MOCK (once)"
  "$DHS" mock-sky --out "$MOCK" --config "$REPO/configs/mock_sky.yaml" --set mock_sky.bricks_ra=2 \
    --set mock_sky.bricks_dec=2 --set run.log_level=warn
fi
SAMPLE=$MOCK/bench-sample.h5
"$PY" - "$MOCK" "$SAMPLE" <<'EOF'
import glob, os, sys
import h5py, numpy as np
from astropy.io import fits
from astropy.wcs import WCS
mock, out = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(11)
ids, bricks, ras, decs = [], [], [], []
for path in sorted(glob.glob(os.path.join(mock, "coadd", "*", "*", "*-image-r.fits.fz"))):
    brick = os.path.basename(os.path.dirname(path))
    w = WCS(fits.getheader(path, 1))
    xy = rng.uniform(60, 3540, (250, 2))
    sky = w.pixel_to_world_values(xy[:, 0], xy[:, 1])
    for k in range(250):
        ids.append(f"{brick}_{k}"); bricks.append(brick); ras.append(float(sky[0][k])); decs.append(float(sky[1][k]))
with h5py.File(out, "w") as f:
    g = f.create_group("negatives")
    s = lambda v: np.array([x.encode() for x in v], dtype=h5py.string_dtype("utf-8", max(len(x) for x in v)))
    g["galaxy_id"], g["brickname"] = s(ids), s(bricks)
    g["ra"], g["dec"] = np.array(ras), np.array(decs)
print(f"{len(ids)} targets in {len(set(bricks))} bricks")
EOF
CFG=$MOCK/bench-cutouts.yaml
cat > "$CFG" <<EOF
run:
  seed: 42
  log_level: info
survey:
  root: $MOCK
cutouts:
  sample_file: $SAMPLE
  target_sets: [negatives]
  unit_targets: 250          # one unit per brick, so 2 ranks share the 4 bricks
EOF
STAGE=()
for n in 1 2; do
  echo "== dhs run --stages cutouts, $n rank(s) [$(wait_quiet)]" | tee -a "$LOG"
  launch=()
  [ "$n" -gt 1 ] && launch=(mpirun -n "$n" --oversubscribe --bind-to none)
  best=1e9
  for rep in $(seq "$REPS"); do
    run=$OUT/cutouts-run-n$n
    rm -rf "$run"
    "${launch[@]}" "$DHS" run "$CFG" --out "$run" --stages cutouts > "$run.log" 2>&1
    s=$("$PY" -c "import h5py; print(h5py.File('$run/cutouts.h5')['provenance/run'].attrs['process_seconds'])")
    echo "  run $rep: process ${s}s; $(grep -o 'wrote .*' "$run.log" | sed 's/^wrote [^ ]* //')" | tee -a "$LOG"
    best=$("$PY" -c "print(min($best, $s))")
  done
  STAGE+=("$best")
done
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$LOG"

"$PY" - "$RES/cutouts_stage_b.txt" "$RES/cutouts_pyref.txt" "$RES/cutouts_bench.txt" "${STAGE[@]}" <<'EOF' 2>&1 | tee -a "$LOG"
import re, sys
stage_b, pyref, bench = (open(p).read() for p in sys.argv[1:4])
t1, t2 = float(sys.argv[4]), float(sys.argv[5])
kv = lambda line: dict(x.split("=", 1) for x in line.split()[1:] if "=" in x)
# stage_b_cutouts.py: per k, the better of its two per-brick figures.
sb = {}
for m in re.finditer(r"brick w/\s+(\d+) cutouts: (.*?)\s+([0-9.e+]+) cutouts/s", stage_b):
    k = int(m.group(1)); sb[k] = max(sb.get(k, 0.0), float(m.group(3)))
py = {(d["mode"], d["basis"], int(d["k"])): d for d in map(kv, pyref.splitlines()) if "basis" in d}
res = [kv(l) for l in bench.splitlines() if l.startswith("RESULT")]
cf = {d["mode"]: d for d in res if d["kind"] == "cfitsio_full"}
dhs = {(d["mode"], d["policy"], int(d["k"])): d for d in res if d["kind"] == "dhs"}
print("\n== cutouts per core: stamps/s (3 bands), dhs stage path vs the best Python method of stage_b_cutouts.py")
print(f"{'mode':<13} {'k':>5} {'dhs/s wall':>10} {'dhs/s CPU':>10} {'py best':>9} {'py +open':>9} {'py CPU':>9} "
      f"{'dhs/py':>7} {'dhs/py+o':>8} {'CPU/CPU':>7} {'Mpix/s':>7} {'/cfitsio':>8} {'full':>5}")
for mode in ("image", "image+invvar"):
    c = float(cf[mode]["mpix_per_cpu_s"])
    for k in (1, 10, 100, 1000):
        d = dhs[(mode, "stage", k)]
        w, cpu = float(d["stamps_per_s"]), float(d["stamps_per_cpu_s"])
        pw, pc = py[(mode, "wall", k)], py[(mode, "cpu", k)]
        best = sb[k] if mode == "image" and k in sb else float(pw["best"])
        print(f"{mode:<13} {k:>5} {w:10.0f} {cpu:10.0f} {best:9.0f} {float(pw['best_with_open']):9.0f} "
              f"{float(pc['best']):9.0f} {w / best:6.2f}x {w / float(pw['best_with_open']):7.2f}x "
              f"{cpu / float(pc['best']):6.2f}x {float(d['mpix_per_cpu_s']):7.0f} {float(d['mpix_per_cpu_s']) / c:7.2f}x "
              f"{float(d['full_decodes_per_brick']):5.0f}")
    print(f"{'':<13} cfitsio full-image decode: {float(cf[mode]['mpix_per_s']):.0f} Mpix/s wall, {c:.0f} Mpix/s CPU")
print("(py best: stage_b_cutouts.py's own figure for image; py +open: each brick's files opened for its stamps;"
      " Mpix/s: pixels through the RICE decoder per CPU-second; goals: dhs/py >= 1.5x, /cfitsio >= 0.8)")
print(f"\n== whole stage (1000 stamps with invvar, maskbits, psfsize; 4 full-size bricks): process {t1:.2f} s on 1 rank, "
      f"{t2:.2f} s on 2 ranks: -n 2 over -n 1 = {t1 / t2:.2f}x faster, {1000 / t1:.0f} stamps/s on 1 rank")
EOF
echo "== log: $LOG"
