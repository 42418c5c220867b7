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

// The median of values[0, n) (reordered), numpy's convention: the mean of the two middle
// values when n is even.
double median_in_place(float* values, std::size_t n) {
    const std::size_t mid = n / 2;
    std::nth_element(values, values + mid, values + n);
    const double upper = values[mid];
    if (n % 2 == 1) return upper;
    const double lower = *std::max_element(values, values + mid);
    return 0.5 * (lower + upper);
}

// raw_robust on one band with `values` (h * w floats) as the median's workspace.
bool raw_robust_with(float* band, int h, int w, const PreprocessSpec& spec, float* values) {
    const double cx = 0.5 * (w - 1), cy = 0.5 * (h - 1), r2_min = spec.outer_radius_px * spec.outer_radius_px;
    std::size_t n = 0;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const double dx = x - cx, dy = y - cy;
            const float v = band[static_cast<std::size_t>(y) * w + x];
            if (dx * dx + dy * dy >= r2_min && std::isfinite(v)) values[n++] = v;
        }
    const std::size_t npix = static_cast<std::size_t>(h) * w;
    if (n == 0) {
        std::fill(band, band + npix, 0.0f);
        return false;
    }
    const double m = median_in_place(values, n);
    for (std::size_t i = 0; i < n; ++i) values[i] = static_cast<float>(std::abs(values[i] - m));
    const double s = 1.4826 * median_in_place(values, n);
    if (!(s > 0.0) || !std::isfinite(s)) {
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
    std::memcpy(work, image.data(), npix * sizeof(float));
    if (noise) {
        for (std::size_t i = 0; i < npix; ++i) {
            const float iv = invvar[i];
            if (std::isfinite(iv) && iv > 0.0f)
                work[i] = static_cast<float>(work[i] + aug.noise_scale / std::sqrt(static_cast<double>(iv)) *
                                                           counter_gaussian(draw.noise_key, i));
        }
    }
    // 2. raw_robust per band on the full stamp.
    int zeroed = 0;
    for (int b = 0; b < c; ++b)
        if (!raw_robust_with(work + b * band_pix, h, w, pre, values)) ++zeroed;

    // 3-4. The dihedral transform of the full square, then the crop window (central offset plus
    // the draw's shift, clamped inside the stamp), read straight from the normalised stamp.
    const int dihedral = aug.enabled ? ((draw.dihedral % 8) + 8) % 8 : 0;
    const int off = (h - pre.crop) / 2, max_off = h - pre.crop;
    const int oy = std::clamp(off + (aug.enabled ? draw.shift_y : 0), 0, max_off);
    const int ox = std::clamp(off + (aug.enabled ? draw.shift_x : 0), 0, max_off);
    for (int b = 0; b < c; ++b) {
        const float* src = work + b * band_pix;
        float* dst = out.data() + static_cast<std::size_t>(b) * pre.crop * pre.crop;
        for (int y = 0; y < pre.crop; ++y)
            for (int x = 0; x < pre.crop; ++x) {
                const auto [sy, sx] = dihedral_source(dihedral, h, oy + y, ox + x);
                dst[static_cast<std::size_t>(y) * pre.crop + x] = src[static_cast<std::size_t>(sy) * w + sx];
            }
    }
    return zeroed;
}

}  // namespace dhs::learn
