// ROC AUC of a score between two classes, computed exactly as the Mann-Whitney U statistic
// (U / (n_pos n_neg), a tie between a positive and a negative counts one half), and its
// stratified bootstrap confidence interval with a deterministic, counter-based random stream
// (the same seed gives the same interval on any machine, rank or thread). Used by the
// validation stage to say how well one per-stamp feature separates two sets of stamps.
// Pure numerics: no I/O, no MPI, no logging.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace dhs::kernels {

/// @brief AUC = P(score_pos > score_neg) + P(score_pos == score_neg) / 2 over all pairs,
/// counted exactly in integers (one rounding, the final division). O((n_pos + n_neg) log n).
/// @returns NaN when either class is empty.
/// @throws std::invalid_argument when a score is not finite.
double roc_auc(std::span<const double> positives, std::span<const double> negatives);

/// @brief An AUC with its bootstrap percentile interval.
struct AucInterval {
    double auc = 0;    ///< on the full samples (roc_auc)
    double lower = 0;  ///< lower percentile of the bootstrap AUCs ((1 - level) / 2)
    double upper = 0;  ///< upper percentile ((1 + level) / 2)
    std::size_t n_positive = 0, n_negative = 0;
    int resamples = 0;
};

/// @brief roc_auc and a stratified bootstrap CI: each of `resamples` replicates draws n_pos
/// positives and n_neg negatives with replacement (indices from a splitmix64 stream keyed by
/// (seed, replicate)) and recomputes the AUC exactly; the interval is the percentiles of the
/// replicate AUCs with numpy's default linear interpolation. O(resamples (n_pos + n_neg)).
/// `resamples` 0 gives lower = upper = NaN. NaN everywhere when a class is empty.
/// @throws std::invalid_argument when a score is not finite, resamples < 0 or level is not in (0, 1).
AucInterval bootstrap_roc_auc(std::span<const double> positives, std::span<const double> negatives, int resamples,
                              double level, std::uint64_t seed);

/// @brief The q-quantile (0 <= q <= 1) of sorted values with linear interpolation between
/// order statistics (numpy.percentile's default "linear" method). NaN when empty.
double quantile_sorted(std::span<const double> sorted, double q);

/// @brief splitmix64: a 64-bit mixing step (Steele, Lea, Flood 2014), the counter-based
/// generator used for deterministic draws.
inline std::uint64_t splitmix64(std::uint64_t x) noexcept {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

}  // namespace dhs::kernels
