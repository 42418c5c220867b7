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

# With injections and a mock sky's truth table: the ROC / PR curves per stratum = sklearn (the
# injections of a theta_E bin against all the controls, which have no theta_E), the
# 2-D completeness marginals = numpy counts summing back to the injections, and the truth check
# (true lenses' recall per theta_E bin beside the recall their cells predict) = numpy + scipy.
"$py" - "$tmp" <<'PY' || exit 1
import sys
import h5py, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(11)
S = lambda xs: np.array([x.encode() for x in xs], dtype=f"S{max(1, max(len(x) for x in xs))}")
s = h5py.File(f"{d}/scores.h5", "r+")["scores"]
npos = int((s["class"][:] == b"positive").sum())
with h5py.File(f"{d}/run/sample.h5", "r+") as f:
    f["positives/psfsize_r"] = rng.uniform(0.85, 1.85, npos)
    f["positives/psfdepth_r"] = 25 * 10 ** (0.8 * rng.uniform(22.3, 24.7, npos) - 18)  # 5-sigma depth 22.3..24.7 mag
with h5py.File(f"{d}/cutouts.h5", "r+") as f:  # the stamp's PSF is missing (0) for a third of them
    n = len(f["stamps/target_set"])
    f["stamps/psfsize_r"] = np.where(rng.uniform(size=n) < 0.33, 0.0, rng.uniform(0.85, 1.85, n))
# Real positives are galaxies b_<row>; two thirds of them in the truth table.
gal = [f"b_{i}" for i in range(len(s["class"]))]
theta_true = rng.uniform(0.3, 3.2, npos)
with open(f"{d}/lenses.csv", "w") as f:
    f.write("name,brickname,objid,ra,theta_e_arcsec\n")
    for i in range(npos):
        if i % 3:
            f.write(f"L{i},b,{i},1.0,{theta_true[i]:.5f}\n")
# injections.h5: 1500 injections over the grid and 500 controls.
ninj, nctl = 1500, 500
it, ip, idp = rng.integers(-1, 11, ninj), rng.integers(0, 7, ninj), rng.integers(0, 5, ninj)
cell = np.where(it < 0, -1, (it * 7 + ip) * 5 + idp)
with h5py.File(f"{d}/injections.h5", "w") as f:
    g = f.create_group("injections")
    g["cell_id"] = np.r_[cell, -np.ones(nctl, int)].astype(np.int64)
    g["cell_theta_e"] = np.r_[it, -np.ones(nctl, int)].astype(np.int32)
    g["cell_psf"] = np.r_[np.where(it < 0, -1, ip), -np.ones(nctl, int)].astype(np.int32)
    g["cell_depth"] = np.r_[np.where(it < 0, -1, idp), -np.ones(nctl, int)].astype(np.int32)
    g["arc_snr"] = np.r_[rng.uniform(0, 40, ninj), np.zeros(nctl)]
    g["theta_e_arcsec"] = np.r_[np.where(it < 0, 0.3, 0.5 + 0.25 * it), np.zeros(nctl)]
    g["psf_fwhm_r"] = np.r_[0.9 + 0.15 * ip, np.ones(nctl)]
# scores.h5 gains the galaxy ids and the injection rows (score rising with theta_E).
pi = np.clip(rng.beta(2, 3, ninj) + 0.05 * np.maximum(it, 0), 0, 0.999).round(3)
pc = rng.beta(2, 5, nctl).round(3)
old = {k: s[k][:] for k in s}
spl = np.where(rng.uniform(size=ninj + nctl) < 0.3, "val", "test")
with h5py.File(f"{d}/scores2.h5", "w") as f:
    g = f.create_group("scores")
    g["source"] = np.r_[old["source"], S(["injections"] * (ninj + nctl))].astype("S10")
    g["source_row"] = np.r_[old["source_row"], np.arange(ninj + nctl)].astype(np.int64)
    g["class"] = np.r_[old["class"], S(["injection"] * ninj + ["control"] * nctl)].astype("S9")
    g["split"] = np.r_[old["split"], S(spl)].astype("S5")
    g["galaxy_id"] = np.r_[S(gal), S([f"h_{i}" for i in range(ninj + nctl)])].astype("S12")
    p = np.r_[old["p_lens"], pi, pc].astype(np.float32)
    g["p_lens"] = p
    g["logit"] = np.log(p / (1 - p)).astype(np.float32)
PY
sed -e "s|scores_file: .*|scores_file: $tmp/scores2.h5|" -e "s|injections_file: .*|injections_file: $tmp/injections.h5|" \
    -e "s|bootstrap_resamples: 200|bootstrap_resamples: 200\n  truth_lenses: $tmp/lenses.csv|" "$tmp/cfg.yaml" > "$tmp/cfg2.yaml"
