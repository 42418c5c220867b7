# Engine benchmarks (MPI programs with their own timing; run by benchmarks/run_engine.sh):
# bench_scheduler: dispatch rate of empty units; bench_gather: parallel-HDF5 gather MB/s.
add_executable(bench_scheduler ${CMAKE_CURRENT_SOURCE_DIR}/scheduler_bench.cpp)
target_link_libraries(bench_scheduler PRIVATE dhs::core dhs::warnings MPI::MPI_CXX)
add_executable(bench_gather ${CMAKE_CURRENT_SOURCE_DIR}/gather_bench.cpp)
target_link_libraries(bench_gather PRIVATE dhs::core dhs::warnings MPI::MPI_CXX)
