# bench_sample: the sampling stage's per-unit work (read, derive, whole unit) on the 1M-row
# synthetic sweep (benchmarks/run_sample.sh runs it beside stage_a_sweep.py and sweepc2.c).
dhs_add_benchmark(bench_sample SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/sample_bench.cpp LIBS dhs::stages dhs::core)
