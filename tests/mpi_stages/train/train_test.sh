#!/usr/bin/env bash
# The training stage end to end on a small ring / no-ring fixture (make_fixture.py): it learns
# (val AUC); 2 learners x batch B = 1 learner x batch 2B (a model without BatchNorm); SIGKILL
# during training + --resume = the uninterrupted weights, bit for bit (ResNet-18 with BatchNorm,
# 1 learner + 1 data rank); weights.pt loads into torchvision's resnet18; `dhs plan` shows the
# rank groups; bad inputs end with exit 2 and a message naming the file, split or key.
set -uo pipefail
dhs="${DHS_EXE:?}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py=/usr/bin/python3
source "$here/../../support/script_support.sh"
# Every tensor of two weights.pt files within TOL (0: identical bits).
weights_close() {  # A B TOL
  "$py" - "$1" "$2" "$3" <<'PY'
import sys, torch
a, b, tol = torch.load(sys.argv[1]), torch.load(sys.argv[2]), float(sys.argv[3])
assert a.keys() == b.keys(), (sorted(a), sorted(b))
worst = max(float((a[k].double() - b[k].double()).abs().max()) if a[k].numel() else 0.0 for k in a)
same = all(torch.equal(a[k], b[k]) for k in a)
print(f"max |diff| {worst:.3g} over {len(a)} tensors; bit-identical: {same}")
sys.exit(0 if (same if tol == 0 else worst <= tol) else 1)
PY
}
# A run's exit code and a pattern its output must hold.
fails_with() {  # RC PATTERN LOG
  local rc="$1" pattern="$2" log="$3"
  [ "$(cat "$log.rc")" = "$rc" ] && grep -q -- "$pattern" "$log" || { echo "exit $(cat "$log.rc"), wanted $rc and '$pattern':"; tail -5 "$log"; return 1; }
}
run_dhs() {  # LOG N args...: runs dhs on N ranks (N=0: no launcher), records the exit code
  local log="$1" n="$2"; shift 2
  if [ "$n" = 0 ]; then "$dhs" "$@" > "$log" 2>&1; else mpi "$n" "$dhs" "$@" > "$log" 2>&1; fi
  echo $? > "$log.rc"
}

"$py" "$here/make_fixture.py" "$tmp/rings.h5" || exit 1
cat > "$tmp/cnn.yaml" <<YAML
run:
  stages: [train]
  progress_interval_s: 1
train:
  dataset: injection
  injections_file: $tmp/rings.h5
  arch: simple_cnn
  width: 16
  crop: 48
  batch_size: 32
  epochs: 4
  patience: 4
  lr: 3e-3
  weight_decay: 1e-4
  warmup_epochs: 0.5
  learners: "1"
  threads: 1
YAML

# 1. It learns: val AUC on the held-out rings; train.h5 holds the history; model/ the files.
run_dhs "$tmp/learn.log" 0 run "$tmp/cnn.yaml" --out "$tmp/learn" --set train.epochs=10 --set train.patience=10 \
  --set train.lr=1e-2
auc_ok() {
  "$py" - "$tmp/learn/train.h5" <<'PY'
import sys, h5py
h = h5py.File(sys.argv[1])["history"]
auc = h["val_auc"][:]
print("val AUC per epoch:", [round(float(x), 4) for x in auc], "images/s:", [round(float(x)) for x in h["images_per_s"][:]])
assert len(auc) == 10 and auc.max() >= 0.99, auc
assert h.attrs["best_val_auc"] == auc.max()
assert b"injection" in h.attrs["counts"].encode() if isinstance(h.attrs["counts"], str) else True
PY
}
check "the CNN learns rings in seconds (val AUC >= 0.99), train.h5 /history" auc_ok
check "model/ holds weights.pt, weights-last.pt, model.json, the last checkpoint" \
  test -s "$tmp/learn/model/weights.pt" -a -s "$tmp/learn/model/weights-last.pt" -a -s "$tmp/learn/model/model.json" \
       -a -s "$tmp/learn/model/state.json" -a -s "$tmp/learn/model/checkpoint-best.pt"

# Early stopping: with patience 2 the run ends two epochs after its best val AUC.
run_dhs "$tmp/stop.log" 0 run "$tmp/cnn.yaml" --out "$tmp/stop" --set train.epochs=40 --set train.patience=2 \
  --set train.lr=1e-2
stopped_early() {
  "$py" - "$tmp/stop/train.h5" <<'PY'
import sys, h5py
h = h5py.File(sys.argv[1])["history"]
auc, best = h["val_auc"][:], int(h.attrs["best_epoch"])
print("epochs run:", len(auc), "best epoch:", best, "reason:", h.attrs["stop_reason"])
assert len(auc) < 40 and len(auc) == best + 3 and "early stopping" in str(h.attrs["stop_reason"])
PY
}
check "early stopping on val AUC after patience epochs" stopped_early

# 2. Data parallel: 2 learners x batch 16 = 1 learner x batch 32 (no BatchNorm; fp32 sums
# in another order, so within a tolerance), with augmentation on.
for v in "2 16" "1 32"; do
  set -- $v
  run_dhs "$tmp/dp$1.log" "$1" run "$tmp/cnn.yaml" --out "$tmp/dp$1" --set train.learners="$1" \
    --set train.batch_size="$2" --set train.epochs=1
done
check "2 learners x B = 1 learner x 2B after one epoch (8 steps), max |diff| <= 1e-5" \
  weights_close "$tmp/dp2/model/weights-last.pt" "$tmp/dp1/model/weights-last.pt" 1e-5

