// Tests of kernels/injection_render and kernels/injection_source against analytic lensing:
// a source behind an SIS makes a ring at theta_E with total magnification 2 theta_E <1/beta>
// (= 2 theta_E b_n / r_e for an exponential), a compact source at beta is magnified 2 theta_E /
// beta with the main image stretched 1 + theta_E / beta; the adaptive render agrees with a
// brute-force 32 x 32 sampling; templates conserve flux and lens like the Sersic they sample;
// the PSF convolution conserves flux and matches the direct convolution.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>
#include <vector>

#include "kernels/injection/injection_render.hpp"
#include "kernels/injection/injection_source.hpp"
#include "kernels/rendering/sersic.hpp"

namespace inj = dhs::kernels::injection;
using dhs::kernels::SieLens;
using dhs::kernels::StampGeometry;

namespace {

// Brute force: every pixel sampled on n x n sub-pixels with the scalar lens equation.
template <class Source>
double brute_force_flux(const SieLens& lens, const Source& src, const StampGeometry& g, int n) {
    double total = 0.0;
    const double ds = g.pixel_scale / n;
    for (int j = 0; j < g.height * n; ++j) {
        const double y = g.pixel_y(0) - 0.5 * g.pixel_scale + (j + 0.5) * ds;
        for (int i = 0; i < g.width * n; ++i) {
            const double x = g.pixel_x(0) - 0.5 * g.pixel_scale + (i + 0.5) * ds;
            const auto b = lens.ray_shoot(x, y);
            total += src.surface_brightness(b.x, b.y);
        }
    }
    return total * ds * ds;
}

TEST(InjectionRender, SourceBehindTheLensMakesARingAtThetaE) {
    const double theta_e = 1.5, r_e = 0.1;
    const SieLens lens(theta_e, 1.0, 0.0);
    const inj::SersicSource src(1.0, r_e, 1.0, 0.0, 0.0, 0.0, 0.0);
    const StampGeometry g;  // 101 x 101 at 0.262"
    const auto img = inj::render_lensed_adaptive(lens, src, g, {});
    EXPECT_GT(img.oversample, 4);  // r_e = 0.1" needs refinement
    EXPECT_GT(img.refined_pixels, 0);
    double f = 0, fr = 0;
    float peak = 0;
    for (int j = 0; j < g.height; ++j)
        for (int i = 0; i < g.width; ++i) {
            const double v = img.image[static_cast<std::size_t>(j) * g.width + i];
            f += v;
            fr += v * std::hypot(g.pixel_x(i), g.pixel_y(j));
            peak = std::max(peak, static_cast<float>(v));
        }
    EXPECT_NEAR(fr / f, theta_e, 0.03);  // flux-weighted radius of the ring
    EXPECT_LT(img.image[50 * 101 + 50], 1e-3 * peak);  // nothing at the centre
    // Total magnification of an exponential source centred behind an SIS: 2 theta_E b_n / r_e.
    const double mu = 2.0 * theta_e * dhs::kernels::sersic_bn(1.0) / r_e;
    EXPECT_NEAR(img.flux / mu, 1.0, 0.01);

    // Azimuthally even: 8 sectors on a 0.05"-pixel stamp (the ring 30 pixels round, so sectors
    // are not at the mercy of which pixel centre falls on which side of a boundary).
    StampGeometry fine;
    fine.pixel_scale = 0.05;
    const auto ring = inj::render_lensed_adaptive(lens, src, fine, {});
    std::vector<double> sector(8, 0.0);
    for (int j = 0; j < fine.height; ++j)
        for (int i = 0; i < fine.width; ++i) {
            const double a = std::atan2(fine.pixel_y(j), fine.pixel_x(i)) + std::numbers::pi;
            sector[std::min<std::size_t>(7, static_cast<std::size_t>(a / (std::numbers::pi / 4)))] +=
                ring.image[static_cast<std::size_t>(j) * fine.width + i];
        }
    for (double s : sector) EXPECT_NEAR(s / (ring.flux / 8), 1.0, 0.04);
    EXPECT_NEAR(ring.flux / mu, 1.0, 0.01);
}

TEST(InjectionRender, CompactSourceIsMagnifiedAsAPointSource) {
    const double theta_e = 1.0, beta = 0.25;
    const SieLens lens(theta_e, 1.0, 0.0);
    const inj::SersicSource src(1.0, 0.03, 1.0, 0.0, 0.0, beta, 0.0);
    const StampGeometry g;
    const auto img = inj::render_lensed_adaptive(lens, src, g, {});
    EXPECT_NEAR(img.flux / (2 * theta_e / beta), 1.0, 0.02);
    // Main image (5/8 of the flux) stretched 1 + theta_E / beta = 5.
    EXPECT_NEAR(inj::median_tangential_stretch(lens, g, img.image), 1 + theta_e / beta, 1.0);
    EXPECT_LT(inj::border_flux_fraction(img.image, g.width, g.height), 1e-6);
}

TEST(InjectionRender, AdaptiveRenderAgreesWithBruteForceSampling) {
    // SIE + shear, elliptical source offset from the lens.
    dhs::kernels::SieParams p{.theta_e = 1.2, .q = 0.7, .phi = 0.4, .gamma_ext = 0.04, .phi_ext = 1.1};
    const SieLens lens(p);
    const inj::SersicSource src(1.0, 0.06, 1.0, 0.3, 0.9, 0.15, -0.1);
    StampGeometry g;
    g.width = g.height = 41;  // the image region only (keeps the brute force quick)
    const double ref = brute_force_flux(lens, src, g, 40);
    const auto img = inj::render_lensed_adaptive(lens, src, g, {.oversample = 4, .max_oversample = 16});
    EXPECT_NEAR(img.flux / ref, 1.0, 3e-3);
    // The plain 4 x 4 sampling is worse on so small a source.
    std::vector<float> plain(g.size());
    const double coarse = dhs::kernels::render_lensed(lens, src, g, 4, std::span<float>(plain));
    EXPECT_GT(std::abs(coarse / ref - 1.0), std::abs(img.flux / ref - 1.0));
}

TEST(InjectionRender, PsfConvolutionConservesFluxAndMatchesDirect) {
    const SieLens lens(1.0, 0.8, 0.3);
    const inj::SersicSource src(1.0, 0.2, 1.0, 0.2, 0.0, 0.1, 0.05);
    const StampGeometry g;
    const auto img = inj::render_lensed_adaptive(lens, src, g, {});
    using dhs::kernels::Psf;
    // Capacity 1: the second and third PSF sets reuse the convolver (set_kernels), the last one
    // comes back after being evicted.
    inj::PsfBandConvolver conv(g.width, g.height, g.pixel_scale, 16, 1);
    const std::vector<std::vector<Psf>> sets = {
        {Psf(dhs::kernels::MoffatPsf::from_fwhm(1.3, 3.5)), Psf(dhs::kernels::GaussianPsf::from_fwhm(1.1))},
        {Psf(dhs::kernels::MoffatPsf::from_fwhm(1.7, 2.5)), Psf(dhs::kernels::MoffatPsf::from_fwhm(0.95, 3.5))},
        {Psf(dhs::kernels::MoffatPsf::from_fwhm(1.3, 3.5)), Psf(dhs::kernels::GaussianPsf::from_fwhm(1.1))}};
    for (const auto& set : sets) {
        std::vector<float> out(2 * g.size()), direct(g.size());
        conv.convolve(set, img.image, out);
        for (std::size_t b = 0; b < set.size(); ++b) {
            const std::span<const float> plane(out.data() + b * g.size(), g.size());
            double sum = 0;
            for (float v : plane) sum += v;
            EXPECT_NEAR(sum / img.flux, 1.0, 1e-3);
            const auto k = dhs::kernels::psf_kernel(set[b], g.pixel_scale, 16, 5);
            dhs::kernels::convolve(img.image, g.width, g.height, k, 33, direct);
            float peak = 0;
            for (float v : direct) peak = std::max(peak, v);
            for (std::size_t i = 0; i < g.size(); ++i) ASSERT_NEAR(plane[i], direct[i], 1e-5 * peak) << b << " " << i;
        }
    }
}

TEST(InjectionSource, TemplateConservesFluxAndLensesLikeItsProfile) {
    // A Gaussian (Sersic n = 0.5) sampled into a 0.03"-pixel template.
    const double sigma = 0.1, p = 0.03;
    const int size = 101;
    std::vector<float> t(static_cast<std::size_t>(size) * size);
    double sum = 0;
    for (int j = 0; j < size; ++j)
        for (int i = 0; i < size; ++i) {
            const double x = (i - 50) * p, y = (j - 50) * p;
            sum += t[static_cast<std::size_t>(j) * size + i] = static_cast<float>(std::exp(-(x * x + y * y) / (2 * sigma * sigma)));
        }
    for (float& v : t) v = static_cast<float>(v / sum);
    const inj::TemplateImage image{t, size, size, p};
    const auto m = inj::template_moments(image);
    EXPECT_NEAR(m.half_light_radius, sigma * std::sqrt(2 * std::log(2.0)), 0.01);
    EXPECT_NEAR(m.e, 0.0, 1e-3);
    EXPECT_NEAR(m.flux, 1.0, 1e-5);

    // Unlensed: the template integrates to its flux (F t / p^2 per arcsec^2).
    const double flux = 2.5;
    const inj::TemplateSource src(image, flux, 0.7, 0.2, -0.1);
    EXPECT_NEAR(src.total_flux(), flux, 1e-5);
    const StampGeometry g;
    std::vector<float> out(g.size());
    const double unlensed = dhs::kernels::render_unlensed(src, g, 16, std::span<float>(out));
    EXPECT_NEAR(unlensed / flux, 1.0, 1e-3);

    // Lensed: like the analytic Gaussian it samples.
    const SieLens lens(1.0, 0.8, 0.2);
    const inj::TemplateSource unit(image, 1.0, 0.7, 0.2, -0.1);
    const inj::SersicSource gauss(1.0, sigma * std::sqrt(2 * std::log(2.0)), 0.5, 0.0, 0.0, 0.2, -0.1);
    const auto a = inj::render_lensed_adaptive(lens, unit, g, {});
    const auto b = inj::render_lensed_adaptive(lens, gauss, g, {});
    EXPECT_EQ(a.oversample, 16);  // 0.03" template pixels need the finest sampling
    EXPECT_NEAR(a.flux / b.flux, 1.0, 5e-3);
}

TEST(InjectionSource, ClumpyGalaxiesAreDeterministicUnitFluxAndIrregular) {
    const auto g1 = inj::draw_clumpy_galaxy(7, 3), g2 = inj::draw_clumpy_galaxy(7, 3), g3 = inj::draw_clumpy_galaxy(7, 4);
    ASSERT_EQ(g1.clumps.size(), g2.clumps.size());
    EXPECT_EQ(g1.disk_reff, g2.disk_reff);
    EXPECT_NE(g1.disk_reff, g3.disk_reff);
    EXPECT_GE(g1.clumps.size(), 2u);
    EXPECT_LE(g1.clumps.size(), 9u);
    double fsum = g1.disk_fraction;
    for (const auto& c : g1.clumps) fsum += c.fraction;
    EXPECT_NEAR(fsum, 1.0, 1e-12);
    std::vector<float> img(129 * 129);
    inj::render_clumpy_galaxy(g1, 0.03, 129, img);
    double s = 0;
    for (float v : img) {
        EXPECT_GE(v, 0.0f);
        s += v;
    }
    EXPECT_NEAR(s, 1.0, 1e-5);
    // Irregular: the 180-degree rotation residual is a sizeable part of the flux.
    double asym = 0;
    for (int j = 0; j < 129; ++j)
        for (int i = 0; i < 129; ++i) asym += std::abs(img[j * 129 + i] - img[(128 - j) * 129 + (128 - i)]);
    EXPECT_GT(asym / 2, 0.05);
    EXPECT_THROW(inj::render_clumpy_galaxy(g1, 0.03, 128, std::span<float>(img.data(), 128 * 128)), std::invalid_argument);
}

TEST(InjectionRender, CentredPsfKernelIsPsfKernel) {
    for (const dhs::kernels::Psf psf : {dhs::kernels::Psf(dhs::kernels::MoffatPsf::from_fwhm(1.37, 3.5)),
                                        dhs::kernels::Psf(dhs::kernels::MoffatPsf::from_fwhm(0.9, 2.5)),
                                        dhs::kernels::Psf(dhs::kernels::GaussianPsf::from_fwhm(1.2))}) {
        const auto a = inj::centred_psf_kernel(psf, 0.262, 16), b = dhs::kernels::psf_kernel(psf, 0.262, 16, 5);
        ASSERT_EQ(a.size(), b.size());
        for (std::size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-7 * b[i] + 1e-12) << i;
    }
}

TEST(InjectionRender, RequiredOversample) {
    const inj::RenderSettings s{.oversample = 4, .max_oversample = 16};
    EXPECT_EQ(inj::required_oversample(0.262, 0.5, s), 4);
    EXPECT_EQ(inj::required_oversample(0.262, 0.1, s), 6);   // 2 x 0.262 / 0.1 = 5.24
    EXPECT_EQ(inj::required_oversample(0.262, 0.01, s), 16);
    EXPECT_EQ(inj::required_oversample(0.262, 0.0, s), 16);
}

}  // namespace
