# The validation stage (mpi_stages/validate): hand-built cutouts.h5 / injections.h5 audited by
# `dhs run` with 1, 2 and 3 ranks (identity, per-stamp rows vs the kernel, failure reasons, AUCs
# vs scikit-learn through h5py, gates and flags with and without planted shortcuts, the summary
# against its JSON Schema, missing inputs, bad rows).
dhs_add_test(NAME mpi_stages.validate SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/validate_test.cpp
             LIBS dhs::stages dhs::core dhs_hdf5 TIMEOUT 600)
target_compile_definitions(test_mpi_stages_validate PRIVATE DHS_MPIEXEC="${MPIEXEC_EXECUTABLE}")
add_dependencies(test_mpi_stages_validate dhs)
# It starts runs of up to 3 ranks: keep ctest -j from stacking other tests on top of it.
set_property(TEST serial.mpi_stages.validate PROPERTY PROCESSORS 2)
