# The skeleton stage (mpi_stages/skeleton, the template) end to end, and every registered
# stage's name() = its registry key.
dhs_add_script_test(NAME mpi_stages.skeleton COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/skeleton/skeleton_test.sh
                    LABELS mpi_stages TIMEOUT 300)
set_property(TEST mpi_stages.skeleton APPEND PROPERTY ENVIRONMENT "DHS_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
if(DHS_HAVE_TORCH)
  dhs_add_test(NAME mpi_stages.registry SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/registry_test.cpp LIBS dhs::stages_torch dhs::core)
else()
  dhs_add_test(NAME mpi_stages.registry SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/registry_test.cpp LIBS dhs::stages dhs::core)
endif()
