#!/usr/bin/env bash
# The evaluation stage on a synthetic real-lens set written by the test (scores.h5, cutouts.h5,
# sample.h5 as the earlier stages write them): AUC overall and per stratum = scikit-learn, TPR at
# FPR and its resolvability, Tier-A / Tier-B recall and the FPR per contaminant category = numpy
# counts at the operating thresholds with scipy's Clopper-Pearson interval, summary JSON.
set -uo pipefail
dhs="${DHS_EXE:?}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py=/usr/bin/python3
source "$here/../../support/script_support.sh"

mkdir -p "$tmp/run"
"$py" - "$tmp" <<'PY' || exit 1
import sys
import h5py, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(3)
npos, nneg = 120, 3000
S = lambda xs: np.array([x.encode() for x in xs], dtype=f"S{max(1, max(len(x) for x in xs))}")
# sample.h5: positives (tier, strata) and negatives (strata, N2 categories).
with h5py.File(f"{d}/run/sample.h5", "w") as f:
    for g, n in (("positives", npos), ("negatives", nneg)):
        grp = f.create_group(g)
        grp["nobs_z_bin"] = S(rng.choice(["1-2", "3-5", "6+"], n))
        grp["type_bin"] = S(rng.choice(["DEV", "SER", "EXP"], n))
        grp["psfsize_z"] = rng.uniform(0.8, 1.9, n)
        grp["psfdepth_z"] = rng.uniform(30, 300, n)
        if g == "positives":
            grp["tier"] = S(np.where(rng.uniform(size=n) < 0.4, "A", "B"))
        grp["confuser_category"] = S(rng.choice(["", "", "ring", "spiral", "edge_on"], n) if g == "negatives" else [""] * n)
# cutouts.h5: positives then negatives, each stamp's sample_row.
sets = ["positives"] * npos + ["negatives"] * nneg
rows = list(range(npos)) + list(range(nneg))
with h5py.File(f"{d}/cutouts.h5", "w") as f:
    g = f.create_group("stamps")
    g["target_set"] = S(sets)
    g["sample_row"] = np.array(rows, dtype=np.int64)
# scores.h5: positives score higher on average; ties included (rounded scores).
p = np.concatenate([rng.beta(5, 2, npos), rng.beta(2, 5, nneg)]).round(3).astype(np.float32)
with h5py.File(f"{d}/scores.h5", "w") as f:
    g = f.create_group("scores")
    g["source"] = S(["cutouts"] * (npos + nneg))
    g["source_row"] = np.arange(npos + nneg, dtype=np.int64)
    g["class"] = S(["positive"] * npos + ["negative"] * nneg)
    g["split"] = S(np.where(rng.uniform(size=npos + nneg) < 0.3, "val", "test"))
    g["p_lens"] = p
    g["logit"] = np.log(p / (1 - p)).astype(np.float32)
PY
cat > "$tmp/cfg.yaml" <<YAML
run:
  stages: [evaluate]
score:
  cutouts_file: $tmp/cutouts.h5
  injections_file: $tmp/none.h5
evaluate:
  scores_file: $tmp/scores.h5
  fpr_targets: [1.0e-4, 1.0e-3, 1.0e-2, 0.1]
  bootstrap_resamples: 200
YAML
"$dhs" run "$tmp/cfg.yaml" --out "$tmp/run" > "$tmp/run.log" 2>&1
check "evaluate runs on the real comparison alone (the injections are skipped, and said)" \
  grep -q "skipped injection" "$tmp/run.log"
