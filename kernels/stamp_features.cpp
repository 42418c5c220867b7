// Per-stamp features of the validation stage (see stamp_features.hpp).
#include "kernels/stamp_features.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "kernels/detail_image.hpp"

namespace dhs::kernels {

namespace {

constexpr const char* kWhere = "dhs::kernels stamp_features: ";
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

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

}  // namespace

StampGeometry::StampGeometry(int height, int width, const StampFeatureSpec& spec)
    : height_(height), width_(width), spec_(spec) {
    detail::require(height > 0 && width > 0, kWhere, "stamp height and width must be positive");
    detail::require(spec.core_radius > 0 && spec.annulus_inner >= 0 && spec.annulus_inner < spec.annulus_outer &&
                        spec.outer_inner >= 0 && spec.outer_inner < spec.outer_outer,
                    kWhere, "radii must be non-negative with inner < outer");
    detail::require(spec.sectors >= 2 && spec.sectors <= 255, kWhere, "sectors must be in [2, 255]");
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

std::span<const std::uint32_t> StampGeometry::profile_bin(int k) const noexcept {
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

StampFeatures compute_stamp_features(const StampGeometry& g, std::size_t bands, std::span<const float> image,
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
    if (scratch.values.size() < npix) scratch.values.resize(npix);
    if (scratch.deviations.size() < npix) scratch.deviations.resize(npix);

    const auto core = g.core(), annulus = g.annulus(), outer = g.outer();
    const auto sector = g.annulus_sector();
    const int nsec = g.spec().sectors;
    StampFeatures f;
    f.num_bands = bands;
    std::size_t nan_all = 0, nan_core = 0;
    for (std::size_t b = 0; b < bands; ++b) {
        const float* im = image.data() + b * npix;
        BandFeatures& bf = f.band[b];

        // Whole stamp: NaN count and the median absolute deviation.
        float* vals = scratch.values.data();
        std::size_t n = 0;
        for (std::size_t i = 0; i < npix; ++i) {
            const float v = im[i];
            if (std::isfinite(v)) vals[n++] = v;
        }
        nan_all += npix - n;
        const double med = median_inplace(vals, n);
        double* dev = scratch.deviations.data();
        for (std::size_t i = 0; i < n; ++i) dev[i] = std::fabs(static_cast<double>(vals[i]) - med);
        bf.mad = median_inplace(dev, n);

        // Core.
        double sum = 0;
        std::size_t cnt = 0;
        for (auto i : core) {
            const float v = im[i];
            if (std::isfinite(v)) {
                sum += v;
                ++cnt;
            }
        }
        nan_core += core.size() - cnt;
        bf.core_brightness = mean_or_nan(sum, cnt);

        // Annulus: mean, max, sector means, then the deviation about the mean.
        double sec_sum[256] = {};
        std::size_t sec_cnt[256] = {};
        sum = 0;
        cnt = 0;
        double amax = -std::numeric_limits<double>::infinity();
        for (std::size_t j = 0; j < annulus.size(); ++j) {
            const float v = im[annulus[j]];
            if (!std::isfinite(v)) continue;
            sum += v;
            ++cnt;
            amax = std::max(amax, static_cast<double>(v));
            sec_sum[sector[j]] += v;
            ++sec_cnt[sector[j]];
        }
        bf.annulus_brightness = mean_or_nan(sum, cnt);
        bf.annulus_max = cnt > 0 ? amax : kNaN;
        double ss = 0;
        for (auto i : annulus) {
            const float v = im[i];
            if (std::isfinite(v)) ss += (v - bf.annulus_brightness) * (v - bf.annulus_brightness);
        }
        bf.annulus_std = cnt > 0 ? std::sqrt(ss / static_cast<double>(cnt)) : kNaN;
        double smean = 0;
        int nvalid = 0;
        for (int s = 0; s < nsec; ++s)
            if (sec_cnt[s] > 0) {
                smean += sec_sum[s] / static_cast<double>(sec_cnt[s]);
                ++nvalid;
            }
        if (nvalid >= 2) {
            smean /= nvalid;
            double sv = 0;
            for (int s = 0; s < nsec; ++s)
                if (sec_cnt[s] > 0) {
                    const double d = sec_sum[s] / static_cast<double>(sec_cnt[s]) - smean;
                    sv += d * d;
                }
            bf.azimuthal_asymmetry = std::sqrt(sv / nvalid);
        } else {
            bf.azimuthal_asymmetry = kNaN;
        }

        // Outer ring and the gradient.
        sum = 0;
        cnt = 0;
        for (auto i : outer) {
            const float v = im[i];
            if (std::isfinite(v)) {
                sum += v;
                ++cnt;
            }
        }
        bf.outer_brightness = mean_or_nan(sum, cnt);
        bf.radial_gradient = (std::isfinite(bf.outer_brightness) && bf.outer_brightness != 0.0)
                                 ? bf.core_brightness / bf.outer_brightness
                                 : kNaN;

        // Azimuthal-median radial profile.
        if (!radial_profile.empty()) {
            float* prof = radial_profile.data() + b * g.profile_size();
            for (int k = 0; k < g.spec().profile_bins; ++k) {
                std::size_t m = 0;
                for (auto i : g.profile_bin(k)) {
                    const float v = im[i];
                    if (std::isfinite(v)) vals[m++] = v;
                }
                prof[k] = static_cast<float>(median_inplace(vals, m));
            }
        }
        // Central box.
        if (!core_pixels.empty()) {
            const int box = g.spec().core_box;
            float* out = core_pixels.data() + b * g.box_size();
            for (int y = 0; y < box; ++y)
                std::copy_n(im + static_cast<std::size_t>(g.box_y0() + y) * static_cast<std::size_t>(g.width()) +
                                static_cast<std::size_t>(g.box_x0()),
                            box, out + static_cast<std::size_t>(y) * static_cast<std::size_t>(box));
        }
    }
    f.total_nan_frac = static_cast<double>(nan_all) / static_cast<double>(bands * npix);
    f.core_nan_frac = core.empty() ? 0.0 : static_cast<double>(nan_core) / static_cast<double>(bands * core.size());
    if (maskbits.empty()) {
        f.core_masked_frac = kNaN;
    } else {
        std::size_t masked = 0;
        for (auto i : core)
            if (maskbits[i] & reject_maskbits) ++masked;
        f.core_masked_frac = core.empty() ? 0.0 : static_cast<double>(masked) / static_cast<double>(core.size());
    }
    return f;
}

}  // namespace dhs::kernels
