#!/usr/bin/env bash
# ResNet-18 training and inference images/s on a lent GPU machine: dhs::learn (kernels/learn's
# dhs_learn_bench and benchmarks/learn_infer_bench.cpp, built against the machine's pip torch)
# beside the same model in Python torch + torchvision, in one invocation; prints the GPU, the
# torch version, a table and the ratios dhs / python; writes them to $OUT when it is set.
#
# The machine has only Python 3 + torch (CUDA) + nvcc + CMake: no MPI, HDF5, FITS or network, so
# kernels/learn is built on its own (its CMakeLists.txt's standalone mode) and nothing else is.
# Model and batch as SPEC Stage 5 sizes the GPU group: ResNet-18 width 64 on 64x64x3, batch 256,
# bf16 autocast for training (dhs: Learner::train_step; python: torch.autocast('cuda', bfloat16)),
# AdamW, BCE-with-logits; both stems (imagenet = torchvision's own, small_input = the stage's
# default). Both sides copy a host batch to the device every step, as the stage's learner does
# (python is also timed on a device-resident batch, for reference). Inference: eval mode, fp32,
# host batch in, logits back to the host (Learner::predict; python the same). Finishes in ~3-4
# minutes (build ~1.5, measurements ~1.5); every phase runs under `timeout`, and none past
# DEADLINE_S (default 450 s) from the start, so the whole stays inside 8 minutes.
#
#   benchmarks/device_train.sh                 on the GPU machine (from the repository root)
#   benchmarks/device_train.sh --cpu-dry-run   here: Debian's /usr/bin/python3 and libtorch, the
#                                              CPU, batch 8, 2 steps (proves the script works)
# Environment: STEPS (timed steps, default 50), WARMUP (default 10), BATCH (default 256),
# STEMS (default "imagenet small_input"), BUILD_DIR (default /tmp/b; dry run /tmp/dhs-learn-dry),
# JOBS (default 16; dry run 2), PYTHON (default python3; dry run /usr/bin/python3), DEADLINE_S.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DRY=0
[ "${1:-}" = "--cpu-dry-run" ] && DRY=1
if [ "$DRY" = 1 ]; then
  PY=${PYTHON:-/usr/bin/python3}
  DEVICE=cpu BATCH=${BATCH:-8} STEPS=${STEPS:-2} WARMUP=${WARMUP:-1} JOBS=${JOBS:-2}
  BUILD=${BUILD_DIR:-/tmp/dhs-learn-dry}
  THREADS=1
else
  PY=${PYTHON:-python3}
  DEVICE=cuda BATCH=${BATCH:-256} STEPS=${STEPS:-50} WARMUP=${WARMUP:-10} JOBS=${JOBS:-16}
  BUILD=${BUILD_DIR:-/tmp/b}
  THREADS=0
fi
STEMS=${STEMS:-imagenet small_input}
RESULTS=${OUT:-$BUILD/results}
mkdir -p "$RESULTS"
LOG=$RESULTS/device_train.log
JSONL=$RESULTS/device_train.jsonl
: > "$JSONL"
T0=$SECONDS
DEADLINE=${DEADLINE_S:-450}  # seconds from the start after which no phase may still run
# budget N: N, or the seconds left before DEADLINE when fewer (at least 1)
budget() { local left=$((DEADLINE - (SECONDS - T0))); [ "$left" -lt "$1" ] && echo $((left > 1 ? left : 1)) || echo "$1"; }
say() { echo "$@" | tee -a "$LOG"; }
: > "$LOG"

say "== device_train.sh $([ "$DRY" = 1 ] && echo '(CPU dry run)') $(date -u +%FT%TZ) on $(uname -n), $(nproc) cores"
if command -v nvidia-smi > /dev/null; then
  nvidia-smi -L 2>&1 | tee -a "$LOG" || true
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader 2>&1 | tee -a "$LOG" || true
else
  say "(no nvidia-smi)"
fi
"$PY" -c "import sys, torch; print('python', sys.version.split()[0], '| torch', torch.__version__, '| cuda', torch.version.cuda, '| cudnn', torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None, '| cuda available', torch.cuda.is_available())" 2>&1 | tee -a "$LOG"
(uptime 2>/dev/null || cat /proc/loadavg) | tee -a "$LOG"

# 1. Build: kernels/learn standalone (dhs_learn_bench), and beside it, at the same time, the
# inference bench's one translation unit in a small project that links the library built there.
if [ "$DRY" = 1 ] && [ -z "${TORCH_PREFIX:-}" ]; then
  TORCH_PREFIX=$(dirname "$(dirname "$(find /usr/lib /usr/local/lib /usr/share -name TorchConfig.cmake -print -quit 2>/dev/null)")")
