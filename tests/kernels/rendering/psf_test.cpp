// Tests of kernels/rendering/psf.hpp: the normalised Moffat against legacypipe's formulas
// (moffat_reference.csv) and lenstronomy's MOFFAT (lenstronomy_sersic_moffat_reference.csv),
// Gaussian PSFs, pixel-integrated kernels (sum, FWHM, centroid), and direct / separable
// convolution against a naive reference. Units: arcsec, fractions of flux.
#include "kernels/rendering/fft_convolve.hpp"
#include "kernels/rendering/psf.hpp"
#include "tests/support/test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using namespace dhs::kernels;
constexpr double kPi = std::numbers::pi;
constexpr double kPixel = 0.262;

using dhs::test::csv_rows;
using dhs::test::reference_path;

double rel_err(double got, double want) { return std::abs(got - want) / std::abs(want); }

// Integral of a radial profile over the disc r < r_max: 2 pi int r^2 f(r) du with r = e^u on
// [ln r_max - 40, ln r_max], composite Simpson rule (nu even).
template <class F>
double radial_integral(const F& f, double r_max, int nu = 8000) {
    const double u0 = std::log(r_max) - 40.0, du = 40.0 / nu;
    double total = 0.0;
    for (int a = 0; a <= nu; ++a) {
        const double r = std::exp(u0 + a * du);
        const double wgt = (a == 0 || a == nu) ? 1.0 : (a % 2 == 1 ? 4.0 : 2.0);
        total += wgt * f(r) * r * r;
    }
    return 2 * kPi * total * du / 3.0;
}

// The textbook convolution with zero padding, in double.
std::vector<double> naive_convolve(const std::vector<float>& img, int w, int h,
                                   const std::vector<float>& k, int kw, int kh) {
    std::vector<double> out(static_cast<std::size_t>(w) * h, 0.0);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            double s = 0.0;
            for (int j = 0; j < kh; ++j)
                for (int i = 0; i < kw; ++i) {
                    const int sx = x - (i - kw / 2), sy = y - (j - kh / 2);
                    if (sx >= 0 && sx < w && sy >= 0 && sy < h)
                        s += static_cast<double>(k[static_cast<std::size_t>(j) * kw + i]) *
                             img[static_cast<std::size_t>(sy) * w + sx];
                }
            out[static_cast<std::size_t>(y) * w + x] = s;
        }
    return out;
}

std::vector<float> random_values(std::size_t n, unsigned seed, float lo = -1.0f, float hi = 1.0f) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(lo, hi);
    std::vector<float> v(n);
    for (float& x : v) x = u(rng);
    return v;
}

double sum(const std::vector<float>& v) {
    double s = 0.0;
    for (float x : v) s += x;
    return s;
}

double max_abs(const std::vector<float>& v) {
    double m = 0.0;
    for (float x : v) m = std::max(m, static_cast<double>(std::abs(x)));
    return m;
}

TEST(MoffatPsf, MatchesLegacypipeReferenceOnEveryRow) {
    const auto rows = csv_rows(reference_path("moffat_reference.csv"));
    ASSERT_GE(rows.size(), 20u);
    for (const auto& r : rows) {
        const MoffatPsf m = MoffatPsf::from_alpha_beta(std::stod(r.at(1)), std::stod(r.at(2)));
        const double radius = std::stod(r.at(3));
        const double want_i = std::stod(r.at(4)), want_f = std::stod(r.at(5)), want_fwhm = std::stod(r.at(6));
        EXPECT_LT(rel_err(m.profile(radius), want_i), 1e-12) << r[0] << " r " << radius;
        // At r = 0 the file's 1 - alpha^(2(beta-1)) (alpha^2 + r^2)^(1-beta) is rounding noise
        // (0 or 1.1e-16); ours, -expm1((1-beta) log1p(r^2/alpha^2)), is exactly 0.
        if (radius == 0.0)
            EXPECT_NEAR(m.enclosed_fraction(radius), want_f, 2e-16);
        else
            EXPECT_LT(rel_err(m.enclosed_fraction(radius), want_f), 1e-12) << r[0] << " r " << radius;
        EXPECT_LT(rel_err(m.fwhm(), want_fwhm), 1e-12) << r[0];
    }
}

