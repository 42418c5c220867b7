# reliability.<case>: tests/reliability/bad_input_test.sh <case> breaks one input of a mock sky
# and checks that dhs names the file and the field, quarantines only the affected unit (exit 3)
# or stops before any work, and never crashes, aborts or hangs. See docs/reliability.md.
foreach(case zero_cd lenscat_not_utf8 random_sweep huge_naxis2 nonfinite_flux sweep_not_ascii)
  dhs_add_script_test(NAME reliability.${case}
                      COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/bad_input_test.sh ${case}
                      LABELS reliability TIMEOUT 300)
  set_property(TEST reliability.${case} APPEND PROPERTY ENVIRONMENT "DHS_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
  set_property(TEST reliability.${case} PROPERTY PROCESSORS 2)
endforeach()
# The unit-level checks behind them: UTF-8 validation/repair, BrickWcs refusing a singular CD matrix.
dhs_add_test(NAME reliability.readers SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/readers_test.cpp LIBS dhs::core
             LABELS reliability)
# Disk full during the gather, 1 and 2 ranks, then --resume (mounts a tmpfs: skipped without root).
dhs_add_script_test(NAME reliability.disk_full COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/disk_full_test.sh
                    LABELS reliability TIMEOUT 600)
set_property(TEST reliability.disk_full APPEND PROPERTY ENVIRONMENT "DHS_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
set_property(TEST reliability.disk_full PROPERTY PROCESSORS 2)
set_property(TEST reliability.disk_full PROPERTY SKIP_RETURN_CODE 77)
