# Tests of core/npz/npz_writer: archives read back by numpy, byte-identical in any time zone.
dhs_add_test(NAME core.npz_writer SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/npz_writer_test.cpp LIBS dhs::core)
