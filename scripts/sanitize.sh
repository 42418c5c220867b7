#!/usr/bin/env bash
# The test suite again under the sanitizers (CI runs it after the main suite; docs/reliability.md#sanitizers):
#   address: AddressSanitizer + UndefinedBehaviorSanitizer over the whole suite of a build without
#            libtorch (the torch stages: --with-torch), in BUILD_PREFIX-asan
#   thread:  ThreadSanitizer over the engine's threaded parts (the MPI wrapper, the scheduler, the
#            spool, the output groups, the engine end to end), in BUILD_PREFIX-tsan
# Suppressions (tests/sanitizers/) cover leaks and races inside Open MPI, HDF5 and cfitsio only.
# Prints one summary line per run (ctest's) and exits 1 when either failed.
#
#   scripts/sanitize.sh [address|thread ...] [--with-torch] [--build-prefix PREFIX] [-j N]
# Needs the packages scripts/setup.sh installs.
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="$repo/build"
kinds=()
torch=OFF
jobs="$(nproc)"
while [ $# -gt 0 ]; do
  case "$1" in
    address|thread) kinds+=("$1"); shift ;;
    --with-torch) torch=ON; shift ;;
    --build-prefix) prefix="$2"; shift 2 ;;
    -j) jobs="$2"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "sanitize.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ ${#kinds[@]} -gt 0 ] || kinds=(address thread)

supp="$repo/tests/sanitizers"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Open MPI's memory patcher hooks malloc, which the sanitizers own; its plugins stay loaded to
# the end, so that leak reports can name the library a leak is in (and the suppressions match).
export OMPI_MCA_memory=^patcher OMPI_MCA_mca_base_component_disable_dlclose=1
# The slow unwinder: Open MPI and cfitsio have no frame pointers, so the fast one loses the frames
# that name them.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:allocator_may_return_null=1:fast_unwind_on_malloc=0"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export TSAN_OPTIONS="suppressions=$supp/tsan.supp:halt_on_error=1:second_deadlock_stack=1:report_signal_unsafe=0"

# The engine's threaded parts, by ctest name.
tsan_tests='core\.comm|engine\.(units|spool|scheduler|output_group|end_to_end)'
tsan_targets=(dhs test_core_comm test_engine_units test_engine_spool test_engine_scheduler test_engine_output_group)

rc=0
summaries=()
for kind in "${kinds[@]}"; do
  dir="$prefix-${kind/address/asan}"
  dir="${dir/-thread/-tsan}"
  log="$dir/sanitize"  # sanitize.{configure,build,ctest}.log
  mkdir -p "$dir"
  start=$(date +%s)
  # -O1 -g1: the sanitizers' usual flags (fast enough to run, stacks with line numbers); asserts on.
  cmake -S "$repo" -B "$dir" -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -g1" -DCMAKE_C_FLAGS="-O1 -g1" \
        -DDHS_SANITIZE="$kind" -DDHS_WITH_TORCH="$([ "$kind" = address ] && echo "$torch" || echo OFF)" \
        -DDHS_BUILD_BENCHMARKS=OFF -DDHS_SHARED_DIR="${DHS_SHARED_DIR:-$repo/../shared}" >"$log.configure.log" 2>&1 ||
    { tail -20 "$log.configure.log"; summaries+=("sanitize.sh $kind: configure failed"); rc=1; continue; }
  if [ "$kind" = address ]; then
    cmake --build "$dir" -j "$jobs" >"$log.build.log" 2>&1
  else
    cmake --build "$dir" -j "$jobs" --target "${tsan_targets[@]}" >"$log.build.log" 2>&1
  fi || { tail -30 "$log.build.log"; summaries+=("sanitize.sh $kind: build failed (see $log.build.log)"); rc=1; continue; }
  built=$(date +%s)
  select=()
  # fuzz.short builds its own clang fuzzers (sanitized already); the Slurm and two-host tests start
  # daemons and namespaces that the main run covers.
  if [ "$kind" = address ]; then select=(-E 'fuzz\.short|slurm|multihost'); else select=(-R "$tsan_tests"); fi
  (cd "$dir" && ctest --output-on-failure --no-label-summary -j "$jobs" "${select[@]}") >"$log.ctest.log" 2>&1
  test_rc=$?
  [ $test_rc = 0 ] || { grep -E "^[0-9]+/[0-9]+ Test .*(Failed|Timeout|Exception)|The following tests" -A20 "$log.ctest.log" | tail -25; rc=1; }
  summary="$(grep -E '^[0-9]+% tests passed' "$log.ctest.log" | tail -1)"
  summaries+=("sanitize.sh $kind (build $((built - start)) s, tests $(( $(date +%s) - built )) s): ${summary:-no ctest summary, see $log.ctest.log}")
done
printf '%s\n' "${summaries[@]}"
exit $rc
