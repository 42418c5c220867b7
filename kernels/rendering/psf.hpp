// Point-spread functions and image convolution: circular Gaussian and Moffat PSFs (normalised
// profiles, enclosed flux, FWHM), pixel-integrated PSF kernels, and direct / separable 2-D
// convolution with zero padding (an FFT path is in fft_convolve.hpp).
//
// Units: radii, FWHM, alpha and sigma in arcsec; PSF profiles in fraction of the flux per
// arcsec^2 (they integrate to 1 over the plane); kernels are per pixel and sum to 1. Images are
// row-major float arrays (index = y * width + x), kernels (2h+1) x (2h+1) row-major with the
// centre at (h, h): kernel[(j) * ksize + i] is the weight at pixel offset (i - h, j - h).
// Convolution: out(x, y) = sum_ij k(i, j) image(x - (i - h), y - (j - h)) with image = 0
// outside (so a delta at (x0, y0) becomes the kernel centred there; flux that the kernel
// spreads over the image edge is lost). Pure numerics: no I/O, no MPI, no logging.
#pragma once

#include <cmath>
#include <span>
#include <variant>
#include <vector>

namespace dhs::kernels {

/// @brief FWHM / sigma of a Gaussian: 2 sqrt(2 ln 2).
inline constexpr double kGaussianFwhmPerSigma = 2.3548200450309493;

/// @brief Circular Gaussian PSF, I(r) = exp(-r^2 / (2 sigma^2)) / (2 pi sigma^2) per arcsec^2.
class GaussianPsf {
public:
    /// @brief From sigma in arcsec (> 0, finite); throws std::invalid_argument otherwise.
    static GaussianPsf from_sigma(double sigma_arcsec);
    /// @brief From the FWHM in arcsec (e.g. a PSFSIZE map value): sigma = FWHM / 2.3548.
    static GaussianPsf from_fwhm(double fwhm_arcsec);

    double sigma() const noexcept { return sigma_; }                           ///< arcsec
    double fwhm() const noexcept { return sigma_ * kGaussianFwhmPerSigma; }   ///< arcsec
    /// @brief Normalised profile at radius r (arcsec), per arcsec^2.
    double profile(double r) const noexcept {
        return norm_ * std::exp(-r * r * inv_two_sigma2_);
    }
    /// @brief Fraction of the flux within radius r (arcsec): 1 - exp(-r^2 / (2 sigma^2)).
    double enclosed_fraction(double r) const noexcept { return -std::expm1(-r * r * inv_two_sigma2_); }

private:
    explicit GaussianPsf(double sigma);
    double sigma_, norm_, inv_two_sigma2_;
};

/// @brief Circular Moffat PSF, normalised: I(r) = (beta - 1) / (pi alpha^2) (1 + r^2/alpha^2)^-beta
/// per arcsec^2 (legacypipe halos.py moffat(); needs beta > 1). Enclosed fraction
/// F(r) = 1 - (1 + r^2/alpha^2)^(1 - beta); FWHM = 2 alpha sqrt(2^(1/beta) - 1).
/// lenstronomy's MOFFAT profile is amp (1 + r^2/alpha^2)^-beta: amp = peak() for unit flux.
class MoffatPsf {
public:
    /// @brief From alpha (arcsec, > 0) and beta (> 1); throws std::invalid_argument otherwise.
    static MoffatPsf from_alpha_beta(double alpha_arcsec, double beta);
    /// @brief From the FWHM (arcsec) and beta (> 1; 3.5 is the pipeline default):
    /// alpha = FWHM / (2 sqrt(2^(1/beta) - 1)).
    static MoffatPsf from_fwhm(double fwhm_arcsec, double beta = 3.5);

