# The injection stage (`dhs run --stages inject`, mpi_stages/inject) on fixture hosts written by
# the test: rank-count identity (1, 2, 3), stamps, fluxes, controls, designs, errors.
dhs_add_test(NAME mpi_stages.inject SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/inject_test.cpp
             LIBS dhs::core dhs::kernels dhs_hdf5 TIMEOUT 300)
target_compile_definitions(test_mpi_stages_inject PRIVATE DHS_MPIEXEC="${MPIEXEC_EXECUTABLE}")
add_dependencies(test_mpi_stages_inject dhs)
dhs_add_test(NAME mpi_stages.inject_chain SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/inject_chain_test.cpp
             LIBS dhs::core dhs_hdf5 TIMEOUT 300)
target_compile_definitions(test_mpi_stages_inject_chain PRIVATE DHS_MPIEXEC="${MPIEXEC_EXECUTABLE}")
add_dependencies(test_mpi_stages_inject_chain dhs)
