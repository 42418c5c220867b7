#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (serial and MPI) with ctest; then, with
# DHS_TEST_SANITIZERS=1 (CI sets it), the suite again under ASan + UBSan and the engine's
# threaded parts under TSan (scripts/sanitize.sh). The last line printed is the main run's ctest
# summary line. Extra arguments go to ctest (e.g. scripts/test.sh -R config).
#
#   scripts/test.sh [ctest args...]
# Environment: BUILD_DIR (default ./build), DHS_SHARED_DIR (default ../shared),
# DHS_TEST_SANITIZERS (default 0).
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${BUILD_DIR:-$repo/build}"

"$repo/scripts/setup.sh" --build-dir "$build_dir" --build-type "${BUILD_TYPE:-Release}" || exit 1

# mpirun as root and with more ranks than cores: allowed for the tests (the library never sets these).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
log="$build_dir/ctest.log"
cd "$build_dir"
ctest --output-on-failure --no-label-summary -j "$(nproc)" "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

# Stray library diagnostics are failures even when a test passed (HighFive's rule).
if grep -q "HDF5-DIAG" "$log"; then
  echo "test.sh: HDF5-DIAG diagnostics in the test output (see $log)"
  rc=1
fi
if [ "${DHS_TEST_SANITIZERS:-0}" = 1 ]; then
  "$repo/scripts/sanitize.sh" --build-prefix "$build_dir" || rc=1
fi
# ctest's summary line goes last.
summary="$(grep -E '^[0-9]+% tests passed' "$log" | tail -1)"
echo "${summary:-test.sh: ctest printed no summary}"
exit $rc
