// The fast renderer of (lensed) Sersic sources declared in ray_shooting.hpp: float32 SIMD rays
// (16, 8 or 4 lanes: AVX-512F, AVX2, SSE2/NEON, chosen at run time; every width gives the same
// bits), one ray shoot per sub-pixel shared by all components and bands, Sersic profiles
// truncated where the flux beyond is below kSersicTruncatedFlux of the total, and stamp blocks
// whose rays provably all land beyond every component's truncation radius skipped (the
// deflection's variation over a block is bounded by the SIE Hessian, so the skip changes no bit
// of the output). Units: arcsec, nanomaggies; see ray_shooting.hpp.
#include "kernels/lensing/ray_shooting.hpp"

#include <boost/math/special_functions/gamma.hpp>

#include <algorithm>
#include <array>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

#if defined(__GNUC__) && !defined(__clang__)
#define DHS_FLOAT_VECTOR 1
#if defined(__x86_64__)
#define DHS_FLOAT_X86 1
#include <immintrin.h>
#endif
#pragma GCC optimize("fp-contract=off")  // no FMA contraction: every lane width rounds alike
#elif defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

namespace dhs::kernels {
namespace {

// Parameters of the lane code (detail_float_lanes.inc), float, positions relative to the stamp
// centre.
struct LensF {
    int mode = 0;  // 0: identity, 1: near-SIS series, 2: SIE
    float lx = 0, ly = 0, c = 1, s = 0, q2 = 1, sq = 0, f = 0, half_f = 0, s2 = 0, g1 = 0, g2 = 0;
};
struct CompF {
    int root = 0;  // 0: general n, 1: n = 1/2, 2: n = 1, 3: n = 2, 4: n = 4
    float sx = 0, sy = 0;
    float c_re = 1, s_re = 0, c_qre = 1, s_qre = 0;  // cos phi / r_e, sin phi / r_e, and / (q r_e)
    float s2_lo = 1e-30f, s2_hi = FLT_MAX;         // clamp of s2 before the general-n power
    float half_inv_n_log2e = 0.72134752f;  // log2(e) / 2n: t = 2^(this x ln s2) = s2^(1/2n)
    float minus_bn_log2e = -1.44269504f;   // -b_n log2(e): exp(-b_n t) = 2^(this x t)
    float cut_s2 = FLT_MAX;                // (r_cut / r_e)^2
};
struct BlockArgs {
    const LensF* lens;
    const CompF* comps;
    const int* active;  // indices into comps
    int nactive;
    float x0, y0;  // first ray of the block (relative to the stamp centre), arcsec
    float ds;      // ray pitch, arcsec
    int os, px, py;
    float* acc;    // nactive x stride scratch
    int stride;
    float* pix;    // out: nactive x py x px ray sums
};

namespace w1 {
using V = float;
using I = std::int32_t;
constexpr int kW = 1;
struct Ops {
    static V sqrt(V x) { return std::sqrt(x); }
    static V fma(V a, V b, V c) { return std::fma(a, b, c); }
    static V min(V a, V b) { return a < b ? a : b; }  // as minps / maxps for non-NaN operands
    static V max(V a, V b) { return a > b ? a : b; }
    static bool all_greater(V a, float b) { return a > b; }
    static I bits(V x) {
        I i;
        std::memcpy(&i, &x, sizeof i);
        return i;
    }
    static V from_bits(I i) {
        V x;
        std::memcpy(&x, &i, sizeof x);
        return x;
    }
    static I to_int(V x) { return static_cast<I>(x); }
    static V to_float(I i) { return static_cast<V>(i); }
    static V iota() { return 0.0f; }
    static V load(const float* p) { return *p; }
    static void store(float* p, V v) { *p = v; }
};
#include "kernels/rendering/detail_float_lanes.inc"
void block(const BlockArgs& a) { render_block(a); }
}  // namespace w1

#if DHS_FLOAT_VECTOR
// GCC vector extensions; unaligned, aliasing views for loads and stores into float arrays.
typedef float V4f __attribute__((vector_size(16)));
typedef int V4i __attribute__((vector_size(16)));
typedef float V4fu __attribute__((vector_size(16), aligned(4), may_alias));
typedef float V8f __attribute__((vector_size(32)));
typedef int V8i __attribute__((vector_size(32)));
typedef float V8fu __attribute__((vector_size(32), aligned(4), may_alias));
typedef float V16f __attribute__((vector_size(64)));
typedef int V16i __attribute__((vector_size(64)));
typedef float V16fu __attribute__((vector_size(64), aligned(4), may_alias));

namespace w4 {
using V = V4f;
using I = V4i;
constexpr int kW = 4;
struct Ops {
    static V sqrt(V x) {
#if DHS_FLOAT_X86
        return (V)_mm_sqrt_ps((__m128)x);
#else
        for (int k = 0; k < kW; ++k) x[k] = std::sqrt(x[k]);
        return x;
#endif
    }
    // Per lane (SSE2 has no FMA; this width runs only on CPUs without AVX2 + FMA).
    static V fma(V a, V b, V c) {
        for (int k = 0; k < kW; ++k) a[k] = std::fma(a[k], b[k], c[k]);
        return a;
    }
    static V min(V a, V b) { return a < b ? a : b; }
    static V max(V a, V b) { return a > b ? a : b; }
    static bool all_greater(V a, float b) {
        const I m = a > b;
        return (m[0] & m[1] & m[2] & m[3]) != 0;
    }
    static I bits(V x) { return (I)x; }
    static V from_bits(I i) { return (V)i; }
    static I to_int(V x) { return __builtin_convertvector(x, I); }
    static V to_float(I i) { return __builtin_convertvector(i, V); }
    static V iota() { return V{0, 1, 2, 3}; }
    static V load(const float* p) { return *reinterpret_cast<const V4fu*>(p); }
    static void store(float* p, V v) { *reinterpret_cast<V4fu*>(p) = v; }
};
#include "kernels/rendering/detail_float_lanes.inc"
void block(const BlockArgs& a) { render_block(a); }
}  // namespace w4

#if DHS_FLOAT_X86
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace w8 {
using V = V8f;
using I = V8i;
constexpr int kW = 8;
struct Ops {
    static V sqrt(V x) { return (V)_mm256_sqrt_ps((__m256)x); }
    static V fma(V a, V b, V c) { return (V)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c); }
    static V min(V a, V b) { return (V)_mm256_min_ps((__m256)a, (__m256)b); }
    static V max(V a, V b) { return (V)_mm256_max_ps((__m256)a, (__m256)b); }
    static bool all_greater(V a, float b) {
        return _mm256_movemask_ps(_mm256_cmp_ps((__m256)a, _mm256_set1_ps(b), _CMP_GT_OQ)) == 0xff;
    }
    static I bits(V x) { return (I)x; }
    static V from_bits(I i) { return (V)i; }
    static I to_int(V x) { return __builtin_convertvector(x, I); }
    static V to_float(I i) { return __builtin_convertvector(i, V); }
    static V iota() { return V{0, 1, 2, 3, 4, 5, 6, 7}; }
    static V load(const float* p) { return *reinterpret_cast<const V8fu*>(p); }
    static void store(float* p, V v) { *reinterpret_cast<V8fu*>(p) = v; }
};
#include "kernels/rendering/detail_float_lanes.inc"
void block(const BlockArgs& a) { render_block(a); }
}  // namespace w8
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f")
namespace w16 {
using V = V16f;
using I = V16i;
constexpr int kW = 16;
struct Ops {
    // The unmasked _mm512_sqrt/min/max_ps pass an undefined operand that trips GCC 12's
    // -Wmaybe-uninitialized: the all-lanes masked forms instead.
    static constexpr __mmask16 kAll = 0xffff;
    static V sqrt(V x) { return (V)_mm512_mask_sqrt_ps((__m512)x, kAll, (__m512)x); }
    static V fma(V a, V b, V c) { return (V)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)c); }
    static V min(V a, V b) { return (V)_mm512_mask_min_ps((__m512)a, kAll, (__m512)a, (__m512)b); }
    static V max(V a, V b) { return (V)_mm512_mask_max_ps((__m512)a, kAll, (__m512)a, (__m512)b); }
    static bool all_greater(V a, float b) {
        return _mm512_cmp_ps_mask((__m512)a, _mm512_set1_ps(b), _CMP_GT_OQ) == kAll;
    }
    static I bits(V x) { return (I)x; }
    static V from_bits(I i) { return (V)i; }
    static I to_int(V x) { return __builtin_convertvector(x, I); }
    static V to_float(I i) { return __builtin_convertvector(i, V); }
    static V iota() { return V{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}; }
    static V load(const float* p) { return *reinterpret_cast<const V16fu*>(p); }
    static void store(float* p, V v) { *reinterpret_cast<V16fu*>(p) = v; }
};
#include "kernels/rendering/detail_float_lanes.inc"
void block(const BlockArgs& a) { render_block(a); }
}  // namespace w16
#pragma GCC pop_options
#endif  // DHS_FLOAT_X86
#endif  // DHS_FLOAT_VECTOR

