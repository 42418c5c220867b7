# bench_lensing: SIE + shear ray-shooting render of a 101x101 stamp at 4x4 oversampling, reported
# as ns per oversampled pixel (compare with shared/bench/limits/injc.c) and renders/s.
dhs_add_benchmark(bench_lensing SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/lensing_bench.cpp LIBS dhs::kernels)
