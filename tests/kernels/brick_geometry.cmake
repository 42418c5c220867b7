# Tests of kernels/geometry/brick_geometry: the brick wall and sweep names against the reference tables
# (brick_geometry_test), and against the real survey-bricks FITS tables via cfitsio (_real_test).
dhs_add_test(NAME kernels.brick_geometry
             SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/geometry/brick_geometry_test.cpp
             LIBS dhs::kernels LABELS kernels)
dhs_add_test(NAME kernels.brick_geometry_real
             SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/geometry/brick_geometry_real_test.cpp
             LIBS dhs::kernels PkgConfig::CFITSIO LABELS kernels)
