// Per-stamp quality and shortcut features of the validation stage (SPEC Stage 4, seed 001
// section 5, seed 002 section 9): NaN fractions, mean brightness in the core (r < 8 px), the
// annulus (4 <= r < 16 px) and the outer ring (16 <= r < 28 px), the annulus maximum and
// standard deviation, the azimuthal asymmetry (standard deviation of the mean brightness in
// azimuthal sectors of the annulus), the median absolute deviation of the whole stamp, the
// core/outer radial gradient, an azimuthal-median radial profile and the central box of
// pixels the core-only classifier sees.
//
// Stamps are (bands, height, width) float32, row-major per band (NCHW without N); pixel (x, y)
// sits at radius hypot(x - width/2, y - height/2) (integer division: pixel 50 is the centre of
// a 101-pixel stamp, as in ../shared/bench/pyref/stage_d_features.py). Brightness in the
// stamp's units (nanomaggies per pixel). Non-finite pixels are "NaN": counted, and left out of
// every mean, maximum, deviation and median. Medians follow numpy (the mean of the two middle
// values for an even count). Pure numerics: no I/O, no MPI, no logging; the hot path does not
// allocate (a StampFeatureScratch is reused from stamp to stamp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace dhs::kernels {

/// @brief The radii (pixels) and binning of the per-stamp features. Regions are half-open:
/// inner <= r < outer.
struct StampFeatureSpec {
    double core_radius = 8.0;       ///< core: r < core_radius (core brightness, core NaN fraction)
    double annulus_inner = 4.0;     ///< annulus (brightness, max, std, asymmetry sectors)
    double annulus_outer = 16.0;
    double outer_inner = 16.0;      ///< outer ring (brightness; the gradient's denominator)
    double outer_outer = 28.0;
    int sectors = 8;                ///< azimuthal sectors of the annulus (2 .. 64)
    int profile_bins = 20;          ///< radial profile bins [k, k+1) px, k = 0 .. profile_bins-1
    int core_box = 16;              ///< side of the central pixel box (core-only classifier)
};

/// @brief The features of one band. NaN where a region holds no finite pixel (and the
/// gradient where the outer mean is 0).
struct BandFeatures {
    double core_brightness = 0;      ///< mean in the core
    double annulus_brightness = 0;   ///< mean in the annulus
    double outer_brightness = 0;     ///< mean in the outer ring
    double annulus_max = 0;          ///< maximum in the annulus
    double annulus_std = 0;          ///< standard deviation (ddof 0) in the annulus
    double azimuthal_asymmetry = 0;  ///< standard deviation (ddof 0) of the sector means of the annulus
    double mad = 0;                  ///< median |x - median(x)| over the whole stamp (unscaled)
    double radial_gradient = 0;      ///< core_brightness / outer_brightness
};

/// @brief The most bands a stamp may have (g, r, i, z).
inline constexpr std::size_t kMaxStampBands = 4;

/// @brief Every feature of one stamp.
struct StampFeatures {
    double total_nan_frac = 0;    ///< NaN pixels / all pixels, over every band
    double core_nan_frac = 0;     ///< NaN pixels in the core / core pixels, over every band
    double core_masked_frac = 0;  ///< core pixels with a rejected maskbit / core pixels (NaN without maskbits)
    std::size_t num_bands = 0;    ///< bands filled in `band`
    std::array<BandFeatures, kMaxStampBands> band{};  ///< per band, in the stamp's band order
};

/// @brief Pixel index lists of the feature regions for one stamp size, built once and shared
/// by every stamp of that size. Immutable after construction; safe to share between threads.
class FeatureRegions {
public:
    /// @throws std::invalid_argument for non-positive sizes, unordered radii, sectors outside [2, 64],
    /// profile_bins < 1, or a core box that is empty or larger than the stamp.
    FeatureRegions(int height, int width, const StampFeatureSpec& spec);

    int height() const noexcept { return height_; }
    int width() const noexcept { return width_; }
    std::size_t pixels() const noexcept { return static_cast<std::size_t>(height_) * static_cast<std::size_t>(width_); }
    const StampFeatureSpec& spec() const noexcept { return spec_; }

    /// @brief Pixel indices (y * width + x) of the core, the annulus, the outer ring.
    std::span<const std::uint32_t> core() const noexcept { return core_; }
    std::span<const std::uint32_t> annulus() const noexcept { return annulus_; }
    std::span<const std::uint32_t> outer() const noexcept { return outer_; }
    /// @brief Sector (0 .. sectors-1) of each annulus pixel, in annulus() order:
    /// floor((atan2(dy, dx) + pi) / (2 pi) * sectors) mod sectors.
    std::span<const std::uint8_t> annulus_sector() const noexcept { return annulus_sector_; }
    /// @brief Pixel indices of radial-profile bin k (floor(r) == k).
    std::span<const std::uint32_t> profile_bin(int k) const noexcept;
    /// @brief Top-left (x, y) of the central core_box x core_box box: centre - core_box/2.
    int box_x0() const noexcept { return box_x0_; }
    int box_y0() const noexcept { return box_y0_; }
    /// @brief Number of values radial_profile / core_pixels outputs hold per band.
    std::size_t profile_size() const noexcept { return static_cast<std::size_t>(spec_.profile_bins); }
    std::size_t box_size() const noexcept {
        return static_cast<std::size_t>(spec_.core_box) * static_cast<std::size_t>(spec_.core_box);
    }

private:
    int height_, width_;
    StampFeatureSpec spec_;
    std::vector<std::uint32_t> core_, annulus_, outer_, profile_;
    std::vector<std::uint8_t> annulus_sector_;
    std::vector<std::size_t> profile_start_;  // profile_bins + 1 offsets into profile_
    int box_x0_ = 0, box_y0_ = 0;
};

/// @brief Work space reused from stamp to stamp (so the per-stamp path does not allocate).
struct StampFeatureScratch {
    std::vector<float> values;
    std::vector<std::uint32_t> keys;
    std::vector<std::uint64_t> deviation_keys;
};

/// @brief Computes every feature of one stamp.
/// @param image `bands` x height x width float32, row-major per band.
/// @param maskbits height x width DR10 maskbits, or empty (then core_masked_frac is NaN).
/// @param reject_maskbits bits that make a core pixel "masked".
/// @param radial_profile out: bands x profile_bins azimuthal medians (NaN for an empty bin),
///        or empty to skip.
/// @param core_pixels out: bands x core_box x core_box central pixels as stored (NaN kept),
///        or empty to skip.
/// @throws std::invalid_argument when a span's size does not match the geometry or bands is
/// 0 or more than kMaxStampBands.
StampFeatures compute_stamp_features(const FeatureRegions& geometry, std::size_t bands, std::span<const float> image,
                                     std::span<const std::uint32_t> maskbits, std::uint32_t reject_maskbits,
                                     std::span<float> radial_profile, std::span<float> core_pixels,
                                     StampFeatureScratch& scratch);

/// @brief The median of the finite values in `values` (numpy's rule for even counts),
/// reordering them; NaN when none is finite.
double median_of_finite(std::span<float> values);

}  // namespace dhs::kernels
