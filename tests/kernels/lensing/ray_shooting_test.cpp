// Tests of kernels/ray_shooting: flux per pixel vs surface brightness per arcsec^2 (the seeds'
// factor-1000 bug), the pixel-grid convention, flux conservation with and without a lens, the
// Einstein ring radius, SIS magnification against an independent source-plane integral and the
// analytic 2 theta_E / beta, convergence in the oversampling, shear-only magnification 1/(1-g^2),
// tangential stretch. Test sources are Gaussians (analytic total flux). Units: arcsec, nanomaggies.
#include "kernels/lensing/ray_shooting.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <stdexcept>
#include <vector>

namespace {

using dhs::kernels::LensedFlux;
using dhs::kernels::SieLens;
using dhs::kernels::SieParams;
using dhs::kernels::StampGeometry;

constexpr double kPi = std::numbers::pi;
constexpr double kPix = 0.262;  // arcsec / pixel

/// Elliptical Gaussian of total flux `flux` (nanomaggies): sigma along its major axis (angle phi
/// ccw from +x), q sigma along the minor axis. Surface brightness in nanomaggies / arcsec^2.
struct GaussianSource {
    double flux = 1.0, x0 = 0.0, y0 = 0.0, sigma = 0.2, q = 1.0, phi = 0.0;
    double surface_brightness(double x, double y) const {
        const double c = std::cos(phi), s = std::sin(phi);
        const double dx = x - x0, dy = y - y0;
        const double u = (c * dx + s * dy) / sigma, v = (-s * dx + c * dy) / (q * sigma);
        return flux / (2.0 * kPi * sigma * sigma * q) * std::exp(-0.5 * (u * u + v * v));
    }
};
static_assert(dhs::kernels::SurfaceBrightnessProfile<GaussianSource>);

/// The same Gaussian with the optional batch form (the renderer must prefer it).
struct GaussianRowSource : GaussianSource {
    mutable long row_calls = 0;
    void surface_brightness_row(const double* x, const double* y, int n, double* out) const {
        ++row_calls;
        for (int i = 0; i < n; ++i) out[i] = surface_brightness(x[i], y[i]);
    }
};
static_assert(dhs::kernels::RowSurfaceBrightnessProfile<GaussianRowSource>);
static_assert(!dhs::kernels::RowSurfaceBrightnessProfile<GaussianSource>);

double sum(const std::vector<float>& v) {
    double s = 0.0;
    for (float f : v) s += f;
    return s;
}

TEST(RayShooting, UnlensedConservesFluxAndIsFluxPerPixel) {
    const StampGeometry g{};  // 101 x 101 at 0.262"
    const GaussianSource src{.flux = 12.5, .x0 = 0.2, .y0 = -0.1, .sigma = 0.3, .q = 0.6, .phi = 0.4};
    std::vector<float> img(g.size());
    for (int os : {1, 2, 4, 7}) {
        const double total = dhs::kernels::render_unlensed(src, g, os, img);
        EXPECT_NEAR(total / src.flux, 1.0, 1e-4) << "oversample " << os;
        EXPECT_NEAR(sum(img) / src.flux, 1.0, 1e-4) << "oversample " << os;
    }
    // A broad source: a pixel holds SB x pixel area (0.262^2 = 0.068644 arcsec^2), not SB (the
    // factor ~15) nor SB per 1000 (mixing arcsec and mas): the seeds' bug.
    const GaussianSource broad{.flux = 100.0, .sigma = 3.0};
    dhs::kernels::render_unlensed(broad, g, 4, img);
    const double sb_centre = broad.surface_brightness(0.0, 0.0);
    EXPECT_NEAR(img[50 * 101 + 50] / (sb_centre * kPix * kPix), 1.0, 2e-3);
    std::printf("unlensed: centre pixel %.6g nmgy = SB %.6g nmgy/arcsec^2 x %.6g arcsec^2\n", img[50 * 101 + 50],
                sb_centre, kPix * kPix);
}

TEST(RayShooting, PixelGridConvention) {
    std::vector<float> img(101 * 101);
    auto argmax = [&img](int w) {
        const auto k = std::max_element(img.begin(), img.end()) - img.begin();
        return std::pair<int, int>{static_cast<int>(k % w), static_cast<int>(k / w)};  // (i, j)
    };
    const GaussianSource dot{.flux = 1.0, .x0 = 3 * kPix, .y0 = -2 * kPix, .sigma = 0.03};
    dhs::kernels::render_unlensed(dot, StampGeometry{}, 4, img);
    EXPECT_EQ(argmax(101), (std::pair<int, int>{53, 48}));  // x along columns, y along rows
    // Stamp centre offset from the lens frame origin by 5 pixels in x.
    dhs::kernels::render_unlensed(GaussianSource{.sigma = 0.03}, StampGeometry{.center_x = 5 * kPix}, 4, img);
    EXPECT_EQ(argmax(101), (std::pair<int, int>{45, 50}));
    // Even stamp: the centre (49.5, 49.5) falls between pixels.
    img.assign(100 * 100, 0.0f);
    const StampGeometry even{.width = 100, .height = 100};
    EXPECT_DOUBLE_EQ(even.pixel_x(49.5), 0.0);
    dhs::kernels::render_unlensed(GaussianSource{.x0 = 0.5 * kPix, .y0 = 0.5 * kPix, .sigma = 0.03}, even, 4, img);
    EXPECT_EQ(argmax(100), (std::pair<int, int>{50, 50}));
}

TEST(RayShooting, NoLensEqualsUnlensed) {
    const StampGeometry g{.width = 41, .height = 31, .center_x = 0.3};
    const GaussianSource src{.flux = 2.0, .x0 = 0.4, .sigma = 0.25, .q = 0.7, .phi = 1.0};
    std::vector<float> a(g.size()), b(g.size());
    dhs::kernels::render_unlensed(src, g, 4, a);
    dhs::kernels::render_lensed(SieLens(), src, g, 4, b);
    EXPECT_EQ(a, b);
    dhs::kernels::render_lensed(SieLens(0.0, 0.5, 0.3), src, g, 4, b);
    EXPECT_EQ(a, b);
}

TEST(RayShooting, BatchProfileRendersTheSame) {
    const SieLens lens(SieParams{.theta_e = 1.1, .q = 0.6, .phi = 0.3, .gamma_ext = 0.04, .phi_ext = 1.0});
    const StampGeometry g{.width = 33, .height = 29, .center_x = 0.2};
    GaussianRowSource row;
    row.flux = 2.0;
    row.x0 = 0.1;
    row.sigma = 0.2;
    row.q = 0.7;
    const GaussianSource& plain = row;
    std::vector<float> a(g.size()), b(g.size());
    for (int os : {1, 4, 7}) {
        row.row_calls = 0;
        EXPECT_EQ(dhs::kernels::render_lensed(lens, plain, g, os, a), dhs::kernels::render_lensed(lens, row, g, os, b));
        EXPECT_EQ(a, b);
        EXPECT_GT(row.row_calls, 0);
    }
}

// Peak of a 1-D profile: parabola through the maximum and its neighbours (index units).
double parabolic_peak(const std::vector<double>& p) {
    const auto k = static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin());
    if (k == 0 || k + 1 >= static_cast<int>(p.size())) return k;
    const double a = p[k - 1], b = p[k], c = p[k + 1];
    return k + 0.5 * (a - c) / (a - 2 * b + c);
}