TEST(MoffatPsf, MatchesLenstronomyMoffatOnEveryRow) {
    // lenstronomy MOFFAT = amp (1 + r^2/alpha^2)^-beta: amp x our unit-peak shape().
    int checked = 0;
    for (const auto& r : csv_rows(reference_path("lenstronomy_sersic_moffat_reference.csv"))) {
        if (r.at(0) != "MOFFAT") continue;
        const double amp = std::stod(r[1]);
        const MoffatPsf m = MoffatPsf::from_alpha_beta(std::stod(r[2]), std::stod(r[3]));
        const double x = std::stod(r[6]), y = std::stod(r[7]);
        EXPECT_LT(rel_err(amp * m.shape(std::hypot(x, y)), std::stod(r[8])), 1e-10)
            << "alpha " << r[2] << " beta " << r[3] << " at (" << x << ", " << y << ")";
        EXPECT_LT(rel_err(m.peak() * m.shape(std::hypot(x, y)), m.profile(std::hypot(x, y))), 1e-15);
        ++checked;
    }
    EXPECT_EQ(checked, 8);
}

TEST(MoffatPsf, FwhmNormalisationAndEnclosedFraction) {
    for (double beta : {1.5, 2.5, 3.5, 4.765}) {
        const MoffatPsf m = MoffatPsf::from_fwhm(1.3, beta);
        EXPECT_LT(rel_err(m.alpha(), 1.3 / (2 * std::sqrt(std::pow(2.0, 1 / beta) - 1))), 1e-15);
        EXPECT_LT(rel_err(m.fwhm(), 1.3), 1e-14);
        EXPECT_LT(rel_err(m.profile(0.65), 0.5 * m.peak()), 1e-13);
        for (double r : {0.3, 1.0, 5.0, 40.0}) {
            const double integral = radial_integral([&m](double s) { return m.profile(s); }, r);
            EXPECT_LT(rel_err(integral, m.enclosed_fraction(r)), 1e-9) << beta << " " << r;
        }
        EXPECT_NEAR(m.enclosed_fraction(1e12), 1.0, 1e-12);
    }
    EXPECT_THROW(MoffatPsf::from_alpha_beta(1.0, 1.0), std::invalid_argument);
    EXPECT_THROW(MoffatPsf::from_fwhm(-1.0), std::invalid_argument);
}

TEST(GaussianPsf, FwhmNormalisationAndEnclosedFraction) {
    const GaussianPsf g = GaussianPsf::from_fwhm(1.1);
    EXPECT_LT(rel_err(g.sigma(), 1.1 / (2 * std::sqrt(2 * std::log(2.0)))), 1e-15);
    EXPECT_LT(rel_err(g.fwhm(), 1.1), 1e-15);
    EXPECT_LT(rel_err(g.profile(0.55), 0.5 * g.profile(0.0)), 1e-14);
    EXPECT_LT(rel_err(g.enclosed_fraction(0.55), 0.5), 1e-14);  // half the light inside FWHM/2
    for (double r : {0.2, 1.0, 3.0})
        EXPECT_LT(rel_err(radial_integral([&g](double s) { return g.profile(s); }, r), g.enclosed_fraction(r)), 1e-10);
    const Psf psf = g;
    EXPECT_DOUBLE_EQ(psf_fwhm(psf), 1.1);
    EXPECT_DOUBLE_EQ(psf_profile(psf, 0.3), g.profile(0.3));
    EXPECT_DOUBLE_EQ(psf_enclosed_fraction(psf, 0.3), g.enclosed_fraction(0.3));
    EXPECT_THROW(GaussianPsf::from_sigma(0.0), std::invalid_argument);
}

