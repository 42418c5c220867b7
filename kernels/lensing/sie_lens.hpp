// Singular isothermal ellipsoid (SIE) plus external shear: the lens model of the injection stage
// (SPEC Stage 3). Deflection, Hessian, convergence, shear, potential, magnification and the lens
// equation, following lenstronomy 1.14.2's SIE (== EPL with gamma = 2; Kormann et al. 1994,
// Keeton 2001). Pure numerics: no I/O, no MPI. The per-point maths is inline; the ray-shooting hot
// path is SieLens::ray_shoot_row, the same code on SIMD lanes (sie_lens.cpp). atan and atanh are
// inline rational/polynomial approximations (Cephes, fdlibm) good to 2.3e-16 and 5e-16 relative.
//
// Units: angles on the sky in arcsec (positions, theta_E, deflections, potential in arcsec^2),
// orientation angles in radians counter-clockwise from +x; kappa, gamma, magnification are pure
// numbers. Positions are in one flat "lens frame"; the lens centre is (x0, y0) in it.
//
// SIE (no core), in the frame rotated by phi so that the major axis lies along x':
//   x' = c dx + s dy, y' = -s dx + c dy, dx = x - x0, dy = y - y0, c = cos phi, s = sin phi,
//   psi = sqrt(q^2 x'^2 + y'^2),  b = theta_E sqrt(q),  s_q = sqrt(1 - q^2),
//   kappa = b / (2 psi),
//   alpha_x' = (b / s_q) atan(s_q x' / psi),   alpha_y' = (b / s_q) atanh(s_q y' / psi),
//   potential = dx alpha_x + dy alpha_y (the potential is homogeneous of degree one),
//   Hessian = (b / psi) (dy, -dx)(dy, -dx)^T / (dx^2 + dy^2) (degree one: H (dx, dy) = 0).
// theta_E is lenstronomy's intermediate-axis (product-averaged) Einstein radius: b = theta_E sqrt(q)
// is the normalisation that reproduces lenstronomy's EPL (its theta_E / sqrt((1 + q^2) / (2 q))
// times sqrt((1 + q^2) / 2)). As det H = 0, det(I - H) = 1 - 2 kappa: the (tangential) critical
// curve is the isodensity kappa = 1/2, an ellipse of semi-axes theta_E / sqrt(q) (along x') and
// theta_E sqrt(q) (along y'), geometric mean theta_E, area pi theta_E^2. Near q = 1 (1 - q^2 <
// 1e-6) the atan/atanh ratios are replaced by their Taylor series to O((1 - q^2)^2), exact SIS at q = 1:
// alpha = theta_E (dx, dy) / r, kappa = theta_E / (2 r).
// External shear (centred on the lens centre): g1 = gamma cos 2 phi_ext, g2 = gamma sin 2 phi_ext,
//   alpha = (g1 dx + g2 dy, g2 dx - g1 dy), potential = g1 (dx^2 - dy^2) / 2 + g2 dx dy.
// (lenstronomy's SHEAR is centred on its own ra_0, dec_0, by default the origin: the difference is
// a constant deflection, i.e. a shift of the source plane, and a linear term in the potential.)
// At the exact lens centre (direction undefined) the deflection and the SIE part of the Hessian are
// set to 0 and kappa is huge (~ theta_E 1e300) but finite.
#pragma once

#include <algorithm>
#include <cmath>

// Clang contracts a*b+c into FMAs where the target has them unless told otherwise; the lane code
// must round identically on every SIMD width (GCC: see sie_lens.cpp's fp-contract=off kernels).
#if defined(__clang__)
#define DHS_SIE_NO_FP_CONTRACT _Pragma("clang fp contract(off)")
#else
#define DHS_SIE_NO_FP_CONTRACT
#endif

