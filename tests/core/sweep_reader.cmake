# Tests of core/table (the typed column table) and core/fits/sweep_reader (the row-block
# FITS table reader); the reader's test writes its own FITS files with cfitsio.
dhs_add_test(NAME core.table SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/table_test.cpp LIBS dhs::core)
dhs_add_test(NAME core.sweep_reader SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/sweep_reader_test.cpp
             LIBS dhs::core PkgConfig::CFITSIO)
