// Tests of kernels/rendering/sersic.hpp, confuser_profiles.hpp and profile_render.hpp: b_n against scipy
// (sersic_bn_reference.csv), SERSIC_ELLIPSE against lenstronomy
// (lenstronomy_sersic_moffat_reference.csv), and the flux normalisations (nanomaggies, arcsec) of
// the Sersic, ring, spiral, tidal-arc and diffraction-spike profiles against numerical integration
// over the plane and over sub-sampled pixel grids.
#include "kernels/rendering/confuser_profiles.hpp"
#include "kernels/rendering/profile_render.hpp"
#include "kernels/rendering/sersic.hpp"
#include "tests/support/test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using namespace dhs::kernels;
constexpr double kPi = std::numbers::pi;
constexpr double kPixel = 0.262;  // DR10 arcsec / pixel

using dhs::test::csv_rows;
using dhs::test::reference_path;

double rel_err(double got, double want) { return std::abs(got - want) / std::abs(want); }

// Integral of f(x, y) over the disc r < r_max around (xc, yc), in polar coordinates with
// r = e^u: midpoint rule in u on [ln r_min, ln r_max] and the periodic trapezoid rule in theta
// (both converge exponentially for these smooth integrands); the disc r < r_min adds
// f(xc, yc) pi r_min^2.
template <class F>
double integrate_polar(const F& f, double xc, double yc, double r_min, double r_max, int nu, int nt) {
    const double u0 = std::log(r_min), du = (std::log(r_max) - u0) / nu, dt = 2.0 * kPi / nt;
    double total = f(xc, yc) * kPi * r_min * r_min;
    for (int a = 0; a < nu; ++a) {
        const double r = std::exp(u0 + (a + 0.5) * du);
        double ring = 0.0;
        for (int b = 0; b < nt; ++b) {
            const double t = b * dt;
            ring += f(xc + r * std::cos(t), yc + r * std::sin(t));
        }
        total += ring * dt * r * r * du;
    }
    return total;
}

template <class P>
double plane_integral(const P& p, double xc, double yc, double r_min, double r_max, int nu = 2000,
                      int nt = 256) {
    return integrate_polar([&p](double x, double y) { return p.surface_brightness(x, y); }, xc, yc,
                           r_min, r_max, nu, nt);
}

TEST(SersicBn, MatchesScipyGammaincinvOnEveryRow) {
    const auto rows = csv_rows(reference_path("sersic_bn_reference.csv"));
    ASSERT_GE(rows.size(), 11u);
    for (const auto& r : rows) {
        const double n = std::stod(r.at(0));
        EXPECT_LT(rel_err(sersic_bn(n), std::stod(r.at(1))), 1e-12) << "n = " << n;
        EXPECT_LT(rel_err(sersic_bn_lenstronomy(n), std::stod(r.at(2))), 1e-12) << "n = " << n;
    }
}

TEST(SersicBn, KnownValuesAndRange) {
    EXPECT_NEAR(sersic_bn(0.5), std::log(2.0), 1e-15);  // P(1, b) = 1 - e^-b = 1/2
    EXPECT_NEAR(sersic_bn(1.0), 1.6783469900166612, 1e-14);
    double previous = 0.0;
    for (double n = 0.2; n <= 10.0 + 1e-9; n += 0.05) {
        const double b = sersic_bn(n);
        EXPECT_GT(b, previous) << n;  // increasing in n
        // Asymptotic expansion (Ciotti & Bertin 1999), good to < 1e-4 for n >= 1.
        if (n >= 1.0) {
            EXPECT_NEAR(b, 2 * n - 1.0 / 3 + 4 / (405 * n) + 46 / (25515 * n * n), 2e-4) << n;
        }
        previous = b;
    }
    EXPECT_THROW(sersic_bn(0.0), std::invalid_argument);
    EXPECT_THROW(sersic_bn(-1.0), std::invalid_argument);
    EXPECT_THROW(sersic_bn(std::nan("")), std::invalid_argument);
}

