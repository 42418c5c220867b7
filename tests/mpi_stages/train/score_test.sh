#!/usr/bin/env bash
# The scoring stage on the ring / no-ring fixture (make_fixture.py) after a short training:
# the same scores.h5 for 1, 2 and 3 ranks (h5diff outside /provenance/run); every stamp scored
# once, in file order, p_lens = sigmoid(logit), the model's SHA-256 recorded; the trained model
# separates the test split's rings; a TorchScript file exported from the weights
# (scripts/export_torchscript.py) scores the same as the dhs model it came from; a ResNet-18
# scored through its frozen CPU copy gives the same scores.h5 on 1 and 2 ranks and its
# TorchScript export's logits to float rounding; learner ranks serving the data ranks
# (score.learners) give the same scores.h5; a missing model stops before any work.
set -uo pipefail
dhs="${DHS_EXE:?}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
py=/usr/bin/python3
source "$here/../../support/script_support.sh"

"$py" "$here/make_fixture.py" "$tmp/rings.h5" || exit 1
cat > "$tmp/cfg.yaml" <<YAML
run:
  stages: [train, score, evaluate]
train:
  dataset: injection
  injections_file: $tmp/rings.h5
  arch: simple_cnn
  width: 16
  crop: 48
  batch_size: 32
  epochs: 10
  patience: 10
  lr: 1e-2
  learners: "1"
  threads: 1
evaluate:
  split: all
  fpr_targets: [0.001, 0.01, 0.1]
  bootstrap_resamples: 200
score:
  sources: [injections]
  injections_file: $tmp/rings.h5
  batch_size: 48
  unit_stamps: 64
  threads: 1
YAML

"$dhs" run "$tmp/cfg.yaml" --out "$tmp/r1" > "$tmp/r1.log" 2>&1
check "train + score on 1 rank" test -s "$tmp/r1/scores.h5"
for n in 2 3; do
  # The same trained model, scored again on n ranks.
  mkdir -p "$tmp/r$n"
  mpi "$n" "$dhs" run "$tmp/cfg.yaml" --out "$tmp/r$n" --stages score --set score.model="$tmp/r1/model" \
    > "$tmp/r$n.log" 2>&1
done
"$dhs" run "$tmp/cfg.yaml" --out "$tmp/r1b" --stages score --set score.model="$tmp/r1/model" > "$tmp/r1b.log" 2>&1
check "scores.h5 identical for 1 and 2 ranks" same "$tmp/r1b/scores.h5" "$tmp/r2/scores.h5"
check "scores.h5 identical for 1 and 3 ranks" same "$tmp/r1b/scores.h5" "$tmp/r3/scores.h5"

# The scoring rank group: learner ranks infer what the data ranks (rank 0 among them, through
# the scheduler's mailbox) read and prepare. The same scores.h5 as one rank scoring alone.
for spec in "2 1" "3 1" "3 2" "1 1"; do
  set -- $spec
  out="$tmp/g$1-$2"
  mkdir -p "$out"
  mpi "$1" "$dhs" run "$tmp/cfg.yaml" --out "$out" --stages score --set score.model="$tmp/r1/model" \
    --set score.learners="$2" > "$out.log" 2>&1
  check "$1 ranks, score.learners $2: /scores identical to 1 rank alone" same_group "$tmp/r1b/scores.h5" "$out/scores.h5" /scores
done
check "the log names the learner ranks" grep -q "serving ranks \\[1\\] answer the 1 processing ranks" "$tmp/g2-1.log"
check "3 ranks, 2 learners: ranks 1 and 2 serve" grep -q "serving ranks \\[1,2\\] answer the 1 processing ranks" "$tmp/g3-2.log"
check "1 rank, score.learners 1: cut to none, with a warning" grep -q "score.learners 1 needs 2 ranks" "$tmp/g1-1.log"
contents() {
  "$py" - "$tmp/r1/scores.h5" "$tmp/rings.h5" "$tmp/r1/model/weights.pt" <<'PY'
import hashlib, sys
import h5py, numpy as np
s = h5py.File(sys.argv[1])["scores"]
f = h5py.File(sys.argv[2])["injections"]
n = f["image"].shape[0]
assert list(s["source_row"][:]) == list(range(n)), "every stamp once, in file order"
assert set(s["source"][:]) == {b"injections"}
logit, p = s["logit"][:].astype(np.float64), s["p_lens"][:].astype(np.float64)
assert np.allclose(p, 1 / (1 + np.exp(-logit)), atol=1e-6)
ctrl = f["is_control"][:]
assert list(s["class"][:]) == [b"control" if c else b"injection" for c in ctrl]
assert (s["split"][:] == f["split"][:]).all()
assert s.attrs["model_sha256"].decode() if isinstance(s.attrs["model_sha256"], bytes) else s.attrs["model_sha256"]
sha = hashlib.sha256(open(sys.argv[3], "rb").read()).hexdigest()
got = s.attrs["model_sha256"]
got = got.decode() if isinstance(got, bytes) else got
assert got == sha, (got, sha)
test = s["split"][:] == b"test"
pos, neg = logit[test & ~ctrl], logit[test & ctrl]
auc = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
print(f"{n} stamps scored; test-split AUC {auc:.3f} ({len(pos)} rings, {len(neg)} controls)")
assert auc >= 0.95, auc
PY
}
check "every stamp once in file order; p_lens = sigmoid(logit); classes, splits, model SHA-256; test AUC" contents

