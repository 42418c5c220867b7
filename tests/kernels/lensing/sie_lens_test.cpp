// Tests of kernels/sie_lens: every row of lenstronomy 1.14.2's SIE reference table (deflection,
// Hessian, kappa, shear, potential within 1e-9), finite-difference consistency (H = grad alpha,
// alpha = grad psi), the SIS limit and continuity in q near 1, external shear, magnification.
// Units: arcsec and radians throughout.
#include "kernels/lensing/sie_lens.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <numbers>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using dhs::kernels::ExternalShear;
using dhs::kernels::Hessian2;
using dhs::kernels::SieLens;
using dhs::kernels::SieParams;
using dhs::kernels::Vec2;

struct RefRow {
    double theta_e, q, phi, e1, e2, x, y, ax, ay, fxx, fxy, fyy, kappa, g1, g2, psi;
};

std::vector<RefRow> read_reference() {
    const std::string path = std::string(DHS_SHARED_DIR) + "/data/real/reference/lenstronomy_sie_reference.csv";
    std::ifstream in(path);
    EXPECT_TRUE(in.good()) << "cannot open " << path;
    std::vector<RefRow> rows;
    std::string line;
    bool header = true;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line[0] == '#') continue;
        if (header) {
            EXPECT_EQ(line.rfind("theta_E,q,phi_G,e1,e2,x,y,alpha_x,alpha_y", 0), 0u) << line;
            header = false;
            continue;
        }
        std::vector<double> v;
        std::stringstream ss(line);
        std::string cell;
        while (std::getline(ss, cell, ',')) v.push_back(std::stod(cell));
        EXPECT_EQ(v.size(), 16u) << line;
        if (v.size() != 16) continue;
        rows.push_back({v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13],
                        v[14], v[15]});
    }
    return rows;
}

void expect_matches_row(const SieLens& lens, const RefRow& r, double tol, double& max_err) {
    const Vec2 a = lens.deflection(r.x, r.y);
    const Hessian2 h = lens.hessian(r.x, r.y);
    const auto g = lens.shear(r.x, r.y);
    const double got[] = {a.x, a.y, h.fxx, h.fxy, h.fyy, lens.convergence(r.x, r.y), g.gamma1, g.gamma2,
                          lens.potential(r.x, r.y)};
    const double want[] = {r.ax, r.ay, r.fxx, r.fxy, r.fyy, r.kappa, r.g1, r.g2, r.psi};
    const char* names[] = {"alpha_x", "alpha_y", "f_xx", "f_xy", "f_yy", "kappa", "gamma1", "gamma2", "psi"};
    for (int k = 0; k < 9; ++k) {
        EXPECT_NEAR(got[k], want[k], tol) << names[k] << " theta_E=" << r.theta_e << " q=" << r.q
                                          << " phi=" << r.phi << " at (" << r.x << ", " << r.y << ")";
        max_err = std::max(max_err, std::abs(got[k] - want[k]));
    }
}

TEST(SieLens, MatchesLenstronomyReferenceEveryRow) {
    const auto rows = read_reference();
    ASSERT_EQ(rows.size(), 48u);  // 8 points x 6 parameter sets
    double max_err_qphi = 0.0, max_err_e = 0.0;
    for (const RefRow& r : rows) {
        expect_matches_row(SieLens(r.theta_e, r.q, r.phi), r, 1e-9, max_err_qphi);
        expect_matches_row(SieLens::from_lenstronomy(r.theta_e, r.e1, r.e2), r, 1e-9, max_err_e);
    }
    RecordProperty("max_abs_err_q_phi", std::to_string(max_err_qphi));
    RecordProperty("max_abs_err_e1_e2", std::to_string(max_err_e));
    std::printf("lenstronomy reference: max |error| %.3g (q, phi ctor), %.3g (e1, e2 ctor)\n", max_err_qphi,
                max_err_e);
}

