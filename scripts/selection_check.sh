#!/usr/bin/env bash
# The selection-function truth check on the lens-rich mock footprint: writes the mock sky of
# configs/mock_sky_lensrich.yaml (640 true lenses) to OUT_DIR/mock, runs the whole pipeline
# with configs/selection.yaml into OUT_DIR/run under mpirun, writes the report, and prints
# evaluate's truth check: the recall measured on the mock's own lenses per theta_E bin beside
# the recall the injection-calibrated selection function predicts for them; then the search of
# the whole pool, which ranks the true lenses among all targets (search_summary.json: truth).
#
#   scripts/selection_check.sh [OUT_DIR]    (default ./selection-out; RANKS=N, BUILD_DIR=...)
#
# About 17 minutes on 2 cores (mock sky ~3 min, training ~6 min, search ~2 min).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/run_env.sh" selection-out "$@"  # repo out ranks build_dir dhs mpi

[ -f "$out/mock/truth/lenses.csv" ] ||
  "${mpi[@]}" "$dhs" mock-sky --out "$out/mock" --config "$repo/configs/mock_sky_lensrich.yaml"
[ -f "$out/templates.h5" ] || "${mpi[@]}" "$dhs" make-template-bank --out "$out/templates.h5" --n 200
rc=0
"${mpi[@]}" "$dhs" run "$repo/configs/selection.yaml" --out "$out/run" --resume --set "survey.root=$out/mock" \
  --set "inject.template_bank=$out/templates.h5" || rc=$?
[ $rc = 0 ] || [ $rc = 3 ] || exit $rc
# The search: every pool galaxy and the true lenses ranked (search_summary.json: truth).
"${mpi[@]}" "$dhs" run "$repo/configs/selection.yaml" --out "$out/run" --resume --stages search \
  --set "survey.root=$out/mock" --set "inject.template_bank=$out/templates.h5"
"$dhs" report "$out/run"
/usr/bin/python3 - "$out/run" <<'PY'
import json, sys
import h5py
run = sys.argv[1]
j = json.load(open(f"{run}/evaluation_summary.json"))
t = j["truth_check"]
if not t.get("done"):
    sys.exit(f"truth check not done: {t.get('reason')}")
c = j["comparisons"]
print(f"test split: injection AUC {c['injection']['auc']:.3f}, real AUC {c['real']['auc']:.3f}; "
      f"{t['true_lenses_in_split']} true lenses in the split, {t['on_grid']} on the grid")
e = h5py.File(f"{run}/evaluation.h5")["truth_check"]
print("| theta_E bin | FPR | threshold | lenses | detected | recall [95% CP] | predicted [95%] | verdict |")
print("|---|---|---|---|---|---|---|---|")
for i in range(len(e["theta_e_bin"])):
    g = lambda k: e[k][i]
    print(f"| {g('theta_e_bin').decode()} | {g('target_fpr'):g} | {g('threshold'):.3f} | {g('n_compared')} | "
          f"{g('n_detected')} | {g('recall'):.2f} [{g('recall_lower'):.2f}, {g('recall_upper'):.2f}] | "
          f"{g('predicted'):.2f} [{g('predicted_lower'):.2f}, {g('predicted_upper'):.2f}] | {g('verdict').decode()} |")
s = json.load(open(f"{run}/search_summary.json"))
print(f"search: {s['targets']} targets, {s['candidates']} candidates ({s['known_lens_candidates']} known lenses)")
print("| top fraction | targets in it | threshold | true lenses in it | recall of those in cells [95% CP] | predicted [95%] | verdict |")
print("|---|---|---|---|---|---|---|")
for r in s["truth"]["by_top_fraction"]:
    o, p = r.get("observed"), r.get("predicted")
    fmt = lambda x: f"{x['recall']:.3f} [{x['lower']:.3f}, {x['upper']:.3f}]" if x else "n/a"
    print(f"| {r['top_fraction']:g} | {r['top_targets']} | {r['threshold']:.3f} | {r['in_top']}/{r['true_lenses']} | "
          f"{fmt(o)} | {fmt(p)} | {r['verdict']} |")
PY
echo "report: $out/run/report/index.html"