TEST(SersicProfile, MatchesLenstronomySersicEllipseOnEveryRow) {
    int checked = 0;
    for (const auto& r : csv_rows(reference_path("lenstronomy_sersic_moffat_reference.csv"))) {
        if (r.at(0) != "SERSIC_ELLIPSE") continue;
        const auto p = SersicProfile::from_lenstronomy(std::stod(r[1]), std::stod(r[2]), std::stod(r[3]),
                                                       std::stod(r[4]), std::stod(r[5]));
        const double x = std::stod(r[6]), y = std::stod(r[7]), want = std::stod(r[8]);
        EXPECT_LT(rel_err(p.surface_brightness(x, y), want), 1e-10)
            << "amp " << r[1] << " R " << r[2] << " n " << r[3] << " e " << r[4] << "," << r[5]
            << " at (" << x << ", " << y << ")";
        ++checked;
    }
    EXPECT_EQ(checked, 20);
}

TEST(SersicProfile, TotalFluxByIntegrationOverThePlane) {
    // n = 0.5 .. 6 (and the ends of the supported range), round and flattened, rotated, off-centre.
    for (double n : {0.2, 0.5, 1.0, 2.0, 4.0, 6.0, 10.0}) {
        for (double q : {1.0, 0.5}) {
            const SersicProfile p(12.5, 0.7, n, EllipseShape{q, 0.6}, 0.3, -0.2);
            const double integral = plane_integral(p, 0.3, -0.2, 1e-9, 1e5);
            EXPECT_LT(rel_err(integral, 12.5), 1e-8) << "n " << n << " q " << q;
            EXPECT_DOUBLE_EQ(p.total_flux(), 12.5);
        }
    }
}

TEST(SersicProfile, NormalisationFormula) {
    // I_e = F / (2 pi q n r_e^2 e^b b^-2n Gamma(2n)), here for n = 1: Gamma(2) = 1.
    const SersicProfile p(3.0, 0.4, 1.0, EllipseShape{0.5, 0.0});
    const double b = sersic_bn(1.0);
    const double ie = 3.0 / (2 * kPi * 0.5 * 1.0 * 0.16 * std::exp(b) * std::pow(b, -2.0));
    EXPECT_LT(rel_err(p.intensity_at_re(), ie), 1e-13);
    EXPECT_LT(rel_err(p.surface_brightness(0.4, 0.0), ie), 1e-13);  // on the major axis at r_e
    EXPECT_LT(rel_err(p.surface_brightness(0.0, 0.2), ie), 1e-13);  // on the minor axis at q r_e
    EXPECT_LT(rel_err(p.at_elliptical_radius(0.4), ie), 1e-13);
}

TEST(SersicProfile, FastRootsAgreeWithTheFormula) {
    // n = 0.5, 1, 2, 4 take sqrt chains instead of pow; all n against I_e e^{-b((r/r_e)^(1/n)-1)}.
    for (double n : {0.5, 1.0, 2.0, 4.0, 1.5, 3.7}) {
        const SersicProfile p(2.0, 0.6, n, EllipseShape{0.7, -0.4}, 0.1, 0.2);
        const double c = std::cos(-0.4), s = std::sin(-0.4);
        for (auto [x, y] : {std::pair{0.1, 0.2}, {0.15, 0.2}, {0.7, -0.3}, {-2.0, 1.1}, {5.0, 5.0}}) {
            const double dx = x - 0.1, dy = y - 0.2;
            const double xp = c * dx + s * dy, yp = -s * dx + c * dy;
            const double r = std::sqrt(xp * xp + yp * yp / 0.49);
            const double want = p.intensity_at_re() * std::exp(-p.b_n() * (std::pow(r / 0.6, 1.0 / n) - 1.0));
            EXPECT_LT(rel_err(p.surface_brightness(x, y), want), 1e-13) << n << " (" << x << ", " << y << ")";
            EXPECT_LT(rel_err(p.at_elliptical_radius(r), want), 1e-13);
        }
    }
}