// Second-moment sigma (pixels) and centroid of a kernel, and the half-maximum FWHM (pixels)
// along the central row, by linear interpolation.
struct Moments {
    double cx, cy, sxx, syy;
};
Moments kernel_moments(const std::vector<float>& k, int h) {
    const int n = 2 * h + 1;
    double s = 0, sx = 0, sy = 0;
    for (int j = 0; j < n; ++j)
        for (int i = 0; i < n; ++i) {
            const double v = k[static_cast<std::size_t>(j) * n + i];
            s += v;
            sx += v * (i - h);
            sy += v * (j - h);
        }
    const double cx = sx / s, cy = sy / s;
    double vxx = 0, vyy = 0;
    for (int j = 0; j < n; ++j)
        for (int i = 0; i < n; ++i) {
            const double v = k[static_cast<std::size_t>(j) * n + i];
            vxx += v * (i - h - cx) * (i - h - cx);
            vyy += v * (j - h - cy) * (j - h - cy);
        }
    return {cx, cy, vxx / s, vyy / s};
}
double half_max_width(const std::vector<float>& k, int h) {
    const int n = 2 * h + 1;
    const float* row = k.data() + static_cast<std::size_t>(h) * n;
    const double half = 0.5 * row[h];
    for (int i = h; i + 1 < n; ++i)
        if (row[i + 1] < half) return 2.0 * (i + (row[i] - half) / (row[i] - row[i + 1]) - h);
    return -1.0;
}

TEST(PsfKernel, SumsToOneIsSymmetricAndHasTheInputFwhm) {
    const double fine = kPixel / 8;  // a fine, oversampled grid
    for (const Psf& psf : {Psf{GaussianPsf::from_fwhm(1.2)}, Psf{MoffatPsf::from_fwhm(1.2, 3.5)}}) {
        const int h = 120;  // 4 arcsec at the fine scale
        const std::vector<float> k = psf_kernel(psf, fine, h, 4);
        ASSERT_EQ(k.size(), static_cast<std::size_t>((2 * h + 1) * (2 * h + 1)));
        EXPECT_NEAR(sum(k), 1.0, 1e-5);
        const int n = 2 * h + 1;
        for (int j = 0; j < n; j += 7)
            for (int i = 0; i < n; i += 5) {
                EXPECT_EQ(k[static_cast<std::size_t>(j) * n + i], k[static_cast<std::size_t>(n - 1 - j) * n + (n - 1 - i)]);
                EXPECT_NEAR(k[static_cast<std::size_t>(j) * n + i], k[static_cast<std::size_t>(i) * n + j], 1e-12);
            }
        const double fwhm_pix = psf_fwhm(psf) / fine;
        EXPECT_LT(rel_err(half_max_width(k, h), fwhm_pix), 0.01);
        if (std::holds_alternative<GaussianPsf>(psf)) {
            const Moments m = kernel_moments(k, h);
            // Second moments: sigma^2 + 1/12 px^2 for pixel-integrated Gaussians.
            EXPECT_LT(rel_err(kGaussianFwhmPerSigma * std::sqrt(m.sxx), fwhm_pix), 0.01);
            EXPECT_LT(rel_err(kGaussianFwhmPerSigma * std::sqrt(m.sxx - 1.0 / 12), fwhm_pix), 1e-4);
        }
    }
    // A DR10 kernel: 33 x 33 at 0.262", sums to 1; the box fraction says what was truncated.
    const Psf moffat = MoffatPsf::from_fwhm(1.3, 3.5);
    const std::vector<float> k = psf_kernel(moffat, kPixel, 16, 5);
    EXPECT_NEAR(sum(k), 1.0, 1e-6);
    const double box = psf_box_fraction(moffat, kPixel, 16, 5);
    EXPECT_GT(box, std::get<MoffatPsf>(moffat).enclosed_fraction(16.5 * kPixel) - 1e-4);
    EXPECT_LT(box, std::get<MoffatPsf>(moffat).enclosed_fraction(16.5 * kPixel * std::sqrt(2.0)) + 1e-4);
    // The Gaussian box fraction is exact: erf(...)^2.
    const GaussianPsf g = GaussianPsf::from_fwhm(1.0);
    const double e = std::erf(2.5 * kPixel / (std::sqrt(2.0) * g.sigma()));
    EXPECT_NEAR(psf_box_fraction(Psf{g}, kPixel, 2, 1), e * e, 1e-14);
    // Central pixel of a finely pixelated Moffat: the peak x the pixel area.
    const MoffatPsf& m = std::get<MoffatPsf>(moffat);
    const std::vector<float> kf = psf_kernel(moffat, 0.01, 400, 3);
    EXPECT_LT(rel_err(kf[static_cast<std::size_t>(400) * 801 + 400], m.peak() * 1e-4 / psf_box_fraction(moffat, 0.01, 400, 3)), 1e-4);
    EXPECT_THROW(psf_kernel(moffat, 0.0, 3, 1), std::invalid_argument);
    EXPECT_THROW(psf_kernel(moffat, kPixel, -1, 1), std::invalid_argument);
    EXPECT_THROW(psf_kernel(moffat, kPixel, 3, 0), std::invalid_argument);
}

