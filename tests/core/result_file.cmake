dhs_add_test(NAME core.result_file SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/result_file_test.cpp LIBS dhs::core dhs_hdf5)
