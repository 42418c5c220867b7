#!/usr/bin/python3
"""Export a trained dhs lens finder as TorchScript, for scoring from Python, C++ or Fortran
(FTorch) without dhs.

    /usr/bin/python3 scripts/export_torchscript.py RUN_DIR/model [OUT.pt]

Reads MODEL_DIR/model.json (arch, stem, width, in_channels, crop, meta) and MODEL_DIR/weights.pt
(a dict of tensors under torchvision's resnet18 names, as the `train` stage writes it), builds
the model in Python (torchvision's ResNet layout at the given width and stem, or the plain
`simple_cnn` baseline), loads the weights strictly, and saves it in eval mode as TorchScript
(default MODEL_DIR/model.torchscript.pt, with model.json stored inside as an extra file). The
saved module takes x (N, in_channels, crop, crop) raw_robust-normalised stamps, plus meta
(N, n_meta) standardised scalars when the model fuses metadata, and returns N logits (shape
(N,), like dhs). It then reloads the file and checks that its logits equal the eager model's.
Run with Debian's /usr/bin/python3 (torch, torchvision).
"""
import argparse
import json
import os
import sys

import torch
import torchvision
from torchvision.models import resnet as tv_resnet


def build_resnet18(width, stem, in_channels, n_meta):
    """torchvision's ResNet-18 (BasicBlock, [2, 2, 2, 2], one output) at layer-1 width `width`."""
    net = torchvision.models.resnet18(num_classes=1)
    if width != 64 or in_channels != 3:
        net.inplanes = width
        net.conv1 = torch.nn.Conv2d(in_channels, width, 7, 2, 3, bias=False)
        net.bn1 = torch.nn.BatchNorm2d(width)
        net.layer1 = net._make_layer(tv_resnet.BasicBlock, width, 2)
        net.layer2 = net._make_layer(tv_resnet.BasicBlock, 2 * width, 2, stride=2)
        net.layer3 = net._make_layer(tv_resnet.BasicBlock, 4 * width, 2, stride=2)
        net.layer4 = net._make_layer(tv_resnet.BasicBlock, 8 * width, 2, stride=2)
    if stem == "small_input":
        net.conv1 = torch.nn.Conv2d(in_channels, width, 3, 1, 1, bias=False)
        net.maxpool = torch.nn.Identity()
    elif stem != "imagenet":
        raise ValueError(f"model.json: unknown stem '{stem}' (small_input, imagenet)")
    net.fc = torch.nn.Linear(8 * width + n_meta, 1)
    return net