# 3. SIGKILL + --resume = uninterrupted, bit for bit: ResNet-18 (BatchNorm averaged at
# checkpoints), 1 learner fed by 1 data rank, a checkpoint every 3 steps.
res=(--set train.arch=resnet18 --set train.width=8 --set train.epochs=2 --set train.checkpoint_every_steps=3
     --set train.batch_size=16)
run_dhs "$tmp/ref.log" 2 run "$tmp/cnn.yaml" --out "$tmp/ref" "${res[@]}"
check "reference run (2 ranks: learner + data rank) finished" test "$(cat "$tmp/ref.log.rc")" = 0
mpi 2 "$dhs" run "$tmp/cnn.yaml" --out "$tmp/killed" "${res[@]}" > "$tmp/killed.log" 2>&1 &
job=$!
for _ in $(seq 1 600); do
  ls "$tmp/killed/model"/checkpoint-0000000*.pt >/dev/null 2>&1 && break
  sleep 0.1
done
pkill -9 -f "$tmp/killed" ; wait $job 2>/dev/null
killed_at="$(ls "$tmp/killed/model" 2>/dev/null | grep -c '^checkpoint-0')"
check "the run was killed after a checkpoint and before the end" test ! -e "$tmp/killed/train.h5" -a "$killed_at" -ge 1
run_dhs "$tmp/resumed.log" 2 run "$tmp/cnn.yaml" --out "$tmp/killed" "${res[@]}" --resume
check "--resume continued from the checkpoint" grep -q "resuming at epoch" "$tmp/resumed.log"
check "killed + resumed weights = uninterrupted weights, bit for bit" \
  weights_close "$tmp/killed/model/weights-last.pt" "$tmp/ref/model/weights-last.pt" 0

# 4. weights.pt opens in Python: torchvision's resnet18 with the stem model.json names.
tv_loads() {
  "$py" - "$tmp/ref/model" <<'PY'
import json, sys, torch, torchvision
d = sys.argv[1]
m = json.load(open(d + "/model.json"))
w = torch.load(d + "/weights.pt")
net = torchvision.models.resnet18(num_classes=1)
width = m["width"]
if width != 64:  # the narrow demo model: torchvision's layout at another width
    import torchvision.models.resnet as R
    net = R.ResNet(R.BasicBlock, [2, 2, 2, 2], num_classes=1, width_per_group=64)
    net.inplanes = width
    net.conv1 = torch.nn.Conv2d(3, width, 7, 2, 3, bias=False)
    net.bn1 = torch.nn.BatchNorm2d(width)
    net.layer1 = net._make_layer(R.BasicBlock, width, 2)
    net.layer2 = net._make_layer(R.BasicBlock, 2 * width, 2, stride=2)
    net.layer3 = net._make_layer(R.BasicBlock, 4 * width, 2, stride=2)
    net.layer4 = net._make_layer(R.BasicBlock, 8 * width, 2, stride=2)
    net.fc = torch.nn.Linear(8 * width, 1)
if m["stem"] == "small_input":
    net.conv1 = torch.nn.Conv2d(3, width, 3, 1, 1, bias=False)
    net.maxpool = torch.nn.Identity()
net.load_state_dict(w, strict=True)
print("torchvision resnet18 layout loaded", len(w), "tensors; stem", m["stem"], "width", width)
PY
}
check "weights.pt loads into torchvision's ResNet-18 layout (strict)" tv_loads

# 5. dhs plan shows the rank groups and steps.
run_dhs "$tmp/plan.log" 0 plan "$tmp/cnn.yaml" --set train.learners=1
check "dhs plan: groups, steps per epoch, memory per rank" grep -q "learner(s).*data rank" "$tmp/plan.log"

# 6. Bad input: exit 2 before any work, naming the file, split or key.
run_dhs "$tmp/missing.log" 0 run "$tmp/cnn.yaml" --out "$tmp/missing" --set train.injections_file="$tmp/none.h5"
check "missing input file: exit 2 naming it" fails_with 2 "none.h5" "$tmp/missing.log"
"$py" "$here/make_fixture.py" "$tmp/noval.h5" --no-val-injections
run_dhs "$tmp/noval.log" 0 run "$tmp/cnn.yaml" --out "$tmp/noval" --set train.injections_file="$tmp/noval.h5"
check "no injections in the val split: exit 2 naming file and split" fails_with 2 "noval.h5.*val split" "$tmp/noval.log"
"$py" "$here/make_fixture.py" "$tmp/nan.h5" --nan-injections
run_dhs "$tmp/nan.log" 0 run "$tmp/cnn.yaml" --out "$tmp/nan" --set train.injections_file="$tmp/nan.h5"
check "NaN-only injection stamps: exit 2 (none usable)" fails_with 2 "nan.h5.*no usable injections" "$tmp/nan.log"
run_dhs "$tmp/many.log" 2 run "$tmp/cnn.yaml" --out "$tmp/many" --set train.learners=3
check "more learners than ranks: exit 2 naming train.learners" fails_with 2 "train.learners" "$tmp/many.log"
run_dhs "$tmp/cuda.log" 0 run "$tmp/cnn.yaml" --out "$tmp/cuda" --set train.device=cuda
if "$py" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  echo "SKIP: CUDA request without a GPU (this machine has one)"
else
  check "CUDA requested without a GPU: exit 2 naming train.device" fails_with 2 "train.device" "$tmp/cuda.log"
fi
run_dhs "$tmp/batch.log" 0 run "$tmp/cnn.yaml" --out "$tmp/batch" --set train.batch_size=4096
check "batch larger than the train split: exit 2 naming train.batch_size" fails_with 2 "train.batch_size" "$tmp/batch.log"

finish
