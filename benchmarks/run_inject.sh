#!/usr/bin/env bash
# Injection benchmark, side by side in one invocation, all on one core: the Python baseline
# shared/bench/pyref/stage_c_inject.py (its "inject 3 bands, Moffat 33x33 fftconvolve @101": SIE +
# shear + Sersic on 4x4 rays per pixel, a 33x33 Moffat per band, added to a cutout), the C anchor
# shared/bench/limits/injc.c (the same in float32 with a direct 33x33 convolution; built as its
# header says) and dhs:
#   (1) bench_inject BM_Inject/0/0: one injection as the stage does it at equal oversampling (4)
#       and kernel size (33x33 Moffat, FFT), plus S/N, stretch and edge metrics, on injc's
#       parameter distribution;
#   (2) `dhs run --stages inject` end to end on 1 rank over fixture hosts (bench_inject
#       --make-fixture): prior grid, N_E2E injections, no controls, inject.max_oversample 4, PSF
#       Moffat 33x33, source n 0.7-2.5, r_e 0.15-0.6", theta_E 0.8-2.5" (injc's ranges): reading
#       host stamps, rendering, writing injections.h5; injections/s = N / the stage's process
#       seconds (/provenance/run), and over the whole command's wall time;
#   (3) the same with the default adaptive sampling (max_oversample 16), for information.
# Prints injections/s and the ratios dhs/python (goal >= 5) and dhs/injc (goal >= 0.8), with the
# load average before and after (the machine is shared). Logs go under the repo's ignored bench-out/.
#
#   benchmarks/run_inject.sh [BUILD_DIR]      (BUILD_DIR defaults to $REPO/build)
# Environment: DHS_SHARED_DIR (default $REPO/../shared), N_PY (python injections, default 100),
# N_INJC (injc injections, default 1000), N_E2E (end-to-end injections, default 2000).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${DHS_SHARED_DIR:-$REPO/../shared}
BUILD=$(cd "${1:-$REPO/build}" && pwd)
PY=/usr/bin/python3
PYREF=$SHARED/bench/pyref
INJC_SRC=$SHARED/bench/limits/injc.c
OUT=$REPO/bench-out
export PERF_DATA=$OUT/data PERF_RESULTS=$OUT/results
DHS=$BUILD/apps/dhs/dhs
BENCH=$BUILD/benchmarks/bench_inject
STAMP=$(date +%Y%m%dT%H%M%S)
LOG=$PERF_RESULTS/inject_$STAMP.log
WORK=$OUT/inject_$STAMP
N_E2E=${N_E2E:-2000}

for x in "$DHS" "$BENCH"; do [ -x "$x" ] || { echo "no $x: build the dhs and bench_inject targets in $BUILD" >&2; exit 2; }; done
[ -f "$PYREF/stage_c_inject.py" ] || { echo "no $PYREF/stage_c_inject.py: set DHS_SHARED_DIR" >&2; exit 2; }
mkdir -p "$PERF_DATA" "$PERF_RESULTS" "$WORK"
cd "$OUT"
echo "== machine: $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$LOG"

# (a) Python baseline.
echo "== python: $PY $PYREF/stage_c_inject.py ${N_PY:-100}" | tee -a "$LOG"
PY_OUT=$("$PY" "$PYREF/stage_c_inject.py" "${N_PY:-100}" 2>&1 | tee -a "$LOG")
PY_IPS=$(grep 'Moffat 33x33 fftconvolve @101' <<< "$PY_OUT" | grep -oE '[0-9.]+(e[+-]?[0-9]+)? injections/s' | cut -d' ' -f1)

# (b) C anchor.
echo "== C anchor: gcc -O3 -march=native -ffast-math -fopenmp-simd injc.c -o $OUT/injc -lm" | tee -a "$LOG"
gcc -O3 -march=native -ffast-math -fopenmp-simd "$INJC_SRC" -o "$OUT/injc" -lm
INJC_OUT=$("$OUT/injc" "${N_INJC:-1000}" 2>&1 | tee -a "$LOG")
INJC_IPS=$(grep '^inject' <<< "$INJC_OUT" | grep -oE '[0-9.]+ injections/s' | cut -d' ' -f1)

