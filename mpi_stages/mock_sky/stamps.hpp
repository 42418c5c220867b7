// Internal to the mock_sky stage: the PSF pixel kernels of a brick's bands and convolution of
// stamps and whole coadds with them, the noise-equivalent area of a PSF, and the accounting of a
// lensed arc's light in its host's catalogue flux. Units: arcsec, pixels, nanomaggies.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "kernels/rendering/psf.hpp"
#include "mpi_stages/mock_sky/mock_sky.hpp"

namespace dhs::stages::mock_sky {

/// @brief Zero-filled, 2 MB-aligned bytes with MADV_HUGEPAGE (throws std::bad_alloc), and their release.
void* allocate(std::size_t bytes);
void release(void* p) noexcept;

/// @brief A zero-filled array of n Ts for a whole coadd, in 2 MB-aligned memory with a
/// transparent-huge-page hint (a 3600 x 3600 float plane is 26 huge pages instead of 12,700
/// small ones to fault in). Movable, not copyable.
template <class T>
class PlaneBuffer {
public:
    explicit PlaneBuffer(std::size_t n) : n_(n), p_(static_cast<T*>(allocate(n * sizeof(T)))) {}
    T* data() noexcept { return p_.get(); }
    const T* data() const noexcept { return p_.get(); }
    std::size_t size() const noexcept { return n_; }
    T& operator[](std::size_t i) noexcept { return p_[i]; }
    const T& operator[](std::size_t i) const noexcept { return p_[i]; }
    std::span<T> span() noexcept { return {p_.get(), n_}; }
    std::span<const T> span() const noexcept { return {p_.get(), n_}; }
    void fill(T v) { std::fill_n(p_.get(), n_, v); }

private:
    struct Free {
        void operator()(T* p) const noexcept { release(p); }
    };
    std::size_t n_;
    std::unique_ptr<T[], Free> p_;
};
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
/// scratch: w x h floats (the separable pass's intermediate).
void convolve_image(const BandKernel& k, std::span<const float> in, int w, int h, std::span<float> out,
                    std::span<float> scratch);

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
