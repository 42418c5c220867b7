# What scripts/demo.sh and scripts/selection_check.sh share, sourced with the output folder's
# default name: sets repo, out (the first argument or that default, made absolute), ranks
# (RANKS, 2), build_dir (BUILD_DIR, ./build), builds what is missing (setup.sh), and sets dhs
# and mpi (the launcher line; Open MPI may run as root; waiting ranks yield their core).
#   source "$(dirname "${BASH_SOURCE[0]}")/run_env.sh" demo-out "$@"
default_out="$1"
shift
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$(mkdir -p "${1:-$default_out}" && cd "${1:-$default_out}" && pwd)"
ranks="${RANKS:-2}"
build_dir="${BUILD_DIR:-$repo/build}"
"$repo/scripts/setup.sh" --build-dir "$build_dir" >/dev/null
dhs="$build_dir/apps/dhs/dhs"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1
mpi=(mpirun -n "$ranks" --oversubscribe --bind-to none)
