# The mock DR10 sky (`dhs mock-sky`, mpi_stages/mock_sky): writes configs/mock_sky_test.yaml with
# 1 and 2 ranks and checks the files (identity, fitsverify, schema, WCS, photometry, lenses).
dhs_add_test(NAME mpi_stages.mock_sky SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/mock_sky_test.cpp
             LIBS dhs::stages dhs::core TIMEOUT 600)
target_compile_definitions(test_mpi_stages_mock_sky PRIVATE DHS_MPIEXEC="${MPIEXEC_EXECUTABLE}")
add_dependencies(test_mpi_stages_mock_sky dhs)
