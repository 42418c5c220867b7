# bench_inject: one injection as the `inject` stage does it (render + 3 PSF convolutions + add +
# metrics) on injc.c's parameter distribution, injections/s on one core; also writes host fixtures
# (--make-fixture) for benchmarks/run_inject.sh's end-to-end `dhs run --stages inject`.
dhs_add_benchmark(bench_inject SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/inject_bench.cpp LIBS dhs::kernels dhs::core dhs_hdf5)
