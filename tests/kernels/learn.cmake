# Tests of dhs::learn (kernels/learn, libtorch): preprocessing against a numpy transcription of
# SPEC.md on real DECam pixels; the models against torchvision (weights_pt loaded by Python's
# torch.load + resnet18.load_state_dict, same logits); the learner (schedule, loss, checkpoint
# round trip, data-parallel equivalence, a tiny model that learns rings). Only with libtorch.
if(DHS_HAVE_TORCH)
  dhs_add_test(NAME kernels.learn_preprocess
               SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/learn/preprocess_test.cpp
               LIBS dhs::learn PkgConfig::CFITSIO LABELS "kernels;learn" TIMEOUT 120)
  dhs_add_test(NAME kernels.learn_model
               SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/learn/model_test.cpp
               LIBS dhs::learn LABELS "kernels;learn" TIMEOUT 180)
  dhs_add_test(NAME kernels.learn_learner
               SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/learn/learner_test.cpp
               LIBS dhs::learn dhs::kernels LABELS "kernels;learn" TIMEOUT 180)
endif()
