#!/usr/bin/env bash
# Engine benchmarks, side by side in one invocation, reported as ratios:
#  1. scaling: a CPU-bound testload stage, `mpirun -n 2` over `-n 1` (goal >= 1.8 on 2 cores);
#  2. scheduler dispatch rate with empty units at 3 ranks (units/s; no processing, no spool);
#  3. gather MB/s (parallel HDF5, incl. close + fsync) over `dd conv=fdatasync` MB/s on the same disk
#     (goal >= 0.7).
#   benchmarks/run_engine.sh [BUILD_DIR]     (default ./build; results under bench-out/)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$(cd "${1:-$REPO/build}" && pwd)
OUT=$REPO/bench-out/engine
mkdir -p "$OUT"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
DHS=$BUILD/apps/dhs/dhs
mpi() { local n=$1; shift; mpirun -n "$n" --oversubscribe --bind-to none "$@"; }
now() { date +%s.%N; }
cores=$(nproc)
echo "== engine benchmarks on $cores cores, load $(cut -d' ' -f1 /proc/loadavg)"

# 1. CPU-bound scaling.
cat > "$OUT/cpu.yaml" <<'YAML'
run:
  stages: [testload]
  progress_interval_s: 60
testload:
  units: 64
  rows_per_unit: 400
  work_per_row: 80000
YAML
declare -A wall proc
for n in 1 2; do
  best=""
  for rep in 1 2 3; do
    rm -rf "$OUT/cpu-n$n"
    t0=$(now); mpi $n "$DHS" run "$OUT/cpu.yaml" --out "$OUT/cpu-n$n" --log-level warn; t1=$(now)
    w=$(echo "$t1 - $t0" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$w < $best" | bc -l)" = 1 ]; then best=$w; fi
  done
  wall[$n]=$best
  proc[$n]=$(h5dump -a /provenance/run/process_seconds "$OUT/cpu-n$n/testload.h5" | grep -oE '\(0\): [0-9.e+-]+' | cut -d' ' -f2)
  printf "  cpu-bound testload, -n %d: best wall %.2f s (processing %.2f s)\n" "$n" "${wall[$n]}" "${proc[$n]}"
done
h5diff --exclude-path /provenance/run "$OUT/cpu-n1/testload.h5" "$OUT/cpu-n2/testload.h5" >/dev/null && echo "  outputs identical (h5diff)"
printf "  SCALING -n 2 / -n 1: %.2fx wall, %.2fx processing (goal >= 1.8)\n" \
  "$(echo "${wall[1]} / ${wall[2]}" | bc -l)" "$(echo "${proc[1]} / ${proc[2]}" | bc -l)"

# 2. Scheduler dispatch rate.
for n in 1 2 3; do
  mpi $n "$BUILD/benchmarks/bench_scheduler" 200000 "${IN_FLIGHT:-2}" | tee "$OUT/sched-n$n.json" | sed 's/^/  /'
done
echo "  DISPATCH at 3 ranks: $(grep -oE '"units_per_s": [0-9.]+' "$OUT/sched-n3.json" | cut -d' ' -f2) units/s"

# 3. Gather vs dd on the same disk (median of 3 each).
g=(); d=()
for rep in 1 2 3; do
  g+=("$(mpi 2 "$BUILD/benchmarks/bench_gather" "$OUT" 32 64 | grep -oE '"MB_per_s": [0-9.]+' | cut -d' ' -f2)")
  d+=("$(dd if=/dev/zero of="$OUT/dd.bin" bs=1M count=1000 conv=fdatasync 2>&1 | tail -1 | awk '{print $(NF-1) * ($NF == "GB/s" ? 1000 : 1)}')")
  rm -f "$OUT/dd.bin"
done
gm=$(printf '%s\n' "${g[@]}" | sort -n | sed -n 2p); dm=$(printf '%s\n' "${d[@]}" | sort -n | sed -n 2p)
echo "  gather MB/s: ${g[*]} (median $gm); dd conv=fdatasync MB/s: ${d[*]} (median $dm)"
printf "  GATHER / dd: %.2f (goal >= 0.7)\n" "$(echo "$gm / $dm" | bc -l)"