namespace dhs::kernels {

namespace detail {

// Lane-generic maths: V is double or a GCC vector of doubles (sie_lens.cpp's batch kernels);
// LaneOps<V> gives the unsigned 64-bit integer type of the same shape, and sqrt. Arguments by
// reference (no vector ABI issues); selects are `mask ? a : b`, which works for both. With the
// same sequence of IEEE operations, a vector lane gives bit for bit what V = double gives.
template <class V>
struct LaneOps;  // specialised for double here and for GCC vectors in sie_lens.cpp
template <>
struct LaneOps<double> {
    using bits = unsigned long long;
    static void sqrt(const double& x, double& out) { out = std::sqrt(x); }
};

/// @brief atan(x), max relative error 2.3e-16 vs std::atan: Cephes atan.c (S. L. Moshier) range
/// reduction to |z| <= 0.66 via offsets pi/4 and pi/2 and its rational x + x^3 P(x^2) / Q(x^2).
template <class V>
[[gnu::always_inline]] inline void lanes_atan(const V& x, V& out) {
    DHS_SIE_NO_FP_CONTRACT
    constexpr double kP0 = -8.750608600031904122785e-1, kP1 = -1.615753718733365076637e1,
                     kP2 = -7.500855792314704667340e1, kP3 = -1.228866684490136173410e2,
                     kP4 = -6.485021904942025371773e1;
    constexpr double kQ0 = 2.485846490142306297962e1, kQ1 = 1.650270098316988542046e2,
                     kQ2 = 4.328810604912902668951e2, kQ3 = 4.853903996359136964868e2,
                     kQ4 = 1.945506571482613964425e2;
    constexpr double kMoreBits = 6.123233995736765886130e-17;  // pi/2 - double(pi/2)
    const V zero{};
    const V a = x < 0.0 ? -x : x;
    const auto big = a > 2.414213562373095;  // tan(3 pi / 8); bool or a vector mask
    const auto mid = a > 0.66;
    const V num = big ? zero - 1.0 : (mid ? a - 1.0 : a);
    const V den = big ? a : (mid ? a + 1.0 : zero + 1.0);
    const V y0 = big ? zero + 1.5707963267948966 : (mid ? zero + 0.7853981633974483 : zero);
    const V extra = big ? zero + kMoreBits : (mid ? zero + 0.5 * kMoreBits : zero);
    const V z = num / den;
    const V zz = z * z;
    const V p = (((kP0 * zz + kP1) * zz + kP2) * zz + kP3) * zz + kP4;
    const V q = ((((zz + kQ0) * zz + kQ1) * zz + kQ2) * zz + kQ3) * zz + kQ4;
    const V r = y0 + ((z + z * zz * (p / q)) + extra);
    out = x < 0.0 ? -r : r;
}

/// @brief log1p(y) for y >= 0, max relative error ~2e-16: fdlibm/musl log (mantissa in
/// [sqrt(1/2), sqrt(2)), s = f / (2 + f), degree-7 polynomial in s^2), with f = y exactly when
/// 1 + y < sqrt(2) (no cancellation for small y).
template <class V>
[[gnu::always_inline]] inline void lanes_log1p_nonneg(const V& y, V& out) {
    DHS_SIE_NO_FP_CONTRACT
    using U = typename LaneOps<V>::bits;
    constexpr double kLn2Hi = 6.93147180369123816490e-01, kLn2Lo = 1.90821492927058770002e-10;
    constexpr double kLg1 = 6.666666666666735130e-01, kLg2 = 3.999999999940941908e-01,
                     kLg3 = 2.857142874366239149e-01, kLg4 = 2.222219843214978396e-01,
                     kLg5 = 1.818357216161805012e-01, kLg6 = 1.531383769920937332e-01,
                     kLg7 = 1.479819860511658591e-01;
    const V u = 1.0 + y;
    U bits;
    __builtin_memcpy(&bits, &u, sizeof bits);
    bits += 0x00095f6200000000ULL;  // (0x3ff00000 - 0x3fe6a09e) << 32: k counts from sqrt(2)
    const U kbits = (bits >> 52) | 0x4330000000000000ULL;  // 2^52 + biased exponent
    bits = (bits & 0x000fffffffffffffULL) + 0x3fe6a09e00000000ULL;  // mantissa in [sqrt(1/2), sqrt(2))
    V m, kd;
    __builtin_memcpy(&m, &bits, sizeof m);
    __builtin_memcpy(&kd, &kbits, sizeof kd);
    kd = (kd - 4503599627370496.0) - 1023.0;  // the exponent k as a double
    const V f = kd == 0.0 ? y : m - 1.0;
    const V s = f / (2.0 + f);
    const V z = s * s, w = z * z;
    const V t1 = w * (kLg2 + w * (kLg4 + w * kLg6));
    const V t2 = z * (kLg1 + w * (kLg3 + w * (kLg5 + w * kLg7)));
    const V hfsq = 0.5 * f * f;
    out = s * (hfsq + (t2 + t1)) + kd * kLn2Lo - hfsq + f + kd * kLn2Hi;
}

/// @brief atanh(x) for |x| < 1 = sign(x) log1p(2|x| / (1 - |x|)) / 2, max relative error 5e-16.
template <class V>
[[gnu::always_inline]] inline void lanes_atanh(const V& x, V& out) {
    DHS_SIE_NO_FP_CONTRACT
    const V a = x < 0.0 ? -x : x;
    V r;
    lanes_log1p_nonneg<V>((a + a) / (1.0 - a), r);
    out = x < 0.0 ? -0.5 * r : 0.5 * r;
}

/// @brief Scalar atan(x) (the lane-generic code at V = double).
inline double fast_atan(double x) {
    double r;
    lanes_atan(x, r);
    return r;
}

/// @brief Scalar atanh(x), |x| < 1 (the lane-generic code at V = double).
inline double fast_atanh(double x) {
    double r;
    lanes_atanh(x, r);
    return r;
}

}  // namespace detail

/// @brief A 2-vector in the lens frame: a position or a deflection, arcsec.
struct Vec2 {
    double x = 0.0, y = 0.0;
};

/// @brief Second derivatives of the lensing potential (dimensionless): f_xx, f_xy, f_yy.
struct Hessian2 {
    double fxx = 0.0, fxy = 0.0, fyy = 0.0;
};

/// @brief Shear components (dimensionless): gamma1 = (f_xx - f_yy)/2, gamma2 = f_xy.
struct Shear2 {
    double gamma1 = 0.0, gamma2 = 0.0;
};

/// @brief Parameters of an SIE + external shear lens. Angles in arcsec and radians.
struct SieParams {
    double theta_e = 0.0;    ///< intermediate-axis Einstein radius, arcsec (0: no SIE)
    double q = 1.0;          ///< axis ratio b/a of the mass, 0 < q <= 1
    double phi = 0.0;        ///< position angle of the major axis, radians ccw from +x
    double x0 = 0.0;         ///< lens centre x, arcsec
    double y0 = 0.0;         ///< lens centre y, arcsec
    double gamma_ext = 0.0;  ///< external shear magnitude, >= 0
    double phi_ext = 0.0;    ///< external shear angle, radians ccw from +x
};

/// @brief External shear: g1 = gamma cos 2phi_ext, g2 = gamma sin 2phi_ext (lenstronomy
/// SHEAR convention), acting on offsets (dx, dy) in arcsec from its centre.
struct ExternalShear {
    double g1 = 0.0, g2 = 0.0;

