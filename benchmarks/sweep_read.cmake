# bench_sweep_read: SweepReader on the 1M-row synthetic sweep of shared/bench/pyref/make_data.py
# (run side by side with stage_a_sweep.py's fitsio reads by benchmarks/run_sweep_read.sh).
dhs_add_benchmark(bench_sweep_read SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/sweep_read_bench.cpp LIBS dhs::core)
