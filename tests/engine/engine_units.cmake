dhs_add_test(NAME engine.units SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/units_test.cpp LIBS dhs::core)
dhs_add_test(NAME engine.spool SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/spool_test.cpp LIBS dhs::core)
dhs_add_test(NAME engine.scheduler SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/scheduler_test.cpp LIBS dhs::core dhs::stages
             RANKS 2 3)
dhs_add_script_test(NAME engine.end_to_end COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/engine_test.sh LABELS engine
                    TIMEOUT 600)
set_property(TEST engine.end_to_end APPEND PROPERTY ENVIRONMENT "DHS_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
set_property(TEST engine.end_to_end PROPERTY PROCESSORS 2)