using BlockFn = void (*)(const BlockArgs&);

int widest() {
#if DHS_FLOAT_X86
    static const int lanes = __builtin_cpu_supports("avx512f")                                ? 16
                             : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 8
                                                                                               : 4;
    return lanes;
#elif DHS_FLOAT_VECTOR
    return 4;
#else
    return 1;
#endif
}

BlockFn block_fn(int lanes) {
    switch (lanes) {
#if DHS_FLOAT_X86
        case 16: return w16::block;
        case 8: return w8::block;
#endif
#if DHS_FLOAT_VECTOR
        case 4: return w4::block;
#endif
        case 1: return w1::block;
        default: return nullptr;
    }
}

constexpr int kMaxComponents = 8;  // per pass; more components take more passes
constexpr int kMaxRowRays = 256;   // rays per block sub-row

// Pixels per block side: about 32 rays per block sub-row, a multiple of 16 where possible.
int block_side(int os) {
    const int t0 = std::max(1, (32 + os - 1) / os);
    for (int t = t0; t <= 16 && t * os <= kMaxRowRays; ++t)
        if ((t * os) % 16 == 0) return t;
    return std::max(1, std::min(t0, kMaxRowRays / os));
}

struct CompInfo {
    CompF f;
    double cx = 0, cy = 0;  // centre relative to the stamp centre, arcsec
    double cut = 0;         // truncation radius (major-axis elliptical radius), arcsec; inf: none
    double c = 1, s = 0, q = 1;  // cos, sin of the major-axis angle; axis ratio
    double norm = 0;        // I_e e^{b_n} x ray area: flux of one ray at lane value 1
};

