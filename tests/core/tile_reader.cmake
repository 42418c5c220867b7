# TileReader and the RICE_1 codec (core/fits/tile_reader, rice_codec) against cfitsio.
dhs_add_test(NAME core.tile_reader SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/tile_reader_test.cpp
             LIBS dhs::core PkgConfig::CFITSIO)
