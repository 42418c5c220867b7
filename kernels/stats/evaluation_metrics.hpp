// Evaluation metrics of a lens finder's scores (SPEC.md, stage 6): ROC and precision-recall
// curves, the true-positive rate at a fixed false-positive rate and the Bologna challenge's
// TPR0 / TPR10, Clopper-Pearson binomial intervals, reliability diagrams (calibration curves),
// the expected calibration error, the Brier score, and a bootstrap interval of a recall.
//
// Conventions shared by every function here:
// - `labels` are 1 for a lens (the positive class) and 0 for a non-lens; any other value throws.
// - A stamp is called positive at threshold t when its score >= t.
// - Operating points exist only at the distinct score values. A positive and a negative with the
//   same score cannot be separated by any threshold: they enter (or leave) the positive set
//   together, exactly as they do in roc_curve's points; no interpolation between points.
// - The curves reproduce scikit-learn 1.2.1 (Debian bookworm's python3-sklearn) bit for bit,
//   including its conventions that changed in later releases (noted where they apply).
// Pure numerics: no I/O, no MPI, no logging. Every function is rank-local.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace dhs::kernels {

// ---------------------------------------------------------------------------------------------
// ROC and precision-recall curves

/// @brief A receiver operating characteristic: false- and true-positive rates at decreasing
/// thresholds (fpr[i], tpr[i] = rates of `score >= thresholds[i]`), as sklearn.metrics.roc_curve.
struct RocCurve {
    std::vector<double> fpr;         ///< non-decreasing, from 0 to 1; NaN everywhere when there is no negative
    std::vector<double> tpr;         ///< non-decreasing, from 0 to 1; NaN everywhere when there is no positive
    std::vector<double> thresholds;  ///< strictly decreasing; thresholds[0] = max score + 1 (see roc_curve)
};

/// @brief sklearn.metrics.roc_curve(labels, scores, drop_intermediate=...) of scikit-learn 1.2.1:
/// one point per distinct score (highest first) preceded by the point (0, 0), whose threshold is
/// max(scores) + 1 (scikit-learn 1.2's convention; releases >= 1.3 write +inf there). With
/// `drop_intermediate`, points collinear with both neighbours (zero second difference of both the
/// false- and the true-positive counts) are dropped when there are more than two points.
/// O(n log n).
/// @throws std::invalid_argument when the inputs are empty, their sizes differ, a score is not
/// finite or a label is not 0 or 1.
RocCurve roc_curve(std::span<const double> scores, std::span<const std::uint8_t> labels,
                   bool drop_intermediate = true);

/// @brief Precision and recall at increasing thresholds, as sklearn.metrics.precision_recall_curve.
struct PrCurve {
    std::vector<double> precision;   ///< tp / (tp + fp) at thresholds[i]; last element 1 (no threshold)
    std::vector<double> recall;      ///< tp / n_pos at thresholds[i], non-increasing; last element 0
    std::vector<double> thresholds;  ///< the distinct scores, increasing; one fewer than precision
};

/// @brief sklearn.metrics.precision_recall_curve(labels, scores) of scikit-learn 1.2.1: every
/// distinct score is a threshold (lowest first, no truncation at full recall and no
/// drop_intermediate, which 1.3 added), then the point precision = 1, recall = 0 is appended.
/// With no positive, recall is 1 at every threshold (scikit-learn's convention). O(n log n).
/// @throws std::invalid_argument as roc_curve.
PrCurve precision_recall_curve(std::span<const double> scores, std::span<const std::uint8_t> labels);

// ---------------------------------------------------------------------------------------------
// Operating points

/// @brief The operating point of the highest TPR whose FPR does not exceed a target.
struct TprAtFpr {
    double target_fpr = 0;
    double tpr = 0;        ///< true_positives / n_positive; NaN when not resolvable or no positive
    double threshold = 0;  ///< a stamp is positive when score >= threshold; +inf when none is (tpr = 0)
    double fpr = 0;        ///< achieved false_positives / n_negative (<= target_fpr)
    std::int64_t true_positives = 0, false_positives = 0;  ///< counts at `threshold` (0 when not resolvable)
    std::int64_t n_positive = 0, n_negative = 0;
    bool resolvable = false;  ///< target_fpr >= 1 / n_negative; otherwise tpr, threshold, fpr are NaN
};