def build_simple_cnn(width, in_channels, n_meta):
    """dhs's plain baseline (kernels/learn/model.cpp): three conv3x3-relu-maxpool2 blocks."""
    c1, c2, c3 = max(1, width // 4), max(1, width // 2), width
    net = torch.nn.Module()
    net.features = torch.nn.Sequential(
        torch.nn.Conv2d(in_channels, c1, 3, 1, 1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(c1, c2, 3, 1, 1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(c2, c3, 3, 1, 1), torch.nn.ReLU(), torch.nn.MaxPool2d(2))
    net.fc = torch.nn.Linear(c3 + n_meta, 1)
    return net


class ResNetLogits(torch.nn.Module):
    """A torchvision ResNet returning (N,) logits."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x).squeeze(-1)


class ResNetMetaLogits(torch.nn.Module):
    """A torchvision ResNet whose pooled features are joined with metadata before fc."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x, meta):
        n = self.net
        x = n.maxpool(n.relu(n.bn1(n.conv1(x))))
        x = n.layer4(n.layer3(n.layer2(n.layer1(x))))
        x = torch.flatten(n.avgpool(x), 1)
        return n.fc(torch.cat([x, meta.to(x.dtype)], 1)).squeeze(-1)


class SimpleCnnLogits(torch.nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        x = torch.flatten(torch.nn.functional.adaptive_avg_pool2d(self.net.features(x), 1), 1)
        return self.net.fc(x).squeeze(-1)


class SimpleCnnMetaLogits(torch.nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x, meta):
        x = torch.flatten(torch.nn.functional.adaptive_avg_pool2d(self.net.features(x), 1), 1)
        return self.net.fc(torch.cat([x, meta.to(x.dtype)], 1)).squeeze(-1)


def build(spec, weights):
    """The eager model of model.json `spec` with `weights` loaded strictly, in eval mode."""
    arch, width = spec.get("arch", "resnet18"), int(spec.get("width", 64))
    in_channels, n_meta = int(spec.get("in_channels", 3)), len(spec.get("meta", []))
    if arch == "resnet18":
        net = build_resnet18(width, spec.get("stem", "small_input"), in_channels, n_meta)
        wrap = ResNetMetaLogits if n_meta else ResNetLogits
    elif arch == "simple_cnn":
        net = build_simple_cnn(width, in_channels, n_meta)
        wrap = SimpleCnnMetaLogits if n_meta else SimpleCnnLogits
    else:
        raise ValueError(f"model.json: unknown arch '{arch}' (resnet18, simple_cnn)")
    net.load_state_dict(weights, strict=True)  # names are the net's own, before wrapping
    return wrap(net).eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir", help="RUN_DIR/model (model.json, weights.pt)")
    ap.add_argument("out", nargs="?", help="TorchScript file (default MODEL_DIR/model.torchscript.pt)")
    ap.add_argument("--weights", default="weights.pt", help="weights file in MODEL_DIR (default weights.pt, the best "
                                                            "epoch; weights-last.pt: the last)")
    ap.add_argument("--atol", type=float, default=1e-5, help="largest |logit difference| accepted on reload")
    a = ap.parse_args()
    spec_path = os.path.join(a.model_dir, "model.json")
    weights_path = os.path.join(a.model_dir, a.weights)
    out = a.out or os.path.join(a.model_dir, "model.torchscript.pt")
    with open(spec_path) as f:
        spec_text = f.read()
    spec = json.loads(spec_text)
    weights = torch.load(weights_path, map_location="cpu")
    model = build(spec, weights)

    crop, n_meta = int(spec.get("crop", 64)), len(spec.get("meta", []))
    in_channels = int(spec.get("in_channels", 3))
    gen = torch.Generator().manual_seed(0)
    example = (torch.randn(1, in_channels, crop, crop, generator=gen),)
    check = (torch.randn(5, in_channels, crop, crop, generator=gen),)
    if n_meta:
        example += (torch.randn(1, n_meta, generator=gen),)
        check += (torch.randn(5, n_meta, generator=gen),)
    try:
        scripted = torch.jit.script(model)
        how = "script"
    except Exception as e:  # noqa: BLE001 - fall back to tracing the fixed graph
        print(f"torch.jit.script failed ({e}); tracing instead", file=sys.stderr)
        with torch.no_grad():
            scripted = torch.jit.trace(model, example, check_inputs=[check])
        how = "trace"
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    torch.jit.save(scripted, out, _extra_files={"model.json": spec_text})

    # The saved file reloads and scores as the eager model does.
    extra = {"model.json": ""}
    loaded = torch.jit.load(out, map_location="cpu", _extra_files=extra)
    loaded.eval()
    with torch.no_grad():
        worst = 0.0
        for inputs in (example, check):
            eager, reloaded = model(*inputs), loaded(*inputs)
            if eager.shape != reloaded.shape or eager.shape != (inputs[0].shape[0],):
                sys.exit(f"export_torchscript: logits of shape {tuple(reloaded.shape)}, eager {tuple(eager.shape)}")
            worst = max(worst, float((eager - reloaded).abs().max()))
    if worst > a.atol or json.loads(extra["model.json"]) != spec:
        sys.exit(f"export_torchscript: the reloaded {out} differs from the eager model (max |logit diff| {worst:.3g})")
    print(f"wrote {out} (torch.jit.{how}; {spec.get('arch')} stem {spec.get('stem')} width {spec.get('width')}, "
          f"input (N, {in_channels}, {crop}, {crop}){f' + meta (N, {n_meta})' if n_meta else ''} -> logits (N,); "
          f"reloaded: max |logit diff| vs eager {worst:.3g}; torch {torch.__version__})")


if __name__ == "__main__":
    main()