    /// @brief From magnitude and angle (radians ccw from +x).
    static ExternalShear from_polar(double gamma, double phi) {
        return {gamma * std::cos(2.0 * phi), gamma * std::sin(2.0 * phi)};
    }
    /// @brief Shear magnitude sqrt(g1^2 + g2^2).
    double magnitude() const { return std::hypot(g1, g2); }
    /// @brief Shear angle, radians in (-pi/2, pi/2]: atan2(g2, g1) / 2.
    double angle() const { return 0.5 * std::atan2(g2, g1); }
    /// @brief Deflection (g1 dx + g2 dy, g2 dx - g1 dy), arcsec.
    Vec2 deflection(double dx, double dy) const { return {g1 * dx + g2 * dy, g2 * dx - g1 * dy}; }
    /// @brief Hessian (g1, g2, -g1), position-independent.
    Hessian2 hessian() const { return {g1, g2, -g1}; }
    /// @brief Potential g1 (dx^2 - dy^2) / 2 + g2 dx dy, arcsec^2.
    double potential(double dx, double dy) const { return 0.5 * g1 * (dx * dx - dy * dy) + g2 * dx * dy; }
};

/// @brief SIE + external shear lens (see the file comment for the formulas and conventions).
/// Immutable after construction; trigonometry of the angles is precomputed. Default: no lens.
class SieLens {
public:
    /// @brief No lens: theta_E = 0, no shear (ray_shoot is the identity).
    SieLens() = default;
    /// @brief From parameters; throws std::invalid_argument for theta_e < 0, q outside (0, 1],
    /// gamma_ext < 0 or a non-finite value.
    explicit SieLens(const SieParams& p);
    /// @brief SIE at (x0, y0) from theta_E (arcsec), axis ratio q and angle phi (radians ccw), no shear.
    SieLens(double theta_e, double q, double phi, double x0 = 0.0, double y0 = 0.0);
    /// @brief From lenstronomy's SIE keywords: theta_E (arcsec), e1, e2 with e = (1-q)/(1+q),
    /// e1 = e cos 2phi, e2 = e sin 2phi (needs e < 1), and SHEAR gamma1, gamma2 (about x0, y0).
    static SieLens from_lenstronomy(double theta_e, double e1, double e2, double x0 = 0.0, double y0 = 0.0,
                                    double gamma1_ext = 0.0, double gamma2_ext = 0.0);

