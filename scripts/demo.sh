#!/usr/bin/env bash
# The main job: builds what is missing, writes the mock DR10 sky to OUT_DIR/mock with
# configs/mock_sky.yaml, runs every stage this build has with configs/demo.yaml into
# OUT_DIR/run under `mpirun -n 2`, then the search of the whole pool (--stages search) and the
# report, and ends with a short summary of what each produced.
#
#   scripts/demo.sh [OUT_DIR]        (default ./demo-out; RANKS=N to change the rank count)
#
# Steps whose subcommand this build does not have yet are reported as such, not faked.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/run_env.sh" demo-out "$@"  # repo out ranks build_dir dhs mpi
has() { "$dhs" --help | grep -qE "^  $1 "; }
summary=()

echo "== $("$dhs" --version); $ranks ranks; output in $out"

# 1. The configuration, validated in full before any work.
"${mpi[@]}" "$dhs" config "$repo/configs/demo.yaml" --set "survey.root=$out/mock" \
  > "$out/demo-config.yaml"
summary+=("config: configs/demo.yaml valid; resolved copy in $out/demo-config.yaml ($(sed -n 1p "$out/demo-config.yaml" | sed 's/.*sha256 //'))")

# 2. The mock sky.
if has mock-sky; then
  "${mpi[@]}" "$dhs" mock-sky --out "$out/mock" --config "$repo/configs/mock_sky.yaml"
  summary+=("mock-sky: $(find "$out/mock" -name '*.fits*' | wc -l) FITS files in $out/mock")
else
  summary+=("mock-sky: not in this build yet")
fi

# 2b. The template bank of the injection stage's real-galaxy sources (clumpy galaxies).
inject_sets=()
if has make-template-bank; then
  "${mpi[@]}" "$dhs" make-template-bank --out "$out/templates.h5" --n 200
  inject_sets=(--set "inject.template_bank=$out/templates.h5")
  summary+=("make-template-bank: 200 clumpy galaxy templates in $out/templates.h5")
fi