# (c) dhs kernel loop.
echo "== dhs kernels: $BENCH --benchmark_filter='BM_Inject/0/0' --benchmark_repetitions=3" | tee -a "$LOG"
"$BENCH" --benchmark_filter='^BM_Inject/0/0/real_time$' --benchmark_repetitions=3 --benchmark_min_time=1 \
  --benchmark_out="$WORK/bench.json" --benchmark_out_format=json 2>&1 | tee -a "$LOG"
KERNEL_IPS=$("$PY" -c "
import json,sys
b=[x for x in json.load(open('$WORK/bench.json'))['benchmarks'] if x.get('run_type')=='iteration']
print(max(x['items_per_second'] for x in b))")

# (d) dhs end to end.
"$BENCH" --make-fixture "$WORK" 350 | tee -a "$LOG"
cat > "$WORK/inject.yaml" <<EOF
run:
  seed: 42
  log_level: info
  progress_interval_s: 30
inject:
  grid: prior
  n_tasks: $N_E2E
  control_fraction: 0
  psf_model: moffat
  moffat_beta: 3.5
  psf_half_size: 16
  oversample: 4
  max_oversample: 4
  theta_e_range: [0.8, 2.5]
  src_reff_range: [0.15, 0.6]
  src_n_range: [0.7, 2.5]
  src_e_range: [0.0, 0.43]
  sample_file: $WORK/sample.h5
  cutouts_file: $WORK/cutouts.h5
EOF
e2e() {  # $1 run dir, $2.. extra args; prints "process_seconds wall_seconds"
  local t0 t1
  t0=$(date +%s.%N)
  "$DHS" run "$WORK/inject.yaml" --out "$1" --stages inject "${@:2}" >> "$LOG" 2>&1
  t1=$(date +%s.%N)
  "$PY" -c "
import h5py
f=h5py.File('$1/injections.h5','r')
print(f['/provenance/run'].attrs['process_seconds'], $t1-$t0, len(f['/injections/injection_id']))"
}
echo "== dhs end to end: $DHS run $WORK/inject.yaml --stages inject (1 rank, $N_E2E injections, oversample 4)" | tee -a "$LOG"
read -r E2E_PROC E2E_WALL E2E_N < <(e2e "$WORK/run-os4")
echo "== dhs end to end, adaptive sampling (--set inject.max_oversample=16)" | tee -a "$LOG"
read -r ADA_PROC ADA_WALL ADA_N < <(e2e "$WORK/run-adaptive" --set inject.max_oversample=16)
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$LOG"

"$PY" - "$PY_IPS" "$INJC_IPS" "$KERNEL_IPS" "$E2E_PROC" "$E2E_WALL" "$E2E_N" "$ADA_PROC" "$ADA_WALL" "$ADA_N" <<'PYEOF' 2>&1 | tee -a "$LOG"
import sys
py, injc, kern, e2e_p, e2e_w, e2e_n, ada_p, ada_w, ada_n = map(float, sys.argv[1:])
print("\n== injections/s on one core (3 bands, 4x4 rays per pixel, 33x33 Moffat unless noted)")
rows = [("dhs bench_inject (stage's per-injection work)", kern),
        ("dhs run --stages inject, process time", e2e_n / e2e_p),
        ("dhs run --stages inject, whole command", e2e_n / e2e_w),
        ("dhs run, adaptive sampling, process time", ada_n / ada_p)]
for label, v in rows:
    print(f"{label:48s} {v:9.1f}/s   x{v / py:6.2f} python (goal 5)   x{v / injc:5.2f} injc (goal 0.8)")
print(f"{'python stage_c_inject.py (fftconvolve @101)':48s} {py:9.1f}/s")
print(f"{'injc.c (float32, direct 33x33 conv)':48s} {injc:9.1f}/s")
PYEOF
echo "== log: $LOG"
