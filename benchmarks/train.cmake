# The training stage's benchmarks (libtorch builds only; benchmarks/run_train.sh runs them side
# by side with shared/bench/pyref's stage_f_resnet.py and stage_g_npz_train.py, and
# benchmarks/device_train.sh on a GPU machine):
#   train_data_bench: the data path alone as one data rank runs it (BatchMaker: HDF5 row reads,
#     raw_robust, crop, augmentation, batch) on a cutouts.h5 or injections.h5, stamps/s, 1 thread;
#   dhs_learn_infer_bench: Learner::predict images/s (the scoring path), the inference companion
#     of kernels/learn's dhs_learn_bench (training images/s);
#   search_data_bench: the search stage's data path alone (cut + prepare per brick unit), stamps/s,
#     1 thread (benchmarks/run_search.sh).
if(DHS_HAVE_TORCH)
  add_executable(train_data_bench ${CMAKE_CURRENT_SOURCE_DIR}/train_data_bench.cpp)
  target_link_libraries(train_data_bench PRIVATE dhs::stages_torch dhs::warnings)
  add_executable(dhs_learn_infer_bench ${CMAKE_CURRENT_SOURCE_DIR}/learn_infer_bench.cpp)
  target_link_libraries(dhs_learn_infer_bench PRIVATE dhs::learn dhs::warnings)
  add_executable(search_data_bench ${CMAKE_CURRENT_SOURCE_DIR}/search_data_bench.cpp)
  target_link_libraries(search_data_bench PRIVATE dhs::stages_torch dhs::warnings)
endif()
