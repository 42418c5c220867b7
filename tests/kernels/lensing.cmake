# Tests of kernels/lensing/sie_lens (SIE + shear against lenstronomy's reference table, read in place from
# DHS_SHARED_DIR) and kernels/lensing/ray_shooting (flux-conserving lensed renders).
dhs_add_test(NAME kernels.sie_lens
             SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/lensing/sie_lens_test.cpp
             LIBS dhs::kernels LABELS kernels)
dhs_add_test(NAME kernels.ray_shooting
             SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/lensing/ray_shooting_test.cpp
             LIBS dhs::kernels LABELS kernels)