TEST(RayShooting, EinsteinRingSis) {
    const double te = 2.0;
    const StampGeometry g{};
    const GaussianSource src{.flux = 1.0, .sigma = 0.05};
    std::vector<float> img(g.size());
    dhs::kernels::render_lensed(SieLens(te, 1.0, 0.0), src, g, 8, img);
    // Azimuthally averaged profile in 0.25-pixel radial bins.
    const double bin = 0.25;
    std::vector<double> s(120, 0.0), n(120, 0.0);
    double fr = 0.0, f = 0.0;
    for (int j = 0; j < g.height; ++j)
        for (int i = 0; i < g.width; ++i) {
            const double r = std::hypot(i - 50.0, j - 50.0);
            const auto k = static_cast<std::size_t>(r / bin);
            if (k < s.size()) s[k] += img[j * 101 + i], n[k] += 1.0;
            fr += r * img[j * 101 + i];
            f += img[j * 101 + i];
        }
    for (std::size_t k = 0; k < s.size(); ++k) s[k] = n[k] > 0 ? s[k] / n[k] : 0.0;
    const double r_peak = (parabolic_peak(s) + 0.5) * bin * kPix;
    EXPECT_NEAR(r_peak, te, kPix);
    EXPECT_NEAR(fr / f * kPix, te, kPix);
    std::printf("SIS ring: theta_E %.3f, peak radius %.4f, flux-weighted radius %.4f arcsec\n", te, r_peak,
                fr / f * kPix);
}

