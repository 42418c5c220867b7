// Internal to the mock_sky stage: the PSF pixel kernels of a brick's bands and convolution of
// stamps and whole coadds with them, the noise-equivalent area of a PSF, and the accounting of a
// lensed arc's light in its host's catalogue flux. Units: arcsec, pixels, nanomaggies.
#pragma once

#include <span>
#include <vector>

#include "kernels/psf.hpp"
#include "mpi_stages/mock_sky/mock_sky.hpp"

namespace dhs::stages::mock_sky {

/// @brief Noise-equivalent area of a PSF in pixels, 1 / integral(P^2): Gaussian 4 pi sigma^2,
/// Moffat pi alpha^2 (2 beta - 1) / (beta - 1)^2 (divided by the pixel area).
double psf_nea_pixels(const kernels::Psf& psf, double pixscale);

/// @brief The pixel kernel of a band's PSF (sums to 1): a Gaussian is separable (1-D erf kernel,
/// half size 4 sigma); a Moffat is a 2-D kernel (5 x 5 sub-sampled per pixel) whose box holds at
/// least 99.8% of the PSF (renormalised).
struct BandKernel {
    kernels::Psf psf = kernels::GaussianPsf::from_fwhm(1.0);
    bool separable = true;
    int half = 0;
    std::vector<float> k1d;  ///< 2 half + 1 weights (separable)
    std::vector<float> k2d;  ///< (2 half + 1)^2 weights, row-major
};
BandKernel band_kernel(const Params& p, const Conditions& c, int band);

/// @brief out = in convolved with the band kernel (zero padding): separable, or FFT (a stamp) /
/// tiled FFT (a whole coadd). in and out hold w x h floats.
void convolve_stamp(const BandKernel& k, std::span<const float> in, int w, int h, std::span<float> out);
void convolve_image(const BandKernel& k, std::span<const float> in, int w, int h, std::span<float> out);

/// @brief Half size (pixels) of a star's PSF stamp: the kernel's (x 2, x 4 for a Gaussian; x 3
/// for a Moffat for stars brighter than 16 mag, whose wings show).
int star_stamp_half(const BandKernel& k, double mag);

/// @brief Renders the host's lensed source, sets host.lens.magnification and arc_flux, and adds
/// to the host's catalogue flux the share of the arc a fixed-shape fit of the host absorbs:
/// with m the host's unit-flux model and a the arc, both PSF-convolved on the lens stamp, the
/// least-squares flux of m in m + a (uniform noise) is 1 + sum(m a) / sum(m^2) per unit host
/// flux, so FLUX_X = host flux + sum(m a_X) / sum(m^2) (arc_absorbed), capped at the arc's own
/// flux (a compact arc on the core would pull a fixed shape beyond it). Tractor also refits the
/// shape and may add sources for bright arcs; this is its first-order part.
void account_arc_light(const Params& p, const Conditions& c, Object& host);

}  // namespace dhs::stages::mock_sky