CompInfo comp_info(const SersicProfile& p, double ox, double oy, double ray_area) {
    CompInfo ci;
    ci.cx = p.x0() - ox;
    ci.cy = p.y0() - oy;
    CompF& f = ci.f;
    const double n = p.n();
    f.root = n == 0.5 ? 1 : n == 1.0 ? 2 : n == 2.0 ? 3 : n == 4.0 ? 4 : 0;
    f.sx = static_cast<float>(ci.cx);
    f.sy = static_cast<float>(ci.cy);
    const double c = std::cos(p.phi()), s = std::sin(p.phi());
    ci.c = c;
    ci.s = s;
    ci.q = p.q();
    f.c_re = static_cast<float>(c / p.r_e());
    f.s_re = static_cast<float>(s / p.r_e());
    f.c_qre = static_cast<float>(c / (p.q() * p.r_e()));
    f.s_qre = static_cast<float>(s / (p.q() * p.r_e()));
    constexpr double kLog2e = 1.4426950408889634;
    f.half_inv_n_log2e = static_cast<float>(0.5 / n * kLog2e);
    f.minus_bn_log2e = static_cast<float>(-p.b_n() * kLog2e);
    ci.cut = sersic_truncation_radius(p);
    const double cut_s2 = std::pow(ci.cut / p.r_e(), 2.0);
    f.cut_s2 = std::isfinite(cut_s2) && cut_s2 < 1e30 ? static_cast<float>(cut_s2) : FLT_MAX;
    if (f.cut_s2 == FLT_MAX) ci.cut = std::numeric_limits<double>::infinity();
    // 2^(k ln s2) with k = log2(e) / 2n must stay within [-120, 120] (lane_exp2's range).
    const double k = 0.5 / n * kLog2e;
    f.s2_lo = static_cast<float>(std::max(1e-30, std::exp(-120.0 / k)));
    f.s2_hi = static_cast<float>(std::min({1e30, std::exp(120.0 / k), static_cast<double>(f.cut_s2)}));
    ci.norm = p.intensity_at_re() * std::exp(p.b_n()) * ray_area;
    return ci;
}

