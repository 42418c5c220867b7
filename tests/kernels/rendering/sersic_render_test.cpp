// Tests of the fast Sersic renderer (kernels/rendering/sersic_render.cpp via the SersicProfile overloads of
// ray_shooting.hpp): its images against the generic double-precision renderer (the same rays, the
// exact SIE of sie_lens.hpp and SersicProfile::surface_brightness) over lenses from the SIS to
// q = 0.15, with shear, off-centre lenses and stamps, Sersic n from 0.3 to 6 (the sqrt-chain n =
// 1/2, 1, 2, 4 included) and oversampling 1 to 8; the truncation radius against the closed forms of
// the n = 1/2 and n = 1 profiles; block skipping and every SIMD width changing no output bit;
// multi-component, multi-band renders equal to weighted single renders; flux conservation.
// Units: arcsec, nanomaggies.
#include "kernels/lensing/ray_shooting.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <random>
#include <vector>

namespace {

using dhs::kernels::EllipseShape;
using dhs::kernels::SersicProfile;
using dhs::kernels::SieLens;
using dhs::kernels::SieParams;
using dhs::kernels::StampGeometry;
namespace detail = dhs::kernels::detail;

constexpr double kPi = std::numbers::pi;

/// A SersicProfile behind a type the fast overloads do not take: the generic template renders it.
struct Generic {
    const SersicProfile& p;
    double surface_brightness(double x, double y) const { return p.surface_brightness(x, y); }
};

double sum(const std::vector<float>& v) {
    double s = 0.0;
    for (float f : v) s += f;
    return s;
}

struct Case {
    SieLens lens;
    SersicProfile src;
    StampGeometry g;
    int os;
};

std::vector<Case> cases() {
    std::mt19937_64 rng(11);
    auto u = [&rng](double a, double b) { return std::uniform_real_distribution<double>(a, b)(rng); };
    const double ns[] = {0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 2.5, 4.0, 6.0};
    const double qs[] = {1.0, 0.9999995, 0.9995, 0.98, 0.8, 0.5, 0.15};
    const int oss[] = {1, 2, 3, 4, 5, 8};
    std::vector<Case> out;
    for (int k = 0; k < 36; ++k) {
        // With odd oversampling a ray may sit exactly on the lens centre, where the deflection's
        // direction is undefined (SieLens sets it to 0, a float ray 1e-7" off has |alpha| ~ theta_E):
        // such lenses are moved off the ray grid.
        const int os = oss[k % 6];
        const double off = os % 2 == 1 ? 0.0131 : 0.0;
        const SieParams lp{.theta_e = k % 9 == 0 ? 0.0 : u(0.5, 2.5), .q = qs[k % 7], .phi = u(0, kPi),
                           .x0 = k % 4 == 3 ? u(-1, 1) : off, .y0 = k % 4 == 3 ? u(-1, 1) : -off,
                           .gamma_ext = k % 3 == 0 ? 0.0 : u(0, 0.1), .phi_ext = u(0, kPi)};
        const double n = ns[k % 9];
        const SersicProfile src(u(0.5, 20), u(0.1, 0.8), n, EllipseShape{u(0.3, 1.0), u(0, kPi)}, u(-0.4, 0.4),
                                u(-0.4, 0.4));
        const StampGeometry g{.width = 41 + 2 * (k % 5), .height = 37 + (k % 3), .pixel_scale = 0.262,
                              .center_x = k % 5 == 4 ? u(-0.5, 0.5) : 0.0, .center_y = k % 5 == 4 ? u(-0.5, 0.5) : 0.0};
        out.push_back({SieLens(lp), src, g, os});
    }
    return out;
}

TEST(SersicRender, MatchesTheGenericDoublePrecisionRenderer) {
    double worst_pixel = 0.0, worst_total = 0.0;
    for (const Case& c : cases()) {
        std::vector<float> fast(c.g.size()), ref(c.g.size());
        const double tf = dhs::kernels::render_lensed(c.lens, c.src, c.g, c.os, fast);
        const double tr = dhs::kernels::render_lensed(c.lens, Generic{c.src}, c.g, c.os, ref);
        const float peak = *std::max_element(ref.begin(), ref.end());
        ASSERT_GT(peak, 0.0f);
        double md = 0.0;
        for (std::size_t i = 0; i < ref.size(); ++i) {
            ASSERT_TRUE(std::isfinite(fast[i]));
            md = std::max(md, std::abs(static_cast<double>(fast[i]) - ref[i]));
        }
        worst_pixel = std::max(worst_pixel, md / peak);
        worst_total = std::max(worst_total, std::abs(tf / tr - 1.0));
        // Float rays sit ~5e-7" (an ulp at a few arcsec) off the double ones: at the cusp of an
        // n = 6 profile (d ln SB / d ln r ~ -2 at r ~ r_e, steeper inside) that is up to ~1e-4 of
        // the peak pixel; elsewhere ~1e-6.
        EXPECT_LT(md, 2e-4 * peak) << "n " << c.src.n() << " q " << c.lens.params().q << " os " << c.os;
        EXPECT_NEAR(tf / tr, 1.0, 1e-5) << "n " << c.src.n() << " q " << c.lens.params().q << " os " << c.os;
        EXPECT_NEAR(sum(fast) / tf, 1.0, 1e-6);
    }
    std::printf("fast vs generic: worst pixel difference %.3g of the peak, worst total %.3g\n", worst_pixel,
                worst_total);
}

TEST(SersicRender, UnlensedMatchesGenericAndConservesFlux) {
    const StampGeometry g{.width = 121, .height = 121};
    for (double n : {0.5, 1.0, 2.2, 4.0}) {
        const SersicProfile src(7.0, 0.8, n, EllipseShape{0.6, 0.3}, 0.1, -0.2);
        std::vector<float> fast(g.size()), ref(g.size());
        const double tf = dhs::kernels::render_unlensed(src, g, 6, fast);
        const double tr = dhs::kernels::render_unlensed(Generic{src}, g, 6, ref);
        EXPECT_NEAR(tf / tr, 1.0, 2e-6) << n;
        // Flux within the stamp: all of it but the wing beyond 15.8" and the error of sampling the
        // cusp at 6 x 6 rays per pixel (+0.14% at n = 2.2, +0.7% at n = 4: midpoints over-weight it).
        std::printf("n %.1f: stamp flux / F = %.6f\n", n, tf / src.total_flux());
        EXPECT_NEAR(tf / src.total_flux(), 1.0, n <= 1 ? 1e-4 : 1e-2) << n;
    }
    // A source and no lens: the lensed overload with SieLens() is the unlensed render, bit for bit.
    const StampGeometry h{.width = 41, .height = 31, .center_x = 0.3};
    const SersicProfile src(2.0, 0.3, 1.3, EllipseShape{0.7, 1.0}, 0.4, 0.0);
    std::vector<float> a(h.size()), b(h.size());
    dhs::kernels::render_unlensed(src, h, 4, a);
    dhs::kernels::render_lensed(SieLens(), src, h, 4, b);
    EXPECT_EQ(a, b);
}

TEST(SersicRender, TruncationRadiusMatchesClosedForms) {
    // Flux beyond x = b (r / r_e)^(1/n): n = 1/2: e^-x; n = 1: e^-x (1 + x).
    const double eps = dhs::kernels::kSersicTruncatedFlux;
    for (double re : {0.2, 1.0}) {
        const SersicProfile g(1.0, re, 0.5, EllipseShape{});
        const double xg = std::pow(dhs::kernels::sersic_truncation_radius(g) / re, 2.0) * g.b_n();
        EXPECT_NEAR(std::exp(-xg) / eps, 1.0, 1e-9);
        const SersicProfile e(1.0, re, 1.0, EllipseShape{0.5, 0.2});
        const double xe = dhs::kernels::sersic_truncation_radius(e) / re * e.b_n();
        EXPECT_NEAR(std::exp(-xe) * (1 + xe) / eps, 1.0, 1e-9);
    }
    // Larger n, heavier wings: the radius grows steeply (r_e units).
    const double r2 = dhs::kernels::sersic_truncation_radius(SersicProfile(1.0, 1.0, 2.0, EllipseShape{}));
    const double r4 = dhs::kernels::sersic_truncation_radius(SersicProfile(1.0, 1.0, 4.0, EllipseShape{}));
    EXPECT_GT(r4, 5 * r2);
}

TEST(SersicRender, BlockSkippingAndSimdWidthChangeNoBit) {
    const int widest = detail::sersic_render_widest_lanes();
    std::printf("widest SIMD width: %d lanes\n", widest);
    const double w = 1.0;
    int skipped_somewhere = 0;
    for (const Case& c : cases()) {
        std::vector<float> ref(c.g.size()), img(c.g.size());
        const auto t0 = detail::render_sersic_components(&c.lens, {&c.src, 1}, {&w, 1}, c.g, c.os, ref,
                                                         {.lanes = 1, .skip_blocks = false});
        for (int lanes : {1, 4, 8, 16}) {
            if (lanes > widest) continue;
            for (bool skip : {false, true}) {
                const auto t = detail::render_sersic_components(&c.lens, {&c.src, 1}, {&w, 1}, c.g, c.os, img,
                                                                {.lanes = lanes, .skip_blocks = skip});
                EXPECT_EQ(img, ref) << lanes << " lanes, skip " << skip;
                EXPECT_EQ(t, t0);
            }
        }
        skipped_somewhere += std::count(ref.begin(), ref.end(), 0.0f) > 0;
    }
    EXPECT_GT(skipped_somewhere, 3);  // truncation reached inside some stamps
    std::vector<float> img(StampGeometry{}.size());
    EXPECT_THROW(detail::render_sersic_components(nullptr, {&cases()[0].src, 1}, {&w, 1}, StampGeometry{}, 4, img,
                                                  {.lanes = 3}),
                 std::invalid_argument);
}

TEST(SersicRender, BandsAreWeightedSumsOfComponents) {
    const SieLens lens(SieParams{.theta_e = 1.3, .q = 0.7, .phi = 0.4, .gamma_ext = 0.05, .phi_ext = 1.1});
    const std::vector<SersicProfile> comps = {SersicProfile(1.0, 0.3, 1.0, EllipseShape{0.6, 0.2}, 0.1, 0.05),
                                              SersicProfile(1.0, 0.05, 0.5, EllipseShape{}, -0.1, 0.12),
                                              SersicProfile(1.0, 0.08, 2.5, EllipseShape{0.9, 1.0}, 0.2, -0.1)};
    const std::vector<double> weights = {3.0, 4.0, 5.0,   // component 0 in g, r, z
                                         1.0, 0.5, 0.2,   // component 1
                                         0.0, 0.3, 0.9};  // component 2
    const StampGeometry g{.width = 51, .height = 51};
    std::vector<float> bands(3 * g.size());
    const auto totals = dhs::kernels::render_lensed_bands(lens, comps, weights, g, 4, bands);
    ASSERT_EQ(totals.size(), 3u);
    std::vector<std::vector<float>> single(3, std::vector<float>(g.size()));
    for (int k = 0; k < 3; ++k) dhs::kernels::render_lensed(lens, comps[static_cast<std::size_t>(k)], g, 4, single[static_cast<std::size_t>(k)]);
    for (int b = 0; b < 3; ++b) {
        double total = 0.0, peak = 0.0, md = 0.0;
        for (std::size_t i = 0; i < g.size(); ++i) {
            double want = 0.0;
            for (std::size_t k = 0; k < 3; ++k) want += weights[k * 3 + static_cast<std::size_t>(b)] * single[k][i];
            total += want;
            peak = std::max(peak, want);
            md = std::max(md, std::abs(want - bands[static_cast<std::size_t>(b) * g.size() + i]));
        }
        EXPECT_LT(md, 1e-6 * peak) << "band " << b;
        EXPECT_NEAR(totals[static_cast<std::size_t>(b)] / total, 1.0, 1e-6) << "band " << b;
    }
    // More components than one pass holds (8): the same sums.
    std::vector<SersicProfile> many;
    std::vector<double> wm;
    for (int k = 0; k < 11; ++k) {
        many.emplace_back(1.0, 0.1 + 0.02 * k, 0.6 + 0.2 * k, EllipseShape{0.8, 0.1 * k}, 0.03 * k, -0.02 * k);
        wm.push_back(1.0 + k);
    }
    std::vector<float> one(g.size()), acc(g.size(), 0.0f), tmp(g.size());
    dhs::kernels::render_lensed_bands(lens, many, wm, g, 3, one);
    for (int k = 0; k < 11; ++k) {
        dhs::kernels::render_lensed(lens, many[static_cast<std::size_t>(k)], g, 3, tmp);
        for (std::size_t i = 0; i < g.size(); ++i) acc[i] += static_cast<float>((1.0 + k) * tmp[i]);
    }
    const double peak = *std::max_element(acc.begin(), acc.end());
    for (std::size_t i = 0; i < g.size(); ++i) ASSERT_NEAR(one[i], acc[i], 1e-5 * peak);
    EXPECT_THROW(dhs::kernels::render_lensed_bands(lens, comps, std::vector<double>(4, 1.0), g, 4, bands),
                 std::invalid_argument);
    std::vector<float> one_band(g.size());
    EXPECT_THROW(dhs::kernels::render_lensed_bands(lens, comps, weights, g, 4, one_band), std::invalid_argument);
}

TEST(SersicRender, MagnificationMatchesGeneric) {
    const SieLens lens(SieParams{.theta_e = 1.1, .q = 0.75, .phi = 0.2, .gamma_ext = 0.03, .phi_ext = 0.5});
    const SersicProfile src(10.0, 0.2, 1.0, EllipseShape{0.7, 0.4}, 0.11, -0.07);
    const StampGeometry g{};
    std::vector<float> img(g.size());
    const auto f = dhs::kernels::lensed_flux_and_magnification(lens, src, g, 4, img);
    const auto r = dhs::kernels::lensed_flux_and_magnification(lens, Generic{src}, g, 4);
    EXPECT_NEAR(f.magnification / r.magnification, 1.0, 2e-6);
    EXPECT_NEAR(f.unlensed_flux / r.unlensed_flux, 1.0, 2e-6);
    EXPECT_NEAR(sum(img) / f.lensed_flux, 1.0, 1e-6);
    EXPECT_GT(f.magnification, 3.0);
    const auto no_image = dhs::kernels::lensed_flux_and_magnification(lens, src, g, 4);
    EXPECT_EQ(no_image.lensed_flux, f.lensed_flux);
}

}  // namespace
