# fuzz.short (label fuzz), registered in the main build (DHS_FUZZ=OFF): scripts/fuzz.sh runs
# every harness of tests/fuzz on its seeds and 2,000 inputs mutated from a fixed seed (the same
# inputs every time: a failure is a regression, never a chance find) in its own clang build under <build>/fuzz (configured
# and built by the script; about 4 minutes from scratch on 2 cores, most of it the build), with
# seeds from this build's dhs (mock sky, config keys). Fails on any crash, sanitizer report,
# leak, timeout or out-of-memory, naming the input.
add_test(NAME fuzz.short
         COMMAND bash "${PROJECT_SOURCE_DIR}/scripts/fuzz.sh" --runs 2000 --build-dir "${PROJECT_BINARY_DIR}/fuzz")
set_tests_properties(fuzz.short PROPERTIES LABELS fuzz TIMEOUT 1500 PROCESSORS 2
                     ENVIRONMENT "DHS_EXE=$<TARGET_FILE:dhs>;DHS_SHARED_DIR=${DHS_SHARED_DIR}")
