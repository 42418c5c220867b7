# bench_cutouts: the cutout stage's decoding path (TileReader planned per brick) on the brick of
# shared/bench/pyref/make_data.py, 1-1000 stamps per brick, image and image + invvar; run side by
# side with stage_b_cutouts.py by benchmarks/run_cutouts.sh.
dhs_add_benchmark(bench_cutouts SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/cutouts_bench.cpp LIBS dhs::core)
