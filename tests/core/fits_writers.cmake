# Tests of the FITS writers (core/fits/table_writer, core/fits/coadd_writer): files written
# here are read back through dhs's own readers (SweepReader, BrickImage) and fitsverify.
dhs_add_test(NAME core.table_writer SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/table_writer_test.cpp
             LIBS dhs::core PkgConfig::CFITSIO)
dhs_add_test(NAME core.coadd_writer SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/coadd_writer_test.cpp
             LIBS dhs::core PkgConfig::CFITSIO)