/// @brief The highest TPR among the operating points (every distinct score as a threshold, plus
/// "nothing positive") whose FPR = false_positives / n_negative <= target_fpr. Among points with
/// that TPR the one with the fewest false positives (the highest threshold) is reported, so the
/// threshold is the lowest score of a positive that counts (or +inf when TPR = 0). A target below
/// 1 / n_negative cannot be resolved by the sample: TPR, threshold and FPR are then NaN (never
/// extrapolated) and true_positives = false_positives = 0; n_positive and n_negative are still
/// filled. O(n log n).
/// @throws std::invalid_argument as roc_curve, or when target_fpr is not in [0, 1].
TprAtFpr tpr_at_fpr(std::span<const double> scores, std::span<const std::uint8_t> labels, double target_fpr);

/// @brief The highest TPR over the operating points with fewer than `max_false_positives` false
/// positives (>= 1). NaN when either class is empty. O(n log n).
/// @throws std::invalid_argument as roc_curve, or when max_false_positives < 1.
double tpr_below_false_positives(std::span<const double> scores, std::span<const std::uint8_t> labels,
                                 std::int64_t max_false_positives);

/// @brief Bologna lens-finding challenge TPR0: the highest TPR before the first false positive,
/// i.e. the fraction of positives scoring strictly above the highest-scoring negative (a positive
/// tied with it is not counted). tpr_below_false_positives(..., 1).
double tpr0(std::span<const double> scores, std::span<const std::uint8_t> labels);

/// @brief Bologna challenge TPR10: the highest TPR with fewer than 10 false positives.
/// tpr_below_false_positives(..., 10).
double tpr10(std::span<const double> scores, std::span<const std::uint8_t> labels);

// ---------------------------------------------------------------------------------------------
// Binomial intervals

/// @brief A point estimate with its interval.
struct Interval {
    double estimate = 0;  ///< k / n
    double lower = 0;
    double upper = 0;
};

/// @brief The Clopper-Pearson ("exact") interval of a binomial proportion k / n at confidence
/// `level` (a = 1 - level): lower = Beta^-1(a/2; k, n-k+1) (0 at k = 0), upper =
/// Beta^-1(1-a/2; k+1, n-k) (1 at k = n), the inverse regularised incomplete beta function of
/// Boost.Math; equals scipy.stats.beta.ppf and statsmodels' proportion_confint(method="beta").
/// n = 0 gives NaN everywhere.
/// @throws std::invalid_argument unless 0 <= k <= n and 0 < level < 1.
Interval clopper_pearson(std::int64_t k, std::int64_t n, double level = 0.95);

// ---------------------------------------------------------------------------------------------
// Calibration

/// @brief How calibration_curve places its bin edges (sklearn's `strategy`).
enum class CalibrationStrategy {
    uniform,   ///< n_bins equal widths on [0, 1] (numpy.linspace(0, 1, n_bins + 1))
    quantile,  ///< edges at the (i / n_bins) quantiles of p (numpy.percentile, linear); may repeat
};

/// @brief A reliability diagram: per non-empty bin, the observed fraction of positives against
/// the mean predicted probability.
struct Calibration {
    std::vector<double> prob_true;      ///< fraction of positives in each non-empty bin
    std::vector<double> prob_pred;      ///< mean p in each non-empty bin
    std::vector<std::int64_t> counts;   ///< stamps in each non-empty bin
    std::vector<int> bin_index;         ///< which of the n_bins each entry is
    std::vector<double> bin_edges;      ///< all n_bins + 1 edges
};

/// @brief sklearn.calibration.calibration_curve(labels, p, n_bins=n_bins, strategy=...) of
/// scikit-learn 1.2.1, with the counts, bin numbers and edges beside it. p is the predicted
/// probability of the positive class (p_lens). A p on an inner edge belongs to the lower bin
/// (numpy.searchsorted, side "left"); bins are [e0, e1], (e1, e2], ..., (e_{n-1}, e_n]; empty
/// bins are left out. O(n log n) for quantile bins, O(n log n_bins) for uniform ones.
/// @throws std::invalid_argument when the inputs are empty, their sizes differ, a p is not in
/// [0, 1], a label is not 0 or 1, or n_bins < 1.
Calibration calibration_curve(std::span<const double> p, std::span<const std::uint8_t> labels, int n_bins,
                              CalibrationStrategy strategy = CalibrationStrategy::uniform);

