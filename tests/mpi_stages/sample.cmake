# The sampling stage (`sample`, mpi_stages/sample): lens tables (real lenscat file, malformed
# rows, duplicates); the stage end to end through `dhs run` on a mock sky with 1, 2 and 3 ranks
# (identity, matches, exclusion by brute force, 100:1 strata, healpix/split vs healpy +
# hashlib); on the real DR8 sweeps with the real lenscat; bad inputs.
dhs_add_test(NAME mpi_stages.sample_lenscat SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/sample_lenscat_test.cpp
             LIBS dhs::stages dhs::core)
foreach(t sample sample_real sample_bad)
  dhs_add_test(NAME mpi_stages.${t} SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/${t}_test.cpp
               LIBS dhs::stages dhs::core TIMEOUT 600)
  target_compile_definitions(test_mpi_stages_${t} PRIVATE DHS_MPIEXEC="${MPIEXEC_EXECUTABLE}")
  add_dependencies(test_mpi_stages_${t} dhs)
endforeach()