TEST(SersicProfile, MajorAxisReEnclosesHalfTheFlux) {
    for (double n : {0.5, 1.0, 2.5, 4.0, 8.0}) {
        for (double q : {1.0, 0.3}) {
            const double phi = 1.1, re = 0.9;
            const SersicProfile p(7.0, re, n, EllipseShape{q, phi});
            // Flux inside the ellipse r_ell < r_e: polar coordinates (rho, t) of the disk frame,
            // x' = rho cos t, y' = q rho sin t, area element q rho drho dt; midpoint in rho^(1/n).
            const int nr = 4000, nt = 128;
            const double c = std::cos(phi), s = std::sin(phi);
            double inside = 0.0;
            for (int a = 0; a < nr; ++a) {
                const double v = (a + 0.5) / nr;  // v = (rho / re)^(1/n), rho = re v^n
                const double rho = re * std::pow(v, n);
                const double drho = re * n * std::pow(v, n - 1.0) / nr;
                double ring = 0.0;
                for (int b = 0; b < nt; ++b) {
                    const double t = 2 * kPi * b / nt;
                    const double xp = rho * std::cos(t), yp = q * rho * std::sin(t);
                    ring += p.surface_brightness(c * xp - s * yp, s * xp + c * yp);
                }
                inside += ring * (2 * kPi / nt) * q * rho * drho;
            }
            EXPECT_LT(rel_err(inside, 3.5), 1e-7) << "n " << n << " q " << q;
        }
    }
}

TEST(SersicProfile, PixelGridConservesFluxInNanomaggiesPerPixel) {
    // A 101 x 101 DR10 stamp with 8 x 8 sub-sampling: the pixels hold flux per pixel (SB x
    // 0.262^2 arcsec^2), so they sum to the total flux, not to it / 0.0686 or x 1000.
    for (double n : {0.5, 1.0, 2.0}) {
        const SersicProfile p = SersicProfile::from_tractor(25.0, 0.5, n, 0.15, -0.1, 0.05, 0.03);
        std::vector<float> image(101 * 101, 0.0f);
        const double added = accumulate_profile(p, image, 101, 101, kPixel, 50.0, 50.0, 8);
        double sum = 0.0;
        for (float v : image) sum += v;
        // The midpoint rule meets the central cusp of n >= 1 profiles: 2e-5 (n = 1) and 7e-4
        // (n = 2) at r_e = 0.5" = 1.9 px with 8 x 8 sub-pixels.
        EXPECT_LT(rel_err(added, 25.0), n < 1.0 ? 1e-6 : (n < 2.0 ? 5e-5 : 1e-3)) << "n " << n;
        EXPECT_LT(rel_err(sum, added), 1e-6);
    }
    // Pixel value = surface brightness x pixel area for a profile that is flat over a pixel.
    const SersicProfile wide(100.0, 20.0, 0.5, EllipseShape{});
    std::vector<float> one(1, 0.0f);
    accumulate_profile(wide, one, 1, 1, kPixel, 0.0, 0.0, 4);
    EXPECT_LT(rel_err(one[0], wide.surface_brightness(0.0, 0.0) * kPixel * kPixel), 1e-4);
}