mkdir -p "$tmp/run2" && cp "$tmp/run/sample.h5" "$tmp/run2/"
"$dhs" run "$tmp/cfg2.yaml" --out "$tmp/run2" > "$tmp/run2.log" 2>&1
check "evaluate runs on the real lenses, the injections and the truth table" \
  grep -q "evaluate: injection (" "$tmp/run2.log"
with_injections_and_truth() {
  "$py" - "$tmp" <<'PY'
import json, sys
import h5py, numpy as np
from scipy.stats import beta
from sklearn.metrics import precision_recall_curve, roc_curve
d = sys.argv[1]
M = (1 << 64) - 1
def sm(x):
    x = (x + 0x9E3779B97F4A7C15) & M
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M
    return x ^ (x >> 31)
def quantile(a, q):
    pos = q * (len(a) - 1); lo = int(np.floor(pos)); hi = min(lo + 1, len(a) - 1); t = pos - lo
    return a[hi] - (a[hi] - a[lo]) * (1 - t) if t >= 0.5 else a[lo] + (a[hi] - a[lo]) * t
def cp(k, n, a=0.05):
    return (0.0 if k == 0 else beta.ppf(a / 2, k, n - k + 1), 1.0 if k == n else beta.ppf(1 - a / 2, k + 1, n - k))
s = h5py.File(f"{d}/scores2.h5")["scores"]
e = h5py.File(f"{d}/run2/evaluation.h5")
j = json.load(open(f"{d}/run2/evaluation_summary.json"))
test = s["split"][:] == b"test"
cls, p, src, row = s["class"][:], s["p_lens"][:].astype(np.float64), s["source"][:], s["source_row"][:]
# ROC and PR per stratum = sklearn on the subset (injections by theta_E bin).
inj = h5py.File(f"{d}/injections.h5")["injections"]
m_inj = test & (src == b"injections")
y_inj = (cls[m_inj] == b"injection").astype(int)
theta = inj["theta_e_arcsec"][:][row[m_inj]]
edges = [0, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 99]
r, q = e["roc_by_stratum"], e["pr_by_stratum"]
checked = 0
for lo, hi in zip(edges[:-1], edges[1:]):
    label = f"[{lo:g}, {hi:g})".encode()
    m = ((theta >= lo) & (theta < hi) & (y_inj == 1)) | (y_inj == 0)  # each stratum's injections vs all controls
    if y_inj[m].min() == y_inj[m].max():
        continue
    sel = (r["comparison"][:] == b"injection") & (r["stratum"][:] == b"theta_e") & (r["value"][:] == label)
    fpr, tpr, thr = roc_curve(y_inj[m], p[m_inj][m])
    assert np.allclose(r["fpr"][:][sel], fpr, atol=1e-12) and np.allclose(r["tpr"][:][sel], tpr, atol=1e-12), label
    assert np.allclose(r["threshold"][:][sel], thr, atol=1e-12), label
    sel = (q["comparison"][:] == b"injection") & (q["stratum"][:] == b"theta_e") & (q["value"][:] == label)
    pr, rc, _ = precision_recall_curve(y_inj[m], p[m_inj][m])
    assert np.allclose(q["precision"][:][sel], pr, atol=1e-12) and np.allclose(q["recall"][:][sel], rc, atol=1e-12), label
    checked += 1
assert checked >= 4, checked
# 2-D marginals: numpy counts per pair of bins; each plane sums back to the injections in the grid.
c2 = e["completeness_marginals_2d"]
is_inj = src == b"injections"
def per_score_row(name):  # an injections.h5 column for every scores row (-1 for stamps of cutouts.h5)
    out = np.full(len(row), -1, dtype=np.int64)
    out[is_inj] = inj[name][:][row[is_inj]]
    return out
ax = {"theta_e": per_score_row("cell_theta_e"), "psf": per_score_row("cell_psf"), "depth": per_score_row("cell_depth")}
first = {"theta_e": 0.375, "psf": 0.825, "depth": 22.25}
step = {"theta_e": 0.25, "psf": 0.15, "depth": 0.5}
ins = m_inj & (cls == b"injection")
cells_all = per_score_row("cell_id")
in_grid = ins & (cells_all >= 0)
for plane in (b"theta_e-psf", b"theta_e-depth", b"psf-depth"):
    a, b = plane.decode().split("-")
    sel = c2["plane"][:] == plane
    for thr in np.unique(c2["threshold"][:][sel]):
        rows = sel & (c2["threshold"][:] == thr)
        assert c2["n"][:][rows].sum() == in_grid.sum(), plane
        for xl, yl, n, k in zip(c2["x_lo"][:][rows], c2["y_lo"][:][rows], c2["n"][:][rows], c2["k"][:][rows]):
            bx, by = round((xl - first[a]) / step[a]), round((yl - first[b]) / step[b])
            m = in_grid & (ax[a] == bx) & (ax[b] == by)
            assert n == m.sum() and k == (p[m] >= thr).sum(), (plane, xl, yl)
# The truth check, recomputed: lenses of the test split in the truth table with their cells.
truth = {}
for line in open(f"{d}/lenses.csv").read().splitlines()[1:]:
    f = line.split(",")
    truth[f"{f[1]}_{f[2]}"] = float(f[4])
smp = h5py.File(f"{d}/run2/sample.h5")["positives"]
cut = h5py.File(f"{d}/cutouts.h5")["stamps"]
gid = s["galaxy_id"][:]
lens_rows = [i for i in np.flatnonzero(test & (cls == b"positive")) if gid[i].decode() in truth]
bin_of = lambda v, first, st, n: int(np.floor((v - first) / st)) if first <= v < first + n * st else -1
lenses = []
for i in lens_rows:
    sr = cut["sample_row"][row[i]]
    psf = cut["psfsize_r"][row[i]] if cut["psfsize_r"][row[i]] > 0 else smp["psfsize_r"][sr]
    depth = -2.5 * (np.log10(5 / np.sqrt(smp["psfdepth_r"][sr])) - 9)
    t = bin_of(truth[gid[i].decode()], 0.375, 0.25, 11)
    cellid = -1 if min(t, bin_of(psf, 0.825, 0.15, 7), bin_of(depth, 22.25, 0.5, 5)) < 0 else \
        (t * 7 + bin_of(psf, 0.825, 0.15, 7)) * 5 + bin_of(depth, 22.25, 0.5, 5)
    lenses.append((t, cellid, p[i]))
tc = e["truth_check"]
assert j["truth_check"]["done"] and j["truth_check"]["true_lenses_in_split"] == len(lenses)
n_rows = 0
for k_ in range(len(tc["theta_e_bin"])):
    thr, label = tc["threshold"][k_], tc["theta_e_bin"][k_]
    chosen = [l for l in lenses if label == b"all" or l[0] == round((tc["theta_e_lo"][k_] - 0.375) / 0.25)]
    cells = {}
    for c in np.unique(cells_all[in_grid]):
        m = in_grid & (cells_all == c)
        cells[c] = ((p[m] >= thr).sum(), m.sum())
    comp = [l for l in chosen if l[1] in cells]
    kk = sum(l[2] >= thr for l in comp)
    assert tc["n_lenses"][k_] == len(chosen) and tc["n_compared"][k_] == len(comp) and tc["n_detected"][k_] == kk, label
    if not comp:
        assert tc["verdict"][k_] == b"no prediction"
        continue
    assert np.allclose((tc["recall_lower"][k_], tc["recall_upper"][k_]), cp(kk, len(comp)), atol=1e-9)
    w = {}
    for l in comp:
        w[l[1]] = w.get(l[1], 0) + 1
    order = sorted(w)
    pred = sum(w[c] * (cells[c][0] + 0.5) / (cells[c][1] + 1) for c in order) / len(comp)  # Jeffreys mean
    assert abs(tc["predicted"][k_] - pred) < 1e-12, (label, tc["predicted"][k_], pred)
    reps = []
    for r_ in range(200):
        st = sm(42 ^ sm(r_ + 1))  # run.seed 42
        tot = 0.0
        for ci, c in enumerate(order):
            u = (sm((st + ci) & M) >> 11) * 2.0 ** -53 + 2.0 ** -54
            kc, nc = cells[c]
            tot += w[c] * beta.ppf(u, kc + 0.5, nc - kc + 0.5)
        reps.append(tot / len(comp))
    reps.sort()
    lo, hi = quantile(reps, 0.025), quantile(reps, 0.975)
    assert abs(tc["predicted_lower"][k_] - lo) < 1e-9 and abs(tc["predicted_upper"][k_] - hi) < 1e-9, (label, lo, hi)
    overlap = tc["recall_upper"][k_] >= lo and hi >= tc["recall_lower"][k_]
    assert tc["verdict"][k_] == (b"consistent" if overlap else b"inconsistent")
    n_rows += 1
assert n_rows >= 6, n_rows
print(f"{checked} theta_E strata ROC / PR = sklearn; 2-D marginals = numpy; truth check of {len(lenses)} lenses "
      f"({n_rows} rows) = numpy + scipy, verdicts {sorted(set(tc['verdict'][:]))}")
PY
}
check "per-stratum ROC / PR = sklearn; 2-D marginals and the truth check = numpy, scipy" with_injections_and_truth

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