TEST(RayShooting, EinsteinRingSie) {
    // q = 0.7, major axis along x. A source on the optical axis is imaged where alpha(x) = x: on
    // the axes at r_x = (b/s) atan(s/q) and r_y = (b/s) atanh(s), b = theta_E sqrt(q), s = sqrt(1-q^2)
    // (0.932 and 1.049 theta_E), geometric mean 0.989 theta_E. We check the cuts through the centre
    // against r_x, r_y (half a pixel) and their geometric mean against theta_E (one pixel).
    const double te = 2.0, q = 0.7;
    const double b = te * std::sqrt(q), s = std::sqrt(1 - q * q);
    const double rx = b / s * std::atan(s / q), ry = b / s * std::atanh(s);
    const StampGeometry g{};
    std::vector<float> img(g.size());
    dhs::kernels::render_lensed(SieLens(te, q, 0.0), GaussianSource{.sigma = 0.05}, g, 8, img);
    std::vector<double> xr(51), xl(51), yu(51), yd(51);
    for (int k = 0; k <= 50; ++k) {
        xr[k] = img[50 * 101 + 50 + k];
        xl[k] = img[50 * 101 + 50 - k];
        yu[k] = img[(50 + k) * 101 + 50];
        yd[k] = img[(50 - k) * 101 + 50];
    }
    const double mx = 0.5 * (parabolic_peak(xr) + parabolic_peak(xl)) * kPix;
    const double my = 0.5 * (parabolic_peak(yu) + parabolic_peak(yd)) * kPix;
    EXPECT_NEAR(mx, rx, 0.5 * kPix);
    EXPECT_NEAR(my, ry, 0.5 * kPix);
    EXPECT_NEAR(std::sqrt(mx * my), te, kPix);
    std::printf("SIE ring q=0.7: x-axis %.4f (analytic %.4f), y-axis %.4f (analytic %.4f), geometric mean %.4f "
                "(theta_E %.3f)\n",
                mx, rx, my, ry, std::sqrt(mx * my), te);
}

// Independent reference for the SIS: lensed flux = integral over the source plane of
// SB(beta) x (sum of |mu| over the images of beta) = 2 theta_E / beta inside the Einstein radius,
// 1 + theta_E / beta outside. Polar midpoint quadrature about the lens (the 1/beta cancels).
double sis_lensed_flux_reference(const GaussianSource& src, double te) {
    const double beta0 = std::hypot(src.x0, src.y0);
    const double r_lo = std::max(0.0, beta0 - 8 * src.sigma), r_hi = beta0 + 8 * src.sigma;
    const int nr = 4000, nt = 2048;
    const double dr = (r_hi - r_lo) / nr, dt = 2 * kPi / nt;
    double total = 0.0;
    for (int a = 0; a < nr; ++a) {
        const double r = r_lo + (a + 0.5) * dr;
        const double mu_r = r < te ? 2.0 * te : r + te;  // |mu|_total x r
        double ring = 0.0;
        for (int t = 0; t < nt; ++t) {
            const double th = (t + 0.5) * dt;
            ring += src.surface_brightness(r * std::cos(th), r * std::sin(th));
        }
        total += ring * mu_r * dt * dr;
    }
    return total;
}

