# bench_validate: the validation stage's numerics on stage_d_features.py-like stamps (per-stamp
# features in stamps/s, bootstrap AUC, core-pixel logistic regression); `--write-cutouts DIR N`
# writes a cutouts.h5 for benchmarks/run_validate.sh to run the whole stage on.
dhs_add_benchmark(bench_validate SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/validate_bench.cpp
                  LIBS dhs::kernels dhs::core dhs_hdf5)