TEST(SieLens, FastAtanAndAtanhMatchTheLibrary) {
    using dhs::kernels::detail::fast_atan;
    using dhs::kernels::detail::fast_atanh;
    double max_atan = 0.0, max_atanh = 0.0;
    for (int i = -2000000; i <= 2000000; ++i) {
        const double x = 40.0 * i / 2e6 + 1e-7;  // [-40, 40], through every branch boundary
        max_atan = std::max(max_atan, std::abs(fast_atan(x) - std::atan(x)) / std::abs(std::atan(x)));
        const double t = 0.9999 * i / 2e6 + 1e-9;  // (-1, 1)
        max_atanh = std::max(max_atanh, std::abs(fast_atanh(t) - std::atanh(t)) / std::abs(std::atanh(t)));
    }
    for (const double x : {0.66, 2.414213562373095, 1e-300, 1e-8, 1e8, 1e300}) {
        EXPECT_NEAR(fast_atan(x), std::atan(x), 3e-16 * std::atan(x)) << x;
        EXPECT_NEAR(fast_atan(-x), std::atan(-x), 3e-16 * std::atan(x)) << x;
    }
    for (const double t : {0.5, 0.49999999999, 1e-300, 1e-8, 0.999999}) {
        EXPECT_NEAR(fast_atanh(t), std::atanh(t), 5e-16 * std::atanh(t)) << t;
        EXPECT_NEAR(fast_atanh(-t), std::atanh(-t), 5e-16 * std::atanh(t)) << t;
    }
    EXPECT_EQ(fast_atan(0.0), 0.0);
    EXPECT_EQ(fast_atanh(0.0), 0.0);
    EXPECT_DOUBLE_EQ(fast_atan(std::numeric_limits<double>::infinity()), std::numbers::pi / 2);
    EXPECT_TRUE(std::isnan(fast_atan(std::numeric_limits<double>::quiet_NaN())));
    EXPECT_LT(max_atan, 5e-16);
    EXPECT_LT(max_atanh, 8e-16);
    std::printf("fast_atan max relative error %.3g, fast_atanh %.3g\n", max_atan, max_atanh);
}

TEST(SieLens, LenstronomyEllipticityRoundTrip) {
    for (const RefRow& r : read_reference()) {
        const SieLens lens = SieLens::from_lenstronomy(r.theta_e, r.e1, r.e2);
        EXPECT_NEAR(lens.params().q, r.q, 1e-12);
        EXPECT_NEAR(lens.e1(), r.e1, 1e-12);
        EXPECT_NEAR(lens.e2(), r.e2, 1e-12);
    }
}

std::vector<SieLens> test_lenses() {
    return {SieLens(SieParams{.theta_e = 1.3, .q = 0.65, .phi = 0.4, .x0 = 0.1, .y0 = -0.2, .gamma_ext = 0.05,
                              .phi_ext = -0.7}),
            SieLens(SieParams{.theta_e = 0.8, .q = 1.0, .phi = 0.0, .gamma_ext = 0.03, .phi_ext = 1.1}),
            SieLens(SieParams{.theta_e = 2.5, .q = 0.3, .phi = 2.0, .x0 = -0.3}),
            SieLens(SieParams{.theta_e = 1.0, .q = 1.0 - 1e-7, .phi = 0.9}),  // series branch
            SieLens::from_lenstronomy(1.7, 0.12, -0.2, 0.05, 0.02, 0.02, -0.04)};
}

