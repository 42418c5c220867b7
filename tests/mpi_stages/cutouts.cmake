# The cutout stage (mpi_stages/cutouts) on mock skies: stamps against direct coadd reads, edge
# policy, flags for missing / corrupt inputs, 1/2/3-rank identity, npz export read by numpy.
dhs_add_test(NAME mpi_stages.cutouts SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/cutouts_test.cpp
             LIBS dhs::stages dhs::core dhs_hdf5 PkgConfig::CFITSIO TIMEOUT 600)
target_compile_definitions(test_mpi_stages_cutouts PRIVATE DHS_MPIEXEC="${MPIEXEC_EXECUTABLE}")
add_dependencies(test_mpi_stages_cutouts dhs)