against_references() {
  "$py" - "$tmp" <<'PY'
import json, sys
import h5py, numpy as np
from scipy.stats import beta
from sklearn.metrics import roc_auc_score
d = sys.argv[1]
s = h5py.File(f"{d}/scores.h5")["scores"]
test = s["split"][:] == b"test"
p_all, logit_all = s["p_lens"][:].astype(np.float64), s["logit"][:].astype(np.float64)
y_all = (s["class"][:] == b"positive").astype(int)
rows_all = s["source_row"][:]
p, y = p_all[test], y_all[test]
smp = h5py.File(f"{d}/run/sample.h5")
e = h5py.File(f"{d}/run/evaluation.h5")
j = json.load(open(f"{d}/run/evaluation_summary.json"))
assert abs(j["comparisons"]["real"]["auc"] - roc_auc_score(y, p)) < 1e-12
# TPR at FPR: resolvable iff target >= 1/N_neg; TPR = numpy count at the threshold.
t = e["tpr_at_fpr"]
nneg = int((y == 0).sum())
for target, res, tpr, thr in zip(t["target_fpr"][:], t["resolvable"][:], t["tpr"][:], t["threshold"][:]):
    assert bool(res) == (target >= 1 / nneg)
    if res:
        assert ((p >= thr) & (y == 0)).sum() <= target * nneg
        assert abs(tpr - ((p >= thr) & (y == 1)).sum() / y.sum()) < 1e-12
# AUC per stratum = sklearn on the subset.
a = e["auc_by_stratum"]
labels = {"nobs_z_bin": np.concatenate([smp["positives/nobs_z_bin"][:], smp["negatives/nobs_z_bin"][:]])[test],
          "type_bin": np.concatenate([smp["positives/type_bin"][:], smp["negatives/type_bin"][:]])[test]}
checked = 0
for kind, value, auc, npos, nneg_s in zip(a["stratum"][:], a["value"][:], a["auc"][:], a["n_positive"][:], a["n_negative"][:]):
    kind = kind.decode()
    if kind not in labels:
        continue
    m = labels[kind] == value
    assert npos == (y[m] == 1).sum() and nneg_s == (y[m] == 0).sum()
    assert abs(auc - roc_auc_score(y[m], p[m])) < 1e-12, (kind, value)
    checked += 1
assert checked >= 6, checked
# Contaminant FPR and Tier recall = numpy counts; Clopper-Pearson = scipy.
cat = np.concatenate([smp["positives/confuser_category"][:], smp["negatives/confuser_category"][:]])[test]
tier = np.concatenate([smp["positives/tier"][:], np.array([b""] * len(smp["negatives/type_bin"]))])[test]
def cp(k, n, a=0.05):
    lo = 0.0 if k == 0 else beta.ppf(a / 2, k, n - k + 1)
    hi = 1.0 if k == n else beta.ppf(1 - a / 2, k + 1, n - k)
    return lo, hi
c = e["contaminant_fpr"]
for name, thr, n, k, lo, hi in zip(c["category"][:], c["threshold"][:], c["n"][:], c["k"][:], c["cp_lower"][:], c["cp_upper"][:]):
    m = (y == 0) & ((cat == name) if name != b"all" else True)
    assert n == m.sum() and k == (p[m] >= thr).sum(), (name, thr)
    assert np.allclose((lo, hi), cp(k, n), atol=1e-9)
r = e["recall"]
for t_, thr, n, k in zip(r["tier"][:], r["threshold"][:], r["n"][:], r["k"][:]):
    m = (y == 1) & ((tier == t_) if t_ != b"all" else True)
    assert n == m.sum() and k == (p[m] >= thr).sum(), (t_, thr)
# Failure modes: the highest-scored negatives and lowest-scored positives of the test split.
f = e["failure_modes"]
fp = f["source_row"][:][f["kind"][:] == b"false_positive"]
neg_rows, neg_p = rows_all[test & (y_all == 0)], p_all[test & (y_all == 0)]
want = neg_rows[np.lexsort((neg_rows, -neg_p))][: len(fp)]
assert len(fp) == 16 and np.array_equal(fp, want), (fp, want)
# Temperature scaling fitted on the val split = scipy's bounded minimisation of the NLL.
from scipy.optimize import minimize_scalar
val = s["split"][:] == b"val"
lv, yv = logit_all[val], y_all[val]
nll = lambda u: np.mean(np.logaddexp(0, lv / np.exp(u)) - yv * lv / np.exp(u))
ref = np.exp(minimize_scalar(nll, bounds=(-5, 5), method="bounded", options={"xatol": 1e-10}).x)
ts = j["comparisons"]["real"]["temperature_scaling"]
assert ts["fitted"] and abs(ts["temperature"] - ref) < 1e-5 * ref, (ts, ref)
assert ts["val_nll_after"] <= ts["val_nll_before"] + 1e-12
cats = sorted(set(c["category"][:]))
print(f"AUC {j['comparisons']['real']['auc']:.4f} = sklearn; {checked} strata AUCs = sklearn; "
      f"contaminant FPR for {[x.decode() for x in cats]}; Tier recall rows {len(r['tier'])}; "
      f"T = {ts['temperature']:.4f} (scipy {ref:.4f}); failure modes = numpy top 16")
PY
}
check "AUC overall and per stratum = sklearn; TPR at FPR; contaminant FPR, Tier recall, failure modes = numpy; CP, T = scipy" \
  against_references

# The report: dhs report writes figures, tables and index.html; a real headless browser loads
# the page, every image renders, and the console shows no error.
"$dhs" report "$tmp/run" > "$tmp/report.log" 2>&1
check "dhs report writes index.html, figures (PNG + PDF) and tables (CSV, Markdown, LaTeX)" \
  test -s "$tmp/run/report/index.html" -a -s "$tmp/run/report/fig7_roc_pr.png" -a -s "$tmp/run/report/fig7_roc_pr.pdf" \
       -a -s "$tmp/run/report/table1_tpr_at_fpr.csv" -a -s "$tmp/run/report/table2_auc_by_stratum.tex" \
       -a -s "$tmp/run/report/table4_contaminant_fpr.md"
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$browser" ]; then
  timeout 120 "$browser" --headless --no-sandbox --disable-gpu --virtual-time-budget=5000 --enable-logging=stderr \
    --v=0 --dump-dom "file://$tmp/run/report/index.html" > "$tmp/dom.html" 2> "$tmp/browser.log"
  rendered() {
    local n r
    n=$(grep -o 'data-images="[0-9]*"' "$tmp/dom.html" | grep -o '[0-9]*')
    r=$(grep -o 'data-rendered="[0-9]*"' "$tmp/dom.html" | grep -o '[0-9]*')
    echo "headless $(basename "$browser"): $r of $n images rendered"
    [ -n "$n" ] && [ "$n" -ge 5 ] && [ "$n" = "$r" ] && ! grep -qi "uncaught\|console.*error" "$tmp/browser.log"
  }
  check "the report page loads in headless Chromium: every image renders, no console error" rendered
else
  echo "SKIP: no chromium for the browser check (scripts/setup.sh installs it)"
fi
finish
