# The sampling stage (`sample`, mpi_stages/sample): lens tables (real lenscat file, malformed
# rows, duplicates) and the stage end to end through `dhs run` with 1, 2 and 3 ranks on a mock
# sky and on the real DR8 sweeps (healpix/split vs healpy + hashlib, exclusion by brute force,
# 100:1 strata, bad inputs).
dhs_add_test(NAME mpi_stages.sample_lenscat SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/sample_lenscat_test.cpp
             LIBS dhs::stages dhs::core)
dhs_add_test(NAME mpi_stages.sample SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/sample_test.cpp
             LIBS dhs::stages dhs::core TIMEOUT 600)
target_compile_definitions(test_mpi_stages_sample PRIVATE DHS_MPIEXEC="${MPIEXEC_EXECUTABLE}")
add_dependencies(test_mpi_stages_sample dhs)
