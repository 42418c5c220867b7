# Tests of the light-profile and PSF kernels (kernels/rendering/sersic, confuser_profiles, profile_render,
# psf, fft_convolve) against shared/data/real/reference CSVs (scipy b_n, lenstronomy, legacypipe
# Moffat) and numerical integration.
dhs_add_test(NAME kernels.sersic
             SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/rendering/sersic_test.cpp
             LIBS dhs::kernels LABELS kernels)
dhs_add_test(NAME kernels.psf
             SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/rendering/psf_test.cpp
             LIBS dhs::kernels LABELS kernels)