"$py" "$repo/scripts/export_torchscript.py" "$tmp/r1/model" "$tmp/model.ts.pt" > "$tmp/export.log" 2>&1
"$dhs" run "$tmp/cfg.yaml" --out "$tmp/ts" --stages score --set score.model="$tmp/model.ts.pt" > "$tmp/ts.log" 2>&1
ts_same() {
  "$py" - "$tmp/r1b/scores.h5" "$tmp/ts/scores.h5" <<'PY'
import sys, h5py, numpy as np
a, b = (h5py.File(x)["scores"]["logit"][:] for x in sys.argv[1:3])
d = float(np.abs(a.astype(np.float64) - b).max())
print(f"TorchScript vs dhs model: max |logit diff| {d:.2e} over {len(a)} stamps")
assert d <= 1e-4, d
PY
}
check "a TorchScript file exported from the weights scores as the dhs model" ts_same

# A ResNet-18 scores through its frozen CPU copy (BatchNorm folded, oneDNN layout): the same
# scores.h5 on 1 and 2 ranks, and within float rounding of its TorchScript export (eager).
rn=(--set train.arch=resnet18 --set train.width=8 --set train.epochs=1)
"$dhs" run "$tmp/cfg.yaml" --out "$tmp/rn0" --stages train "${rn[@]}" > "$tmp/rn0.log" 2>&1
for n in 1 2; do
  mkdir -p "$tmp/rn$n"
  mpi "$n" "$dhs" run "$tmp/cfg.yaml" --out "$tmp/rn$n" --stages score --set score.model="$tmp/rn0/model" \
    > "$tmp/rn$n.log" 2>&1
done
check "ResNet-18 (frozen CPU path): scores.h5 identical for 1 and 2 ranks" same "$tmp/rn1/scores.h5" "$tmp/rn2/scores.h5"
mkdir -p "$tmp/rng"
mpi 3 "$dhs" run "$tmp/cfg.yaml" --out "$tmp/rng" --stages score --set score.model="$tmp/rn0/model" \
  --set score.learners=1 > "$tmp/rng.log" 2>&1
check "ResNet-18 through a learner rank (3 ranks, 1 learner): /scores identical to 1 rank" \
  same_group "$tmp/rn1/scores.h5" "$tmp/rng/scores.h5" /scores
"$py" "$repo/scripts/export_torchscript.py" "$tmp/rn0/model" "$tmp/rn.ts.pt" > "$tmp/rn-export.log" 2>&1
"$dhs" run "$tmp/cfg.yaml" --out "$tmp/rnts" --stages score --set score.model="$tmp/rn.ts.pt" > "$tmp/rnts.log" 2>&1
rn_close() {
  "$py" - "$tmp/rn1/scores.h5" "$tmp/rnts/scores.h5" <<'PY'
import sys, h5py, numpy as np
a, b = (h5py.File(x)["scores"]["logit"][:].astype(np.float64) for x in sys.argv[1:3])
d = float(np.abs(a - b).max())
print(f"ResNet-18 frozen vs its TorchScript export (eager): max |logit diff| {d:.2e} (max |logit| {np.abs(b).max():.3g})")
assert 0 <= d <= 1e-4 * (1 + np.abs(b).max()), d
PY
}
check "ResNet-18: the frozen CPU path scores as the TorchScript export to float rounding" rn_close

"$dhs" run "$tmp/cfg.yaml" --out "$tmp/nomodel" --stages score --set score.model="$tmp/none" > "$tmp/nomodel.log" 2>&1
rc=$?
check "a missing model stops before any work, naming it" bash -c "[ $rc != 0 ] && grep -q '$tmp/none' '$tmp/nomodel.log'"

# Evaluation of the 1-rank run's scores (all splits): against scikit-learn on the same scores.
eval_ok() {
  "$py" - "$tmp/r1" <<'PY'
import json, sys
import h5py, numpy as np
from sklearn.metrics import roc_auc_score, roc_curve
from astropy.table import Table
d = sys.argv[1]
s = h5py.File(d + "/scores.h5")["scores"]
y = (s["class"][:] == b"injection").astype(int)
p = s["p_lens"][:].astype(np.float64)
e = h5py.File(d + "/evaluation.h5")
fpr, tpr, thr = roc_curve(y, p)
g = e["roc_injection"]
assert np.array_equal(g["fpr"][:], fpr) and np.array_equal(g["tpr"][:], tpr) and np.allclose(g["threshold"][:], thr, rtol=0, atol=0)
j = json.load(open(d + "/evaluation_summary.json"))
auc = j["comparisons"]["injection"]["auc"]
assert abs(auc - roc_auc_score(y, p)) < 1e-12, (auc, roc_auc_score(y, p))
t = e["tpr_at_fpr"]
n_neg = int((y == 0).sum())
for target, res in zip(t["target_fpr"][:], t["resolvable"][:]):
    assert bool(res) == (target >= 1.0 / n_neg), (target, res, n_neg)
sf = e["selection_function"]
inj_in_cells = int(((y == 1) & (h5py.File(d + "/../rings.h5")["injections"]["cell_id"][:] >= 0)).sum())
for target in set(sf["target_fpr"][:]):
    m = sf["target_fpr"][:] == target
    assert int(sf["n"][:][m].sum()) == inj_in_cells, "completeness table sums back to the injections"
    k, n = sf["k"][:][m], sf["n"][:][m]
    assert np.allclose(sf["fraction"][:][m], k / n)
tab = Table.read(d + "/selection_function.ecsv", format="ascii.ecsv")
assert len(tab) == len(sf["cell_id"]) and tab.meta["interval"] == "Clopper-Pearson"
assert np.allclose(tab["cp_lower"], sf["cp_lower"][:], equal_nan=True)
print(f"AUC {auc:.4f} = sklearn; {len(tab)} selection-function rows, {inj_in_cells} injections in cells; ECSV loads")
PY
}
check "evaluate: ROC and AUC = scikit-learn, resolvable FPRs, completeness sums, ECSV loads in astropy" eval_ok

finish