TEST(SieLens, HessianIsFiniteDifferenceOfDeflection) {
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> u(-3.0, 3.0);
    const double h = 1e-5;
    double max_err = 0.0;
    for (const SieLens& lens : test_lenses()) {
        for (int k = 0; k < 200; ++k) {
            const double x = u(rng), y = u(rng);
            const double dx = x - lens.params().x0, dy = y - lens.params().y0;
            if (dx * dx + dy * dy < 0.04) continue;  // stay away from the singular centre
            const Vec2 axp = lens.deflection(x + h, y), axm = lens.deflection(x - h, y);
            const Vec2 ayp = lens.deflection(x, y + h), aym = lens.deflection(x, y - h);
            const Hessian2 H = lens.hessian(x, y);
            const double fxx = (axp.x - axm.x) / (2 * h), fyy = (ayp.y - aym.y) / (2 * h);
            const double fxy = (ayp.x - aym.x) / (2 * h), fyx = (axp.y - axm.y) / (2 * h);
            EXPECT_NEAR(H.fxx, fxx, 1e-6) << x << " " << y;
            EXPECT_NEAR(H.fyy, fyy, 1e-6) << x << " " << y;
            EXPECT_NEAR(H.fxy, fxy, 1e-6) << x << " " << y;
            EXPECT_NEAR(H.fxy, fyx, 1e-6) << x << " " << y;  // curl-free deflection
            max_err = std::max({max_err, std::abs(H.fxx - fxx), std::abs(H.fyy - fyy), std::abs(H.fxy - fxy)});
        }
    }
    std::printf("Hessian vs finite differences of alpha: max |error| %.3g\n", max_err);
}

TEST(SieLens, DeflectionIsGradientOfPotential) {
    std::mt19937_64 rng(11);
    std::uniform_real_distribution<double> u(-3.0, 3.0);
    const double h = 1e-5;
    double max_err = 0.0;
    for (const SieLens& lens : test_lenses()) {
        for (int k = 0; k < 200; ++k) {
            const double x = u(rng), y = u(rng);
            const double dx = x - lens.params().x0, dy = y - lens.params().y0;
            if (dx * dx + dy * dy < 0.04) continue;
            const Vec2 a = lens.deflection(x, y);
            const double gx = (lens.potential(x + h, y) - lens.potential(x - h, y)) / (2 * h);
            const double gy = (lens.potential(x, y + h) - lens.potential(x, y - h)) / (2 * h);
            EXPECT_NEAR(a.x, gx, 1e-6) << x << " " << y;
            EXPECT_NEAR(a.y, gy, 1e-6) << x << " " << y;
            max_err = std::max({max_err, std::abs(a.x - gx), std::abs(a.y - gy)});
        }
    }
    std::printf("alpha vs finite-difference gradient of psi: max |error| %.3g\n", max_err);
}

TEST(SieLens, SisConvergenceAndDeflection) {
    const double te = 1.4;
    const SieLens sis(te, 1.0, 0.3);
    for (double r : {0.05, 0.3, 1.0, 1.4, 2.7, 10.0}) {
        for (double t : {0.0, 0.7, 2.0, -2.5}) {
            const double x = r * std::cos(t), y = r * std::sin(t);
            EXPECT_NEAR(sis.convergence(x, y), te / (2 * r), 1e-13);
            const Vec2 a = sis.deflection(x, y);
            EXPECT_NEAR(a.x, te * x / r, 1e-13);
            EXPECT_NEAR(a.y, te * y / r, 1e-13);
            EXPECT_NEAR(sis.potential(x, y), te * r, 1e-13);
            // SIS: kappa = gamma, det(I - H) = 1 - theta_E / r.
            const auto g = sis.shear(x, y);
            EXPECT_NEAR(std::hypot(g.gamma1, g.gamma2), te / (2 * r), 1e-12);
            EXPECT_NEAR(sis.inverse_magnification(x, y), 1.0 - te / r, 1e-12);
        }
    }
}

