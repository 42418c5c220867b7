#!/usr/bin/env bash
# scripts/export_torchscript.py end to end: a one-epoch `train` run on a small ring fixture
# (tests/mpi_stages/train/make_fixture.py) for each model kind the exporter builds (ResNet-18
# width 8 with the small_input stem; with the imagenet stem and two metadata columns fused
# before fc; the plain CNN), then the export, which reloads its file and compares logits with
# the eager model; and here, independently, the saved file scores a batch of shape (N,) and
# scores it as torchvision's resnet18 layout with weights.pt does.
#   train_export_test.sh REPO   (DHS_EXE: the dhs executable, set by ctest)
set -uo pipefail
dhs="${DHS_EXE:?}"
repo="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
py=/usr/bin/python3
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
pass=0
fails=0
check() {
  local name="$1"; shift
  if "$@"; then pass=$((pass + 1)); echo "PASS: $name"; else echo "FAIL: $name"; fails=$((fails + 1)); fi
}

"$py" "$repo/tests/mpi_stages/train/make_fixture.py" "$tmp/rings.h5" --n 160 --size 41 || exit 1
cat > "$tmp/train.yaml" <<YAML
run:
  stages: [train]
train:
  dataset: injection
  injections_file: $tmp/rings.h5
  arch: resnet18
  width: 8
  crop: 32
  batch_size: 16
  eval_batch_size: 64
  epochs: 1
  patience: 1
  learners: "1"
  threads: 1
YAML

# train_and_export NAME [--set ...]: one epoch into $tmp/NAME, then the export (default path).
train_and_export() {
  local name="$1"; shift
  if ! "$dhs" run "$tmp/train.yaml" --out "$tmp/$name" "$@" > "$tmp/$name.log" 2>&1; then
    echo "dhs run failed:"; tail -5 "$tmp/$name.log"; return 1
  fi
  "$py" "$repo/scripts/export_torchscript.py" "$tmp/$name/model" 2>&1 | tee "$tmp/$name.export.log"
  [ "${PIPESTATUS[0]}" = 0 ] && grep -q "^wrote $tmp/$name/model/model.torchscript.pt" "$tmp/$name.export.log"
}

# The saved file alone (no dhs, no torchvision), beside torchvision with weights.pt.
scores_alone() {  # NAME
  "$py" - "$tmp/$1/model" <<'PY'
import json, sys, torch, torchvision
d = sys.argv[1]
spec = json.load(open(d + "/model.json"))
extra = {"model.json": ""}
m = torch.jit.load(d + "/model.torchscript.pt", _extra_files=extra)
assert json.loads(extra["model.json"]) == spec
x = torch.randn(7, spec["in_channels"], spec["crop"], spec["crop"])
with torch.no_grad():
    y = m(x)
assert y.shape == (7,) and torch.isfinite(y).all(), y
if spec["arch"] == "resnet18" and not spec["meta"]:
    # torchvision's layout, built here independently of the exporter (test 4 of train_test.sh)
    import torchvision.models.resnet as R
    w = spec["width"]
    net = R.ResNet(R.BasicBlock, [2, 2, 2, 2], num_classes=1)
    net.inplanes = w
    net.conv1 = torch.nn.Conv2d(3, w, 7, 2, 3, bias=False) if spec["stem"] == "imagenet" else torch.nn.Conv2d(3, w, 3, 1, 1, bias=False)
    if spec["stem"] == "small_input":
        net.maxpool = torch.nn.Identity()
    net.bn1 = torch.nn.BatchNorm2d(w)
    for k, (p, s) in enumerate(((w, 1), (2 * w, 2), (4 * w, 2), (8 * w, 2))):
        setattr(net, f"layer{k + 1}", net._make_layer(R.BasicBlock, p, 2, stride=s))
    net.fc = torch.nn.Linear(8 * w, 1)
    net.load_state_dict(torch.load(d + "/weights.pt"), strict=True)
    with torch.no_grad():
        ref = net.eval()(x).squeeze(-1)
    diff = float((ref - y).abs().max())
    assert diff <= 1e-5, diff
    print(f"TorchScript = torchvision + weights.pt: max |diff| {diff:.3g}")
print("scored", tuple(x.shape), "->", tuple(y.shape))
PY
}

check "resnet18 width 8, small_input: trained, exported, reloaded logits = eager" train_and_export small
check "  the saved file scores alone and agrees with torchvision + weights.pt" scores_alone small
check "resnet18 width 8, imagenet stem + meta [psf_fwhm_r, arc_snr]: exported (forward(x, meta))" \
  train_and_export meta --set train.stem=imagenet --set 'train.meta_columns=[psf_fwhm_r, arc_snr]'
check "  the saved file takes (x, meta)" "$py" -c "
import json, torch
d = '$tmp/meta/model'
m = torch.jit.load(d + '/model.torchscript.pt')
s = json.load(open(d + '/model.json'))
assert len(s['meta']) == 2, s['meta']
y = m(torch.randn(3, 3, s['crop'], s['crop']), torch.randn(3, 2))
assert y.shape == (3,)
"
check "simple_cnn width 16: exported" train_and_export cnn --set train.arch=simple_cnn --set train.width=16
# A bad input: exit non-zero with the file named.
rm -f "$tmp/cnn/model/weights.pt"
check "missing weights.pt: the export fails" bash -c "! '$py' '$repo/scripts/export_torchscript.py' '$tmp/cnn/model' > '$tmp/bad.log' 2>&1"

echo "$pass passed, $fails failed"
[ "$fails" = 0 ]
