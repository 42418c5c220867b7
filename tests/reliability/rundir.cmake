# The run directory under bad conditions: two jobs at once (the lock), bad parameters and a
# directory left by a failed start, a changed config on --resume, a damaged stage file.
foreach(t lock config complete)
  dhs_add_script_test(NAME reliability.rundir_${t} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/rundir_${t}_test.sh
                      LABELS reliability TIMEOUT 300)
  set_property(TEST reliability.rundir_${t} APPEND PROPERTY ENVIRONMENT "DHS_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
  set_property(TEST reliability.rundir_${t} PROPERTY PROCESSORS 2)
endforeach()