TEST(SieLens, ContinuousInQNearOne) {
    // Around the series threshold (1 - q^2 = 1e-6) and down to q = 1 the deflection moves smoothly:
    // |d alpha| between neighbouring q is O(1 - q) (SIE vs SIS differs by ~ (1 - q) theta_E / 3).
    const double qs[] = {1.0,           1.0 - 1e-12,   1.0 - 1e-9, 1.0 - 1e-8,
                         1.0 - 4.99e-7, 1.0 - 5.01e-7, 1.0 - 1e-6, 1.0 - 1e-4};
    const std::vector<Vec2> pts = {{1.0, 2.0}, {0.5, 0.0}, {0.0, 0.5}, {-0.3, 0.7}, {0.05, 0.02}, {-1.0, -0.25}};
    for (const Vec2& p : pts) {
        const SieLens sis(1.2, 1.0, 0.6);
        for (double q : qs) {
            const SieLens lens(1.2, q, 0.6);
            const Vec2 a = lens.deflection(p.x, p.y), a0 = sis.deflection(p.x, p.y);
            const double bound = 2.0 * 1.2 * (1.0 - q) + 1e-14;
            EXPECT_LE(std::abs(a.x - a0.x), bound) << "q=" << q;
            EXPECT_LE(std::abs(a.y - a0.y), bound) << "q=" << q;
            EXPECT_LE(std::abs(lens.potential(p.x, p.y) - sis.potential(p.x, p.y)), 10 * bound) << "q=" << q;
        }
        // Across the series/closed-form switch (1 - q^2 = 1e-6) the two branches agree to rounding:
        // q differs by 2e-13 across it, alpha moves by ~ theta_E x 2e-13.
        const double q_switch = std::sqrt(1.0 - 1e-6);
        const Vec2 lo = SieLens(1.2, q_switch + 1e-13, 0.6).deflection(p.x, p.y);  // series
        const Vec2 hi = SieLens(1.2, q_switch - 1e-13, 0.6).deflection(p.x, p.y);  // atan / atanh
        EXPECT_NEAR(lo.x, hi.x, 1e-12);
        EXPECT_NEAR(lo.y, hi.y, 1e-12);
    }
}

TEST(SieLens, ExternalShearAlone) {
    const double gamma = 0.07, phi = 0.35;
    const SieLens lens(SieParams{.theta_e = 0.0, .gamma_ext = gamma, .phi_ext = phi});
    const double g1 = gamma * std::cos(2 * phi), g2 = gamma * std::sin(2 * phi);
    EXPECT_NEAR(lens.external_shear().magnitude(), gamma, 1e-15);
    EXPECT_NEAR(lens.external_shear().angle(), phi, 1e-15);
    for (const Vec2 p : {Vec2{1.0, 2.0}, Vec2{-0.7, 0.3}, Vec2{0.0, 0.0}}) {
        const Vec2 a = lens.deflection(p.x, p.y);
        EXPECT_NEAR(a.x, g1 * p.x + g2 * p.y, 1e-15);
        EXPECT_NEAR(a.y, g2 * p.x - g1 * p.y, 1e-15);
        EXPECT_NEAR(lens.potential(p.x, p.y), 0.5 * g1 * (p.x * p.x - p.y * p.y) + g2 * p.x * p.y, 1e-15);
        EXPECT_NEAR(lens.convergence(p.x, p.y), 0.0, 0.0);
        const auto s = lens.shear(p.x, p.y);
        EXPECT_NEAR(s.gamma1, g1, 1e-15);
        EXPECT_NEAR(s.gamma2, g2, 1e-15);
        EXPECT_NEAR(lens.magnification(p.x, p.y), 1.0 / (1.0 - gamma * gamma), 1e-14);
        const Vec2 b = lens.ray_shoot(p.x, p.y);
        EXPECT_NEAR(b.x, p.x - a.x, 1e-15);
        EXPECT_NEAR(b.y, p.y - a.y, 1e-15);
    }
}