TEST(PsfKernel, SubPixelOffsetMovesTheCentroid) {
    const double dx = 0.3, dy = -0.45;
    const Moments g = kernel_moments(psf_kernel(Psf{GaussianPsf::from_fwhm(1.2)}, kPixel, 16, 1, dx, dy), 16);
    EXPECT_NEAR(g.cx, dx, 1e-5);
    EXPECT_NEAR(g.cy, dy, 1e-5);
    const Moments m = kernel_moments(psf_kernel(Psf{MoffatPsf::from_fwhm(1.2, 3.5)}, kPixel, 16, 6, dx, dy), 16);
    EXPECT_NEAR(m.cx, dx, 1e-2);
    EXPECT_NEAR(m.cy, dy, 1e-2);
}

TEST(PsfKernel, GaussianKernelIsTheOuterProductOfTheOneDimensionalKernel) {
    const GaussianPsf g = GaussianPsf::from_fwhm(1.4);
    const std::vector<float> k1 = gaussian_kernel_1d(g, kPixel, 16);
    EXPECT_NEAR(sum(k1), 1.0, 1e-6);
    const std::vector<float> k2 = outer_product_kernel(k1, k1);
    const std::vector<float> kp = psf_kernel(Psf{g}, kPixel, 16, 1);
    ASSERT_EQ(k2.size(), kp.size());
    for (std::size_t i = 0; i < kp.size(); ++i) EXPECT_NEAR(k2[i], kp[i], 1e-8);
}

TEST(Convolve, DeltaGivesTheKernel) {
    const int w = 41, h = 37, ks = 9;
    const std::vector<float> kernel = random_values(ks * ks, 7u, 0.0f, 1.0f);  // asymmetric
    for (auto [x0, y0] : {std::pair{20, 18}, {2, 1}, {40, 36}}) {
        std::vector<float> img(w * h, 0.0f), out(w * h, -1.0f);
        img[static_cast<std::size_t>(y0) * w + x0] = 1.0f;
        convolve(img, w, h, kernel, ks, out);
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                const int i = x - x0 + ks / 2, j = y - y0 + ks / 2;
                const float want = (i >= 0 && i < ks && j >= 0 && j < ks) ? kernel[static_cast<std::size_t>(j) * ks + i] : 0.0f;
                ASSERT_EQ(out[static_cast<std::size_t>(y) * w + x], want) << x << "," << y;
            }
    }
}