# 3. The engine on its own test load (the testload stage), then the pipeline's stages.
if has run; then
  "${mpi[@]}" "$dhs" run "$repo/configs/testload.yaml" --out "$out/engine-check" --log-level warn
  summary+=("engine: testload stage on $ranks ranks -> $out/engine-check/testload.h5 ($(h5ls "$out/engine-check/testload.h5/rows/value" 2>/dev/null | grep -o '{[0-9]*}' || echo '?') rows)")
  if "$dhs" plan "$repo/configs/demo.yaml" --set "survey.root=$out/mock" "${inject_sets[@]}" >/dev/null 2>&1; then
    rc=0
    "${mpi[@]}" "$dhs" run "$repo/configs/demo.yaml" --out "$out/run" --set "survey.root=$out/mock" "${inject_sets[@]}" || rc=$?
    [ $rc = 0 ] || [ $rc = 3 ] || exit $rc
    for h5 in "$out"/run/*.h5; do
      [ -e "$h5" ] && summary+=("run: $(basename "$h5"): $(h5ls -r "$h5" | grep -c Dataset) datasets")
    done
    [ $rc = 3 ] && summary+=("run: finished with quarantined work units (see $out/run/logs)")
    # The cutouts: stamps by status and target set.
    if [ -f "$out/run/cutouts.h5" ]; then
      summary+=("cutouts: $(/usr/bin/python3 - "$out/run/cutouts.h5" <<'PY'
import collections, sys
import h5py
s = h5py.File(sys.argv[1], "r")["stamps"]
sets = collections.Counter(x.decode() for x in s["target_set"][:])
print(f"{s['image'].shape[0]} stamps {s['image'].shape[1:]} ({', '.join(f'{k} {v}' for k, v in sorted(sets.items()))}): "
      f"{s.attrs['n_ok']} ok, {s.attrs['n_partial']} partial, {s.attrs['n_failed']} failed ({sys.argv[1]})")
PY
)")
    fi
    # The validation verdict (the gate table itself is in the run's log, printed by rank 0).
    if [ -f "$out/run/validation_summary.json" ]; then
      summary+=("validate: $(/usr/bin/python3 - "$out/run/validation_summary.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
parts = []
for name, c in j["comparisons"].items():
    if not c["available"]:
        parts.append(f"{name}: skipped ({c['reason']})")
        continue
    failed = [g for g, v in c["gates"].items() if v["passed"] is not True]
    parts.append(f"{name}: " + ("every gate passed" if not failed else "FAILED " + ", ".join(failed)))
print(("passed" if j["passed"] else "GATES FAILED") + "; " + "; ".join(parts) + f" ({sys.argv[1]})")
PY
)")
    fi
    # The training: val AUC per epoch, the best, where the weights are.
    if [ -f "$out/run/train.h5" ]; then
      summary+=("train: $(/usr/bin/python3 - "$out/run/train.h5" <<'PY'
import json, sys
import h5py
h = h5py.File(sys.argv[1], "r")["history"]
m = json.loads(h.attrs["model"])
auc = " ".join(f"{x:.3f}" for x in h["val_auc"][:])
print(f"{m['arch']} width {m['width']} ({m['stem']}) on {m['dataset']}: val AUC per epoch {auc}; best "
      f"{h.attrs['best_val_auc']:.3f} at epoch {int(h.attrs['best_epoch']) + 1} ({h.attrs['stop_reason'].decode() if isinstance(h.attrs['stop_reason'], bytes) else h.attrs['stop_reason']}); "
      f"{h['images_per_s'][-1]:.0f} images/s, data wait {100 * h['data_wait_fraction'][-1]:.1f}%; "
      f"weights in {sys.argv[1].rsplit('/', 1)[0]}/model/weights.pt")
PY
)")
    fi
    # The evaluation: AUC per comparison and the selection function's size (scores.h5 made them).
    if [ -f "$out/run/evaluation_summary.json" ]; then
      summary+=("evaluate: $(/usr/bin/python3 - "$out/run" <<'PY'
import json, sys
d = sys.argv[1]
j = json.load(open(d + "/evaluation_summary.json"))
f = lambda x: "n/a" if x is None else f"{x:.3f}"
parts = [f"{k} AUC {f(c['auc'])} [{f(c['auc_interval'][0])}, {f(c['auc_interval'][1])}] "
         f"({c['n_positive']} vs {c['n_negative']})" for k, c in j["comparisons"].items()]
ops = [o for o in j.get("operating_points", []) if o["resolvable"]]
sf = j["selection_function"]
print(f"{j['split']} split: " + "; ".join(parts) + f"; {len(ops)} resolvable FPR targets; "
      f"selection function {sf['cells']} cell rows in {d}/selection_function.ecsv")
PY
)")
    fi
    # The search: every pool galaxy and catalogued lens cut and scored on the fly.
    if [ -f "$out/run/model/weights.pt" ] && "${mpi[@]}" "$dhs" run "$repo/configs/demo.yaml" --out "$out/run" --resume --stages search \
         --set "survey.root=$out/mock" "${inject_sets[@]}"; then
      summary+=("search: $(/usr/bin/python3 - "$out/run/search_summary.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
t = j.get("truth", {}).get("by_top_fraction", [])
truth = "; ".join(f"{r['in_top']}/{r['true_lenses']} true lenses in the top {100 * r['top_fraction']:g}%" for r in t)
print(f"{j['targets']} targets scored, {j['candidates']} candidates ({j['known_lens_candidates']} known lenses)"
      + (f"; {truth}" if truth else "") + f" ({sys.argv[1]})")
PY
)")
    fi
    # The report: figures, tables and index.html from the run's files.
    if [ -f "$out/run/evaluation.h5" ] && has report; then
      "$dhs" report "$out/run" > "$out/report.log" 2>&1 && \
        summary+=("report: $(tail -1 "$out/report.log" | sed 's/^report: //') (open it in a browser)")
    fi
  else
    summary+=("run: no science stage in this build yet (sampling, cutouts, injection, validation come next)")
  fi
else
  summary+=("run: the stage engine is not in this build yet")
fi

# 4. What the foundation offers today: brick geometry and file inspection on real data.
if has brick; then
  "${mpi[@]}" "$dhs" brick 48.9168 -44.25 > "$out/brick-0489m442.txt"
  summary+=("brick: (48.9168, -44.25) -> $(grep -m1 -i 'name' "$out/brick-0489m442.txt" | tr -s ' ')")
fi
shared="${DHS_SHARED_DIR:-$repo/../shared}"
if [ -f "$shared/data/real/desitarget/tractor-3301m002.fits" ]; then
  "$dhs" inspect "$shared/data/real/desitarget/tractor-3301m002.fits" --max-columns 8 > "$out/inspect-tractor.txt"
  summary+=("inspect: real DR8 Tractor file: $(grep -m1 'binary table' "$out/inspect-tractor.txt")")
fi

echo "== demo summary"
for s in "${summary[@]}"; do echo "  - $s"; done
