#!/usr/bin/env bash
# Lensed-render benchmark, side by side in one invocation: the Python baseline
# shared/bench/pyref/stage_c_inject.py (its "render only" figure: SIE+shear+Sersic on 404x404 rays,
# float64 numpy), the C anchor shared/bench/limits/injc.c (float32, libmvec, built as its header
# says) and bench_lensing's BM_LensedSersic (dhs::kernels::render_lensed, 101x101 x 4^2 rays).
# Prints dhs renders/s and ns per oversampled pixel, python renders/s, injc ns/pixel, and the
# ratios dhs/python (renders/s) and dhs/injc (speed: injc ns/pixel over dhs ns/pixel).
# Logs and the injc binary go under the repo's ignored bench-out/.
#
#   benchmarks/run_render.sh [BUILD_DIR]      (BUILD_DIR defaults to $REPO/build)
# Environment: DHS_SHARED_DIR (default $REPO/../shared), N_PY (renders per python pass, default 50).
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

echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$LOG"

# (a) Python baseline: "[stage_c] render only: ... <value> renders/s".
echo "== python baseline: $PY $PYREF/stage_c_inject.py ${N_PY:-50}" | tee -a "$LOG"
PY_OUT=$("$PY" "$PYREF/stage_c_inject.py" "${N_PY:-50}" 2>&1 | tee -a "$LOG")
PY_RPS=$(grep 'render only' <<< "$PY_OUT" | grep -oE '[0-9.]+(e[+-]?[0-9]+)? renders/s' | cut -d' ' -f1)

# (b) C anchor, built exactly as its header comment says.
echo "== C anchor: gcc -O3 -march=native -ffast-math -fopenmp-simd injc.c -o $OUT/injc -lm" | tee -a "$LOG"
gcc -O3 -march=native -ffast-math -fopenmp-simd "$INJC_SRC" -o "$OUT/injc" -lm
INJC_OUT=$("$OUT/injc" 2>&1 | tee -a "$LOG")
INJC_NS=$(grep '^render' <<< "$INJC_OUT" | grep -oE '\([0-9.]+ ns/pix\)' | grep -oE '[0-9.]+')

# (c) dhs: BM_LensedSersic, best of 5 repetitions.
echo "== dhs: $BENCH --benchmark_filter=^BM_LensedSersic\$ --benchmark_repetitions=5" | tee -a "$LOG"
"$BENCH" --benchmark_filter='^BM_LensedSersic$' --benchmark_repetitions=5 \
  --benchmark_out="$CPP_JSON" --benchmark_out_format=json 2>&1 | tee -a "$LOG"

"$PY" - "$CPP_JSON" "${PY_RPS:-nan}" "${INJC_NS:-nan}" <<'PYEOF' 2>&1 | tee -a "$LOG"
import json, math, sys
cpp_json, py_rps, injc_ns = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
rps, ns = 0.0, math.inf  # best repetition
for b in json.load(open(cpp_json))["benchmarks"]:
    if b.get("run_type", "iteration") == "iteration" and "items_per_second" in b:
        rps = max(rps, b["items_per_second"])
        ns = min(ns, b["ns_per_os_pixel"] * 1e9)  # the counter is in seconds per pixel
print("\n== lensed SIE+shear+Sersic render, 404x404 rays (101x101 at oversample 4), one core")
print(f"dhs render_lensed        {rps:12.1f} renders/s  {ns:8.2f} ns/os-pixel")
print(f"python (numpy, float64)  {py_rps:12.1f} renders/s")
print(f"injc.c (float32, libmvec){'':12s}              {injc_ns:8.2f} ns/os-pixel")
print(f"dhs/python (renders/s)   {rps / py_rps:10.2f}x")
print(f"dhs/injc (speed = injc ns / dhs ns) {injc_ns / ns:7.2f}x")
PYEOF
echo "== log: $LOG; dhs JSON: $CPP_JSON"