TEST(Convolve, MatchesTheNaiveConvolution) {
    // Kernels smaller and larger than the image, and an image wider than the 512-pixel chunk.
    for (auto [w, h, ks] : {std::tuple{37, 23, 7}, {37, 23, 41}, {600, 5, 5}, {1, 1, 3}}) {
        const std::vector<float> img = random_values(static_cast<std::size_t>(w) * h, 11u);
        const std::vector<float> k = random_values(static_cast<std::size_t>(ks) * ks, 13u);
        std::vector<float> out(img.size());
        convolve(img, w, h, k, ks, out);
        const std::vector<double> want = naive_convolve(img, w, h, k, ks, ks);
        for (std::size_t i = 0; i < out.size(); ++i)
            ASSERT_NEAR(out[i], want[i], 1e-6 * std::max(1.0, std::abs(want[i]))) << w << "x" << h << " k" << ks << " @" << i;
    }
}

TEST(Convolve, PreservesFluxAwayFromTheEdges) {
    const int w = 101, h = 101;
    std::vector<float> img(w * h, 0.0f);
    const std::vector<float> blob = random_values(21 * 21, 3u, 0.0f, 5.0f);  // a compact source
    for (int j = 0; j < 21; ++j)
        for (int i = 0; i < 21; ++i) img[static_cast<std::size_t>(40 + j) * w + 40 + i] = blob[static_cast<std::size_t>(j) * 21 + i];
    const std::vector<float> k = psf_kernel(Psf{MoffatPsf::from_fwhm(1.3, 3.5)}, kPixel, 16, 5);
    std::vector<float> out(img.size());
    convolve(img, w, h, k, 33, out);
    EXPECT_LT(rel_err(sum(out), sum(img) * sum(k)), 1e-6);
    EXPECT_LT(std::abs(sum(k) - 1.0), 1e-6);
}

TEST(Convolve, SeparableEqualsDirectForAGaussian) {
    const int w = 101, h = 87;
    const std::vector<float> img = random_values(static_cast<std::size_t>(w) * h, 5u, 0.0f, 10.0f);
    const GaussianPsf g = GaussianPsf::from_fwhm(1.25);
    const std::vector<float> k1 = gaussian_kernel_1d(g, kPixel, 16);
    const std::vector<float> k2 = outer_product_kernel(k1, k1);
    std::vector<float> direct(img.size()), sep(img.size()), scratch(img.size());
    convolve(img, w, h, k2, 33, direct);
    convolve_separable(img, w, h, k1, k1, sep, scratch);
    const double scale = max_abs(direct);
    for (std::size_t i = 0; i < img.size(); ++i) ASSERT_NEAR(sep[i], direct[i], 1e-6 * scale) << i;
    // Different x and y kernels against the naive 2-D convolution with their outer product.
    const std::vector<float> kx = random_values(5, 17u), ky = random_values(9, 19u);
    std::vector<float> out(img.size());
    convolve_separable(img, w, h, kx, ky, out);
    const std::vector<double> want = naive_convolve(img, w, h, outer_product_kernel(kx, ky), 5, 9);
    for (std::size_t i = 0; i < img.size(); ++i) ASSERT_NEAR(out[i], want[i], 1e-5 * std::max(1.0, std::abs(want[i]))) << i;
}

