# dhs_add_test(): the one place tests are registered. Serial runs are named serial.<name>;
# MPI runs are named mpi.<name>.n<N> and launched as
#   ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} N ${MPIEXEC_PREFLAGS} exe ${MPIEXEC_POSTFLAGS}
# with PROCESSORS N (never a hard-coded `mpiexec -n 2`). After ADIOS2's testing/CMakeLists.txt.
#
#   dhs_add_test(NAME core.config SOURCES a.cpp LIBS dhs::core [MPI] [RANKS 1 2 3] [LABELS x]
#                [TIMEOUT s])
# MPI: link the MPI-initialising test main (tests/mpi_test_main.cpp) instead of gtest_main.
# RANKS: also run under mpiexec with each listed rank count (implies MPI).

# Open MPI: root may only start mpirun when told so (DHS_TEST_ENV), more ranks than cores need
# --oversubscribe and multithreaded ranks --bind-to none. MPICH's hydra oversubscribes by
# default and spells the binding -bind-to none. The tests set these; the library never does.
execute_process(COMMAND ${MPIEXEC_EXECUTABLE} --version OUTPUT_VARIABLE dhs_mpiexec_version ERROR_QUIET)
if(dhs_mpiexec_version MATCHES "Open MPI|OpenRTE")
  set(dhs_default_preflags --oversubscribe --bind-to none)
else()
  set(dhs_default_preflags -bind-to none)
endif()
set(DHS_MPIEXEC_PREFLAGS ${dhs_default_preflags} CACHE STRING "Flags after the rank count for MPI tests")
string(REPLACE ";" " " DHS_MPIEXEC_PREFLAGS_TEXT "${DHS_MPIEXEC_PREFLAGS}")
set(DHS_TEST_ENV "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1;OMPI_MCA_mpi_yield_when_idle=1"
    "DHS_SHARED_DIR=${DHS_SHARED_DIR}")

function(dhs_add_test)
  cmake_parse_arguments(T "MPI" "NAME;TIMEOUT" "SOURCES;LIBS;RANKS;LABELS" ${ARGN})
  if(T_RANKS)
    set(T_MPI ON)
  endif()
  string(REPLACE "." "_" exe "test_${T_NAME}")
  add_executable(${exe} ${T_SOURCES})
  target_link_libraries(${exe} PRIVATE ${T_LIBS} dhs::warnings dhs::sanitizers GTest::gtest GTest::gmock)
  if(T_MPI)
    target_link_libraries(${exe} PRIVATE dhs_mpi_test_main)
  else()
    target_link_libraries(${exe} PRIVATE GTest::gtest_main)
  endif()
  target_compile_definitions(${exe} PRIVATE DHS_SHARED_DIR="${DHS_SHARED_DIR}"
                             DHS_SOURCE_DIR="${PROJECT_SOURCE_DIR}" DHS_BINARY_DIR="${PROJECT_BINARY_DIR}"
                             DHS_MPIEXEC_PREFLAGS="${DHS_MPIEXEC_PREFLAGS_TEXT}")
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_test(NAME serial.${T_NAME} COMMAND ${exe})
  set_tests_properties(serial.${T_NAME} PROPERTIES ENVIRONMENT "${DHS_TEST_ENV}" TIMEOUT ${T_TIMEOUT}
                       LABELS "serial;${T_LABELS}")
  foreach(n IN LISTS T_RANKS)
    add_test(NAME mpi.${T_NAME}.n${n}
             COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${n} ${DHS_MPIEXEC_PREFLAGS}
                     ${MPIEXEC_PREFLAGS} $<TARGET_FILE:${exe}> ${MPIEXEC_POSTFLAGS})
    set_tests_properties(mpi.${T_NAME}.n${n} PROPERTIES PROCESSORS ${n} ENVIRONMENT "${DHS_TEST_ENV}"
                         TIMEOUT ${T_TIMEOUT} LABELS "mpi;${T_LABELS}")
  endforeach()
endfunction()

# dhs_add_script_test(NAME n COMMAND ...): a test that is a command line (a shell script that
# drives the `dhs` executable, say), with the same environment as the GoogleTest ones.
function(dhs_add_script_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "COMMAND;LABELS" ${ARGN})
  # A list would split the ENVIRONMENT property: pass the flags space-separated.
  string(REPLACE ";" " " preflags "${DHS_MPIEXEC_PREFLAGS}")
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_test(NAME ${T_NAME} COMMAND ${T_COMMAND})
  set_tests_properties(${T_NAME} PROPERTIES ENVIRONMENT
    "${DHS_TEST_ENV};DHS_EXE=$<TARGET_FILE:dhs>;MPIEXEC_EXECUTABLE=${MPIEXEC_EXECUTABLE};MPIEXEC_NUMPROC_FLAG=${MPIEXEC_NUMPROC_FLAG};DHS_MPIEXEC_PREFLAGS=${preflags}"
    TIMEOUT ${T_TIMEOUT} LABELS "${T_LABELS}")
endfunction()