TEST(SieLens, ShearAddsToSieAndIsCentredOnTheLens) {
    const SieParams p{.theta_e = 1.1, .q = 0.75, .phi = -0.4, .x0 = 0.3, .y0 = -0.1, .gamma_ext = 0.04, .phi_ext = 0.9};
    SieParams p_noshear = p;
    p_noshear.gamma_ext = 0.0;
    const SieLens lens(p), sie(p_noshear);
    const ExternalShear sh = ExternalShear::from_polar(0.04, 0.9);
    for (const Vec2 x : {Vec2{1.0, 2.0}, Vec2{-0.7, 0.3}, Vec2{0.31, -0.12}}) {
        const double dx = x.x - p.x0, dy = x.y - p.y0;
        const Vec2 a = lens.deflection(x.x, x.y), a0 = sie.deflection(x.x, x.y), as = sh.deflection(dx, dy);
        EXPECT_NEAR(a.x, a0.x + as.x, 1e-14);
        EXPECT_NEAR(a.y, a0.y + as.y, 1e-14);
        EXPECT_NEAR(lens.potential(x.x, x.y), sie.potential(x.x, x.y) + sh.potential(dx, dy), 1e-14);
        const Hessian2 h = lens.hessian(x.x, x.y), h0 = sie.hessian(x.x, x.y);
        EXPECT_NEAR(h.fxx, h0.fxx + sh.g1, 1e-13);
        EXPECT_NEAR(h.fxy, h0.fxy + sh.g2, 1e-13);
        EXPECT_NEAR(h.fyy, h0.fyy - sh.g1, 1e-13);
        EXPECT_NEAR(lens.magnification(x.x, x.y) * lens.inverse_magnification(x.x, x.y), 1.0, 1e-12);
    }
    // The lens centred at (x0, y0) is the lens at the origin, translated.
    SieParams p0 = p;
    p0.x0 = p0.y0 = 0.0;
    const SieLens origin(p0);
    const Vec2 a = lens.deflection(1.3, 0.4), b = origin.deflection(1.3 - p.x0, 0.4 - p.y0);
    EXPECT_NEAR(a.x, b.x, 1e-14);
    EXPECT_NEAR(a.y, b.y, 1e-14);
}

TEST(SieLens, SieIsothermalIdentities) {
    // det H = 0 for the SIE alone, so det(I - H) = 1 - 2 kappa; |alpha| is constant along rays
    // from the centre (degree-zero deflection); the kappa = 1/2 isodensity has geometric-mean
    // radius theta_E along its axes.
    const double te = 1.6, q = 0.55, phi = 0.8;
    const SieLens lens(te, q, phi);
    for (const Vec2 p : {Vec2{1.0, 2.0}, Vec2{-0.7, 0.3}, Vec2{0.2, -1.5}}) {
        const Hessian2 h = lens.hessian(p.x, p.y);
        EXPECT_NEAR(h.fxx * h.fyy - h.fxy * h.fxy, 0.0, 1e-12);
        EXPECT_NEAR(lens.inverse_magnification(p.x, p.y), 1.0 - 2.0 * lens.convergence(p.x, p.y), 1e-12);
        const Vec2 a1 = lens.deflection(p.x, p.y), a2 = lens.deflection(3 * p.x, 3 * p.y);
        EXPECT_NEAR(a1.x, a2.x, 1e-13);
        EXPECT_NEAR(a1.y, a2.y, 1e-13);
    }
    const double c = std::cos(phi), s = std::sin(phi);
    const double r_major = te / std::sqrt(q), r_minor = te * std::sqrt(q);
    EXPECT_NEAR(lens.convergence(r_major * c, r_major * s), 0.5, 1e-13);
    EXPECT_NEAR(lens.convergence(-r_minor * s, r_minor * c), 0.5, 1e-13);
    EXPECT_NEAR(std::sqrt(r_major * r_minor), te, 1e-13);
}

