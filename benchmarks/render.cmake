# bench_render: light-profile evaluation, stamp rendering and PSF convolution (direct,
# separable, FFT) on 101 x 101 DR10 stamps with a 33 x 33 kernel (kernels/rendering/sersic, psf).
dhs_add_benchmark(bench_render SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/render_bench.cpp LIBS dhs::kernels)