    /// @brief The parameters (q and phi as given, or as derived from e1, e2).
    const SieParams& params() const { return p_; }
    /// @brief lenstronomy ellipticity e1 = e cos 2phi, e = (1-q)/(1+q).
    double e1() const;
    /// @brief lenstronomy ellipticity e2 = e sin 2phi.
    double e2() const;
    /// @brief The external shear part.
    const ExternalShear& external_shear() const { return shear_; }

    /// @brief Lane-generic SIE deflection (ax, ay) at offsets (dx, dy) from the centre, arcsec:
    /// the one implementation behind every deflection here. V is double or a GCC vector of
    /// doubles (the batch kernels of sie_lens.cpp); all lanes follow the scalar code exactly.
    template <class V>
    [[gnu::always_inline]] void sie_deflection_lanes(const V& dx, const V& dy, V& ax, V& ay) const {
        DHS_SIE_NO_FP_CONTRACT
        const V zero{};
        const V xp = c_ * dx + s_ * dy;
        const V yp = c_ * dy - s_ * dx;
        V psi;
        detail::LaneOps<V>::sqrt(q2_ * xp * xp + yp * yp, psi);
        psi = psi > kTiny ? psi : zero + kTiny;
        V axp, ayp;
        if (near_sis_) {  // atan(s u)/s and atanh(s v)/s to O(s^4), s^2 = 1 - q^2 < 1e-6
            const V u = xp / psi, v = yp / psi;
            const V u2 = s2_ * u * u, v2 = s2_ * v * v;
            axp = b_ * u * (1.0 - u2 * (1.0 / 3.0 - 0.2 * u2));
            ayp = b_ * v * (1.0 + v2 * (1.0 / 3.0 + 0.2 * v2));
        } else {
            const V k = sq_ / psi;
            detail::lanes_atan<V>(k * xp, axp);
            detail::lanes_atanh<V>(k * yp, ayp);
            axp = f_ * axp;
            ayp = f_ * ayp;
        }
        ax = c_ * axp - s_ * ayp;
        ay = s_ * axp + c_ * ayp;
    }

    /// @brief SIE-only deflection at offset (dx, dy) from the centre, arcsec.
    Vec2 sie_deflection(double dx, double dy) const {
        Vec2 a;
        sie_deflection_lanes<double>(dx, dy, a.x, a.y);
        return a;
    }

    /// @brief Total deflection (SIE + external shear) at (x, y), arcsec.
    Vec2 deflection(double x, double y) const {
        const double dx = x - p_.x0, dy = y - p_.y0;
        const Vec2 a = sie_deflection(dx, dy);
        return {a.x + shear_.g1 * dx + shear_.g2 * dy, a.y + shear_.g2 * dx - shear_.g1 * dy};
    }

    /// @brief Lens equation: the source-plane position (beta_x, beta_y) = (x - alpha_x, y - alpha_y).
    Vec2 ray_shoot(double x, double y) const {
        const Vec2 a = deflection(x, y);
        return {x - a.x, y - a.y};
    }

