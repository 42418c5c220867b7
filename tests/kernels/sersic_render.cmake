# Test of the fast Sersic renderer (kernels/rendering/sersic_render.cpp): against the generic double-precision
# renderer, truncation radius closed forms, bit-identity across block skipping and SIMD widths, bands.
dhs_add_test(NAME kernels.sersic_render
             SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/rendering/sersic_render_test.cpp
             LIBS dhs::kernels LABELS kernels)
