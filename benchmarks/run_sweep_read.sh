#!/usr/bin/env bash
# Runs the sweep-table read benchmark side by side with the Python baseline on the same data,
# in one invocation: shared/bench/pyref/stage_a_sweep.py (fitsio/astropy reads, then its other
# stage-(a) steps) and then bench_sweep_read (dhs::fits::SweepReader). Prints both rows/s
# figures for the 15 NEEDED columns and all columns, and the dhs/python ratios.
# Data (made once, if missing) and results go under the repo's ignored bench-out/.
#
#   benchmarks/run_sweep_read.sh [BUILD_DIR]      (BUILD_DIR defaults to $REPO/build)
# Environment: DHS_SHARED_DIR (default $REPO/../shared), BENCH_ARGS (--benchmark_* flags; default:
# the two headline benchmarks, 5 repetitions, best taken as stage_a_sweep.py takes its best of 3;
# BENCH_ARGS=--benchmark_repetitions=3 adds the block-size sweep),
# QUIET_WAIT (seconds to wait for a >= 80% idle machine before each side; default 120, 0: none).
set -euo pipefail

# shellcheck source=benchmarks/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" "${1:-}"  # REPO SHARED BUILD PY PYREF OUT RES, wait_quiet
export PERF_DATA=$OUT/data PERF_RESULTS=$OUT/results
SWEEP=$PERF_DATA/sweep-synth.fits
BENCH=$BUILD/benchmarks/bench_sweep_read
STAMP=$(date +%Y%m%dT%H%M%S)
LOG=$PERF_RESULTS/sweep_read_$STAMP.log
CPP_JSON=$PERF_RESULTS/sweep_read_$STAMP.json
BENCH_ARGS=${BENCH_ARGS:---benchmark_repetitions=5 --benchmark_filter=_columns/real_time}

[ -x "$BENCH" ] || { echo "no $BENCH: build the bench_sweep_read target in $BUILD first" >&2; exit 2; }
[ -d "$PYREF" ] || { echo "no $PYREF: set DHS_SHARED_DIR" >&2; exit 2; }
mkdir -p "$PERF_DATA" "$PERF_RESULTS"
cd "$OUT"


if [ ! -f "$SWEEP" ]; then
  echo "== making the synthetic data in $PERF_DATA (once)"
  "$PY" "$PYREF/make_data.py"
fi

echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$LOG"
echo "== python baseline [idle $(wait_idle 120)%]: $PY $PYREF/stage_a_sweep.py $SWEEP" | tee -a "$LOG"
PY_START=$(date +%Y-%m-%dT%H:%M:%S)
"$PY" "$PYREF/stage_a_sweep.py" "$SWEEP" 2>&1 | tee -a "$LOG"

echo "== dhs [idle $(wait_idle 120)%]: $BENCH --sweep=$SWEEP $BENCH_ARGS" | tee -a "$LOG"
read -r -a BENCH_ARGV <<< "$BENCH_ARGS"  # split on blanks, no globbing
"$BENCH" --sweep="$SWEEP" --benchmark_out="$CPP_JSON" --benchmark_out_format=json "${BENCH_ARGV[@]}" 2>&1 | tee -a "$LOG"

# Python figures: this run's records of stage_a.jsonl (appended by stage_a_sweep.py); dhs: the JSON.
"$PY" - "$PERF_RESULTS/stage_a.jsonl" "$PY_START" "$CPP_JSON" <<'EOF' 2>&1 | tee -a "$LOG"
import json, sys
jsonl, since, cpp_json = sys.argv[1:4]
py = {}
for line in open(jsonl):
    r = json.loads(line)
    if r.get("time", "") >= since:
        py[r["name"]] = r["value"]
cpp = {}  # best repetition per benchmark
for b in json.load(open(cpp_json))["benchmarks"]:
    if b.get("run_type", "iteration") == "iteration" and "items_per_second" in b:
        name = b.get("run_name", b["name"])
        cpp[name] = max(cpp.get(name, 0.0), b["items_per_second"])
pairs = [("15 NEEDED columns (warm)", "fitsio.read 15 cols, warm cache", "sweep_read/needed_15_columns/real_time"),
         ("all columns (warm)", "fitsio.read all 116 cols, warm", "sweep_read/all_columns/real_time")]
print("\n== sweep table read, rows/s (open + read, warm page cache; best of the runs each side made)")
print(f"{'columns':<26s} {'python fitsio':>15s} {'dhs SweepReader':>16s} {'dhs/python':>11s}")
for label, pk, ck in pairs:
    p, c = py.get(pk), cpp.get(ck)
    if p is None or c is None:
        print(f"{label:<26s} missing figure (python {p}, dhs {c})")
        continue
    print(f"{label:<26s} {p:15.4g} {c:16.4g} {c / p:10.2f}x")
EOF
echo "== log: $LOG; dhs JSON: $CPP_JSON; python JSON lines: $PERF_RESULTS/stage_a.jsonl"
