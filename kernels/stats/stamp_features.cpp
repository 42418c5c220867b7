// Per-stamp features of the validation stage (see stamp_features.hpp).
#include "kernels/stats/stamp_features.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <numbers>

#include "kernels/rendering/detail_image.hpp"

namespace dhs::kernels {

namespace {

constexpr const char* kWhere = "dhs::kernels stamp_features: ";
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kMaxSectors = 64;

// numpy's median of v[0, n) (mean of the two middle values for even n), reordering v.
template <class T>
double median_inplace(T* v, std::size_t n) {
    if (n == 0) return kNaN;
    const std::size_t m = n / 2;
    std::nth_element(v, v + m, v + n);
    const double hi = static_cast<double>(v[m]);
    if (n % 2 == 1) return hi;
    const double lo = static_cast<double>(*std::max_element(v, v + m));
    return (lo + hi) / 2.0;
}

double mean_or_nan(double sum, std::size_t n) { return n > 0 ? sum / static_cast<double>(n) : kNaN; }

// Order-preserving unsigned keys of floating-point values: a < b  <=>  key(a) < key(b) for
// finite values (sign bit flipped for positives, all bits for negatives).
// (Written with shifts and xor rather than a branch so that loops over pixels vectorise.)
inline std::uint32_t order_key(float f) {
    const auto u = std::bit_cast<std::uint32_t>(f);
    return u ^ (static_cast<std::uint32_t>(static_cast<std::int32_t>(u) >> 31) | 0x80000000u);
}
inline std::uint64_t order_key(double d) {
    const auto u = std::bit_cast<std::uint64_t>(d);
    return u ^ (static_cast<std::uint64_t>(static_cast<std::int64_t>(u) >> 63) | 0x8000000000000000ull);
}
// isfinite on the bits (vectorises; std::isfinite does not without -ffast-math).
inline bool finite_bits(float f) { return (std::bit_cast<std::uint32_t>(f) & 0x7F800000u) != 0x7F800000u; }
inline float from_key(std::uint32_t k) {
    return std::bit_cast<float>((k & 0x80000000u) ? (k & 0x7FFFFFFFu) : ~k);
}
inline double from_key(std::uint64_t k) {
    return std::bit_cast<double>((k & 0x8000000000000000ull) ? (k & 0x7FFFFFFFFFFFFFFFull) : ~k);
}

// The k-th smallest (0-based) of keys[0, n) by most-significant-digit radix selection: 11-bit
// digits narrow the candidates (compacted in place, so keys are destroyed; each compaction
// pass also counts the next digit) until few remain, then nth_element. Exact; O(n), and the
// passes have no data-dependent branches.
template <class K>
K select_kth_key(K* keys, std::size_t n, std::size_t k) {
    constexpr int kBits = 11;
    constexpr std::size_t kBins = std::size_t{1} << kBits;
    constexpr int kKeyBits = static_cast<int>(sizeof(K) * 8);
    // Digit d covers bits [shift, shift + width).
    int top = kKeyBits;
    int shift = top - kBits;
    K mask = static_cast<K>(kBins - 1);
    // First digit over every key, into two interleaved histograms (runs of equal digits
    // would otherwise serialise on one counter).
    std::uint32_t hist[kBins], hist2[kBins];
    std::fill(hist, hist + kBins, 0u);
    std::fill(hist2, hist2 + kBins, 0u);
    std::size_t i = 0;
    for (; i + 1 < n; i += 2) {
        ++hist[(keys[i] >> shift) & mask];
        ++hist2[(keys[i + 1] >> shift) & mask];
    }
    if (i < n) ++hist[(keys[i] >> shift) & mask];
    for (std::size_t b = 0; b < kBins; ++b) hist[b] += hist2[b];
    while (true) {
        std::size_t bin = 0, below = 0;
        while (below + hist[bin] <= k) below += hist[bin++];
        k -= below;
        const auto want = static_cast<K>(bin);
        if (shift == 0 || hist[bin] <= 64) {  // compact the last candidates and finish
            std::size_t m = 0;
            for (std::size_t j = 0; j < n; ++j) {
                const K key = keys[j];
                keys[m] = key;
                m += ((key >> shift) & mask) == want;
            }
            std::nth_element(keys, keys + k, keys + m);
            return keys[k];
        }
        top = shift;
        const int next_shift = std::max(top - kBits, 0);
        const auto next_mask = static_cast<K>((std::size_t{1} << (top - next_shift)) - 1);
        std::fill(hist, hist + kBins, 0u);
        std::size_t m = 0;
        for (std::size_t j = 0; j < n; ++j) {
            const K key = keys[j];
            const bool keep = ((key >> shift) & mask) == want;
            keys[m] = key;
            m += keep;
            hist[(key >> next_shift) & next_mask] += keep;
        }
        n = m;
        shift = next_shift;
        mask = next_mask;
    }
}

// numpy's median of the n values whose order keys are in keys[0, n) (destroyed): the middle
// one, or the mean of the two middle ones for even n. `visit_all(f)` must call f(key) for
// every one of the n keys again (only needed for even n).
template <class K, class VisitAll>
double median_of_keys(K* keys, std::size_t n, VisitAll&& visit_all) {
    if (n == 0) return kNaN;
    const std::size_t m = n / 2;
    const K hi = select_kth_key(keys, n, m);
    if (n % 2 == 1) return static_cast<double>(from_key(hi));
    // The (m-1)-th: hi itself when enough keys tie with it, else the largest key below it.
    std::size_t less = 0;
    K lo = 0;
    visit_all([&](K key) {
        if (key < hi) {
            ++less;
            lo = std::max(lo, key);
        }
    });
    const double a = static_cast<double>(from_key(less >= m ? lo : hi));
    return (a + static_cast<double>(from_key(hi))) / 2.0;
}

}  // namespace

FeatureRegions::FeatureRegions(int height, int width, const StampFeatureSpec& spec)
    : height_(height), width_(width), spec_(spec) {
    detail::require(height > 0 && width > 0, kWhere, "stamp height and width must be positive");
    detail::require(spec.core_radius > 0 && spec.annulus_inner >= 0 && spec.annulus_inner < spec.annulus_outer &&
                        spec.outer_inner >= 0 && spec.outer_inner < spec.outer_outer,
                    kWhere, "radii must be non-negative with inner < outer");
    detail::require(spec.sectors >= 2 && spec.sectors <= kMaxSectors, kWhere, "sectors must be in [2, 64]");
    detail::require(spec.profile_bins >= 1, kWhere, "profile_bins must be at least 1");
    detail::require(spec.core_box >= 1 && spec.core_box <= height && spec.core_box <= width, kWhere,
                    "core_box must be in [1, min(height, width)]");
    const int cy = height / 2, cx = width / 2;
    box_x0_ = cx - spec.core_box / 2;
    box_y0_ = cy - spec.core_box / 2;
    detail::require(box_x0_ >= 0 && box_y0_ >= 0 && box_x0_ + spec.core_box <= width &&
                        box_y0_ + spec.core_box <= height,
                    kWhere, "core box does not fit in the stamp");

    std::vector<std::vector<std::uint32_t>> bins(static_cast<std::size_t>(spec.profile_bins));
    for (int y = 0; y < height; ++y) {
        for (int x = 0; x < width; ++x) {
            const int dy = y - cy, dx = x - cx;
            // sqrt is correctly rounded: exact for perfect squares, so integer radii fall in the right bin.
            const double r = std::sqrt(static_cast<double>(dx * dx + dy * dy));
            const auto idx = static_cast<std::uint32_t>(y * width + x);
            if (r < spec.core_radius) core_.push_back(idx);
            if (r >= spec.annulus_inner && r < spec.annulus_outer) {
                annulus_.push_back(idx);
                const double t = (std::atan2(static_cast<double>(dy), static_cast<double>(dx)) + std::numbers::pi) /
                                 (2.0 * std::numbers::pi) * spec.sectors;
                annulus_sector_.push_back(static_cast<std::uint8_t>(static_cast<int>(std::floor(t)) % spec.sectors));
            }
            if (r >= spec.outer_inner && r < spec.outer_outer) outer_.push_back(idx);
            const auto k = static_cast<std::size_t>(std::floor(r));
            if (k < bins.size()) bins[k].push_back(idx);
        }
    }
    profile_start_.push_back(0);
    for (const auto& b : bins) {
        profile_.insert(profile_.end(), b.begin(), b.end());
        profile_start_.push_back(profile_.size());
    }
}

std::span<const std::uint32_t> FeatureRegions::profile_bin(int k) const noexcept {
    if (k < 0 || k >= spec_.profile_bins) return {};
    const auto a = profile_start_[static_cast<std::size_t>(k)], b = profile_start_[static_cast<std::size_t>(k) + 1];
    return {profile_.data() + a, b - a};
}

double median_of_finite(std::span<float> values) {
    std::size_t n = 0;
    for (float v : values)
        if (std::isfinite(v)) values[n++] = v;
    return median_inplace(values.data(), n);
}

namespace {

// The finite pixels among im[idx...]: their sum and count (NaN pixels add 0 and do not count;
// branch-free).
struct FiniteSum {
    double sum = 0;
    std::size_t count = 0;
};
FiniteSum finite_sum(const float* im, std::span<const std::uint32_t> idx) {
    FiniteSum f;
    for (auto i : idx) {
        const float v = im[i];
        const bool ok = finite_bits(v);
        f.sum += ok ? v : 0.0f;
        f.count += ok;
    }
    return f;
}

// A band's median absolute deviation (of its finite pixels about their median) and how many of
// its pixels are finite, by radix selection on order keys (written for every pixel, kept for
// finite ones: no branches).
struct WholeStamp {
    double mad = kNaN;
    std::size_t finite = 0;
};
WholeStamp whole_stamp(const float* im, std::size_t npix, StampFeatureScratch& scratch) {
    std::uint32_t* keys = scratch.keys.data();
    std::size_t n = 0;
    for (std::size_t i = 0; i < npix; ++i) n += finite_bits(im[i]);
    const bool all_finite = n == npix;  // the usual case: plain loops that vectorise
    if (all_finite) {
        for (std::size_t i = 0; i < npix; ++i) keys[i] = order_key(im[i]);
    } else {
        n = 0;
        for (std::size_t i = 0; i < npix; ++i) {
            const float v = im[i];
            keys[n] = order_key(v);
            n += finite_bits(v);
        }
    }
    const double med = median_of_keys(keys, n, [&](auto&& visit) {
        for (std::size_t i = 0; i < npix; ++i)
            if (std::isfinite(im[i])) visit(order_key(im[i]));
    });
    std::uint64_t* dkeys = scratch.deviation_keys.data();
    std::size_t nd = 0;
    if (all_finite) {
        for (std::size_t i = 0; i < npix; ++i) dkeys[i] = order_key(std::fabs(static_cast<double>(im[i]) - med));
        nd = npix;
    } else {
        for (std::size_t i = 0; i < npix; ++i) {
            const float v = im[i];
            dkeys[nd] = order_key(std::fabs(static_cast<double>(v) - med));
            nd += finite_bits(v);
        }
    }
    const double mad = median_of_keys(dkeys, nd, [&](auto&& visit) {
        for (std::size_t i = 0; i < npix; ++i)
            if (std::isfinite(im[i])) visit(order_key(std::fabs(static_cast<double>(im[i]) - med)));
    });
    return {mad, n};
}

// Standard deviation (ddof 0) of the sector means over the sectors with a finite pixel; NaN
// when fewer than two have one.
double sector_spread(const double* sec_sum, const std::size_t* sec_cnt, int nsec) {
    double smean = 0;
    int nvalid = 0;
    for (int s = 0; s < nsec; ++s)
        if (sec_cnt[s] > 0) {
            smean += sec_sum[s] / static_cast<double>(sec_cnt[s]);
            ++nvalid;
        }
    if (nvalid < 2) return kNaN;
    smean /= nvalid;
    double sv = 0;
    for (int s = 0; s < nsec; ++s)
        if (sec_cnt[s] > 0) {
            const double d = sec_sum[s] / static_cast<double>(sec_cnt[s]) - smean;
            sv += d * d;
        }
    return std::sqrt(sv / nvalid);
}

// Annulus: mean, max, sector means, then the deviation about the mean.
void annulus_features(const float* im, const FeatureRegions& g, BandFeatures& bf) {
    const auto annulus = g.annulus();
    const auto sector = g.annulus_sector();
    double sec_sum[kMaxSectors] = {};
    std::size_t sec_cnt[kMaxSectors] = {};
    double sum = 0;
    std::size_t cnt = 0;
    double amax = -std::numeric_limits<double>::infinity();
    for (std::size_t j = 0; j < annulus.size(); ++j) {
        const float v = im[annulus[j]];
        const bool ok = finite_bits(v);
        const float w = ok ? v : 0.0f;
        sum += w;
        cnt += ok;
        amax = ok ? std::max(amax, static_cast<double>(v)) : amax;
        sec_sum[sector[j]] += w;
        sec_cnt[sector[j]] += ok;
    }
    bf.annulus_brightness = mean_or_nan(sum, cnt);
    bf.annulus_max = cnt > 0 ? amax : kNaN;
    double ss = 0;
    for (auto i : annulus) {
        const float v = im[i];
        const double d = finite_bits(v) ? v - bf.annulus_brightness : 0.0;
        ss += d * d;
    }
    bf.annulus_std = cnt > 0 ? std::sqrt(ss / static_cast<double>(cnt)) : kNaN;
    bf.azimuthal_asymmetry = sector_spread(sec_sum, sec_cnt, g.spec().sectors);
}

// Azimuthal-median radial profile into prof[0, profile_bins); vals is scratch of npix floats.
void radial_profile_of(const float* im, const FeatureRegions& g, float* vals, float* prof) {
    for (int k = 0; k < g.spec().profile_bins; ++k) {
        std::size_t m = 0;
        for (auto i : g.profile_bin(k)) {  // branch-free gather of the finite pixels
            const float v = im[i];
            vals[m] = v;
            m += finite_bits(v);
        }
        prof[k] = static_cast<float>(median_inplace(vals, m));
    }
}

// The central core_box x core_box pixels into out.
void copy_core_box(const float* im, const FeatureRegions& g, float* out) {
    const int box = g.spec().core_box;
    for (int y = 0; y < box; ++y)
        std::copy_n(im + static_cast<std::size_t>(g.box_y0() + y) * static_cast<std::size_t>(g.width()) +
                        static_cast<std::size_t>(g.box_x0()),
                    box, out + static_cast<std::size_t>(y) * static_cast<std::size_t>(box));
}

// Share of core pixels with any of reject_maskbits set (0 for an empty core).
double core_masked_fraction(const FeatureRegions& g, std::span<const std::uint32_t> maskbits,
                            std::uint32_t reject_maskbits) {
    const auto core = g.core();
    std::size_t masked = 0;
    for (auto i : core)
        if (maskbits[i] & reject_maskbits) ++masked;
    return core.empty() ? 0.0 : static_cast<double>(masked) / static_cast<double>(core.size());
}

}  // namespace

StampFeatures compute_stamp_features(const FeatureRegions& g, std::size_t bands, std::span<const float> image,
                                     std::span<const std::uint32_t> maskbits, std::uint32_t reject_maskbits,
                                     std::span<float> radial_profile, std::span<float> core_pixels,
                                     StampFeatureScratch& scratch) {
    const std::size_t npix = g.pixels();
    detail::require(bands >= 1 && bands <= kMaxStampBands, kWhere, "bands must be in [1, 4]");
    detail::require(image.size() == bands * npix, kWhere, "image size is not bands x height x width");
    detail::require(maskbits.empty() || maskbits.size() == npix, kWhere, "maskbits size is not height x width");
    detail::require(radial_profile.empty() || radial_profile.size() == bands * g.profile_size(), kWhere,
                    "radial_profile size is not bands x profile_bins");
    detail::require(core_pixels.empty() || core_pixels.size() == bands * g.box_size(), kWhere,
                    "core_pixels size is not bands x core_box^2");
    if (scratch.values.size() < npix) {
        scratch.values.resize(npix);
        scratch.keys.resize(npix);
        scratch.deviation_keys.resize(npix);
    }

    const auto core = g.core();
    StampFeatures f;
    f.num_bands = bands;
    std::size_t nan_all = 0, nan_core = 0;
    for (std::size_t b = 0; b < bands; ++b) {
        const float* im = image.data() + b * npix;
        BandFeatures& bf = f.band[b];
        const WholeStamp whole = whole_stamp(im, npix, scratch);
        nan_all += npix - whole.finite;
        bf.mad = whole.mad;
        const FiniteSum in_core = finite_sum(im, core);
        nan_core += core.size() - in_core.count;
        bf.core_brightness = mean_or_nan(in_core.sum, in_core.count);
        annulus_features(im, g, bf);
        // Outer ring and the gradient.
        const FiniteSum outer = finite_sum(im, g.outer());
        bf.outer_brightness = mean_or_nan(outer.sum, outer.count);
        bf.radial_gradient = (std::isfinite(bf.outer_brightness) && bf.outer_brightness != 0.0)
                                 ? bf.core_brightness / bf.outer_brightness
                                 : kNaN;
        if (!radial_profile.empty())
            radial_profile_of(im, g, scratch.values.data(), radial_profile.data() + b * g.profile_size());
        if (!core_pixels.empty()) copy_core_box(im, g, core_pixels.data() + b * g.box_size());
    }
    f.total_nan_frac = static_cast<double>(nan_all) / static_cast<double>(bands * npix);
    f.core_nan_frac = core.empty() ? 0.0 : static_cast<double>(nan_core) / static_cast<double>(bands * core.size());
    f.core_masked_frac = maskbits.empty() ? kNaN : core_masked_fraction(g, maskbits, reject_maskbits);
    return f;
}

}  // namespace dhs::kernels
