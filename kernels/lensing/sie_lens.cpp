// SIE + external shear lens: construction (validation, lenstronomy e1/e2 conversion, precomputed
// trigonometry and normalisation) and the SIMD row kernels of SieLens::ray_shoot_row (the lane-
// generic per-point maths of sie_lens.hpp on 2, 4 or 8 lanes). Units: arcsec, radians.
#include "kernels/lensing/sie_lens.hpp"

#include <stdexcept>
#include <string>

// Row kernels: GCC/Clang vector extensions of 2 doubles (SSE2 on x86-64, NEON on AArch64) and, on
// x86-64, of 4 and 8 doubles in functions compiled for AVX2 and AVX-512F, chosen at run time.
#if defined(__GNUC__)
#define DHS_SIE_VECTOR 1
#if defined(__x86_64__)
#define DHS_SIE_AVX2 1
#endif
#endif

namespace dhs::kernels {

#if DHS_SIE_VECTOR
namespace detail {

typedef double V2d __attribute__((vector_size(16)));
typedef unsigned long long V2u __attribute__((vector_size(16)));
typedef double V4d __attribute__((vector_size(32)));
typedef unsigned long long V4u __attribute__((vector_size(32)));
typedef double V8d __attribute__((vector_size(64)));
typedef unsigned long long V8u __attribute__((vector_size(64)));
// Unaligned, aliasing views for stores into double arrays.
typedef double V2dStore __attribute__((vector_size(16), aligned(8), may_alias));
typedef double V4dStore __attribute__((vector_size(32), aligned(8), may_alias));
typedef double V8dStore __attribute__((vector_size(64), aligned(8), may_alias));

// Vector sqrt, correctly rounded like std::sqrt: SSE2's sqrtpd on pairs of lanes on x86-64 (no
// errno branch per lane), std::sqrt per lane elsewhere.
template <class V, int W>
[[gnu::always_inline]] inline void sqrt_lanes(const V& x, V& out) {
#if defined(__SSE2__)
    for (int k = 0; k < W; k += 2) {
        const V2d r = __builtin_ia32_sqrtpd(V2d{x[k], x[k + 1]});
        out[k] = r[0];
        out[k + 1] = r[1];
    }
#else
    for (int k = 0; k < W; ++k) out[k] = std::sqrt(x[k]);
#endif
}

template <>
struct LaneOps<V2d> {
    using bits = V2u;
    [[gnu::always_inline]] static void sqrt(const V2d& x, V2d& out) { sqrt_lanes<V2d, 2>(x, out); }
    [[gnu::always_inline]] static void store(double* p, const V2d& v) { *reinterpret_cast<V2dStore*>(p) = v; }
};
template <>
struct LaneOps<V4d> {
    using bits = V4u;
    [[gnu::always_inline]] static void sqrt(const V4d& x, V4d& out) { sqrt_lanes<V4d, 4>(x, out); }
    [[gnu::always_inline]] static void store(double* p, const V4d& v) { *reinterpret_cast<V4dStore*>(p) = v; }
};
template <>
struct LaneOps<V8d> {
    using bits = V8u;
    [[gnu::always_inline]] static void sqrt(const V8d& x, V8d& out) { sqrt_lanes<V8d, 8>(x, out); }
    [[gnu::always_inline]] static void store(double* p, const V8d& v) { *reinterpret_cast<V8dStore*>(p) = v; }
};

}  // namespace detail
#endif

namespace {

void require(bool ok, const char* what) {
    if (!ok) throw std::invalid_argument(std::string("SieLens: ") + what);
}

// beta = x - (alpha_sie + shear) in the order of SieLens::deflection / ray_shoot, on W lanes of V
// (W = 1: V = double). x_i = x_origin + (first + i) step.
template <class V, int W>
[[gnu::always_inline]] inline void shoot_row(const SieLens& lens, double x_origin, double step, int first, int count,
                                             double y, double* beta_x, double* beta_y) {
    DHS_SIE_NO_FP_CONTRACT
    const double x0 = lens.params().x0, dy = y - lens.params().y0;
    const double g1 = lens.external_shear().g1, g2 = lens.external_shear().g2;
    V lane{}, dyv{};
    for (int k = 0; k < W; ++k) {
        if constexpr (W > 1) {
            lane[k] = k;
            dyv[k] = dy;
        } else {
            dyv = dy;
        }
    }
    for (int i = 0; i < count; i += W) {
        const V x = x_origin + (lane + static_cast<double>(first + i)) * step;
        const V dx = x - x0;
        V ax, ay;
        lens.sie_deflection_lanes<V>(dx, dyv, ax, ay);
        const V bx = x - ((ax + g1 * dx) + g2 * dy);
        const V by = y - ((ay + g2 * dx) - g1 * dy);
        if constexpr (W > 1) {
            if (count - i >= W) {
                detail::LaneOps<V>::store(beta_x + i, bx);
                detail::LaneOps<V>::store(beta_y + i, by);
            } else {
                for (int k = 0; k < count - i; ++k) {
                    beta_x[i + k] = bx[k];
                    beta_y[i + k] = by[k];
                }
            }
        } else {
            beta_x[i] = bx;
            beta_y[i] = by;
        }
    }
}

// The kernels at each width. fp-contract=off: no FMA contraction (AVX-512F implies FMA, and so may
// the build's -march), so every width rounds alike and renders do not depend on the CPU.
#if defined(__GNUC__) && !defined(__clang__)
#define DHS_NO_CONTRACT optimize("fp-contract=off")
#else
#define DHS_NO_CONTRACT
#endif

__attribute__((DHS_NO_CONTRACT)) void shoot_row_scalar(const SieLens& lens, double x_origin, double step, int first,
                                                       int count, double y, double* beta_x, double* beta_y) {
    shoot_row<double, 1>(lens, x_origin, step, first, count, y, beta_x, beta_y);
}

#if DHS_SIE_VECTOR
__attribute__((DHS_NO_CONTRACT)) void shoot_row_v2(const SieLens& lens, double x_origin, double step, int first,
                                                   int count, double y, double* beta_x, double* beta_y) {
    shoot_row<detail::V2d, 2>(lens, x_origin, step, first, count, y, beta_x, beta_y);
}
#endif

#if DHS_SIE_AVX2
__attribute__((target("avx2"), DHS_NO_CONTRACT)) void shoot_row_avx2(
    const SieLens& lens, double x_origin, double step, int first, int count, double y, double* beta_x,
    double* beta_y) {
    shoot_row<detail::V4d, 4>(lens, x_origin, step, first, count, y, beta_x, beta_y);
}

__attribute__((target("avx512f"), DHS_NO_CONTRACT)) void shoot_row_avx512(
    const SieLens& lens, double x_origin, double step, int first, int count, double y, double* beta_x,
    double* beta_y) {
    shoot_row<detail::V8d, 8>(lens, x_origin, step, first, count, y, beta_x, beta_y);
}
#endif

// Widest kernel this CPU runs: 8 (AVX-512F), 4 (AVX2), 2 (vector extensions) or 1 (scalar).
int widest_lanes() {
#if DHS_SIE_AVX2
    static const int lanes = __builtin_cpu_supports("avx512f") ? 8 : __builtin_cpu_supports("avx2") ? 4 : 2;
    return lanes;
#elif DHS_SIE_VECTOR
    return 2;
#else
    return 1;
#endif
}

}  // namespace

SieLens::SieLens(const SieParams& p) : p_(p) { init(); }

SieLens::SieLens(double theta_e, double q, double phi, double x0, double y0)
    : SieLens(SieParams{.theta_e = theta_e, .q = q, .phi = phi, .x0 = x0, .y0 = y0}) {}

SieLens SieLens::from_lenstronomy(double theta_e, double e1, double e2, double x0, double y0,
                                  double gamma1_ext, double gamma2_ext) {
    require(std::isfinite(e1) && std::isfinite(e2) && std::isfinite(gamma1_ext) && std::isfinite(gamma2_ext),
            "non-finite ellipticity or shear");
    const double e = std::hypot(e1, e2);
    require(e < 1.0, "ellipticity |e| must be < 1");
    // lenstronomy param_util.ellipticity2phi_q: phi = atan2(e2, e1)/2, q = (1 - e)/(1 + e).
    SieParams p{.theta_e = theta_e,
                .q = (1.0 - e) / (1.0 + e),
                .phi = 0.5 * std::atan2(e2, e1),
                .x0 = x0,
                .y0 = y0,
                .gamma_ext = std::hypot(gamma1_ext, gamma2_ext),
                .phi_ext = 0.5 * std::atan2(gamma2_ext, gamma1_ext)};
    SieLens lens(p);
    lens.shear_ = ExternalShear{gamma1_ext, gamma2_ext};  // exact components, no round trip
    return lens;
}

void SieLens::ray_shoot_row(double x_origin, double step, int first, int count, double y, double* beta_x,
                            double* beta_y) const {
    detail::sie_ray_shoot_row_lanes(*this, widest_lanes(), x_origin, step, first, count, y, beta_x, beta_y);
}

bool detail::sie_ray_shoot_row_lanes(const SieLens& lens, int lanes, double x_origin, double step, int first,
                                     int count, double y, double* beta_x, double* beta_y) {
    if (lanes > widest_lanes()) return false;
    switch (lanes) {
#if DHS_SIE_AVX2
        case 8:
            shoot_row_avx512(lens, x_origin, step, first, count, y, beta_x, beta_y);
            return true;
        case 4:
            shoot_row_avx2(lens, x_origin, step, first, count, y, beta_x, beta_y);
            return true;
#endif
#if DHS_SIE_VECTOR
        case 2:
            shoot_row_v2(lens, x_origin, step, first, count, y, beta_x, beta_y);
            return true;
#endif
        case 1:
            shoot_row_scalar(lens, x_origin, step, first, count, y, beta_x, beta_y);
            return true;
        default:
            return false;
    }
}

double SieLens::e1() const { return (1.0 - p_.q) / (1.0 + p_.q) * std::cos(2.0 * p_.phi); }

double SieLens::e2() const { return (1.0 - p_.q) / (1.0 + p_.q) * std::sin(2.0 * p_.phi); }

void SieLens::init() {
    require(std::isfinite(p_.theta_e) && p_.theta_e >= 0.0, "theta_e must be finite and >= 0");
    require(std::isfinite(p_.q) && p_.q > 0.0 && p_.q <= 1.0, "q must be in (0, 1]");
    require(std::isfinite(p_.phi) && std::isfinite(p_.x0) && std::isfinite(p_.y0) && std::isfinite(p_.phi_ext),
            "non-finite angle or centre");
    require(std::isfinite(p_.gamma_ext) && p_.gamma_ext >= 0.0, "gamma_ext must be finite and >= 0");
    c_ = std::cos(p_.phi);
    s_ = std::sin(p_.phi);
    q2_ = p_.q * p_.q;
    b_ = p_.theta_e * std::sqrt(p_.q);
    s2_ = (1.0 - p_.q) * (1.0 + p_.q);  // no cancellation near q = 1
    sq_ = std::sqrt(s2_);
    near_sis_ = s2_ < 1e-6;
    f_ = near_sis_ ? b_ : b_ / sq_;
    shear_ = ExternalShear::from_polar(p_.gamma_ext, p_.phi_ext);
}

}  // namespace dhs::kernels