    double alpha() const noexcept { return alpha_; }  ///< arcsec
    double beta() const noexcept { return beta_; }
    /// @brief FWHM in arcsec: 2 alpha sqrt(2^(1/beta) - 1).
    double fwhm() const noexcept;
    /// @brief Peak (r = 0) of the normalised profile: (beta - 1) / (pi alpha^2), per arcsec^2.
    double peak() const noexcept { return norm_; }
    /// @brief Unnormalised shape (1 + r^2/alpha^2)^-beta, 1 at r = 0 (lenstronomy's MOFFAT / amp).
    double shape(double r) const noexcept {
        return std::exp(-beta_ * std::log1p(r * r * inv_alpha2_));
    }
    /// @brief Normalised profile at radius r (arcsec), per arcsec^2.
    double profile(double r) const noexcept { return norm_ * shape(r); }
    /// @brief Fraction of the flux within radius r (arcsec).
    double enclosed_fraction(double r) const noexcept {
        return -std::expm1((1.0 - beta_) * std::log1p(r * r * inv_alpha2_));
    }

private:
    MoffatPsf(double alpha, double beta);
    double alpha_, beta_, norm_, inv_alpha2_;
};

/// @brief Either PSF model.
using Psf = std::variant<GaussianPsf, MoffatPsf>;

/// @brief FWHM of a PSF, arcsec.
double psf_fwhm(const Psf& psf);
/// @brief Normalised PSF profile at radius r (arcsec), per arcsec^2.
double psf_profile(const Psf& psf, double r);
/// @brief Fraction of the PSF flux within radius r (arcsec).
double psf_enclosed_fraction(const Psf& psf, double r);

/// @brief The PSF integrated over the pixels of a (2h+1) x (2h+1) kernel (h = half_size >= 0,
/// row-major, centre pixel (h, h)), normalised to sum 1. Pixel (i, j) covers offsets
/// [i - h - 1/2, i - h + 1/2] x [j - h - 1/2, j - h + 1/2] pixels from the PSF centre, which
/// sits at (dx_pix, dy_pix) from the centre of the middle pixel (sub-pixel shifts for point
/// sources). Gaussian: exact (erf) pixel integrals, `oversample` unused. Moffat: midpoint rule
/// on oversample x oversample sub-pixels (>= 1; 5 is ample at 0.262"/px for FWHM > 0.8").
/// Truncation: flux outside the box is dropped and the kernel renormalised so convolution
/// conserves flux; psf_box_fraction() tells how much was dropped (Moffat wings fall as r^-2beta:
/// choose h >= 2 FWHM). Throws std::invalid_argument for pixel_scale <= 0, h < 0, oversample < 1.
std::vector<float> psf_kernel(const Psf& psf, double pixel_scale_arcsec, int half_size,
                              int oversample, double dx_pix = 0.0, double dy_pix = 0.0);

/// @brief Fraction of the PSF's flux inside the box of psf_kernel(psf, pixel_scale_arcsec,
/// half_size, oversample) (before renormalisation), in [0, 1].
double psf_box_fraction(const Psf& psf, double pixel_scale_arcsec, int half_size, int oversample);

/// @brief 1-D Gaussian kernel of 2h+1 pixel-integrated weights (erf differences), normalised to
/// sum 1, centre at `offset_pix` from the middle pixel. The outer product of two such kernels
/// is exactly the pixel-integrated circular Gaussian (it separates in x and y), so
/// convolve_separable(..., k, k, ...) equals convolve() with outer_product_kernel(k, k).
std::vector<float> gaussian_kernel_1d(const GaussianPsf& psf, double pixel_scale_arcsec,
                                      int half_size, double offset_pix = 0.0);

/// @brief Row-major 2-D kernel K(j, i) = ky[j] kx[i] (size ky.size() x kx.size()).
std::vector<float> outer_product_kernel(std::span<const float> kx, std::span<const float> ky);

/// @brief Direct 2-D convolution with zero padding (see the file comment), output the size of
/// the input. ksize must be odd and kernel.size() == ksize^2; image and out width * height and
/// not overlapping. Accumulates in double; no heap allocation. O(width height ksize^2).
/// Throws std::invalid_argument on bad sizes or overlap.
void convolve(std::span<const float> image, int width, int height, std::span<const float> kernel,
              int ksize, std::span<float> out);

/// @brief Separable convolution: rows with kernel_x, then columns with kernel_y (odd lengths),
/// zero padding; equals convolve() with outer_product_kernel(kernel_x, kernel_y) up to float
/// rounding of the intermediate. `scratch` holds width * height floats; no heap allocation.
/// O(width height (kx + ky)). Throws std::invalid_argument on bad sizes or overlap.
void convolve_separable(std::span<const float> image, int width, int height,
                        std::span<const float> kernel_x, std::span<const float> kernel_y,
                        std::span<float> out, std::span<float> scratch);

/// @brief As above, allocating the width * height scratch once per call.
void convolve_separable(std::span<const float> image, int width, int height,
                        std::span<const float> kernel_x, std::span<const float> kernel_y,
                        std::span<float> out);

}  // namespace dhs::kernels