// The lens in lane form, relative to the stamp centre (ox, oy); null: identity.
LensF lens_lanes(const SieLens* lens, double ox, double oy) {
    LensF L;
    if (lens == nullptr) return L;
    const SieParams& p = lens->params();
    const ExternalShear& sh = lens->external_shear();
    if (p.theta_e == 0.0 && sh.g1 == 0.0 && sh.g2 == 0.0) return L;  // no lens: the identity
    const double b = p.theta_e * std::sqrt(p.q), s2 = (1.0 - p.q) * (1.0 + p.q), sq = std::sqrt(s2);
    L.mode = s2 < 1e-3 ? 1 : 2;  // the series of detail_float_lanes.inc lane_lens
    L.lx = static_cast<float>(p.x0 - ox);
    L.ly = static_cast<float>(p.y0 - oy);
    L.c = static_cast<float>(std::cos(p.phi));
    L.s = static_cast<float>(std::sin(p.phi));
    L.q2 = static_cast<float>(p.q * p.q);
    L.sq = static_cast<float>(sq);
    L.s2 = static_cast<float>(s2);
    L.f = static_cast<float>(L.mode == 1 ? b : b / sq);
    L.half_f = static_cast<float>(L.mode == 1 ? 0.5 * b : 0.5 * b / sq);
    L.g1 = static_cast<float>(sh.g1);
    L.g2 = static_cast<float>(sh.g2);
    return L;
}

// Largest |alpha_SIE| anywhere: |x'/psi| <= 1/q, |y'/psi| <= 1, so |alpha_x'| <= f atan(sq/q),
// |alpha_y'| <= f atanh(sq) (-> b for the SIS); with 1% to spare for the near-SIS series.
double max_sie_deflection(const SieParams& p) {
    const double b = p.theta_e * std::sqrt(p.q), s2 = (1.0 - p.q) * (1.0 + p.q), sq = std::sqrt(s2);
    if (s2 < 1e-3) return 1.01 * b * std::hypot(1.0 / p.q, 1.0 + s2);
    return 1.01 * (b / sq) * std::hypot(std::atan(sq / p.q), std::atanh(sq));
}

void check_args(const StampGeometry& g, int oversample) { detail::check_render_args(g, oversample, 0, false); }

}  // namespace

double sersic_truncation_radius(const SersicProfile& p) {
    // The flux beyond r_ell is F Q(2n, b (r_ell / r_e)^(1/n)) for any b > 0 (sersic.hpp).
    const double t = boost::math::gamma_q_inv(2.0 * p.n(), kSersicTruncatedFlux);
    return p.r_e() * std::pow(t / p.b_n(), p.n());
}