    /// @brief Lens equation along a row of rays, the ray-shooting hot path: for i in [0, count),
    /// x_i = x_origin + (first + i) step and (beta_x[i], beta_y[i]) = ray_shoot(x_i, y), arcsec.
    /// SIMD over 8, 4 or 2 lanes (AVX-512F, AVX2 or SSE2/NEON, picked at run time); every width
    /// gives ray_shoot's result bit for bit when the scalar code is compiled without FMA contraction
    /// (the default x86-64 target). No allocation; beta_x and beta_y hold count doubles.
    void ray_shoot_row(double x_origin, double step, int first, int count, double y, double* beta_x,
                       double* beta_y) const;

    /// @brief SIE convergence kappa = b / (2 psi) at (x, y) (the shear adds none).
    double convergence(double x, double y) const {
        const double dx = x - p_.x0, dy = y - p_.y0;
        const double xp = c_ * dx + s_ * dy, yp = -s_ * dx + c_ * dy;
        return 0.5 * b_ / std::max(std::sqrt(q2_ * xp * xp + yp * yp), kTiny);
    }

    /// @brief Hessian of the total potential (SIE + shear) at (x, y).
    Hessian2 hessian(double x, double y) const {
        const double dx = x - p_.x0, dy = y - p_.y0;
        const double k2 = 2.0 * convergence(x, y);
        const double inv_r = 1.0 / std::max(std::sqrt(dx * dx + dy * dy), kTiny);
        const double ex = dx * inv_r, ey = dy * inv_r;  // unit vector; (0, 0) at the centre
        return {k2 * ey * ey + shear_.g1, -k2 * ex * ey + shear_.g2, k2 * ex * ex - shear_.g1};
    }

    /// @brief Total shear (gamma1, gamma2) = ((f_xx - f_yy)/2, f_xy) at (x, y).
    Shear2 shear(double x, double y) const {
        const Hessian2 h = hessian(x, y);
        return {0.5 * (h.fxx - h.fyy), h.fxy};
    }

    /// @brief Lensing potential (SIE + shear) at (x, y), arcsec^2; zero at the lens centre.
    double potential(double x, double y) const {
        const double dx = x - p_.x0, dy = y - p_.y0;
        const Vec2 a = sie_deflection(dx, dy);
        return dx * a.x + dy * a.y + shear_.potential(dx, dy);
    }

    /// @brief det(I - H) = (1 - f_xx)(1 - f_yy) - f_xy^2 = (1 - kappa)^2 - gamma^2 (signed).
    double inverse_magnification(double x, double y) const {
        const Hessian2 h = hessian(x, y);
        return (1.0 - h.fxx) * (1.0 - h.fyy) - h.fxy * h.fxy;
    }

    /// @brief Signed point magnification 1 / det(I - H) (infinite on a critical curve).
    double magnification(double x, double y) const { return 1.0 / inverse_magnification(x, y); }

private:
    void init();

    static constexpr double kTiny = 1e-300;  // floor of radii, arcsec: keeps b / psi finite

    SieParams p_{};
    ExternalShear shear_{};
    double c_ = 1.0, s_ = 0.0;  // cos phi, sin phi
    double q2_ = 1.0;           // q^2
    double b_ = 0.0;            // theta_E sqrt(q)
    double s2_ = 0.0;           // 1 - q^2
    double sq_ = 0.0;           // sqrt(1 - q^2)
    double f_ = 0.0;            // b / sqrt(1 - q^2)
    bool near_sis_ = true;      // 1 - q^2 < 1e-6: series branch
};

namespace detail {

/// @brief SieLens::ray_shoot_row with a chosen kernel width (tests and benchmarks): lanes 1
/// (scalar), 2 (vector extensions), 4 (AVX2), 8 (AVX-512F). Returns false, writing nothing, when
/// this build or CPU lacks that kernel.
bool sie_ray_shoot_row_lanes(const SieLens& lens, int lanes, double x_origin, double step, int first, int count,
                             double y, double* beta_x, double* beta_y);

}  // namespace detail

}  // namespace dhs::kernels
