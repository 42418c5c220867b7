// Gaussian / Moffat PSFs, pixel-integrated PSF kernels and direct / separable convolution
// (psf.hpp). Units: arcsec, fractions of flux per arcsec^2 (profiles), per pixel (kernels).
#include "kernels/rendering/psf.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <numbers>
#include <stdexcept>
#include <string>

#include "kernels/rendering/detail_image.hpp"

namespace dhs::kernels {
namespace {

using detail::overlaps;
using detail::pixels;

void require(bool ok, const char* what) { detail::require(ok, "dhs::kernels psf: ", what); }

// Gaussian mass between a and b (a < b, in units of sigma), without cancellation in the tails.
double gaussian_mass(double a, double b) {
    constexpr double inv_sqrt2 = 1.0 / std::numbers::sqrt2;
    if (a >= 0.0) return 0.5 * (std::erfc(a * inv_sqrt2) - std::erfc(b * inv_sqrt2));
    if (b <= 0.0) return 0.5 * (std::erfc(-b * inv_sqrt2) - std::erfc(-a * inv_sqrt2));
    return 0.5 * (std::erf(b * inv_sqrt2) - std::erf(a * inv_sqrt2));
}

// Unnormalised 1-D pixel masses of a Gaussian centred at offset_pix from the middle pixel.
std::vector<double> gaussian_masses(double sigma, double scale, int h, double offset_pix) {
    std::vector<double> w(static_cast<std::size_t>(2 * h + 1));
    const double pix = scale / sigma;  // pixel size in sigma
    for (int i = 0; i <= 2 * h; ++i) {
        const double c = (i - h) - offset_pix;
        w[static_cast<std::size_t>(i)] = gaussian_mass((c - 0.5) * pix, (c + 0.5) * pix);
    }
    return w;
}

double sum(const std::vector<double>& v) {
    double s = 0.0;
    for (double x : v) s += x;
    return s;
}

void check_kernel_args(double scale, int h, int oversample) {
    require(std::isfinite(scale) && scale > 0.0, "pixel scale must be finite and > 0");
    require(h >= 0 && h <= 4096, "kernel half size must be in [0, 4096]");
    require(oversample >= 1 && oversample <= 1024, "oversample must be in [1, 1024]");
}

// Unnormalised (2h+1)^2 pixel masses of the PSF (row-major), in double.
std::vector<double> kernel_masses(const Psf& psf, double scale, int h, int oversample, double dx,
                                  double dy) {
    check_kernel_args(scale, h, oversample);
    require(std::isfinite(dx) && std::isfinite(dy), "kernel centre offset must be finite");
    const int k = 2 * h + 1;
    std::vector<double> out(static_cast<std::size_t>(k) * static_cast<std::size_t>(k));
    if (const auto* g = std::get_if<GaussianPsf>(&psf)) {
        const std::vector<double> wx = gaussian_masses(g->sigma(), scale, h, dx);
        const std::vector<double> wy = gaussian_masses(g->sigma(), scale, h, dy);
        for (int j = 0; j < k; ++j)
            for (int i = 0; i < k; ++i)
                out[static_cast<std::size_t>(j) * k + i] = wy[static_cast<std::size_t>(j)] *
                                                            wx[static_cast<std::size_t>(i)];
        return out;
    }
    const MoffatPsf& m = std::get<MoffatPsf>(psf);
    const double sub = 1.0 / oversample;            // sub-pixel size, pixels
    const double area = (scale * sub) * (scale * sub);  // sub-pixel area, arcsec^2
    for (int j = 0; j < k; ++j) {
        for (int i = 0; i < k; ++i) {
            double acc = 0.0;
            for (int b = 0; b < oversample; ++b) {
                const double oy = ((j - h) - dy - 0.5 + (b + 0.5) * sub) * scale;
                for (int a = 0; a < oversample; ++a) {
                    const double ox = ((i - h) - dx - 0.5 + (a + 0.5) * sub) * scale;
                    acc += m.profile(std::sqrt(ox * ox + oy * oy));
                }
            }
            out[static_cast<std::size_t>(j) * k + i] = acc * area;
        }
    }
    return out;
}

// acc[x - x0] += sum_i k[i] src[x - (i - hk)] for x in [x0, x1), src a row of `width` pixels
// (zero outside). The inner loop is a contiguous axpy the compiler vectorises.
void accumulate_row(double* acc, int x0, int x1, const float* src, int width, const float* k,
                    int ksize) {
    const int hk = ksize / 2;
    for (int i = 0; i < ksize; ++i) {
        const double kv = k[i];
        if (kv == 0.0) continue;
        const int dx = i - hk;
        const int xa = std::max(x0, dx);
        const int xb = std::min(x1, width + dx);
        for (int x = xa; x < xb; ++x) acc[x - x0] += kv * static_cast<double>(src[x - dx]);
    }
}

constexpr int kChunk = 512;  // output pixels accumulated at once (a 4 kB stack buffer)

}  // namespace

GaussianPsf::GaussianPsf(double sigma) : sigma_(sigma) {
    require(std::isfinite(sigma) && sigma > 0.0, "Gaussian sigma must be finite and > 0");
    norm_ = 1.0 / (2.0 * std::numbers::pi * sigma * sigma);
    inv_two_sigma2_ = 1.0 / (2.0 * sigma * sigma);
}

GaussianPsf GaussianPsf::from_sigma(double sigma_arcsec) { return GaussianPsf(sigma_arcsec); }

GaussianPsf GaussianPsf::from_fwhm(double fwhm_arcsec) {
    require(std::isfinite(fwhm_arcsec) && fwhm_arcsec > 0.0, "FWHM must be finite and > 0");
    return GaussianPsf(fwhm_arcsec / kGaussianFwhmPerSigma);
}

MoffatPsf::MoffatPsf(double alpha, double beta) : alpha_(alpha), beta_(beta) {
    require(std::isfinite(alpha) && alpha > 0.0, "Moffat alpha must be finite and > 0");
    require(std::isfinite(beta) && beta > 1.0, "Moffat beta must be finite and > 1");
    norm_ = (beta - 1.0) / (std::numbers::pi * alpha * alpha);
    inv_alpha2_ = 1.0 / (alpha * alpha);
}

MoffatPsf MoffatPsf::from_alpha_beta(double alpha_arcsec, double beta) {
    return MoffatPsf(alpha_arcsec, beta);
}

MoffatPsf MoffatPsf::from_fwhm(double fwhm_arcsec, double beta) {
    require(std::isfinite(fwhm_arcsec) && fwhm_arcsec > 0.0, "FWHM must be finite and > 0");
    require(std::isfinite(beta) && beta > 1.0, "Moffat beta must be finite and > 1");
    return MoffatPsf(fwhm_arcsec / (2.0 * std::sqrt(std::exp2(1.0 / beta) - 1.0)), beta);
}

double MoffatPsf::fwhm() const noexcept {
    return 2.0 * alpha_ * std::sqrt(std::exp2(1.0 / beta_) - 1.0);
}

double psf_fwhm(const Psf& psf) {
    return std::visit([](const auto& p) { return p.fwhm(); }, psf);
}

double psf_profile(const Psf& psf, double r) {
    return std::visit([r](const auto& p) { return p.profile(r); }, psf);
}

double psf_enclosed_fraction(const Psf& psf, double r) {
    return std::visit([r](const auto& p) { return p.enclosed_fraction(r); }, psf);
}

std::vector<float> psf_kernel(const Psf& psf, double pixel_scale_arcsec, int half_size,
                              int oversample, double dx_pix, double dy_pix) {
    const std::vector<double> m =
        kernel_masses(psf, pixel_scale_arcsec, half_size, oversample, dx_pix, dy_pix);
    const double total = sum(m);
    require(total > 0.0, "the kernel box holds no PSF flux");
    std::vector<float> out(m.size());
    for (std::size_t i = 0; i < m.size(); ++i) out[i] = static_cast<float>(m[i] / total);
    return out;
}

double psf_box_fraction(const Psf& psf, double pixel_scale_arcsec, int half_size, int oversample) {
    return std::min(1.0, sum(kernel_masses(psf, pixel_scale_arcsec, half_size, oversample, 0.0, 0.0)));
}

std::vector<float> gaussian_kernel_1d(const GaussianPsf& psf, double pixel_scale_arcsec,
                                      int half_size, double offset_pix) {
    check_kernel_args(pixel_scale_arcsec, half_size, 1);
    require(std::isfinite(offset_pix), "kernel centre offset must be finite");
    const std::vector<double> w = gaussian_masses(psf.sigma(), pixel_scale_arcsec, half_size, offset_pix);
    const double total = sum(w);
    require(total > 0.0, "the kernel holds no PSF flux");
    std::vector<float> out(w.size());
    for (std::size_t i = 0; i < w.size(); ++i) out[i] = static_cast<float>(w[i] / total);
    return out;
}

std::vector<float> outer_product_kernel(std::span<const float> kx, std::span<const float> ky) {
    std::vector<float> out(kx.size() * ky.size());
    for (std::size_t j = 0; j < ky.size(); ++j)
        for (std::size_t i = 0; i < kx.size(); ++i)
            out[j * kx.size() + i] = static_cast<float>(static_cast<double>(ky[j]) * kx[i]);
    return out;
}

void convolve(std::span<const float> image, int width, int height, std::span<const float> kernel,
              int ksize, std::span<float> out) {
    require(width > 0 && height > 0, "image width and height must be > 0");
    require(image.size() == pixels(width, height) && out.size() == image.size(),
            "image and out must hold width * height pixels");
    require(ksize > 0 && ksize % 2 == 1 && kernel.size() == pixels(ksize, ksize),
            "kernel must be ksize x ksize with ksize odd");
    require(!overlaps(image, out) && !overlaps(kernel, out), "out must not overlap the inputs");
    const int hk = ksize / 2;
    std::array<double, kChunk> acc;
    for (int y = 0; y < height; ++y) {
        for (int x0 = 0; x0 < width; x0 += kChunk) {
            const int x1 = std::min(width, x0 + kChunk);
            std::fill(acc.begin(), acc.begin() + (x1 - x0), 0.0);
            for (int j = 0; j < ksize; ++j) {
                const int sy = y - (j - hk);
                if (sy < 0 || sy >= height) continue;
                accumulate_row(acc.data(), x0, x1, image.data() + static_cast<std::size_t>(sy) * width,
                               width, kernel.data() + static_cast<std::size_t>(j) * ksize, ksize);
            }
            float* o = out.data() + static_cast<std::size_t>(y) * width;
            for (int x = x0; x < x1; ++x) o[x] = static_cast<float>(acc[static_cast<std::size_t>(x - x0)]);
        }
    }
}

void convolve_separable(std::span<const float> image, int width, int height,
                        std::span<const float> kernel_x, std::span<const float> kernel_y,
                        std::span<float> out, std::span<float> scratch) {
    require(width > 0 && height > 0, "image width and height must be > 0");
    const std::size_t n = pixels(width, height);
    require(image.size() == n && out.size() == n && scratch.size() == n,
            "image, out and scratch must hold width * height pixels");
    require(kernel_x.size() % 2 == 1 && kernel_y.size() % 2 == 1 && kernel_x.size() < 1u << 20 &&
                kernel_y.size() < 1u << 20,
            "separable kernels must have odd lengths");
    require(!overlaps(image, out) && !overlaps(image, scratch) && !overlaps(out, scratch) &&
                !overlaps(kernel_x, out) && !overlaps(kernel_y, out) &&
                !overlaps(kernel_x, scratch) && !overlaps(kernel_y, scratch),
            "image, out, scratch and kernels must not overlap");
    const int kx = static_cast<int>(kernel_x.size());
    const int ky = static_cast<int>(kernel_y.size());
    const int hy = ky / 2;
    std::array<double, kChunk> acc;
    // Rows: scratch = image * kernel_x.
    for (int y = 0; y < height; ++y) {
        const std::size_t row = static_cast<std::size_t>(y) * width;
        for (int x0 = 0; x0 < width; x0 += kChunk) {
            const int x1 = std::min(width, x0 + kChunk);
            std::fill(acc.begin(), acc.begin() + (x1 - x0), 0.0);
            accumulate_row(acc.data(), x0, x1, image.data() + row, width, kernel_x.data(), kx);
            for (int x = x0; x < x1; ++x) scratch[row + x] = static_cast<float>(acc[static_cast<std::size_t>(x - x0)]);
        }
    }
    // Columns: out = scratch * kernel_y, as a sum of whole scratch rows (contiguous axpys).
    for (int y = 0; y < height; ++y) {
        for (int x0 = 0; x0 < width; x0 += kChunk) {
            const int x1 = std::min(width, x0 + kChunk);
            std::fill(acc.begin(), acc.begin() + (x1 - x0), 0.0);
            for (int j = 0; j < ky; ++j) {
                const int sy = y - (j - hy);
                if (sy < 0 || sy >= height) continue;
                accumulate_row(acc.data(), x0, x1, scratch.data() + static_cast<std::size_t>(sy) * width,
                               width, kernel_y.data() + j, 1);
            }
            float* o = out.data() + static_cast<std::size_t>(y) * width;
            for (int x = x0; x < x1; ++x) o[x] = static_cast<float>(acc[static_cast<std::size_t>(x - x0)]);
        }
    }
}

void convolve_separable(std::span<const float> image, int width, int height,
                        std::span<const float> kernel_x, std::span<const float> kernel_y,
                        std::span<float> out) {
    require(width > 0 && height > 0, "image width and height must be > 0");
    std::vector<float> scratch(pixels(width, height));
    convolve_separable(image, width, height, kernel_x, kernel_y, out, scratch);
}

}  // namespace dhs::kernels
