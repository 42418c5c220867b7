#!/usr/bin/env bash
# Installs every Debian package dhs needs that is missing (non-interactively), then
# configures and builds. Safe to re-run: installs nothing and rebuilds only what changed.
#
#   scripts/setup.sh [--build-dir DIR] [--build-type TYPE] [--sanitize] [--no-build] [--without-torch]
#
# Needs root (or sudo) only when a package is missing.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="$repo/build"
build_type="Release"
sanitize=OFF
do_build=1
with_torch=ON
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir="$2"; shift 2 ;;
    --build-type) build_type="$2"; shift 2 ;;
    --sanitize) sanitize=ON; shift ;;
    --no-build) do_build=0; shift ;;
    --without-torch) with_torch=OFF; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done

packages=(
  build-essential cmake pkg-config git
  openmpi-bin libopenmpi-dev
  libhdf5-openmpi-dev hdf5-tools
  libcfitsio-dev libcfitsio-bin fitsverify
  wcslib-dev libhealpix-cxx-dev libfftw3-dev
  libyaml-cpp-dev libspdlog-dev libfmt-dev libboost-program-options-dev nlohmann-json3-dev
  libssl-dev libxxhash-dev libeigen3-dev libopenblas0-pthread libzip-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # Test references and the Python baselines benchmarks run beside (Debian's python3 stack).
  python3 python3-numpy python3-astropy python3-fitsio python3-healpy python3-h5py python3-scipy
  python3-sklearn python3-jsonschema
  # C probes of shared/bench/limits/ that benchmarks build beside dhs (sweepc2.c: chealpix)
  libchealpix-dev
  # Slurm for the engine's single-node Slurm test
  slurmd slurmctld slurm-client munge
  # Training and scoring (dhs::learn): Debian's CPU libtorch, and the Python torch/torchvision
  # that tests load dhs's exported weights with.
  libtorch-dev python3-torch python3-torchvision
  # The report (scripts/report.py: matplotlib figures) and its test in a real headless browser
  python3-matplotlib chromium
)

missing=()
for p in "${packages[@]}"; do
  case "$p" in \#*) continue ;; esac
  status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup.sh: installing ${#missing[@]} missing packages: ${missing[*]}"
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "setup.sh: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup.sh: all ${#packages[@]} Debian packages present"
fi

[ "$do_build" = 1 ] || exit 0

cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE="$build_type" -DDHS_SANITIZE="$sanitize" -DDHS_WITH_TORCH="$with_torch" \
      -DDHS_SHARED_DIR="${DHS_SHARED_DIR:-$repo/../shared}"
cmake --build "$build_dir" -j "$(nproc)"
echo "setup.sh: built $build_dir/apps/dhs/dhs ($("$build_dir/apps/dhs/dhs" --version))"
