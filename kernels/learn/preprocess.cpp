// The stamp path of SPEC Stage 5 in plain C++: deterministic augmentation draws (splitmix64 hash
// chains), counter-based Gaussian pixel noise from invvar, `raw_robust` normalisation (median and
// 1.4826 MAD of the outer annulus), the 8 dihedral transforms and the (shifted) central crop.
// No libtorch here: data ranks run it on CPU threads.
#include "kernels/learn/preprocess.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

namespace dhs::learn {
namespace {

// splitmix64 (Steele, Lea and Flood 2014): a bijective 64-bit mixer, the step of every hash chain here.
constexpr std::uint64_t splitmix64(std::uint64_t x) noexcept {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// A uniform in the open interval (0, 1) from the top 53 bits of a hash.
inline double open_unit(std::uint64_t h) noexcept {
    return (static_cast<double>(h >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

// A standard normal deviate for pixel `index` of the stamp keyed `key` (Box-Muller on two
// uniforms from two hashes of (key, index)): the same for any thread or call order.
inline double counter_gaussian(std::uint64_t key, std::uint64_t index) noexcept {
    const std::uint64_t h = splitmix64(key ^ splitmix64(index));
    const double u1 = open_unit(splitmix64(h ^ 0x6a09e667f3bcc909ULL));
    const double u2 = open_unit(splitmix64(h ^ 0xbb67ae8584caa73bULL));
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

// Order-preserving 32-bit keys of finite floats (negative values bit-flipped, positive ones
// with the sign bit set), and back.
inline std::uint32_t order_key(float f) noexcept {
    std::uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
inline float from_order_key(std::uint32_t k) noexcept {
    const std::uint32_t u = (k & 0x80000000u) ? (k & 0x7fffffffu) : ~k;
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

// The k-th smallest (0-based) of n finite floats by radix selection on their order keys: a
// histogram of the top 11 bits finds the bucket that holds rank k, its keys are kept, and two
// more passes (11 and 10 bits) pin the value. Three light O(n) passes at most, against
// introselect's data-dependent partitioning: about 3x faster on sky pixels. Exact: the same
// order statistic as std::nth_element. `keys` and `kept` are workspaces.
float select_kth(const float* values, std::size_t n, std::size_t k, std::vector<std::uint32_t>& keys,
                 std::vector<std::uint32_t>& kept) {
    // Pass 1: the top-11-bit histogram straight from the values (no key is stored); four
    // interleaved histograms break the store-to-load chain of repeated buckets (sky pixels
    // share a few). Then only the keys of the bucket that holds rank k are kept.
    std::uint32_t hist4[4][2048] = {};
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; ++j) ++hist4[j][order_key(values[i + j]) >> 21];
    for (; i < n; ++i) ++hist4[0][order_key(values[i]) >> 21];
    std::uint32_t hist[2048];
    for (int b = 0; b < 2048; ++b) hist[b] = hist4[0][b] + hist4[1][b] + hist4[2][b] + hist4[3][b];
    std::uint32_t top = 0;
    while (k >= hist[top]) k -= hist[top++];
    keys.resize(hist[top]);
    std::size_t kept_n = 0;
    for (std::size_t q = 0; q < n; ++q) {
        const std::uint32_t key = order_key(values[q]);
        keys[kept_n] = key;  // written always, kept only when in the bucket: no branch
        kept_n += (key >> 21) == top ? 1 : 0;
        if (kept_n == keys.size()) break;
    }
    std::uint32_t* cur = keys.data();
    std::size_t count = kept_n;
    constexpr int shifts[3] = {21, 10, 0};
    constexpr std::uint32_t masks[3] = {0x7ffu, 0x7ffu, 0x3ffu};
    for (int pass = 1; pass < 3; ++pass) {
        const int sh = shifts[pass];
        const std::uint32_t mask = masks[pass];
        std::fill(hist, hist + mask + 1, 0u);
        for (std::size_t q = 0; q < count; ++q) ++hist[(cur[q] >> sh) & mask];
        std::uint32_t bucket = 0;
        while (k >= hist[bucket]) k -= hist[bucket++];
        if (hist[bucket] == count) continue;  // every key shares these bits: nothing to drop
        kept.resize(hist[bucket]);
        std::size_t m = 0;
        for (std::size_t q = 0; q < count; ++q)
            if (((cur[q] >> sh) & mask) == bucket) kept[m++] = cur[q];
        keys.swap(kept);  // the kept keys become the current set; the old buffer the next workspace
        cur = keys.data();
        count = m;
    }
    return from_order_key(cur[0]);
}

// The median of values[0, n) (all finite), numpy's convention: the mean of the two middle
// values when n is even (the lower one is the largest value below the upper's rank).
double median_of(const float* values, std::size_t n, std::vector<std::uint32_t>& keys,
                 std::vector<std::uint32_t>& kept) {
    const std::size_t mid = n / 2;
    const float upper = select_kth(values, n, mid, keys, kept);
    if (n % 2 == 1) return upper;
    // Branch-free in 8 independent lanes (the compiler vectorises them): half the comparisons
    // go each way, so a branch would mispredict, and one running max would be a serial chain.
    constexpr float neg_inf = -std::numeric_limits<float>::infinity();
    constexpr std::size_t lanes = 8;
    std::uint32_t below_l[lanes] = {};
    float lower_l[lanes] = {neg_inf, neg_inf, neg_inf, neg_inf, neg_inf, neg_inf, neg_inf, neg_inf};
    std::size_t i = 0;
    for (; i + lanes <= n; i += lanes)
        for (std::size_t j = 0; j < lanes; ++j) {
            const float v = values[i + j];
            const float c = v < upper ? v : neg_inf;  // selects, not branches
            below_l[j] += v < upper ? 1u : 0u;
            lower_l[j] = c > lower_l[j] ? c : lower_l[j];
        }
    for (; i < n; ++i) {
        const float c = values[i] < upper ? values[i] : neg_inf;
        below_l[0] += values[i] < upper ? 1u : 0u;
        lower_l[0] = c > lower_l[0] ? c : lower_l[0];
    }
    std::uint32_t below = 0;
    float lower = neg_inf;
    for (std::size_t j = 0; j < lanes; ++j) {
        below += below_l[j];
        lower = std::max(lower, lower_l[j]);
    }
    if (below < mid) lower = upper;  // rank mid - 1 is a copy of the upper value
    return 0.5 * (static_cast<double>(lower) + static_cast<double>(upper));
}

// The median (m) and scale (s = 1.4826 MAD) of the finite pixels of one h x w band at radius
// >= spec.outer_radius_px from its centre, with `values` (h * w floats) as workspace. The outer
// pixels of each row are the two runs outside the inner disc, so no distance is computed per
// pixel. @returns false when no pixel qualifies or s is 0 or not finite.
bool robust_stats(const float* band, int h, int w, const PreprocessSpec& spec, float* values, double& m, double& s) {
    const double cx = 0.5 * (w - 1), cy = 0.5 * (h - 1), r2_min = spec.outer_radius_px * spec.outer_radius_px;
    std::size_t n = 0;
    for (int y = 0; y < h; ++y) {
        const float* row = band + static_cast<std::size_t>(y) * w;
        const double dy2 = (y - cy) * (y - cy);
        // Inside the disc: (x - cx)^2 < r2_min - dy2, i.e. x in (cx - d, cx + d).
        int x0 = w, x1 = w;  // [x0, x1) is the inner run; empty when the row misses the disc
        if (dy2 < r2_min) {
            const double d = std::sqrt(r2_min - dy2);
            x0 = static_cast<int>(std::floor(cx - d)) + 1;
            x1 = static_cast<int>(std::ceil(cx + d));
            // Exact edges with the same comparison as the definition (no rounding surprises).
            while (x0 > 0 && (x0 - 1 - cx) * (x0 - 1 - cx) + dy2 < r2_min) --x0;
            while (x0 < w && (x0 - cx) * (x0 - cx) + dy2 >= r2_min) ++x0;
            while (x1 < w && (x1 - cx) * (x1 - cx) + dy2 < r2_min) ++x1;
            while (x1 > x0 && (x1 - 1 - cx) * (x1 - 1 - cx) + dy2 >= r2_min) --x1;
            x0 = std::clamp(x0, 0, w);
            x1 = std::clamp(x1, x0, w);
        }
        const int a_end = dy2 < r2_min ? x0 : w;
        for (int x = 0; x < a_end; ++x)
            if (std::isfinite(row[x])) values[n++] = row[x];
        if (dy2 < r2_min)
            for (int x = x1; x < w; ++x)
                if (std::isfinite(row[x])) values[n++] = row[x];
    }
    if (n == 0) return false;
    thread_local std::vector<std::uint32_t> keys, kept;
    m = median_of(values, n, keys, kept);
    const float mf = static_cast<float>(m);
    if (static_cast<double>(mf) == m) {
        for (std::size_t i = 0; i < n; ++i) values[i] = std::abs(values[i] - mf);
    } else {
        for (std::size_t i = 0; i < n; ++i) values[i] = static_cast<float>(std::abs(values[i] - m));
    }
    s = 1.4826 * median_of(values, n, keys, kept);
    return s > 0.0 && std::isfinite(s);
}

// raw_robust on one band with `values` (h * w floats) as the median's workspace.
bool raw_robust_with(float* band, int h, int w, const PreprocessSpec& spec, float* values) {
    const std::size_t npix = static_cast<std::size_t>(h) * w;
    double m = 0, s = 0;
    if (!robust_stats(band, h, w, spec, values, m, s)) {
        std::fill(band, band + npix, 0.0f);
        return false;
    }
    const double inv_s = 1.0 / s;
    for (std::size_t i = 0; i < npix; ++i) {
        const float v = band[i];
        band[i] = std::isfinite(v) ? static_cast<float>(std::clamp((v - m) * inv_s, -spec.clip, spec.clip)) : 0.0f;
    }
    return true;
}

void check_shapes(std::span<const float> image, std::span<const float> invvar, int c, int h, int w,
                  const PreprocessSpec& pre, bool noise, std::span<float> out) {
    const auto fail = [](const std::string& what) { throw std::invalid_argument("prepare_stamp: " + what); };
    if (c < 1 || h < 1 || w < 1) fail("c, h and w must be >= 1");
    if (h != w) fail("the stamp must be square (h " + std::to_string(h) + ", w " + std::to_string(w) + ")");
    if (pre.crop < 1 || pre.crop > h) fail("crop " + std::to_string(pre.crop) + " must be in [1, " + std::to_string(h) + "]");
    const std::size_t npix = static_cast<std::size_t>(c) * h * w;
    if (image.size() != npix) fail("image has " + std::to_string(image.size()) + " floats, expected c*h*w = " + std::to_string(npix));
    if (noise && invvar.size() != npix) fail("noise_scale > 0 needs invvar of c*h*w floats, got " + std::to_string(invvar.size()));
    const std::size_t nout = static_cast<std::size_t>(c) * pre.crop * pre.crop;
    if (out.size() != nout) fail("out has " + std::to_string(out.size()) + " floats, expected c*crop*crop = " + std::to_string(nout));
}

}  // namespace

std::pair<int, int> dihedral_source(int dihedral, int n, int y, int x) noexcept {
    if (dihedral >= 4) x = n - 1 - x;
    switch (dihedral % 4) {
        case 0: return {y, x};
        case 1: return {x, n - 1 - y};
        case 2: return {n - 1 - y, n - 1 - x};
        default: return {n - 1 - x, y};
    }
}

AugmentDraw draw_augment(const AugmentSpec& spec, std::uint64_t seed, std::int64_t epoch, std::int64_t row) {
    AugmentDraw draw;
    if (!spec.enabled) return draw;
    std::uint64_t h = splitmix64(seed);
    h = splitmix64(h ^ static_cast<std::uint64_t>(epoch));
    h = splitmix64(h ^ static_cast<std::uint64_t>(row));
    const std::uint64_t h_dihedral = splitmix64(h ^ 1), h_x = splitmix64(h ^ 2), h_y = splitmix64(h ^ 3);
    draw.dihedral = spec.rotations ? static_cast<int>(h_dihedral % 8) : 0;
    if (spec.max_shift_px > 0) {
        const auto span = static_cast<std::uint64_t>(2 * spec.max_shift_px + 1);
        draw.shift_x = static_cast<int>(h_x % span) - spec.max_shift_px;
        draw.shift_y = static_cast<int>(h_y % span) - spec.max_shift_px;
    }
    draw.noise_key = splitmix64(h ^ 4);
    return draw;
}

bool raw_robust_band(float* band, int h, int w, const PreprocessSpec& spec, std::vector<float>& scratch) {
    scratch.resize(static_cast<std::size_t>(h) * w);
    return raw_robust_with(band, h, w, spec, scratch.data());
}

int prepare_stamp(std::span<const float> image, std::span<const float> invvar, int c, int h, int w,
                  const PreprocessSpec& pre, const AugmentSpec& aug, const AugmentDraw& draw, std::span<float> out,
                  std::vector<float>& scratch) {
    const bool noise = aug.enabled && aug.noise_scale > 0.0;
    check_shapes(image, invvar, c, h, w, pre, noise, out);
    const std::size_t band_pix = static_cast<std::size_t>(h) * w, npix = band_pix * c;
    scratch.resize(npix + band_pix);
    float* work = scratch.data();
    float* values = work + npix;

    // 1. Noise on the raw pixels: sigma = noise_scale / sqrt(invvar) where invvar > 0.
    const float* base = image.data();
    if (noise) {
        std::memcpy(work, image.data(), npix * sizeof(float));
        base = work;
        for (std::size_t i = 0; i < npix; ++i) {
            const float iv = invvar[i];
            if (std::isfinite(iv) && iv > 0.0f)
                work[i] = static_cast<float>(work[i] + aug.noise_scale / std::sqrt(static_cast<double>(iv)) *
                                                           counter_gaussian(draw.noise_key, i));
        }
    }
    // 2. raw_robust statistics per band on the full stamp; 3-4. the dihedral transform of the
    // full square and the crop window (central offset plus the draw's shift, clamped inside the
    // stamp): only the crop's pixels are normalised, read straight through the transform.
    int zeroed = 0;
    const int dihedral = aug.enabled ? ((draw.dihedral % 8) + 8) % 8 : 0;
    const int off = (h - pre.crop) / 2, max_off = h - pre.crop;
    const int oy = std::clamp(off + (aug.enabled ? draw.shift_y : 0), 0, max_off);
    const int ox = std::clamp(off + (aug.enabled ? draw.shift_x : 0), 0, max_off);
    const std::size_t out_band = static_cast<std::size_t>(pre.crop) * pre.crop;
    for (int b = 0; b < c; ++b) {
        const float* src = base + b * band_pix;
        float* dst = out.data() + static_cast<std::size_t>(b) * out_band;
        double m = 0, sd = 0;
        if (!robust_stats(src, h, w, pre, values, m, sd)) {
            std::fill(dst, dst + out_band, 0.0f);
            ++zeroed;
            continue;
        }
        const double inv_s = 1.0 / sd, clip = pre.clip;
        const auto norm = [&](float v) {
            return std::isfinite(v) ? static_cast<float>(std::clamp((v - m) * inv_s, -clip, clip)) : 0.0f;
        };
        if (dihedral == 0) {
            for (int y = 0; y < pre.crop; ++y) {
                const float* s_row = src + static_cast<std::size_t>(oy + y) * w + ox;
                float* d_row = dst + static_cast<std::size_t>(y) * pre.crop;
                for (int x = 0; x < pre.crop; ++x) d_row[x] = norm(s_row[x]);
            }
            continue;
        }
        // The transform is affine in (y, x): the source index steps by +-1 or +-w per output step.
        const auto index = [&](int y, int x) {
            const auto [sy, sx] = dihedral_source(dihedral, h, oy + y, ox + x);
            return static_cast<std::ptrdiff_t>(sy) * w + sx;
        };
        const std::ptrdiff_t i0 = index(0, 0), step_x = index(0, 1) - i0, step_y = index(1, 0) - i0;
        for (int y = 0; y < pre.crop; ++y) {
            const float* s_row = src + i0 + y * step_y;
            float* d_row = dst + static_cast<std::size_t>(y) * pre.crop;
            for (int x = 0; x < pre.crop; ++x) d_row[x] = norm(s_row[x * step_x]);
        }
    }
    return zeroed;
}

}  // namespace dhs::learn
