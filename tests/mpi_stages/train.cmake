# The training stage end to end (mpi_stages/train; needs libtorch): learning, data-parallel
# equivalence, SIGKILL + resume bit for bit, torchvision loading, plan, bad inputs.
if(DHS_HAVE_TORCH)
  dhs_add_script_test(NAME mpi_stages.train COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/train/train_test.sh
                      LABELS "mpi_stages;train" TIMEOUT 900)
  set_property(TEST mpi_stages.train PROPERTY PROCESSORS 2)
endif()
# The scoring stage (mpi_stages/score): rank-count identity, learner ranks, contents, TorchScript = dhs model.
if(DHS_HAVE_TORCH)
  dhs_add_script_test(NAME mpi_stages.score COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/train/score_test.sh
                      LABELS "mpi_stages;score" TIMEOUT 600)
  set_property(TEST mpi_stages.score PROPERTY PROCESSORS 2)
endif()
# The search stage (mpi_stages/search): rank-count identity, logits = score's, candidates, resume.
if(DHS_HAVE_TORCH)
  dhs_add_script_test(NAME mpi_stages.search COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/search/search_test.sh
                      LABELS "mpi_stages;search" TIMEOUT 600)
  set_property(TEST mpi_stages.search PROPERTY PROCESSORS 2)
  set_property(TEST mpi_stages.search APPEND PROPERTY ENVIRONMENT "DHS_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endif()
