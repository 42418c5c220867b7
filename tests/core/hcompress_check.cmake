# The HCOMPRESS_1 stream walk made before cfitsio decodes a tile (core/fits/hcompress_check),
# against cfitsio's own encoder and decoder and through BrickImage / TileReader.
dhs_add_test(NAME core.hcompress_check SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/hcompress_check_test.cpp
             LIBS dhs::core PkgConfig::CFITSIO)
