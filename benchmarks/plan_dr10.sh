#!/usr/bin/env bash
# DR10 at full scale, on paper: `dhs plan` of the whole demo pipeline over a survey of DR10's
# size, timed. The survey is a stand-in (no DR10 sweeps reach this machine): 1,436 sweep files
# named as DR10's 5x5-deg blocks (the first 1,436 of shared/data/real's 2,592 names with Dec
# -70..+30), each a link to one 79,387-row synthetic sweep (shared/bench/pyref/make_data.py's
# make_sweep), so 114M rows in all; the real lenscat catalog (32,838 lenses); the seed's 200
# injections per selection-function cell. Later stages are estimated from the earlier ones'
# figures (docs/engine.md#sizing-a-survey-before-running-it). Writes the table and its JSON to
# bench-out/results/plan_dr10_<time>.{txt,json}.
#
#   benchmarks/plan_dr10.sh [BUILD_DIR]
set -euo pipefail

# shellcheck source=benchmarks/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" "${1:-}"  # REPO SHARED BUILD PY PYREF OUT RES, wait_quiet
DATA=$OUT/plan-dr10
ROWS=79387
SWEEP=$DATA/sweep-synth-$ROWS.fits
STAMP=$(date +%Y%m%dT%H%M%S)
DHS=$BUILD/apps/dhs/dhs
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
[ -x "$DHS" ] || { echo "no $DHS: build the dhs target in $BUILD first" >&2; exit 2; }
mkdir -p "$DATA/sky/sweep/10.1" "$RES"

if [ ! -f "$SWEEP" ]; then
  echo "== making the $ROWS-row synthetic sweep (once)"
  (cd "$PYREF" && "$PY" -c "import make_data; make_data.make_sweep($ROWS, '$SWEEP')")
fi
"$PY" - "$SHARED/data/real/reference/dr10_sweep_filenames.txt" "$SWEEP" "$DATA/sky/sweep/10.1" <<'PY'
import os, re, sys
names = [l.strip() for l in open(sys.argv[1]) if l.strip().startswith("sweep-")]
def dec_min(n):
    m = re.match(r"sweep-\d{3}([mp])(\d{3})-", n)
    return (-1 if m.group(1) == "m" else 1) * int(m.group(2))
for n in [n for n in names if -70 <= dec_min(n) < 30][:1436]:
    link = os.path.join(sys.argv[3], n)
    if not os.path.islink(link):
        os.symlink(sys.argv[2], link)
PY
echo "== $(ls "$DATA/sky/sweep/10.1" | wc -l) sweep files x $ROWS rows; $(wait_quiet)"
out=$RES/plan_dr10_$STAMP
start=$(date +%s.%N)
"$DHS" --log-level warn plan "$REPO/configs/demo.yaml" --out "$DATA/run" \
  --set "survey.root=$DATA/sky" --set "sample.lens_catalog=$SHARED/data/real/lens_catalogs/lenscat/catalog.csv" \
  --set "sample.n2_catalog=''" --set "sample.n2_selection=[edge_on,large_blue]" --set inject.per_cell=200 \
  --json "$out.json" | tee "$out.txt"
end=$(date +%s.%N)
echo "== planned in $(echo "$end - $start" | bc) s (wall, one process, 1,436 sweep headers read)" | tee -a "$out.txt"