TEST(SieLens, RayShootRowMatchesPointByPoint) {
    // The SIMD row kernels (1, 2, 4, 8 lanes, as far as this CPU has them) against each other (bit
    // for bit) and the scalar lens equation, for odd counts (tails), offsets, a ray exactly on the
    // lens centre, near-SIS, shear-only and no lens.
    std::vector<SieLens> lenses = test_lenses();
    lenses.push_back(SieLens(SieParams{.theta_e = 0.0, .gamma_ext = 0.05, .phi_ext = 0.2}));
    lenses.push_back(SieLens());
    double max_err = 0.0;
    long exact = 0, total = 0;
    int widths = 0;
    for (const SieLens& lens : lenses) {
        for (const int count : {1, 2, 3, 4, 5, 7, 9, 17, 64, 255, 256}) {
            for (const int first : {0, 1, 13}) {
                const double step = 0.0655, x_origin = lens.params().x0 - 13 * step;  // hits x0 at i = 13 - first
                for (const double y : {lens.params().y0, 0.37, -2.1}) {
                    std::vector<double> bx(count + 1, -7.0), by(count + 1, -7.0);
                    lens.ray_shoot_row(x_origin, step, first, count, y, bx.data(), by.data());
                    EXPECT_EQ(bx[count], -7.0);  // nothing written past count
                    EXPECT_EQ(by[count], -7.0);
                    for (int i = 0; i < count; ++i) {
                        const Vec2 b = lens.ray_shoot(x_origin + (first + i) * step, y);
                        EXPECT_NEAR(bx[i], b.x, 1e-13);
                        EXPECT_NEAR(by[i], b.y, 1e-13);
                        max_err = std::max({max_err, std::abs(bx[i] - b.x), std::abs(by[i] - b.y)});
                        exact += (bx[i] == b.x && by[i] == b.y);
                        ++total;
                    }
                    widths = 0;
                    for (const int lanes : {1, 2, 4, 8}) {
                        std::vector<double> cx(count + 1, -7.0), cy(count + 1, -7.0);
                        if (!dhs::kernels::detail::sie_ray_shoot_row_lanes(lens, lanes, x_origin, step, first, count,
                                                                           y, cx.data(), cy.data()))
                            continue;
                        ++widths;
                        EXPECT_EQ(cx, bx) << lanes << " lanes";
                        EXPECT_EQ(cy, by) << lanes << " lanes";
                    }
                }
            }
        }
    }
    EXPECT_GE(widths, 1);
    EXPECT_FALSE(dhs::kernels::detail::sie_ray_shoot_row_lanes(SieLens(), 3, 0.0, 1.0, 0, 1, 0.0, nullptr, nullptr));
    std::printf("ray_shoot_row: %d kernel widths agree bit for bit; vs ray_shoot max |difference| %.3g, "
                "bit-identical %ld of %ld\n",
                widths, max_err, exact, total);
}

TEST(SieLens, FiniteAtTheCentre) {
    for (const SieLens& lens : test_lenses()) {
        const double x0 = lens.params().x0, y0 = lens.params().y0;
        const Vec2 a = lens.deflection(x0, y0);
        EXPECT_EQ(a.x, 0.0);
        EXPECT_EQ(a.y, 0.0);
        EXPECT_TRUE(std::isfinite(lens.convergence(x0, y0)));
        EXPECT_TRUE(std::isfinite(lens.potential(x0, y0)));
        const Hessian2 h = lens.hessian(x0, y0);
        EXPECT_FALSE(std::isnan(h.fxx + h.fxy + h.fyy));
    }
}

TEST(SieLens, NoLensIsIdentity) {
    const SieLens none;
    const Vec2 b = none.ray_shoot(1.25, -0.5);
    EXPECT_EQ(b.x, 1.25);
    EXPECT_EQ(b.y, -0.5);
    EXPECT_EQ(none.magnification(0.3, 0.2), 1.0);
    EXPECT_EQ(SieLens(0.0, 0.6, 0.2).magnification(0.3, 0.2), 1.0);
}

TEST(SieLens, RejectsInvalidParameters) {
    EXPECT_THROW(SieLens(-1.0, 0.5, 0.0), std::invalid_argument);
    EXPECT_THROW(SieLens(1.0, 0.0, 0.0), std::invalid_argument);
    EXPECT_THROW(SieLens(1.0, 1.2, 0.0), std::invalid_argument);
    EXPECT_THROW(SieLens(1.0, std::nan(""), 0.0), std::invalid_argument);
    EXPECT_THROW(SieLens(SieParams{.theta_e = 1.0, .gamma_ext = -0.1}), std::invalid_argument);
    EXPECT_THROW(SieLens::from_lenstronomy(1.0, 0.8, 0.7), std::invalid_argument);
}

}  // namespace
