dhs_add_script_test(NAME apps.cli COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli_test.sh LABELS apps)
set_property(TEST apps.cli APPEND PROPERTY ENVIRONMENT "DHS_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
set_property(TEST apps.cli PROPERTY PROCESSORS 2)