TEST(SersicProfile, TractorAndLenstronomyConventionsAgree) {
    for (auto [e1, e2] : {std::pair{0.0, 0.0}, {0.2, 0.0}, {0.0, -0.3}, {-0.25, 0.4}, {0.1, -0.05}}) {
        const EllipseShape t = shape_from_tractor_e1e2(e1, e2);
        const EllipseShape l = shape_from_lenstronomy_e1e2(e1, e2);
        EXPECT_DOUBLE_EQ(t.q, l.q);
        EXPECT_DOUBLE_EQ(t.phi, l.phi);
        const double e = std::hypot(e1, e2);
        EXPECT_NEAR(t.q, (1 - e) / (1 + e), 1e-15);
        const Ellipticity back = e1e2_from_shape(t);
        EXPECT_NEAR(back.e1, e1, 1e-15);
        EXPECT_NEAR(back.e2, e2, 1e-15);
        // Same galaxy: Tractor r_e on the major axis = lenstronomy R_sersic / sqrt(q).
        const SersicProfile tr = SersicProfile::from_tractor(4.0, 0.8, 2.0, e1, e2, 0.1, 0.2);
        const SersicProfile ln = SersicProfile::from_lenstronomy(
            tr.intensity_at_re(), 0.8 * std::sqrt(t.q), 2.0, e1, e2, 0.1, 0.2, SersicBn::exact);
        EXPECT_DOUBLE_EQ(ln.q(), tr.q());
        EXPECT_DOUBLE_EQ(ln.phi(), tr.phi());
        EXPECT_LT(rel_err(ln.r_e(), 0.8), 1e-15);
        EXPECT_LT(rel_err(ln.total_flux(), 4.0), 1e-13);
        for (auto [x, y] : {std::pair{0.0, 0.0}, {0.5, -0.3}, {-1.2, 0.7}, {2.0, 2.5}})
            EXPECT_LT(rel_err(ln.surface_brightness(x, y), tr.surface_brightness(x, y)), 1e-12);
    }
    EXPECT_THROW(shape_from_tractor_e1e2(0.8, 0.8), std::invalid_argument);
    EXPECT_NEAR(shape_from_lenstronomy_e1e2(0.8, 0.8).q, (1 - 0.9999) / (1 + 0.9999), 1e-15);
}

TEST(SersicProfile, TractorPositionAngleOnAPixelGrid) {
    // Tractor: e1 = 0, e2 = +e puts the major axis at PA 45 deg (North through East), i.e.
    // towards North-East. On a DR10 pixel grid (+x West, +y North) that is (-1, +1) / sqrt 2.
    const EllipseShape sky = shape_from_tractor_e1e2(0.0, 0.4);
    EXPECT_NEAR(sky.phi, kPi / 4, 1e-15);
    const SersicProfile p(1.0, 1.0, 1.0, EllipseShape{sky.q, pixel_angle_from_sky_pa(sky.phi)});
    const double d = 1.0 / std::sqrt(2.0);
    EXPECT_LT(rel_err(p.surface_brightness(-d, d), p.intensity_at_re()), 1e-12);      // major
    EXPECT_LT(rel_err(p.surface_brightness(d * sky.q, d * sky.q), p.intensity_at_re()), 1e-12);  // minor
}

TEST(SersicProfile, HelpersPointSourceAndValidation) {
    const SersicProfile ex = exponential_profile(2.0, 0.5, 0.1, 0.0, 1.0, 2.0);
    EXPECT_EQ(ex.n(), 1.0);
    EXPECT_DOUBLE_EQ(ex.b_n(), sersic_bn(1.0));
    EXPECT_EQ(ex.x0(), 1.0);
    EXPECT_EQ(ex.y0(), 2.0);
    const SersicProfile dev = de_vaucouleurs_profile(2.0, 0.5);
    EXPECT_EQ(dev.n(), 4.0);
    EXPECT_NEAR(dev.b_n(), 7.669249442500804, 1e-13);
    const SersicProfile moved = dev.centred_at(0.3, 0.4);
    EXPECT_DOUBLE_EQ(moved.surface_brightness(0.4, 0.5), dev.surface_brightness(0.1, 0.1));
    const PointSource ps{5.0, 0.1, -0.2};
    EXPECT_EQ(ps.total_flux(), 5.0);
    EXPECT_TRUE(LightProfile<SersicProfile>);
    EXPECT_TRUE(LightProfile<RingProfile>);
    EXPECT_TRUE(LightProfile<SpiralArmsProfile>);
    EXPECT_TRUE(LightProfile<TidalArcProfile>);
    EXPECT_TRUE(LightProfile<DiffractionSpikesProfile>);
    EXPECT_THROW(SersicProfile(1.0, 0.0, 1.0, EllipseShape{}), std::invalid_argument);
    EXPECT_THROW(SersicProfile(-1.0, 1.0, 1.0, EllipseShape{}), std::invalid_argument);
    EXPECT_THROW(SersicProfile(1.0, 1.0, 1.0, EllipseShape{1.5, 0.0}), std::invalid_argument);
    EXPECT_THROW(SersicProfile(1.0, 1.0, 0.1, EllipseShape{}, 0, 0, SersicBn::lenstronomy),
                 std::invalid_argument);  // b_n <= 0
    EXPECT_TRUE(std::isfinite(SersicProfile(1.0, 1.0, 6.0, EllipseShape{}).surface_brightness(0, 0)));
}

