# The evaluation stage (mpi_stages/evaluate) on synthetic real-lens scores written by the test.
dhs_add_script_test(NAME mpi_stages.evaluate COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/evaluate/evaluate_test.sh
                    LABELS "mpi_stages;evaluate" TIMEOUT 300)