TEST(RayShooting, SisMagnificationMatchesSourcePlaneIntegralAndPointSourceLimit) {
    const double te = 1.5, beta = 0.5;
    const GaussianSource src{.flux = 3.0, .x0 = beta * std::cos(0.6), .y0 = beta * std::sin(0.6), .sigma = 0.04};
    const StampGeometry g{.width = 41, .height = 41};
    const LensedFlux lf = dhs::kernels::lensed_flux_and_magnification(SieLens(te, 1.0, 0.0), src, g, 16);
    const double ref = sis_lensed_flux_reference(src, te);
    EXPECT_NEAR(lf.unlensed_flux / src.flux, 1.0, 1e-4);
    EXPECT_NEAR(lf.lensed_flux / ref, 1.0, 2e-3);
    EXPECT_NEAR(lf.magnification / (2 * te / beta), 1.0, 0.01);  // point source: |mu+| + |mu-|
    std::printf("SIS beta=%.2f: lensed/F %.5f, source-plane integral %.5f, point-source 2 theta_E/beta %.5f\n", beta,
                lf.lensed_flux / src.flux, ref / src.flux, 2 * te / beta);
    // Outside the Einstein radius: one image, |mu| = 1 + theta_E / beta.
    const GaussianSource far{.flux = 1.0, .x0 = 2.5, .y0 = 0.0, .sigma = 0.04};
    const LensedFlux lf2 = dhs::kernels::lensed_flux_and_magnification(SieLens(te, 1.0, 0.0), far, g, 16);
    EXPECT_NEAR(lf2.lensed_flux / sis_lensed_flux_reference(far, te), 1.0, 2e-3);
    EXPECT_NEAR(lf2.magnification / (1 + te / 2.5), 1.0, 0.01);
}

TEST(RayShooting, SieMagnificationConvergesWithOversampling) {
    // Oversampling 4 (the pipeline's minimum) against 16 and 32 for an extended and a compact
    // source (sigma 0.15" and 0.05", i.e. below the 0.0655" sub-pixel pitch at oversample 4).
    const SieLens lens(SieParams{.theta_e = 1.2, .q = 0.7, .phi = 0.5, .gamma_ext = 0.03, .phi_ext = -0.3});
    const StampGeometry g{.width = 61, .height = 61};
    for (const double sigma : {0.15, 0.05}) {
        const GaussianSource src{.flux = 1.0, .x0 = 0.1, .y0 = 0.05, .sigma = sigma, .q = 0.8, .phi = 0.2};
        const LensedFlux m4 = dhs::kernels::lensed_flux_and_magnification(lens, src, g, 4);
        const LensedFlux m16 = dhs::kernels::lensed_flux_and_magnification(lens, src, g, 16);
        const LensedFlux m32 = dhs::kernels::lensed_flux_and_magnification(lens, src, g, 32);
        EXPECT_NEAR(m4.magnification / m16.magnification, 1.0, 5e-3) << sigma;
        EXPECT_NEAR(m16.magnification / m32.magnification, 1.0, 1e-3) << sigma;
        EXPECT_NEAR(m32.unlensed_flux, src.flux, 1e-4) << sigma;
        EXPECT_NEAR(m32.lensed_flux / src.flux, m32.magnification, 1e-4 * m32.magnification) << sigma;
        EXPECT_GT(m32.magnification, 3.0) << sigma;
        std::printf("SIE+shear sigma=%.2f\": magnification os4 %.5f, os16 %.5f, os32 %.5f\n", sigma, m4.magnification,
                    m16.magnification, m32.magnification);
    }
}

