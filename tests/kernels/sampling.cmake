# Tests of the sampling kernels (split, HEALPix cells, k-d tree on unit vectors, strata, LRG
# variants, draws): against Python's hashlib, healpy's reference vectors and brute force.
dhs_add_test(NAME kernels.sampling SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/sampling/sampling_test.cpp
             LIBS dhs::kernels dhs::core LABELS kernels)
