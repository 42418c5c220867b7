# Test of the rendering chain kernels/lensing/ray_shooting + kernels/rendering/sersic + kernels/rendering/psf: the total flux of
# a rendered, lensed and PSF-convolved Sersic source is F x magnification (Gaussian and Moffat PSF).
dhs_add_test(NAME kernels.lensed_psf_flux
             SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/rendering/lensed_psf_flux_test.cpp
             LIBS dhs::kernels LABELS kernels)