/// @brief Expected calibration error with the positive-class convention of SPEC.md:
/// ECE = sum_b (n_b / N) |acc_b - conf_b| over the non-empty uniform bins of calibration_curve,
/// where acc_b is the fraction of positives (prob_true) and conf_b the mean p_lens (prob_pred).
/// (Not the top-label ECE of Guo et al. 2017, which bins max(p, 1 - p).)
/// @throws std::invalid_argument as calibration_curve.
double expected_calibration_error(std::span<const double> p, std::span<const std::uint8_t> labels, int n_bins);

/// @brief The Brier score mean((label - p)^2), as sklearn.metrics.brier_score_loss(labels, p).
/// @throws std::invalid_argument as calibration_curve (n_bins aside).
double brier_score(std::span<const double> p, std::span<const std::uint8_t> labels);

// ---------------------------------------------------------------------------------------------
// Bootstrap

/// @brief A proportion with its bootstrap percentile interval.
struct BootstrapInterval {
    double estimate = 0;  ///< k / n on the full sample
    double lower = 0;     ///< (1 - level) / 2 percentile of the replicate estimates
    double upper = 0;     ///< (1 + level) / 2 percentile
    std::int64_t k = 0, n = 0;
    int resamples = 0;
};

/// @brief Recall = mean(detected) over n injected or known lenses (detected: 1 when found at the
/// chosen threshold, else 0) and its percentile bootstrap interval: replicate r draws n indices
/// with replacement, index i from splitmix64(stream_r + i) with stream_r = splitmix64(seed ^
/// splitmix64(r + 1)) mapped to [0, n) by Lemire's multiply-shift (the stream of
/// bootstrap_roc_auc); the bounds are quantile_sorted of the sorted replicate recalls. The same
/// seed gives the same interval everywhere. resamples = 0 gives NaN bounds; n = 0 NaN everywhere.
/// O(resamples n).
/// @throws std::invalid_argument when a value of detected is not 0 or 1, resamples < 0 or level
/// is not in (0, 1).
BootstrapInterval bootstrap_recall(std::span<const std::uint8_t> detected, int resamples, double level,
                                   std::uint64_t seed);

// ---------------------------------------------------------------------------------------------
// Predicted recall from a selection function

/// @brief The lenses of one selection-function cell: `lenses` of the set fall in the cell, in
/// which `detected` of `injected` injections were found at the threshold.
struct CellCompleteness {
    std::int64_t lenses = 0, detected = 0, injected = 0;
};

/// @brief The recall a selection function predicts for a set of lenses: the mean over the lenses
/// of their cell's completeness, each cell's completeness C_c given its k_c of n_c injections
/// detected having the Jeffreys posterior Beta(k_c + 1/2, n_c - k_c + 1/2). The estimate is the
/// posterior mean sum_c (m_c / M) (k_c + 1/2) / (n_c + 1) (not the plug-in k_c / n_c, which a
/// cell with k_c = 0 of a few injections would put below the interval); the interval at `level`
/// is the percentile interval of `draws` Monte Carlo replicates of sum_c (m_c / M) C_c, each C_c
/// drawn by the inverse CDF
/// (Boost.Math ibeta_inv) of the uniform (splitmix64(splitmix64(seed ^ splitmix64(r + 1)) + c)
/// >> 11) * 2^-53 + 2^-54 for replicate r and cell c. The same seed gives the same interval.
/// No cell, or no lens, gives NaN everywhere.
/// @throws std::invalid_argument when a cell has lenses but no injection, a count is negative,
/// k > n, draws < 1 or level is not in (0, 1).
Interval predicted_recall(std::span<const CellCompleteness> cells, int draws, double level, std::uint64_t seed);

}  // namespace dhs::kernels
