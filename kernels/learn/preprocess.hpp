// The stamp path shared by training, scoring and the search (SPEC Stage 5): deterministic
// augmentation of a raw (C, H, W) stamp, `raw_robust` normalisation and the central crop.
// Plain C++ (no libtorch types): data ranks call it on CPU and hand the result to a learner.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace dhs::learn {

/// @brief How a raw stamp becomes a model input. Defaults are SPEC.md's.
struct PreprocessSpec {
    int crop = 64;                   ///< output is (C, crop, crop), centred as SPEC.md's offset (18, 18) for 101
    double outer_radius_px = 30.0;   ///< median / MAD from finite pixels at r >= this from the stamp centre
    double clip = 50.0;              ///< x' = clip((x - m) / s, -clip, clip)
};

/// @brief Augmentation switches (training only; scoring uses none).
struct AugmentSpec {
    bool enabled = false;
    bool rotations = true;           ///< the 8 rotations / flips of the square (dihedral group D4)
    int max_shift_px = 0;            ///< integer shifts of the crop window in [-max, max] per axis
    double noise_scale = 0.0;        ///< Gaussian noise sigma = noise_scale / sqrt(invvar) per pixel (0: none)
};

/// @brief The augmentation drawn for one (seed, epoch, row): a pure function of the three
/// (splitmix64 hashes), so any rank, thread or restart draws the same.
struct AugmentDraw {
    int dihedral = 0;                ///< 0..7: k = dihedral % 4 quarter turns, then a flip if dihedral >= 4
    int shift_x = 0, shift_y = 0;
    std::uint64_t noise_key = 0;     ///< counter-based key of the per-pixel Gaussian noise
};
AugmentDraw draw_augment(const AugmentSpec& spec, std::uint64_t seed, std::int64_t epoch, std::int64_t row);

/// @brief Where pixel (y, x) of the dihedral transform `dihedral` (0..7) of an n x n square
/// comes from: out = numpy.rot90(in, dihedral % 4) (counter-clockwise quarter turns of
/// (row, column) arrays), then numpy.fliplr when dihedral >= 4. @returns (source row, source column).
std::pair<int, int> dihedral_source(int dihedral, int n, int y, int x) noexcept;

/// @brief `raw_robust` in place on one band of h x w pixels: m = median and s = 1.4826 MAD of
/// the finite pixels at radius >= spec.outer_radius_px from the stamp centre ((w-1)/2, (h-1)/2);
/// x' = clip((x - m) / s, -clip, clip), NaN/Inf -> 0. @returns false (and zeroes the band) when
/// s = 0 or no such pixel is finite.
bool raw_robust_band(float* band, int h, int w, const PreprocessSpec& spec, std::vector<float>& scratch);

/// @brief Everything a data rank does to one stamp, in this order: noise on the raw pixels
/// (sigma = aug.noise_scale / sqrt(invvar) where invvar > 0 and finite; invvar may be empty
/// when aug.noise_scale = 0), raw_robust per band on the full stamp, the dihedral transform of
/// the full square, the crop window at offset (h - crop) / 2 plus the draw's shift (clamped to
/// stay inside the stamp). With aug.enabled false the draw is ignored (scoring: no noise,
/// identity, central crop). `image` is (c, h, w) with h == w; `out` receives c * crop * crop
/// floats; `scratch` is reused between calls (no allocation once grown). Thread-safe.
/// @returns the number of bands that were zeroed (0 = clean stamp).
/// @throws std::invalid_argument on inconsistent sizes.
int prepare_stamp(std::span<const float> image, std::span<const float> invvar, int c, int h, int w,
                  const PreprocessSpec& pre, const AugmentSpec& aug, const AugmentDraw& draw, std::span<float> out,
                  std::vector<float>& scratch);

}  // namespace dhs::learn
