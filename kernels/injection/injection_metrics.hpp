// Per-injection measurements of the injection stage (SPEC Stage 3): the matched-filter S/N of
// the injection (arc_snr), the aperture S/N in an annulus about the Einstein radius
// (annulus_snr), the bad-pixel fraction of a host stamp, and the test-only planted core
// brightening. Stamps are row-major width x height float planes; a pixel counts when its host
// value is finite and its inverse variance finite and > 0.
//
// Units: image and injection in nanomaggies per pixel, invvar in 1/nanomaggies^2, radii in
// pixels. Pure numerics: no I/O, no MPI, no logging.
#pragma once

#include <span>

namespace dhs::kernels::injection {

/// @brief Matched-filter S/N of a known injection on one plane: sqrt(sum inj^2 invvar) over the
/// valid pixels (the S/N of the optimal linear estimate of its amplitude). 0 with none valid.
double matched_filter_snr(std::span<const float> injection, std::span<const float> invvar,
                          std::span<const float> host);

/// @brief Aperture S/N of the injection in the annulus r_in <= r < r_out pixels about the stamp
/// centre ((w-1)/2, (h-1)/2): sum inj / sqrt(sum 1/invvar) over its valid pixels (0 with none).
double annulus_snr(std::span<const float> injection, std::span<const float> invvar, std::span<const float> host,
                   int width, int height, double r_in, double r_out);

/// @brief Fraction of pixel positions where any of the `bands` planes (each width x height, back
/// to back) is invalid (image not finite, or invvar not finite or <= 0).
double bad_pixel_fraction(std::span<const float> image, std::span<const float> invvar, int width, int height,
                          int bands);

/// @brief TEST ONLY (inject.plant_core_shortcut): adds fraction x host to image and injection in
/// every pixel within `radius` pixels of the centre where the host is finite, on every plane, so
/// injected stamps have brighter cores than controls (a shortcut a validation gate must catch).
void plant_core_brightening(std::span<float> image, std::span<float> injection, std::span<const float> host,
                            int width, int height, int bands, double radius, double fraction);

}  // namespace dhs::kernels::injection
