# BrickImage (box reads from plain and tile-compressed FITS images) and BrickWcs (wcslib).
dhs_add_test(NAME core.brick_image SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/brick_image_test.cpp
             LIBS dhs::core PkgConfig::CFITSIO)
dhs_add_test(NAME core.brick_wcs SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/brick_wcs_test.cpp
             LIBS dhs::core)
