// Evaluation metrics: ROC / PR curves after scikit-learn 1.2.1, operating points, Clopper-Pearson
// intervals (Boost.Math), calibration and the bootstrap of a recall (see evaluation_metrics.hpp).
#include "kernels/stats/evaluation_metrics.hpp"

#include <algorithm>
#include <boost/math/special_functions/beta.hpp>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

#include "kernels/stats/roc_auc.hpp"

namespace dhs::kernels {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

[[noreturn]] void invalid(const std::string& what) {
    throw std::invalid_argument("dhs::kernels evaluation_metrics: " + what);
}

void require_labels(std::span<const std::uint8_t> labels, const char* which) {
    for (std::uint8_t y : labels)
        if (y > 1) invalid(std::string("a value of ") + which + " is neither 0 nor 1");
}

void require_scores(std::span<const double> scores, std::span<const std::uint8_t> labels) {
    if (scores.empty()) invalid("no scores");
    if (scores.size() != labels.size()) invalid("scores and labels differ in size");
    for (double s : scores)
        if (!std::isfinite(s)) invalid("a score is not finite");
    require_labels(labels, "labels");
}

void require_probabilities(std::span<const double> p, std::span<const std::uint8_t> labels) {
    require_scores(p, labels);
    for (double v : p)
        if (!(v >= 0.0 && v <= 1.0)) invalid("a probability is outside [0, 1]");
}

void require_level(double level) {
    if (!(level > 0.0 && level < 1.0)) invalid("level must be in (0, 1)");
}

// The cumulative counts of sklearn's _binary_clf_curve: at each distinct score, highest first,
// the positives (tps) and negatives (fps) scoring >= it. thresholds[i] is the score of the
// group's last element in sklearn's order (argsort(kind="mergesort")[::-1]), so even the sign of
// a zero matches.
struct CumulativeCounts {
    std::vector<std::int64_t> tps, fps;
    std::vector<double> thresholds;
    std::int64_t n_positive() const { return tps.empty() ? 0 : tps.back(); }
    std::int64_t n_negative() const { return fps.empty() ? 0 : fps.back(); }
};

CumulativeCounts cumulative_counts(std::span<const double> scores, std::span<const std::uint8_t> labels) {
    require_scores(scores, labels);
    std::vector<std::size_t> order(scores.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
    std::reverse(order.begin(), order.end());
    CumulativeCounts c;
    std::int64_t tp = 0, fp = 0;
    for (std::size_t i = 0; i < order.size(); ++i) {
        (labels[order[i]] != 0 ? tp : fp) += 1;
        const bool group_ends = i + 1 == order.size() || scores[order[i + 1]] != scores[order[i]];
        if (!group_ends) continue;
        c.tps.push_back(tp);
        c.fps.push_back(fp);
        c.thresholds.push_back(scores[order[i]]);
    }
    return c;
}

// Indices of the points roc_curve keeps with drop_intermediate: both ends and every point where
// the second difference of the false- or the true-positive counts is non-zero.
std::vector<std::size_t> corner_points(const CumulativeCounts& c) {
    const std::size_t m = c.tps.size();
    std::vector<std::size_t> keep;
    for (std::size_t i = 0; i < m; ++i) {
        const bool end = i == 0 || i + 1 == m;
        if (end || c.fps[i - 1] - 2 * c.fps[i] + c.fps[i + 1] != 0 || c.tps[i - 1] - 2 * c.tps[i] + c.tps[i + 1] != 0)
            keep.push_back(i);
    }
    return keep;
}

// count / total as a double, NaN when total is 0 (roc_curve's rate of an absent class).
double rate(std::int64_t count, std::int64_t total) {
    return total == 0 ? kNaN : static_cast<double>(count) / static_cast<double>(total);
}

// The index of the last point whose counts satisfy `ok` (counts grow along the points), or -1
// when even the first does not.
template <class Ok>
std::ptrdiff_t last_point_where(const CumulativeCounts& c, Ok ok) {
    std::ptrdiff_t j = -1;
    for (std::size_t i = 0; i < c.tps.size() && ok(c.fps[i]); ++i) j = static_cast<std::ptrdiff_t>(i);
    return j;
}

// Lemire's multiply-shift: an index in [0, n) from 64 random bits (the draw of bootstrap_roc_auc).
__extension__ typedef unsigned __int128 uint128;
inline std::size_t draw_index(std::uint64_t bits, std::size_t n) {
    return static_cast<std::size_t>((static_cast<uint128>(bits) * n) >> 64);
}

// numpy.linspace(0, 1, n_bins + 1): i * (1 / n_bins), the last edge exactly 1.
std::vector<double> uniform_edges(int n_bins) {
    std::vector<double> e(static_cast<std::size_t>(n_bins) + 1);
    const double step = 1.0 / n_bins;
    for (int i = 0; i < n_bins; ++i) e[static_cast<std::size_t>(i)] = i * step;
    e.back() = 1.0;
    return e;
}

// numpy.percentile(p, numpy.linspace(0, 1, n_bins + 1) * 100): the percent is divided back by
// 100 as numpy does, then interpolated linearly between order statistics.
std::vector<double> quantile_edges(std::span<const double> p, int n_bins) {
    std::vector<double> sorted(p.begin(), p.end());
    std::sort(sorted.begin(), sorted.end());
    std::vector<double> e = uniform_edges(n_bins);
    for (double& q : e) q = quantile_sorted(sorted, (q * 100.0) / 100.0);
    return e;
}

}  // namespace

RocCurve roc_curve(std::span<const double> scores, std::span<const std::uint8_t> labels, bool drop_intermediate) {
    const CumulativeCounts c = cumulative_counts(scores, labels);
    std::vector<std::size_t> points(c.tps.size());
    std::iota(points.begin(), points.end(), std::size_t{0});
    if (drop_intermediate && points.size() > 2) points = corner_points(c);
    RocCurve r;
    r.fpr.push_back(rate(0, c.n_negative()));
    r.tpr.push_back(rate(0, c.n_positive()));
    r.thresholds.push_back(c.thresholds.front() + 1.0);
    for (std::size_t i : points) {
        r.fpr.push_back(rate(c.fps[i], c.n_negative()));
        r.tpr.push_back(rate(c.tps[i], c.n_positive()));
        r.thresholds.push_back(c.thresholds[i]);
    }
    return r;
}

PrCurve precision_recall_curve(std::span<const double> scores, std::span<const std::uint8_t> labels) {
    const CumulativeCounts c = cumulative_counts(scores, labels);
    PrCurve r;
    for (std::size_t k = c.tps.size(); k-- > 0;) {
        r.precision.push_back(rate(c.tps[k], c.tps[k] + c.fps[k]));
        r.recall.push_back(c.n_positive() == 0 ? 1.0 : rate(c.tps[k], c.n_positive()));
        r.thresholds.push_back(c.thresholds[k]);
    }
    r.precision.push_back(1.0);
    r.recall.push_back(0.0);
    return r;
}

TprAtFpr tpr_at_fpr(std::span<const double> scores, std::span<const std::uint8_t> labels, double target_fpr) {
    if (!(target_fpr >= 0.0 && target_fpr <= 1.0)) invalid("target_fpr must be in [0, 1]");
    const CumulativeCounts c = cumulative_counts(scores, labels);
    TprAtFpr r;
    r.target_fpr = target_fpr;
    r.n_positive = c.n_positive();
    r.n_negative = c.n_negative();
    r.resolvable = target_fpr >= 1.0 / static_cast<double>(r.n_negative);
    // The last point within the target has the highest TPR; the first point reaching that TPR
    // has the fewest false positives.
    const std::ptrdiff_t last = last_point_where(c, [&](std::int64_t fp) { return rate(fp, r.n_negative) <= target_fpr; });
    r.true_positives = last < 0 ? 0 : c.tps[static_cast<std::size_t>(last)];
    r.threshold = kInf;
    if (r.true_positives > 0) {
        const auto first = static_cast<std::size_t>(
            std::find(c.tps.begin(), c.tps.end(), r.true_positives) - c.tps.begin());
        r.false_positives = c.fps[first];
        r.threshold = c.thresholds[first];
    }
    r.tpr = rate(r.true_positives, r.n_positive);
    r.fpr = rate(r.false_positives, r.n_negative);
    if (!r.resolvable) {
        r.tpr = r.threshold = r.fpr = kNaN;
        r.true_positives = r.false_positives = 0;
    }
    return r;
}

double tpr_below_false_positives(std::span<const double> scores, std::span<const std::uint8_t> labels,
                                 std::int64_t max_false_positives) {
    if (max_false_positives < 1) invalid("max_false_positives must be >= 1");
    const CumulativeCounts c = cumulative_counts(scores, labels);
    if (c.n_positive() == 0 || c.n_negative() == 0) return kNaN;
    const std::ptrdiff_t last = last_point_where(c, [&](std::int64_t fp) { return fp < max_false_positives; });
    return rate(last < 0 ? 0 : c.tps[static_cast<std::size_t>(last)], c.n_positive());
}

double tpr0(std::span<const double> scores, std::span<const std::uint8_t> labels) {
    return tpr_below_false_positives(scores, labels, 1);
}

double tpr10(std::span<const double> scores, std::span<const std::uint8_t> labels) {
    return tpr_below_false_positives(scores, labels, 10);
}

Interval clopper_pearson(std::int64_t k, std::int64_t n, double level) {
    if (!(k >= 0 && k <= n)) invalid("clopper_pearson needs 0 <= k <= n");
    require_level(level);
    if (n == 0) return {kNaN, kNaN, kNaN};
    const double a = 1.0 - level;
    const auto kd = static_cast<double>(k), nd = static_cast<double>(n);
    Interval r;
    r.estimate = kd / nd;
    r.lower = k == 0 ? 0.0 : boost::math::ibeta_inv(kd, nd - kd + 1.0, a / 2.0);
    r.upper = k == n ? 1.0 : boost::math::ibeta_inv(kd + 1.0, nd - kd, 1.0 - a / 2.0);
    return r;
}

Calibration calibration_curve(std::span<const double> p, std::span<const std::uint8_t> labels, int n_bins,
                              CalibrationStrategy strategy) {
    require_probabilities(p, labels);
    if (n_bins < 1) invalid("n_bins must be >= 1");
    Calibration r;
    r.bin_edges = strategy == CalibrationStrategy::quantile ? quantile_edges(p, n_bins) : uniform_edges(n_bins);
    const auto nb = static_cast<std::size_t>(n_bins);
    std::vector<double> sum_p(nb, 0.0), sum_true(nb, 0.0);
    std::vector<std::int64_t> total(nb, 0);
    const auto inner_begin = r.bin_edges.begin() + 1, inner_end = r.bin_edges.end() - 1;
    for (std::size_t i = 0; i < p.size(); ++i) {
        // numpy.searchsorted(edges[1:-1], p, side="left"): the inner edges strictly below p.
        const auto b = static_cast<std::size_t>(std::lower_bound(inner_begin, inner_end, p[i]) - inner_begin);
        sum_p[b] += p[i];
        sum_true[b] += labels[i];
        ++total[b];
    }
    for (std::size_t b = 0; b < nb; ++b) {
        if (total[b] == 0) continue;
        r.prob_true.push_back(sum_true[b] / static_cast<double>(total[b]));
        r.prob_pred.push_back(sum_p[b] / static_cast<double>(total[b]));
        r.counts.push_back(total[b]);
        r.bin_index.push_back(static_cast<int>(b));
    }
    return r;
}

double expected_calibration_error(std::span<const double> p, std::span<const std::uint8_t> labels, int n_bins) {
    const Calibration c = calibration_curve(p, labels, n_bins, CalibrationStrategy::uniform);
    double ece = 0.0;
    for (std::size_t b = 0; b < c.counts.size(); ++b)
        ece += static_cast<double>(c.counts[b]) / static_cast<double>(p.size()) * std::abs(c.prob_true[b] - c.prob_pred[b]);
    return ece;
}

double brier_score(std::span<const double> p, std::span<const std::uint8_t> labels) {
    require_probabilities(p, labels);
    double sum = 0.0;
    for (std::size_t i = 0; i < p.size(); ++i) {
        const double d = static_cast<double>(labels[i]) - p[i];
        sum += d * d;
    }
    return sum / static_cast<double>(p.size());
}

BootstrapInterval bootstrap_recall(std::span<const std::uint8_t> detected, int resamples, double level,
                                   std::uint64_t seed) {
    require_labels(detected, "detected");
    if (resamples < 0) invalid("resamples must be >= 0");
    require_level(level);
    BootstrapInterval r;
    r.n = static_cast<std::int64_t>(detected.size());
    r.k = std::count(detected.begin(), detected.end(), std::uint8_t{1});
    r.resamples = resamples;
    r.estimate = rate(r.k, r.n);
    r.lower = r.upper = kNaN;
    if (r.n == 0 || resamples == 0) return r;
    const std::size_t n = detected.size();
    std::vector<double> recalls(static_cast<std::size_t>(resamples));
    for (int rep = 0; rep < resamples; ++rep) {
        const std::uint64_t stream = splitmix64(seed ^ splitmix64(static_cast<std::uint64_t>(rep) + 1));
        std::int64_t hits = 0;
        for (std::size_t i = 0; i < n; ++i) hits += detected[draw_index(splitmix64(stream + i), n)];
        recalls[static_cast<std::size_t>(rep)] = rate(hits, r.n);
    }
    std::sort(recalls.begin(), recalls.end());
    r.lower = quantile_sorted(recalls, (1.0 - level) / 2.0);
    r.upper = quantile_sorted(recalls, (1.0 + level) / 2.0);
    return r;
}

Interval predicted_recall(std::span<const CellCompleteness> cells, int draws, double level, std::uint64_t seed) {
    if (draws < 1) invalid("draws must be >= 1");
    require_level(level);
    std::int64_t lenses = 0;
    double predicted = 0;
    for (const auto& c : cells) {
        if (c.lenses < 0 || c.detected < 0 || c.injected < 0 || c.detected > c.injected)
            invalid("cell counts must satisfy 0 <= detected <= injected and lenses >= 0");
        if (c.lenses > 0 && c.injected == 0) invalid("a cell holding lenses has no injection to predict from");
        lenses += c.lenses;
    }
    if (lenses == 0) return {kNaN, kNaN, kNaN};
    for (const auto& c : cells)
        if (c.lenses > 0)  // the Jeffreys posterior mean
            predicted += static_cast<double>(c.lenses) * (static_cast<double>(c.detected) + 0.5) /
                         (static_cast<double>(c.injected) + 1.0);
    std::vector<double> replicates(static_cast<std::size_t>(draws));
    for (int r = 0; r < draws; ++r) {
        const std::uint64_t stream = splitmix64(seed ^ splitmix64(static_cast<std::uint64_t>(r) + 1));
        double sum = 0;
        for (std::size_t i = 0; i < cells.size(); ++i) {
            const auto& c = cells[i];
            if (c.lenses == 0) continue;
            const double u = static_cast<double>(splitmix64(stream + i) >> 11) * 0x1p-53 + 0x1p-54;
            const double a = static_cast<double>(c.detected) + 0.5, b = static_cast<double>(c.injected - c.detected) + 0.5;
            sum += static_cast<double>(c.lenses) * boost::math::ibeta_inv(a, b, u);
        }
        replicates[static_cast<std::size_t>(r)] = sum / static_cast<double>(lenses);
    }
    std::sort(replicates.begin(), replicates.end());
    return {predicted / static_cast<double>(lenses), quantile_sorted(replicates, (1.0 - level) / 2.0),
            quantile_sorted(replicates, (1.0 + level) / 2.0)};
}

}  // namespace dhs::kernels