TEST(RingProfile, IntegratesToItsFlux) {
    for (auto [radius, width, q] : {std::tuple{1.5, 0.1, 1.0}, {1.5, 0.2, 0.6}, {0.3, 0.4, 0.8}, {0.0, 0.5, 1.0}}) {
        const RingProfile ring(9.0, radius, width, EllipseShape{q, 0.4}, -0.5, 0.25);
        EXPECT_LT(rel_err(plane_integral(ring, -0.5, 0.25, 1e-7, 100.0, 4000, 512), 9.0), 1e-7)
            << radius << " " << width << " " << q;
        std::vector<float> image(121 * 121, 0.0f);
        const double added = accumulate_profile(ring, image, 121, 121, kPixel, 60.0, 60.0, 8);
        EXPECT_LT(rel_err(added, 9.0), 1e-4);
    }
    const RingProfile ring = RingProfile::from_e1e2(1.0, 1.2, 0.1, 0.0, 0.0);
    EXPECT_DOUBLE_EQ(ring.surface_brightness(1.2, 0.0), ring.peak());
    EXPECT_DOUBLE_EQ(ring.surface_brightness(0.0, -1.2), ring.peak());
    EXPECT_LT(ring.surface_brightness(0.0, 0.0), 1e-30);
    EXPECT_THROW(RingProfile(1.0, 1.0, 0.0), std::invalid_argument);
}

TEST(SpiralArmsProfile, IntegratesToItsFluxAndHasArms) {
    SpiralArmsParams sp;
    sp.flux = 40.0;
    sp.scale_length = 1.5;
    for (int arms : {1, 2, 3}) {
        for (double q : {1.0, 0.7}) {
            sp.arms = arms;
            sp.shape = EllipseShape{q, 0.9};
            sp.x0 = 0.2;
            sp.y0 = -0.1;
            const SpiralArmsProfile spiral(sp);
            EXPECT_LT(rel_err(plane_integral(spiral, 0.2, -0.1, 1e-7, 200.0, 6000, 256), 40.0), 1e-7)
                << arms << " " << q;
            std::vector<float> image(301 * 301, 0.0f);
            const double added = accumulate_profile(spiral, image, 301, 301, kPixel, 150.0, 150.0, 6);
            EXPECT_LT(rel_err(added, 40.0), 1e-4) << arms << " " << q;
        }
    }
    // Face-on: along the circle r = h the brightness swings between A e^-1 (1 +- c T(h)).
    sp.arms = 2;
    sp.shape = EllipseShape{};
    sp.x0 = sp.y0 = 0.0;
    const SpiralArmsProfile spiral(sp);
    double lo = 1e300, hi = 0.0;
    for (int b = 0; b < 720; ++b) {
        const double t = 2 * kPi * b / 720;
        const double v = spiral.surface_brightness(1.5 * std::cos(t), 1.5 * std::sin(t));
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    }
    const double taper = 1.0 - std::exp(-(1.5 * 1.5) / (0.5 * 0.5));
    const double disk = spiral.central_amplitude() * std::exp(-1.0);
    EXPECT_NEAR(hi / disk, 1.0 + 0.6 * taper, 1e-4);
    EXPECT_NEAR(lo / disk, 1.0 - 0.6 * taper, 1e-4);
    EXPECT_DOUBLE_EQ(spiral.surface_brightness(0.0, 0.0), spiral.central_amplitude());
    sp.contrast = 1.5;
    EXPECT_THROW(SpiralArmsProfile{sp}, std::invalid_argument);
}