TEST(RayShooting, ShearOnlyMagnification) {
    const double gamma = 0.05;
    const SieLens shear(SieParams{.theta_e = 0.0, .gamma_ext = gamma, .phi_ext = 0.7});
    const GaussianSource src{.flux = 5.0, .x0 = -0.3, .y0 = 0.2, .sigma = 0.3, .q = 0.5, .phi = 0.1};
    const LensedFlux lf = dhs::kernels::lensed_flux_and_magnification(shear, src, StampGeometry{}, 4);
    EXPECT_NEAR(lf.lensed_flux / (src.flux / (1 - gamma * gamma)), 1.0, 1e-3);
    EXPECT_NEAR(lf.magnification * (1 - gamma * gamma), 1.0, 1e-4);
    std::printf("shear-only gamma=%.2f: magnification %.6f (1/(1-g^2) = %.6f)\n", gamma, lf.magnification,
                1 / (1 - gamma * gamma));
}

TEST(RayShooting, LensedFluxAndMagnificationWritesTheSameImage) {
    const SieLens lens(SieParams{.theta_e = 0.9, .q = 0.8, .phi = 1.2, .gamma_ext = 0.02});
    const GaussianSource src{.flux = 1.7, .x0 = 0.05, .y0 = -0.15, .sigma = 0.1};
    const StampGeometry g{.width = 51, .height = 45, .center_x = 0.1, .center_y = -0.2};
    std::vector<float> a(g.size()), b(g.size());
    const double total = dhs::kernels::render_lensed(lens, src, g, 4, a);
    const LensedFlux lf = dhs::kernels::lensed_flux_and_magnification(lens, src, g, 4, b);
    EXPECT_EQ(a, b);
    EXPECT_DOUBLE_EQ(total, lf.lensed_flux);
    EXPECT_NEAR(sum(a), total, 1e-5 * total);
    EXPECT_DOUBLE_EQ(lf.magnification, lf.lensed_flux / lf.unlensed_flux);
}

TEST(RayShooting, TangentialStretch) {
    const double te = 1.5;
    const SieLens sis(te, 1.0, 0.0);
    for (double r : {0.5, 1.2, 2.0, 4.0}) {
        EXPECT_NEAR(dhs::kernels::tangential_stretch(sis, r * 0.6, r * 0.8), 1 / std::abs(1 - te / r), 1e-12);
        const auto d = dhs::kernels::local_distortion(sis, r, 0.0);
        EXPECT_NEAR(d.lambda_r, 1.0, 1e-12);
        EXPECT_NEAR(d.magnification, 1 / (1 - te / r), 1e-12);
    }
    const SieLens shear(SieParams{.gamma_ext = 0.1, .phi_ext = 0.3});
    EXPECT_NEAR(dhs::kernels::tangential_stretch(shear, 0.4, 0.1), 1 / 0.9, 1e-12);
    // Flux-weighted over the images of a compact source at beta: images at theta_E +- beta with
    // stretch |mu| = theta_E/beta +- 1 and weight |mu|: (mu+^2 + mu-^2) / (mu+ + mu-).
    const double beta = 0.5, mp = te / beta + 1, mm = te / beta - 1;
    const double fw = dhs::kernels::flux_weighted_tangential_stretch(
        sis, GaussianSource{.x0 = beta, .sigma = 0.03}, StampGeometry{.width = 41, .height = 41}, 8);
    EXPECT_NEAR(fw / ((mp * mp + mm * mm) / (mp + mm)), 1.0, 0.02);
}

TEST(RayShooting, RejectsBadArguments) {
    std::vector<float> img(101 * 101);
    const GaussianSource src{};
    EXPECT_THROW(dhs::kernels::render_unlensed(src, StampGeometry{}, 0, img), std::invalid_argument);
    EXPECT_THROW(dhs::kernels::render_unlensed(src, StampGeometry{.width = 100}, 4, img), std::invalid_argument);
    EXPECT_THROW(dhs::kernels::render_unlensed(src, StampGeometry{.pixel_scale = 0.0}, 4, img), std::invalid_argument);
    EXPECT_THROW(dhs::kernels::render_lensed(SieLens(), src, StampGeometry{.height = 0}, 4, img),
                 std::invalid_argument);
    EXPECT_NO_THROW(dhs::kernels::lensed_flux_and_magnification(SieLens(), src, StampGeometry{}, 4));
}

}  // namespace
