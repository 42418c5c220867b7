dhs_add_test(NAME engine.output_group SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/output_group_test.cpp LIBS dhs::core)