namespace detail {

int sersic_render_widest_lanes() { return widest(); }

std::vector<double> render_sersic_components(const SieLens* lens, std::span<const SersicProfile> components,
                                             std::span<const double> band_weights, const StampGeometry& g,
                                             int oversample, std::span<float> out, const SersicRenderOptions& opt) {
    check_args(g, oversample);
    const std::size_t nc = components.size();
    if (nc == 0 || band_weights.size() % nc != 0 || band_weights.size() == 0)
        throw std::invalid_argument("render: band_weights must hold components x bands values (at least one)");
    const std::size_t nb = band_weights.size() / nc;
    const std::size_t npix = g.size();
    if (out.size() != nb * npix) throw std::invalid_argument("render: output must hold bands x width x height floats");
    const int lanes = opt.lanes == 0 ? widest() : opt.lanes;
    const BlockFn kernel = block_fn(lanes);
    if (kernel == nullptr || lanes > widest())
        throw std::invalid_argument("render: no " + std::to_string(lanes) + "-lane kernel on this build or CPU");

    const int os = oversample;
    const double ps = g.pixel_scale, ds = ps / os;
    const double ox = g.center_x, oy = g.center_y;  // lane positions are relative to the stamp centre
    const LensF lf = lens_lanes(lens, ox, oy);
    const bool lensed = lf.mode != 0;
    const double gamma = lensed ? lens->external_shear().magnitude() : 0.0;
    const double amax = lensed ? max_sie_deflection(lens->params()) : 0.0;
    const double bq = lensed ? lens->params().theta_e * std::sqrt(lens->params().q) / lens->params().q : 0.0;
    std::vector<CompInfo> info;
    info.reserve(nc);
    for (const auto& c : components) info.push_back(comp_info(c, ox, oy, ds * ds));

    std::fill(out.begin(), out.end(), 0.0f);
    std::vector<double> totals(nb, 0.0);
    const int side = block_side(os);
    const int stride = (side * os + 32 + 31) / 32 * 32;
    std::array<float, kMaxComponents*(kMaxRowRays + 64)> acc{};
    std::array<float, kMaxComponents * 16 * 16> pix{};
    std::array<CompF, kMaxComponents> cf{};
    std::array<int, kMaxComponents> active{};
    const double half_w = 0.5 * (g.width - 1), half_h = 0.5 * (g.height - 1);
    const double first = (0.5 / os - 0.5) * ps;  // first ray from its pixel centre

    for (std::size_t c0 = 0; c0 < nc; c0 += kMaxComponents) {
        const int ng = static_cast<int>(std::min<std::size_t>(kMaxComponents, nc - c0));
        for (int k = 0; k < ng; ++k) cf[static_cast<std::size_t>(k)] = info[c0 + static_cast<std::size_t>(k)].f;
        for (int by = 0; by < g.height; by += side) {
            const int py = std::min(side, g.height - by);
            for (int bx = 0; bx < g.width; bx += side) {
                const int px = std::min(side, g.width - bx);
                // The block's pixel area relative to the stamp centre, and where its rays land.
                const double X0 = (bx - half_w - 0.5) * ps, X1 = (bx + px - half_w - 0.5) * ps;
                const double Y0 = (by - half_h - 0.5) * ps, Y1 = (by + py - half_h - 0.5) * ps;
                const double xc = 0.5 * (X0 + X1), yc = 0.5 * (Y0 + Y1);
                const double hd = 0.5 * std::hypot(X1 - X0, Y1 - Y0);
                double bcx = xc, bcy = yc, reach = hd;
                if (lensed) {
                    const Vec2 b = lens->ray_shoot(xc + ox, yc + oy);
                    bcx = b.x - ox;
                    bcy = b.y - oy;
                    const double lx = lens->params().x0 - ox, ly = lens->params().y0 - oy;
                    const double dx = std::max({X0 - lx, 0.0, lx - X1}), dy = std::max({Y0 - ly, 0.0, ly - Y1});
                    const double rmin = std::hypot(dx, dy);
                    const double sie = rmin > 0.0 ? std::min(2.0 * amax, bq / rmin * hd) : 2.0 * amax;
                    reach = (1.0 + gamma) * hd + sie;
                }
                int nactive = 0;
                for (int k = 0; k < ng; ++k) {
                    // Every ray lands within `reach` of (bcx, bcy), where the elliptical radius r_ell
                    // is at least max(distance, r_ell(centre) - reach / q) (|grad r_ell| <= 1 / q).
                    const CompInfo& ci = info[c0 + static_cast<std::size_t>(k)];
                    const double ux = bcx - ci.cx, uy = bcy - ci.cy;
                    const double d = std::hypot(ux, uy);
                    const double re = std::hypot(ci.c * ux + ci.s * uy, (ci.c * uy - ci.s * ux) / ci.q);
                    const double lower = std::max(d - reach, re - reach / ci.q);
                    const double margin = 1e-3 + 1e-5 * (re + reach / ci.q + std::hypot(bcx, bcy));
                    if (!opt.skip_blocks || !(lower - margin > ci.cut)) active[static_cast<std::size_t>(nactive++)] = k;
                }
                if (nactive == 0) continue;
                const BlockArgs a{.lens = &lf,
                                  .comps = cf.data(),
                                  .active = active.data(),
                                  .nactive = nactive,
                                  .x0 = static_cast<float>((bx - half_w) * ps + first),
                                  .y0 = static_cast<float>((by - half_h) * ps + first),
                                  .ds = static_cast<float>(ds),
                                  .os = os,
                                  .px = px,
                                  .py = py,
                                  .acc = acc.data(),
                                  .stride = stride,
                                  .pix = pix.data()};
                kernel(a);
                for (int j = 0; j < py; ++j) {
                    for (int i = 0; i < px; ++i) {
                        const std::size_t idx = static_cast<std::size_t>(by + j) * g.width + (bx + i);
                        for (std::size_t b = 0; b < nb; ++b) {
                            double v = 0.0;
                            for (int k = 0; k < nactive; ++k) {
                                const std::size_t c = c0 + static_cast<std::size_t>(active[static_cast<std::size_t>(k)]);
                                v += band_weights[c * nb + b] * info[c].norm *
                                     pix[static_cast<std::size_t>((k * py + j) * px + i)];
                            }
                            out[b * npix + idx] += static_cast<float>(v);
                            totals[b] += v;
                        }
                    }
                }
            }
        }
    }
    return totals;
}

}  // namespace detail