fi
TORCH_PREFIX=${TORCH_PREFIX:-$("$PY" -c 'import torch; print(torch.utils.cmake_prefix_path)')}
say "== building kernels/learn standalone in $BUILD (CMAKE_PREFIX_PATH=$TORCH_PREFIX, -j$JOBS) [$((SECONDS - T0)) s]"
INFER=$BUILD-infer
mkdir -p "$INFER/src"
cat > "$INFER/src/CMakeLists.txt" <<EOF
# Written by benchmarks/device_train.sh: dhs_learn_infer_bench against the standalone
# kernels/learn build in $BUILD (its object compiles while that library builds).
cmake_minimum_required(VERSION 3.18)
project(dhs_learn_infer LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
find_package(Torch REQUIRED)
add_library(infer_obj OBJECT "$REPO/benchmarks/learn_infer_bench.cpp")
target_include_directories(infer_obj PRIVATE "$REPO")
target_link_libraries(infer_obj PRIVATE \${TORCH_LIBRARIES})
add_library(dhs_learn_built STATIC IMPORTED)
set_target_properties(dhs_learn_built PROPERTIES IMPORTED_LOCATION "$BUILD/libdhs_learn.a")
add_executable(dhs_learn_infer_bench \$<TARGET_OBJECTS:infer_obj>)
target_link_libraries(dhs_learn_infer_bench PRIVATE dhs_learn_built \${TORCH_LIBRARIES})
EOF
build_learn() {
  cmake -S "$REPO/kernels/learn" -B "$BUILD" -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" -DCMAKE_BUILD_TYPE=Release > "$BUILD.cfg.log" 2>&1 &&
    cmake --build "$BUILD" -j"$JOBS" --target dhs_learn_bench > "$BUILD.build.log" 2>&1
}
build_infer_obj() {
  cmake -S "$INFER/src" -B "$INFER" -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" -DCMAKE_BUILD_TYPE=Release > "$INFER.cfg.log" 2>&1 &&
    cmake --build "$INFER" -j1 --target infer_obj > "$INFER.build.log" 2>&1
}
mkdir -p "$BUILD"
timeout "$(budget 300)" bash -c "$(declare -f build_learn); BUILD='$BUILD' REPO='$REPO' TORCH_PREFIX='$TORCH_PREFIX' JOBS='$JOBS'; build_learn" &
learn_pid=$!
timeout "$(budget 300)" bash -c "$(declare -f build_infer_obj); INFER='$INFER' TORCH_PREFIX='$TORCH_PREFIX'; build_infer_obj" &
infer_pid=$!
rc=0
wait "$learn_pid" || rc=$?
if [ "$rc" != 0 ]; then
  say "kernels/learn build FAILED (exit $rc):"; tail -30 "$BUILD.cfg.log" "$BUILD.build.log" 2>/dev/null | tee -a "$LOG"
  kill "$infer_pid" 2>/dev/null || true
  exit 1
fi
INFER_OK=1
if ! wait "$infer_pid" || ! cmake --build "$INFER" --target dhs_learn_infer_bench >> "$INFER.build.log" 2>&1; then
  say "dhs_learn_infer_bench build FAILED (inference rows will be missing):"; tail -20 "$INFER.build.log" | tee -a "$LOG"
  INFER_OK=0
fi
cp "$BUILD.build.log" "$RESULTS/build_learn.log" 2>/dev/null || true
say "== built [$((SECONDS - T0)) s]"

# 2. dhs: training (bf16 autocast on CUDA) and inference, each stem.
for stem in $STEMS; do
  say "== dhs_learn_bench --stem $stem [$((SECONDS - T0)) s]"
  timeout "$(budget 90)" "$BUILD/dhs_learn_bench" --device "$DEVICE" --bf16 1 --batch "$BATCH" --steps "$STEPS" \
    --warmup "$WARMUP" --width 64 --stem "$stem" --threads "$THREADS" 2>&1 | tee -a "$LOG" | grep '^{' | tee -a "$JSONL" || { say "(failed)"; tail -5 "$LOG"; }
  if [ "$INFER_OK" = 1 ]; then
    timeout "$(budget 60)" "$INFER/dhs_learn_infer_bench" --device "$DEVICE" --batch "$BATCH" --steps "$STEPS" \
      --warmup "$WARMUP" --width 64 --stem "$stem" --threads "$THREADS" 2>&1 | tee -a "$LOG" | grep '^{' | tee -a "$JSONL" || { say "(failed)"; tail -5 "$LOG"; }
  fi
done

# 3. Python torch + torchvision: the same model, optimiser, loss, autocast, batch and steps.
say "== python torchvision [$((SECONDS - T0)) s]"
timeout "$(budget 180)" "$PY" - "$DEVICE" "$BATCH" "$STEPS" "$WARMUP" "$THREADS" $STEMS <<'PY' 2>&1 | tee -a "$LOG" | grep '^{' | tee -a "$JSONL" || { say "(python failed)"; tail -8 "$LOG"; }
import contextlib, json, sys, time
import torch, torchvision
device, bs, steps, warmup, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
if threads > 0:
    torch.set_num_threads(threads)
cuda = device == "cuda"
sync = torch.cuda.synchronize if cuda else (lambda: None)
for stem in sys.argv[6:]:
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=1)
    if stem == "small_input":
        model.conv1 = torch.nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        model.maxpool = torch.nn.Identity()
    model = model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=1e-2)
    lossf = torch.nn.BCEWithLogitsLoss()
    x_host, y_host = torch.randn(bs, 3, 64, 64), (torch.rand(bs, 1) > 0.5).float()
    x_dev, y_dev = x_host.to(device), y_host.to(device)

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16) if cuda else contextlib.nullcontext():
            loss = lossf(model(x).float(), y)
        loss.backward()
        opt.step()
        return loss.detach()

    def train(copy):
        model.train()
        for _ in range(warmup):
            step(x_host.to(device), y_host.to(device)) if copy else step(x_dev, y_dev)
        sync()
        t0 = time.perf_counter()
        for _ in range(steps):
            loss = step(x_host.to(device), y_host.to(device)) if copy else step(x_dev, y_dev)
        sync()
        return bs * steps / (time.perf_counter() - t0), float(loss)

    def infer():
        model.eval()
        with torch.no_grad():
            for _ in range(warmup):
                model(x_host.to(device)).cpu()
            sync()
            t0 = time.perf_counter()
            for _ in range(steps):
                model(x_host.to(device)).float().cpu()
            sync()
            return bs * steps / (time.perf_counter() - t0)

    rate, loss = train(copy=True)
    rate_dev, _ = train(copy=False)
    common = dict(batch=bs, steps=steps, width=64, stem=stem, device=device, torch=torch.__version__,
                  threads=torch.get_num_threads())
    print(json.dumps(dict(bench="python_resnet18_train", images_per_s=round(rate, 2), bf16=cuda, host_batch=True,
                          last_loss=loss, **common)))
    print(json.dumps(dict(bench="python_resnet18_train_device_batch", images_per_s=round(rate_dev, 2), bf16=cuda,
                          host_batch=False, **common)))
    print(json.dumps(dict(bench="python_resnet18_predict", images_per_s=round(infer(), 2), **common)))
    sys.stdout.flush()
