# Tests of the injection kernels (kernels/injection_*): task design and hashed draws, lensed
# rendering with adaptive sampling against analytic SIS results and brute force, template
# sources and the clumpy-galaxy bank, PSF convolution, S/N metrics.
dhs_add_test(NAME kernels.injection_design
             SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/injection/injection_design_test.cpp
             LIBS dhs::kernels LABELS kernels)
dhs_add_test(NAME kernels.injection_render
             SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/injection/injection_render_test.cpp
             LIBS dhs::kernels LABELS kernels)
dhs_add_test(NAME kernels.injection_metrics
             SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/injection/injection_metrics_test.cpp
             LIBS dhs::kernels LABELS kernels)
