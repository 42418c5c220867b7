# `dhs plan` of a whole pipeline before it runs: estimates checked against a run, and a DR10-sized survey on paper.
dhs_add_script_test(NAME apps.plan COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/plan_test.sh LABELS apps TIMEOUT 600)
set_property(TEST apps.plan APPEND PROPERTY ENVIRONMENT "DHS_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