PY

# 4. The table and the ratios.
say "== results [$((SECONDS - T0)) s]"
"$PY" - "$JSONL" <<'PY' 2>&1 | tee "$RESULTS/device_train.txt" | tee -a "$LOG"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def get(bench, stem):
    for r in rows:
        if r["bench"] == bench and r.get("stem") == stem:
            return r["images_per_s"]
    return None
stems = sorted({r.get("stem") for r in rows if r.get("stem")}, key=lambda s: s != "imagenet")
dev = rows[0].get("device", "?") if rows else "?"
print(f"ResNet-18 width 64, 64x64x3, batch {rows[0]['batch'] if rows else '?'}, device {dev}; images/s")
print(f"{'':<44s} {'dhs':>10s} {'python':>10s} {'dhs/python':>11s}")
fmt = lambda v: f"{v:10.1f}" if v is not None else f"{'-':>10s}"
for stem in stems:
    for label, d, p in ((f"train, {'bf16 autocast' if dev == 'cuda' or dev.startswith('cuda:') else 'fp32'}, {stem} stem", "dhs_learn_resnet18_train", "python_resnet18_train"),
                        (f"inference, fp32, {stem} stem", "dhs_learn_resnet18_predict", "python_resnet18_predict")):
        dv, pv = get(d, stem), get(p, stem)
        ratio = f"{dv / pv:10.2f}x" if dv and pv else f"{'-':>11s}"
        print(f"{label:<44s} {fmt(dv)} {fmt(pv)} {ratio}")
    pd = get("python_resnet18_train_device_batch", stem)
    print(f"{'  (python train, batch already on device)':<44s} {'':>10s} {fmt(pd)}")
PY
say "== done in $((SECONDS - T0)) s; results in $RESULTS"