TEST(Convolve, FftEqualsDirect) {
    for (auto [w, h, ks] : {std::tuple{101, 101, 33}, {37, 23, 7}, {37, 23, 41}, {64, 9, 5}, {1, 1, 3}}) {
        const std::vector<float> img = random_values(static_cast<std::size_t>(w) * h, 23u, 0.0f, 10.0f);
        const std::vector<float> k = random_values(static_cast<std::size_t>(ks) * ks, 29u);
        std::vector<float> direct(img.size()), fft(img.size()), again(img.size());
        convolve(img, w, h, k, ks, direct);
        FftConvolver conv(w, h, k, ks);
        EXPECT_EQ(conv.width(), w);
        EXPECT_EQ(conv.height(), h);
        conv.convolve(img, fft);
        convolve_fft(img, w, h, k, ks, again);
        double ksum = 0.0;
        for (float v : k) ksum += std::abs(v);
        const double tol = 1e-6 * max_abs(img) * ksum;
        for (std::size_t i = 0; i < img.size(); ++i) {
            ASSERT_NEAR(fft[i], direct[i], tol) << w << "x" << h << " k" << ks << " @" << i;
            ASSERT_EQ(again[i], fft[i]);
        }
    }
    std::vector<float> img(16), out(16), k(9);
    FftConvolver conv(4, 4, k, 3);
    EXPECT_THROW(conv.convolve(std::span<const float>(img).first(15), out), std::invalid_argument);
    EXPECT_THROW(conv.convolve(img, img), std::invalid_argument);
    EXPECT_THROW(FftConvolver(4, 4, k, 2), std::invalid_argument);
}

TEST(Convolve, FftSeveralKernelsFromOneTransform) {
    const int w = 61, h = 47, ks = 15;
    const std::vector<float> img = random_values(static_cast<std::size_t>(w) * h, 31u, 0.0f, 5.0f);
    std::vector<std::vector<float>> ks3;
    for (unsigned seed : {37u, 41u, 43u}) ks3.push_back(random_values(static_cast<std::size_t>(ks) * ks, seed));
    FftConvolver all(w, h, ks3, ks);
    EXPECT_EQ(all.kernels(), 3);
    std::vector<float> planes(3 * img.size()), one(img.size());
    all.convolve_all(img, planes);
    for (std::size_t k = 0; k < 3; ++k) {
        FftConvolver single(w, h, ks3[k], ks);
        single.convolve(img, one);
        for (std::size_t i = 0; i < img.size(); ++i) ASSERT_EQ(planes[k * img.size() + i], one[i]) << k << " " << i;
    }
    all.convolve(img, one);  // the first kernel
    for (std::size_t i = 0; i < img.size(); ++i) ASSERT_EQ(planes[i], one[i]);
    EXPECT_THROW(all.convolve_all(img, one), std::invalid_argument);
}

TEST(Convolve, TiledFftEqualsDirect) {
    const int w = 203, h = 157;
    const std::vector<float> img = random_values(static_cast<std::size_t>(w) * h, 47u, 0.0f, 10.0f);
    for (int ks : {1, 9, 31}) {
        const std::vector<float> k = random_values(static_cast<std::size_t>(ks) * ks, 53u);
        std::vector<float> direct(img.size()), tiled(img.size());
        convolve(img, w, h, k, ks, direct);
        double ksum = 0.0;
        for (float v : k) ksum += std::abs(v);
        const double tol = 1e-6 * max_abs(img) * ksum;
        for (int tile : {7, 64, 100, 1000}) {
            convolve_fft_tiled(img, w, h, k, ks, tiled, tile);
            for (std::size_t i = 0; i < img.size(); ++i)
                ASSERT_NEAR(tiled[i], direct[i], tol) << "k" << ks << " tile " << tile << " @" << i;
        }
    }
    std::vector<float> out(img.size()), k(9, 0.1f);
    EXPECT_THROW(convolve_fft_tiled(img, w, h, k, 3, out, 0), std::invalid_argument);
}

TEST(Convolve, RejectsBadArguments) {
    std::vector<float> img(16, 1.0f), out(16), k(9, 0.1f), k4(16, 0.1f);
    EXPECT_THROW(convolve(img, 4, 4, k4, 4, out), std::invalid_argument);    // even kernel
    EXPECT_THROW(convolve(img, 4, 3, k, 3, out), std::invalid_argument);     // size mismatch
    EXPECT_THROW(convolve(img, 4, 4, k, 3, img), std::invalid_argument);     // in place
    EXPECT_THROW(convolve_separable(img, 4, 4, k4, k, out), std::invalid_argument);
}

}  // namespace