double render_lensed(const SieLens& lens, const SersicProfile& src, const StampGeometry& g, int oversample,
                     std::span<float> out_flux_per_pixel) {
    detail::check_render_args(g, oversample, out_flux_per_pixel.size(), true);
    const double w = 1.0;
    return detail::render_sersic_components(&lens, {&src, 1}, {&w, 1}, g, oversample, out_flux_per_pixel)[0];
}

double render_unlensed(const SersicProfile& src, const StampGeometry& g, int oversample,
                       std::span<float> out_flux_per_pixel) {
    detail::check_render_args(g, oversample, out_flux_per_pixel.size(), true);
    const double w = 1.0;
    return detail::render_sersic_components(nullptr, {&src, 1}, {&w, 1}, g, oversample, out_flux_per_pixel)[0];
}

LensedFlux lensed_flux_and_magnification(const SieLens& lens, const SersicProfile& src, const StampGeometry& g,
                                         int oversample, std::span<float> out_lensed) {
    detail::check_render_args(g, oversample, out_lensed.size(), !out_lensed.empty());
    std::vector<float> scratch;
    if (out_lensed.empty()) {
        scratch.resize(g.size());
        out_lensed = scratch;
    }
    LensedFlux r;
    r.lensed_flux = render_lensed(lens, src, g, oversample, out_lensed);
    std::vector<float> unlensed(g.size());
    r.unlensed_flux = render_unlensed(src, g, oversample, unlensed);
    r.magnification = r.unlensed_flux != 0.0 ? r.lensed_flux / r.unlensed_flux
                                             : std::numeric_limits<double>::quiet_NaN();
    return r;
}

std::vector<double> render_lensed_bands(const SieLens& lens, std::span<const SersicProfile> components,
                                        std::span<const double> band_weights, const StampGeometry& g, int oversample,
                                        std::span<float> out) {
    return detail::render_sersic_components(&lens, components, band_weights, g, oversample, out);
}

std::vector<double> render_unlensed_bands(std::span<const SersicProfile> components,
                                          std::span<const double> band_weights, const StampGeometry& g,
                                          int oversample, std::span<float> out) {
    return detail::render_sersic_components(nullptr, components, band_weights, g, oversample, out);
}

}  // namespace dhs::kernels