TEST(TidalArcProfile, IntegratesToItsFluxAndLiesAlongItsArc) {
    for (auto [radius, width, sigma, q] :
         {std::tuple{2.0, 0.2, 0.5, 1.0}, {3.0, 0.3, 0.8, 0.6}, {1.0, 0.4, 0.3, 0.8}, {1.5, 0.4, 0.9, 1.0}}) {
        TidalArcParams tp{.flux = 6.0, .radius = radius, .width = width, .angle = 2.8, .angular_sigma = sigma,
                          .shape = EllipseShape{q, 0.3}, .x0 = 0.4, .y0 = -0.3};
        const TidalArcProfile arc(tp);
        EXPECT_LT(rel_err(plane_integral(arc, 0.4, -0.3, 1e-7, 60.0, 4000, 2048), 6.0), 1e-6)
            << radius << " " << width << " " << sigma << " " << q;
        std::vector<float> image(141 * 141, 0.0f);
        const double added = accumulate_profile(arc, image, 141, 141, kPixel, 70.0 + 0.4 / kPixel, 70.0 - 0.3 / kPixel, 12);
        EXPECT_LT(rel_err(added, 6.0), 1e-4) << radius << " " << width << " " << sigma << " " << q;
    }
    // The peak sits at radius R in direction theta_0 (across the wrap at pi too).
    const TidalArcProfile arc(TidalArcParams{.flux = 1.0, .radius = 2.0, .width = 0.2, .angle = kPi, .angular_sigma = 0.4});
    EXPECT_DOUBLE_EQ(arc.surface_brightness(-2.0, 0.0), arc.peak());
    EXPECT_NEAR(arc.surface_brightness(2.0 * std::cos(kPi - 0.4), 2.0 * std::sin(kPi - 0.4)),
                arc.peak() * std::exp(-0.5), 1e-12 * arc.peak());
    EXPECT_NEAR(arc.surface_brightness(2.0 * std::cos(-kPi + 0.4), 2.0 * std::sin(-kPi + 0.4)),
                arc.peak() * std::exp(-0.5), 1e-12 * arc.peak());
    EXPECT_LT(arc.surface_brightness(2.0, 0.0), 1e-10 * arc.peak());
    EXPECT_THROW(TidalArcProfile(TidalArcParams{.angular_sigma = 0.0}), std::invalid_argument);
    EXPECT_THROW(TidalArcProfile(TidalArcParams{.angular_sigma = 1.2}), std::invalid_argument);
}

TEST(DiffractionSpikesProfile, IntegratesToItsFluxAlongItsSpikes) {
    for (int m : {1, 4, 6}) {
        const DiffractionSpikesParams sp{.flux = 3.0, .spikes = m, .angle = 0.3, .length = 1.5, .width = 0.15,
                                         .x0 = 0.1, .y0 = 0.2};
        const DiffractionSpikesProfile spikes(sp);
        EXPECT_LT(rel_err(plane_integral(spikes, 0.1, 0.2, 1e-7, 40.0, 1500, 8192), 3.0), 1e-5) << m;
        // Along spike k at distance 1 from the star: A e^{-1/L}, A = F / (m L sqrt(2 pi) w) (the
        // neighbouring spikes, 60 degrees away for m = 6, add ~1e-7 of it).
        const double a = 3.0 / (m * 1.5 * std::sqrt(2 * kPi) * 0.15);
        for (int k = 0; k < m; ++k) {
            const double t = 0.3 + 2 * kPi * k / m;
            EXPECT_NEAR(spikes.surface_brightness(0.1 + std::cos(t), 0.2 + std::sin(t)), a * std::exp(-1.0 / 1.5),
                        1e-6 * a)
                << m << " " << k;
        }
    }
    const DiffractionSpikesProfile cross(DiffractionSpikesParams{});
    EXPECT_LT(cross.surface_brightness(3.0, 3.0), 1e-30);  // between the spikes of the cross
    EXPECT_THROW(DiffractionSpikesProfile(DiffractionSpikesParams{.spikes = 0}), std::invalid_argument);
}

}  // namespace
