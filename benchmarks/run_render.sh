#!/usr/bin/env bash
# Lensed-render benchmark, side by side in one invocation: the Python baseline
# shared/bench/pyref/stage_c_inject.py (its "render only" figure: SIE+shear+Sersic on 404x404 rays,
# float64 numpy), the C anchor shared/bench/limits/injc.c (float32, libmvec, built as its header
# says; its "render" figure) and bench_lensing (dhs::kernels): BM_FastLensedSersic/0/1/1 (render_lensed
# on a SersicProfile: the fast renderer, 101x101 pixels x 4^2 rays, no PSF, like both baselines),
# BM_FastLensedSersic3Bands (the same, three bands from one ray shoot), BM_LensedSersic (the
# generic double-precision renderer) and BM_Inject3Bands (render + 33x33 Moffat per band by FFT
# + add into a cutout, against both baselines' "inject 3 bands" figures). All three measure wall-clock time on one core, best of
# several passes. Prints renders/s and ns per oversampled pixel (= per ray) and the ratios
# dhs/python (renders/s) and dhs/injc (speed: injc ns/pixel over dhs ns/pixel), with the load
# average before and after (the machine is shared).
# Logs and the injc binary go under the repo's ignored bench-out/.
#
#   benchmarks/run_render.sh [BUILD_DIR]      (BUILD_DIR defaults to $REPO/build)
# Environment: DHS_SHARED_DIR (default $REPO/../shared), N_PY (renders per python pass, default 50),
# N_INJC (renders per injc pass, default 1000).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${DHS_SHARED_DIR:-$REPO/../shared}
BUILD=$(cd "${1:-$REPO/build}" && pwd)  # absolute: the script changes directory
PY=/usr/bin/python3
PYREF=$SHARED/bench/pyref
INJC_SRC=$SHARED/bench/limits/injc.c
OUT=$REPO/bench-out
export PERF_DATA=$OUT/data PERF_RESULTS=$OUT/results
BENCH=$BUILD/benchmarks/bench_lensing
STAMP=$(date +%Y%m%dT%H%M%S)
LOG=$PERF_RESULTS/render_$STAMP.log
CPP_JSON=$PERF_RESULTS/render_$STAMP.json

[ -x "$BENCH" ] || { echo "no $BENCH: build the bench_lensing target in $BUILD first" >&2; exit 2; }
[ -f "$PYREF/stage_c_inject.py" ] || { echo "no $PYREF/stage_c_inject.py: set DHS_SHARED_DIR" >&2; exit 2; }
[ -f "$INJC_SRC" ] || { echo "no $INJC_SRC: set DHS_SHARED_DIR" >&2; exit 2; }
mkdir -p "$PERF_DATA" "$PERF_RESULTS"
cd "$OUT"

echo "== machine: $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$LOG"

# (a) Python baseline: "[stage_c] render only: ... <value> renders/s".
echo "== python baseline: $PY $PYREF/stage_c_inject.py ${N_PY:-50}" | tee -a "$LOG"
PY_OUT=$("$PY" "$PYREF/stage_c_inject.py" "${N_PY:-50}" 2>&1 | tee -a "$LOG")
PY_RPS=$(grep 'render only' <<< "$PY_OUT" | grep -oE '[0-9.]+(e[+-]?[0-9]+)? renders/s' | cut -d' ' -f1)
PY_IPS=$(grep 'Moffat 33x33 fftconvolve @101' <<< "$PY_OUT" | grep -oE '[0-9.]+(e[+-]?[0-9]+)? injections/s' | cut -d' ' -f1)

# (b) C anchor, built exactly as its header comment says.
echo "== C anchor: gcc -O3 -march=native -ffast-math -fopenmp-simd injc.c -o $OUT/injc -lm" | tee -a "$LOG"
gcc -O3 -march=native -ffast-math -fopenmp-simd "$INJC_SRC" -o "$OUT/injc" -lm
INJC_OUT=$("$OUT/injc" "${N_INJC:-1000}" 2>&1 | tee -a "$LOG")
INJC_NS=$(grep '^render' <<< "$INJC_OUT" | grep -oE '\([0-9.]+ ns/pix\)' | grep -oE '[0-9.]+')
INJC_IPS=$(grep '^inject' <<< "$INJC_OUT" | grep -oE '[0-9.]+ injections/s' | cut -d' ' -f1)

# (c) dhs: the fast renderer (one and three bands) and the generic one, best of 5 repetitions.
FILTER='^BM_FastLensedSersic/0/1/1/real_time$|^BM_FastLensedSersic3Bands/real_time$|^BM_LensedSersic$|^BM_Inject3Bands/real_time$'
echo "== dhs: $BENCH --benchmark_filter='$FILTER' --benchmark_repetitions=5" | tee -a "$LOG"
"$BENCH" --benchmark_filter="$FILTER" --benchmark_repetitions=5 --benchmark_min_time=0.3 \
  --benchmark_out="$CPP_JSON" --benchmark_out_format=json 2>&1 | tee -a "$LOG"
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$LOG"

"$PY" - "$CPP_JSON" "${PY_RPS:-nan}" "${INJC_NS:-nan}" "${PY_IPS:-nan}" "${INJC_IPS:-nan}" <<'PYEOF' 2>&1 | tee -a "$LOG"
import json, math, sys
cpp_json, py_rps, injc_ns, py_ips, injc_ips = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
rays = 404 * 404
best = {}  # benchmark name -> (renders/s, ns per ray), best repetition by wall-clock time
for b in json.load(open(cpp_json))["benchmarks"]:
    if b.get("run_type", "iteration") != "iteration":
        continue
    name = b.get("run_name", b["name"])
    t = b["real_time"] * {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]  # s per render
    if name not in best or 1.0 / t > best[name][0]:
        best[name] = (1.0 / t, t / rays * 1e9)
print("\n== lensed SIE+shear+Sersic render, 101x101 pixels at oversampling 4 (404x404 rays), no PSF, one core")
for label, key in (("dhs render_lensed (SersicProfile: fast renderer)", "BM_FastLensedSersic/0/1/1/real_time"),
                   ("dhs render_lensed_bands, 3 bands, one ray shoot", "BM_FastLensedSersic3Bands/real_time"),
                   ("dhs render_lensed (generic double renderer)", "BM_LensedSersic")):
    if key in best:
        rps, ns = best[key]
        print(f"{label:50s} {rps:9.1f} renders/s {ns:7.2f} ns/os-pixel   x{rps / py_rps:5.2f} python   x{injc_ns / ns:5.2f} injc")
print(f"{'python stage_c_inject.py (numpy float64)':50s} {py_rps:9.1f} renders/s {1e9 / py_rps / rays:7.2f} ns/os-pixel")
print(f"{'injc.c (float32, libmvec, -march=native)':50s} {1e9 / injc_ns / rays:9.1f} renders/s {injc_ns:7.2f} ns/os-pixel")
print("\n== 3-band injection: render (oversampling 4) + 33x33 Moffat per band + add into a 101x101x3 cutout")
if "BM_Inject3Bands/real_time" in best:
    ips = best["BM_Inject3Bands/real_time"][0]
    print(f"{'dhs (render_lensed + FftConvolver::convolve_all)':50s} {ips:9.1f} injections/s   x{ips / py_ips:5.2f} python   x{ips / injc_ips:5.2f} injc")
print(f"{'python (fftconvolve @101)':50s} {py_ips:9.1f} injections/s")
print(f"{'injc.c (direct 33x33 convolution)':50s} {injc_ips:9.1f} injections/s")
PYEOF
echo "== log: $LOG; dhs JSON: $CPP_JSON"
