// Tests of kernels/evaluation_metrics: on deterministic score sets (continuous and imbalanced,
// ties, all scores equal, a single positive, one class only, 10^5 negatives) the ROC and
// precision-recall curves equal scikit-learn's arrays, the ROC trapezoid area equals the exact
// kernels::roc_auc, the operating points (TPR at FPR, TPR0, TPR10) equal a numpy count over
// every threshold, calibration curves (uniform and quantile bins) and the Brier score equal
// scikit-learn's, the ECE equals a numpy transcription; Clopper-Pearson intervals equal
// scipy.stats.beta.ppf to 1e-9 (and statsmodels when installed) and closed forms; the recall
// bootstrap is deterministic and equals a naive resampling with its documented draws.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/stats/evaluation_metrics.hpp"
#include "kernels/stats/roc_auc.hpp"
#include "tests/support/python_support.hpp"
#include "tests/support/test_support.hpp"

namespace {

namespace k = dhs::kernels;
constexpr double kInf = std::numeric_limits<double>::infinity();

struct ScoreSet {
    std::string name;
    std::vector<double> scores;  // all in [0, 1], so they serve as probabilities too
    std::vector<std::uint8_t> labels;
    void add(double s, int y) {
        scores.push_back(s);
        labels.push_back(static_cast<std::uint8_t>(y));
    }
};

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// Logistic scores of two Gaussian classes; rounded to `decimals` when >= 0 (ties).
ScoreSet gaussian_set(const std::string& name, unsigned seed, int n_pos, int n_neg, double shift, int decimals) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> g(0, 1);
    ScoreSet s{name, {}, {}};
    auto score = [&](double x) {
        const double p = sigmoid(x);
        if (decimals < 0) return p;
        const double scale = std::pow(10.0, decimals);
        return std::round(p * scale) / scale;
    };
    // Interleaved so the classes are not sorted by position.
    for (int i = 0; i < std::max(n_pos, n_neg); ++i) {
        if (i < n_neg) s.add(score(g(rng) - 1.0), 0);
        if (i < n_pos) s.add(score(g(rng) - 1.0 + shift), 1);
    }
    return s;
}

// Scores on the grid k / 10 (heavy ties, values on the uniform bin edges), positives higher.
ScoreSet tied_grid_set(unsigned seed, int n_pos, int n_neg) {
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int> u(0, 7);
    ScoreSet s{"tied_grid", {}, {}};
    for (int i = 0; i < n_neg; ++i) s.add(u(rng) / 10.0, 0);
    for (int i = 0; i < n_pos; ++i) s.add((u(rng) + 3) / 10.0, 1);
    return s;
}

// Scores exactly on uniform bin edges j / 12 and j / 10 (numpy's edges i * (1 / n) differ from
// j / n in the last bit for some of them, which decides the bin of such a score).
ScoreSet bin_edge_set() {
    ScoreSet s{"on_bin_edges", {}, {}};
    for (int copy = 0; copy < 3; ++copy) {
        for (int j = 0; j <= 12; ++j) s.add(j / 12.0, (j + copy) % 3 == 0 ? 1 : 0);
        for (int j = 0; j <= 10; ++j) s.add(j / 10.0, (j + copy) % 2 == 0 ? 1 : 0);
    }
    return s;
}

ScoreSet constant_set(const std::string& name, int n_pos, int n_neg, double value) {
    ScoreSet s{name, {}, {}};
    for (int i = 0; i < n_neg + n_pos; ++i) s.add(value, i % (n_neg + n_pos) < n_pos ? 1 : 0);
    return s;
}

// 0.9 P, 0.8 N, 0.8 P, 0.3 N, 0.1 P: a positive tied with a negative, worked by hand below.
ScoreSet tiny_set() {
    ScoreSet s{"tiny", {}, {}};
    s.add(0.8, 0);
    s.add(0.1, 1);
    s.add(0.9, 1);
    s.add(0.3, 0);
    s.add(0.8, 1);
    return s;
}

std::vector<ScoreSet> score_sets() {
    std::vector<ScoreSet> sets;
    sets.push_back(gaussian_set("continuous_imbalanced", 11, 300, 5000, 2.5, -1));
    sets.push_back(tied_grid_set(12, 400, 600));
    sets.push_back(bin_edge_set());
    sets.push_back(constant_set("all_equal", 50, 80, 0.5));
    ScoreSet single = gaussian_set("single_positive", 13, 0, 200, 0.0, 2);
    single.add(single.scores[17], 1);  // tied with a negative
    sets.push_back(single);
    sets.push_back(gaussian_set("rounded_balanced", 14, 2000, 2000, 1.0, 2));
    sets.push_back(tiny_set());
    sets.push_back(gaussian_set("only_negatives", 15, 0, 20, 0.0, 1));
    sets.push_back(gaussian_set("only_positives", 16, 15, 0, 0.0, 1));
    sets.push_back(gaussian_set("large_negatives", 17, 300, 120000, 4.0, -1));
    return sets;
}

const std::vector<double> kTargets = {0.0, 1e-5, 1e-4, 1e-3, 1e-2, 0.05, 0.1, 0.5, 1.0};
const std::vector<int> kBinCounts = {1, 5, 10, 12, 15};

template <class T>
void write_binary(const std::string& path, const std::vector<T>& v) {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(T)));
}

std::vector<double> read_doubles(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    EXPECT_TRUE(f.good()) << "missing reference " << path;
    std::vector<double> v;
    double x = 0;
    while (f.read(reinterpret_cast<char*>(&x), sizeof x)) v.push_back(x);
    return v;
}

bool same_value(double a, double b, double tol) {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
    if (std::isinf(a) || std::isinf(b)) return a == b;
    return std::abs(a - b) <= tol;
}

void expect_arrays_near(const std::vector<double>& got, const std::vector<double>& ref, double tol,
                        const std::string& what) {
    ASSERT_EQ(got.size(), ref.size()) << what;
    for (std::size_t i = 0; i < got.size(); ++i)
        EXPECT_TRUE(same_value(got[i], ref[i], tol)) << what << "[" << i << "]: " << got[i] << " vs " << ref[i];
}

// numpy references of every curve, operating point and calibration summary, one binary file of
// float64 per array: <dir>/<set>.<key>.bin.
const char* kCurveScript = R"PY(
import os, sys, warnings
import numpy as np
from sklearn.metrics import roc_curve, precision_recall_curve, brier_score_loss
from sklearn.calibration import calibration_curve
warnings.simplefilter("ignore")
d, targets, bin_counts = sys.argv[1], [float(t) for t in sys.argv[2].split(",")], [int(b) for b in sys.argv[3].split(",")]
nan = float("nan")
for name in sys.argv[4:]:
    def save(key, a):
        np.asarray(a, dtype="<f8").tofile(os.path.join(d, name + "." + key + ".bin"))
    s = np.fromfile(os.path.join(d, name + ".scores.bin"), dtype="<f8")
    y = np.fromfile(os.path.join(d, name + ".labels.bin"), dtype=np.uint8).astype(int)
    for drop in (True, False):
        tag = "roc_drop" if drop else "roc_full"
        for key, a in zip(("fpr", "tpr", "thresholds"), roc_curve(y, s, drop_intermediate=drop)):
            save(tag + "." + key, a)
    for key, a in zip(("precision", "recall", "thresholds"), precision_recall_curve(y, s)):
        save("pr." + key, a)
    # Every threshold (each distinct score, and +inf: nothing positive) counted directly.
    pos, neg = np.sort(s[y == 1]), np.sort(s[y == 0])
    cand = np.r_[np.inf, np.unique(s)[::-1]]
    tp = len(pos) - np.searchsorted(pos, cand, "left")
    fp = len(neg) - np.searchsorted(neg, cand, "left")
    out = []
    for t in targets:
        if len(neg) == 0 or t < 1.0 / len(neg):
            out += [nan, nan, nan]
            continue
        ok = fp / len(neg) <= t
        best = tp[ok].max()
        i = np.flatnonzero(ok & (tp == best))[np.argmin(fp[ok & (tp == best)])]
        out += [best / len(pos) if len(pos) else nan, cand[i], fp[i] / len(neg)]
    save("tpr_at_fpr", out)
    bologna = [tp[fp < m].max() / len(pos) if len(pos) and len(neg) else nan for m in (1, 10)]
    save("bologna", bologna)
    for strategy in ("uniform", "quantile"):
        for nb in bin_counts:
            prob_true, prob_pred = calibration_curve(y, s, n_bins=nb, strategy=strategy)
            save("cal_%s_%d.true" % (strategy, nb), prob_true)
            save("cal_%s_%d.pred" % (strategy, nb), prob_pred)
    eces = []
    for nb in bin_counts:
        ids = np.searchsorted(np.linspace(0, 1, nb + 1)[1:-1], s)
        eces.append(sum((ids == b).sum() / len(s) * abs(y[ids == b].mean() - s[ids == b].mean())
                        for b in range(nb) if (ids == b).any()))
    save("ece", eces)
    save("brier", [brier_score_loss(y, s)])
)PY";

std::string joined(const auto& values) {
    std::string out;
    for (const auto& v : values) {
        std::ostringstream o;
        o.precision(17);
        o << v;
        out += (out.empty() ? "" : ",") + o.str();
    }
    return out;
}

// Area under the ROC points by the trapezoid rule (sklearn.metrics.auc).
double trapezoid_area(const k::RocCurve& r) {
    double a = 0;
    for (std::size_t i = 1; i < r.fpr.size(); ++i) a += (r.fpr[i] - r.fpr[i - 1]) * (r.tpr[i] + r.tpr[i - 1]) / 2;
    return a;
}

void check_against_reference(const ScoreSet& s, const dhs::test::TempDir& dir) {
    SCOPED_TRACE(s.name);
    auto ref = [&](const std::string& key) { return read_doubles(dir.file(s.name + "." + key + ".bin")); };
    constexpr double tol = 1e-12;
    for (bool drop : {true, false}) {
        const std::string tag = drop ? "roc_drop" : "roc_full";
        const k::RocCurve r = k::roc_curve(s.scores, s.labels, drop);
        expect_arrays_near(r.fpr, ref(tag + ".fpr"), tol, tag + ".fpr");
        expect_arrays_near(r.tpr, ref(tag + ".tpr"), tol, tag + ".tpr");
        expect_arrays_near(r.thresholds, ref(tag + ".thresholds"), tol, tag + ".thresholds");
    }
    const k::PrCurve pr = k::precision_recall_curve(s.scores, s.labels);
    expect_arrays_near(pr.precision, ref("pr.precision"), tol, "pr.precision");
    expect_arrays_near(pr.recall, ref("pr.recall"), tol, "pr.recall");
    expect_arrays_near(pr.thresholds, ref("pr.thresholds"), tol, "pr.thresholds");

    std::vector<double> op;
    for (double t : kTargets) {
        const k::TprAtFpr a = k::tpr_at_fpr(s.scores, s.labels, t);
        op.insert(op.end(), {a.tpr, a.threshold, a.fpr});
    }
    expect_arrays_near(op, ref("tpr_at_fpr"), 0.0, "tpr_at_fpr (tpr, threshold, fpr per target)");
    expect_arrays_near({k::tpr0(s.scores, s.labels), k::tpr10(s.scores, s.labels)}, ref("bologna"), 0.0,
                       "tpr0, tpr10");

    std::vector<double> eces;
    for (auto strategy : {k::CalibrationStrategy::uniform, k::CalibrationStrategy::quantile})
        for (int nb : kBinCounts) {
            const std::string key = std::string("cal_") +
                                    (strategy == k::CalibrationStrategy::uniform ? "uniform_" : "quantile_") +
                                    std::to_string(nb);
            const k::Calibration c = k::calibration_curve(s.scores, s.labels, nb, strategy);
            expect_arrays_near(c.prob_true, ref(key + ".true"), tol, key + ".prob_true");
            expect_arrays_near(c.prob_pred, ref(key + ".pred"), tol, key + ".prob_pred");
            std::int64_t total = 0;
            for (std::size_t b = 0; b < c.counts.size(); ++b) {
                total += c.counts[b];
                const double positives = c.prob_true[b] * static_cast<double>(c.counts[b]);
                EXPECT_NEAR(positives, std::round(positives), 1e-9) << key;
            }
            EXPECT_EQ(total, static_cast<std::int64_t>(s.scores.size())) << key;
            EXPECT_EQ(c.bin_edges.size(), static_cast<std::size_t>(nb) + 1) << key;
        }
    for (int nb : kBinCounts) eces.push_back(k::expected_calibration_error(s.scores, s.labels, nb));
    expect_arrays_near(eces, ref("ece"), tol, "ece");
    expect_arrays_near({k::brier_score(s.scores, s.labels)}, ref("brier"), tol, "brier");

    // The ROC area equals the exact Mann-Whitney AUC.
    std::vector<double> pos, neg;
    for (std::size_t i = 0; i < s.scores.size(); ++i) (s.labels[i] ? pos : neg).push_back(s.scores[i]);
    if (!pos.empty() && !neg.empty()) {
        EXPECT_NEAR(trapezoid_area(k::roc_curve(s.scores, s.labels)), k::roc_auc(pos, neg), 1e-12);
        EXPECT_NEAR(trapezoid_area(k::roc_curve(s.scores, s.labels, false)), k::roc_auc(pos, neg), 1e-12);
    }
}

TEST(EvaluationMetrics, CurvesOperatingPointsAndCalibrationEqualScikitLearn) {
    if (!dhs::test::python_has("numpy sklearn")) GTEST_SKIP() << "/usr/bin/python3 with scikit-learn is not installed";
    dhs::test::TempDir dir("evaluation_metrics_");
    const std::vector<ScoreSet> sets = score_sets();
    std::vector<std::string> args = {dir.path().string(), joined(kTargets), joined(kBinCounts)};
    for (const auto& s : sets) {
        write_binary(dir.file(s.name + ".scores.bin"), s.scores);
        write_binary(dir.file(s.name + ".labels.bin"), s.labels);
        args.push_back(s.name);
    }
    ASSERT_TRUE(dhs::test::run_python(dir.path(), "curves.py", kCurveScript, args).has_value());
    for (const auto& s : sets) check_against_reference(s, dir);
}

TEST(EvaluationMetrics, RocCurveConventionsOnATinySet) {
    const ScoreSet s = tiny_set();
    const k::RocCurve r = k::roc_curve(s.scores, s.labels, false);
    EXPECT_EQ(r.thresholds, (std::vector<double>{0.9 + 1.0, 0.9, 0.8, 0.3, 0.1}));  // max + 1 first (sklearn 1.2)
    EXPECT_EQ(r.tpr, (std::vector<double>{0, 1.0 / 3, 2.0 / 3, 2.0 / 3, 1}));
    EXPECT_EQ(r.fpr, (std::vector<double>{0, 0, 0.5, 1, 1}));
    const k::PrCurve pr = k::precision_recall_curve(s.scores, s.labels);
    EXPECT_EQ(pr.thresholds, (std::vector<double>{0.1, 0.3, 0.8, 0.9}));
    EXPECT_EQ(pr.precision, (std::vector<double>{0.6, 0.5, 2.0 / 3, 1, 1}));
    EXPECT_EQ(pr.recall, (std::vector<double>{1, 2.0 / 3, 2.0 / 3, 1.0 / 3, 0}));
}

TEST(EvaluationMetrics, OperatingPointsByHandWithATiedPositive) {
    const ScoreSet s = tiny_set();  // n_neg = 2, n_pos = 3
    const k::TprAtFpr half = k::tpr_at_fpr(s.scores, s.labels, 0.5);
    EXPECT_TRUE(half.resolvable);
    EXPECT_DOUBLE_EQ(half.tpr, 2.0 / 3);  // the 0.8 positive comes with the 0.8 negative
    EXPECT_EQ(half.threshold, 0.8);
    EXPECT_EQ(half.fpr, 0.5);
    EXPECT_EQ(half.true_positives, 2);
    EXPECT_EQ(half.false_positives, 1);
    EXPECT_EQ(half.n_positive, 3);
    EXPECT_EQ(half.n_negative, 2);
    const k::TprAtFpr all = k::tpr_at_fpr(s.scores, s.labels, 1.0);
    EXPECT_EQ(all.tpr, 1.0);
    EXPECT_EQ(all.threshold, 0.1);
    // Below 1 / n_neg: not resolvable, NaN, never extrapolated.
    const k::TprAtFpr fine = k::tpr_at_fpr(s.scores, s.labels, 0.49);
    EXPECT_FALSE(fine.resolvable);
    EXPECT_TRUE(std::isnan(fine.tpr));
    EXPECT_TRUE(std::isnan(fine.threshold));
    EXPECT_TRUE(std::isnan(fine.fpr));
    EXPECT_EQ(fine.n_negative, 2);
    EXPECT_DOUBLE_EQ(k::tpr0(s.scores, s.labels), 1.0 / 3);  // the tied 0.8 positive does not count
    EXPECT_EQ(k::tpr10(s.scores, s.labels), 1.0);
    // Two negatives on top: TPR0 = 0, and an FPR target they exceed gives "nothing positive".
    const std::vector<double> top{0.9, 0.9, 0.9, 0.5, 0.2, 0.1};
    const std::vector<std::uint8_t> top_labels{0, 1, 0, 1, 0, 0};
    EXPECT_EQ(k::tpr0(top, top_labels), 0.0);
    const k::TprAtFpr none = k::tpr_at_fpr(top, top_labels, 0.25);
    EXPECT_TRUE(none.resolvable);
    EXPECT_EQ(none.tpr, 0.0);
    EXPECT_EQ(none.threshold, kInf);
    EXPECT_EQ(none.fpr, 0.0);
    const k::TprAtFpr half_top = k::tpr_at_fpr(top, top_labels, 0.5);
    EXPECT_EQ(half_top.tpr, 1.0);  // the 0.9 group, then the 0.5 positive, no further negative
    EXPECT_EQ(half_top.threshold, 0.5);
    EXPECT_EQ(half_top.fpr, 0.5);
}

TEST(EvaluationMetrics, RejectsInvalidInput) {
    const std::vector<double> s{0.1, 0.2};
    const std::vector<std::uint8_t> y{0, 1}, bad{0, 2}, short_labels{1};
    EXPECT_THROW(k::roc_curve(s, bad), std::invalid_argument);
    EXPECT_THROW(k::roc_curve(s, short_labels), std::invalid_argument);
    EXPECT_THROW(k::roc_curve({}, {}), std::invalid_argument);
    EXPECT_THROW(k::precision_recall_curve(std::vector<double>{0.1, NAN}, y), std::invalid_argument);
    EXPECT_THROW(k::tpr_at_fpr(s, y, 1.5), std::invalid_argument);
    EXPECT_THROW(k::tpr_at_fpr(s, y, NAN), std::invalid_argument);
    EXPECT_THROW(k::tpr_below_false_positives(s, y, 0), std::invalid_argument);
    EXPECT_THROW(k::calibration_curve(std::vector<double>{0.1, 1.2}, y, 5), std::invalid_argument);
    EXPECT_THROW(k::calibration_curve(s, y, 0), std::invalid_argument);
    EXPECT_THROW(k::brier_score(std::vector<double>{-0.1, 0.5}, y), std::invalid_argument);
    EXPECT_THROW(k::clopper_pearson(3, 2), std::invalid_argument);
    EXPECT_THROW(k::clopper_pearson(-1, 2), std::invalid_argument);
    EXPECT_THROW(k::clopper_pearson(1, 2, 1.0), std::invalid_argument);
    EXPECT_THROW(k::bootstrap_recall(bad, 10, 0.95, 1), std::invalid_argument);
    EXPECT_THROW(k::bootstrap_recall(y, -1, 0.95, 1), std::invalid_argument);
}

// (k, n, level) cases: every k for n <= 40, and the ends and the middle up to n = 10^5.
struct BinomialCase {
    std::int64_t k, n;
    double level;
};

std::vector<BinomialCase> binomial_cases() {
    std::vector<BinomialCase> cases;
    for (double level : {0.95, 0.6827, 0.99}) {
        for (std::int64_t n = 1; n <= 40; ++n)
            for (std::int64_t kk = 0; kk <= n; ++kk) cases.push_back({kk, n, level});
        for (std::int64_t n : {97, 1000, 4321, 100000})
            for (std::int64_t kk : {std::int64_t{0}, std::int64_t{1}, std::int64_t{2}, std::int64_t{3},
                                    std::int64_t{10}, n / 3, n / 2, n - 10, n - 2, n - 1, n})
                cases.push_back({kk, n, level});
    }
    return cases;
}

const char* kClopperPearsonScript = R"PY(
import os, sys
import numpy as np
from scipy.stats import beta
d = sys.argv[1]
c = np.loadtxt(os.path.join(d, "cases.txt"), ndmin=2)
k, n, a = c[:, 0], c[:, 1], 1.0 - c[:, 2]
with np.errstate(all="ignore"):
    lower = np.where(k == 0, 0.0, beta.ppf(a / 2, k, n - k + 1))
    upper = np.where(k == n, 1.0, beta.ppf(1 - a / 2, k + 1, n - k))
np.r_[lower, upper].astype("<f8").tofile(os.path.join(d, "scipy.bin"))
try:
    from statsmodels.stats.proportion import proportion_confint
except ImportError:
    sys.exit(0)
lo = np.array([proportion_confint(int(kk), int(nn), alpha=aa, method="beta")[0] for kk, nn, aa in zip(k, n, a)])
hi = np.array([proportion_confint(int(kk), int(nn), alpha=aa, method="beta")[1] for kk, nn, aa in zip(k, n, a)])
np.r_[lo, hi].astype("<f8").tofile(os.path.join(d, "statsmodels.bin"))
)PY";

TEST(EvaluationMetrics, ClopperPearsonEqualsScipyBetaPpf) {
    if (!dhs::test::python_has("numpy scipy")) GTEST_SKIP() << "/usr/bin/python3 with scipy is not installed";
    dhs::test::TempDir dir("clopper_pearson_");
    const std::vector<BinomialCase> cases = binomial_cases();
    {
        std::ofstream f(dir.file("cases.txt"));
        f.precision(17);
        for (const auto& c : cases) f << c.k << " " << c.n << " " << c.level << "\n";
    }
    ASSERT_TRUE(dhs::test::run_python(dir.path(), "cp.py", kClopperPearsonScript, {dir.path().string()}).has_value());
    std::vector<double> lower, upper;
    for (const auto& c : cases) {
        const k::Interval i = k::clopper_pearson(c.k, c.n, c.level);
        lower.push_back(i.lower);
        upper.push_back(i.upper);
        EXPECT_LE(i.lower, i.estimate);
        EXPECT_GE(i.upper, i.estimate);
    }
    std::vector<double> both = lower;
    both.insert(both.end(), upper.begin(), upper.end());
    expect_arrays_near(both, read_doubles(dir.file("scipy.bin")), 1e-9, "scipy beta.ppf (lower..., upper...)");
    if (std::filesystem::exists(dir.file("statsmodels.bin")))
        expect_arrays_near(both, read_doubles(dir.file("statsmodels.bin")), 1e-9, "statsmodels proportion_confint");
    else
        std::cout << "statsmodels is not installed: compared with scipy only\n";
}

TEST(EvaluationMetrics, ClopperPearsonClosedFormsAndEdges) {
    // k = 0: upper = 1 - (a/2)^(1/n); k = n: lower = (a/2)^(1/n).
    for (std::int64_t n : {1, 7, 250, 100000}) {
        const double nd = static_cast<double>(n);
        const k::Interval zero = k::clopper_pearson(0, n, 0.95);
        EXPECT_EQ(zero.lower, 0.0);
        EXPECT_NEAR(zero.upper, 1.0 - std::pow(0.025, 1.0 / nd), 1e-12);
        const k::Interval all = k::clopper_pearson(n, n, 0.95);
        EXPECT_EQ(all.upper, 1.0);
        EXPECT_NEAR(all.lower, std::pow(0.025, 1.0 / nd), 1e-12);
    }
    const k::Interval empty = k::clopper_pearson(0, 0);
    EXPECT_TRUE(std::isnan(empty.lower) && std::isnan(empty.upper) && std::isnan(empty.estimate));
    // Symmetry: the interval of n - k is the mirror of that of k.
    const k::Interval a = k::clopper_pearson(13, 50, 0.9), b = k::clopper_pearson(37, 50, 0.9);
    EXPECT_NEAR(a.lower, 1.0 - b.upper, 1e-14);
    EXPECT_NEAR(a.upper, 1.0 - b.lower, 1e-14);
}

std::vector<std::uint8_t> detections(unsigned seed, int n, double recall) {
    std::mt19937_64 rng(seed);
    std::bernoulli_distribution b(recall);
    std::vector<std::uint8_t> d(static_cast<std::size_t>(n));
    for (auto& v : d) v = b(rng) ? 1 : 0;
    return d;
}

TEST(EvaluationMetrics, BootstrapRecallIsDeterministicAndEqualsANaiveResampling) {
    const std::vector<std::uint8_t> d = detections(3, 400, 0.75);
    const k::BootstrapInterval a = k::bootstrap_recall(d, 500, 0.95, 99);
    const k::BootstrapInterval b = k::bootstrap_recall(d, 500, 0.95, 99);
    const k::BootstrapInterval c = k::bootstrap_recall(d, 500, 0.95, 100);
    EXPECT_EQ(a.lower, b.lower);
    EXPECT_EQ(a.upper, b.upper);
    EXPECT_NE(a.lower + a.upper, c.lower + c.upper);
    EXPECT_EQ(a.n, 400);
    EXPECT_EQ(a.k, std::count(d.begin(), d.end(), 1));
    EXPECT_EQ(a.estimate, static_cast<double>(a.k) / 400.0);
    EXPECT_LE(a.lower, a.estimate);
    EXPECT_GE(a.upper, a.estimate);
    // Close to the Clopper-Pearson interval at this size.
    const k::Interval cp = k::clopper_pearson(a.k, a.n, 0.95);
    EXPECT_NEAR(a.lower, cp.lower, 0.015);
    EXPECT_NEAR(a.upper, cp.upper, 0.015);

    // The documented draws, resampled naively.
    std::vector<double> recalls;
    for (int r = 0; r < 500; ++r) {
        const std::uint64_t stream = k::splitmix64(99 ^ k::splitmix64(static_cast<std::uint64_t>(r) + 1));
        double hits = 0;
        for (std::size_t i = 0; i < d.size(); ++i) {
            __extension__ typedef unsigned __int128 u128;
            const auto idx = static_cast<std::size_t>((static_cast<u128>(k::splitmix64(stream + i)) * d.size()) >> 64);
            hits += d[idx];
        }
        recalls.push_back(hits / static_cast<double>(d.size()));
    }
    std::sort(recalls.begin(), recalls.end());
    EXPECT_EQ(a.lower, k::quantile_sorted(recalls, 0.025));
    EXPECT_EQ(a.upper, k::quantile_sorted(recalls, 0.975));

    const std::vector<std::uint8_t> all(30, 1);
    const k::BootstrapInterval full = k::bootstrap_recall(all, 100, 0.95, 1);
    EXPECT_EQ(full.lower, 1.0);
    EXPECT_EQ(full.upper, 1.0);
    const k::BootstrapInterval none = k::bootstrap_recall({}, 100, 0.95, 1);
    EXPECT_TRUE(std::isnan(none.estimate) && std::isnan(none.lower) && std::isnan(none.upper));
    const k::BootstrapInterval zero = k::bootstrap_recall(d, 0, 0.95, 1);
    EXPECT_EQ(zero.estimate, a.estimate);
    EXPECT_TRUE(std::isnan(zero.lower) && std::isnan(zero.upper));
}

// One cell: the prediction is the posterior mean (k + 1/2) / (n + 1) and its Monte Carlo
// interval the Jeffreys interval
// (scipy.stats.beta.ppf(a/2 and 1 - a/2, k + 1/2, n - k + 1/2)); k = 0 and k = n included.
TEST(EvaluationMetrics, PredictedRecallOfOneCellIsTheJeffreysInterval) {
    struct Case {
        std::int64_t k, n;
        double lower, upper;  // scipy 1.10 beta.ppf
    };
    for (const Case c : {Case{7, 20, 0.172276213631912, 0.5677660938414961},
                         Case{0, 15, 3.219414432372689e-05, 0.15181666211439765},
                         Case{15, 15, 0.8481833378856023, 0.9999678058556762}}) {
        const std::vector<k::CellCompleteness> cells{{3, c.k, c.n}};
        const k::Interval i = k::predicted_recall(cells, 20000, 0.95, 5);
        EXPECT_DOUBLE_EQ(i.estimate, (static_cast<double>(c.k) + 0.5) / (static_cast<double>(c.n) + 1.0));
        EXPECT_LE(i.lower, i.estimate);
        EXPECT_GE(i.upper, i.estimate);
        EXPECT_NEAR(i.lower, c.lower, 0.01) << c.k << "/" << c.n;
        EXPECT_NEAR(i.upper, c.upper, 0.01) << c.k << "/" << c.n;
    }
}

// Several cells: the estimate is the lens-weighted mean completeness; the interval narrows as
// the injections per cell grow; cells without lenses play no part; the seed fixes the interval.
TEST(EvaluationMetrics, PredictedRecallWeightsCellsByTheirLenses) {
    const std::vector<k::CellCompleteness> cells{{2, 9, 10}, {1, 1, 10}, {0, 0, 0}, {1, 5, 10}};
    const k::Interval i = k::predicted_recall(cells, 2000, 0.95, 7);
    EXPECT_DOUBLE_EQ(i.estimate, (2 * 9.5 / 11 + 1.5 / 11 + 5.5 / 11) / 4.0);
    EXPECT_LT(i.lower, i.estimate);
    EXPECT_GT(i.upper, i.estimate);
    const std::vector<k::CellCompleteness> more{{2, 9000, 10000}, {1, 1000, 10000}, {1, 5000, 10000}};
    const k::Interval j = k::predicted_recall(more, 2000, 0.95, 7);
    EXPECT_NEAR(j.estimate, (2 * 0.9 + 0.1 + 0.5) / 4.0, 1e-4);  // -> the plug-in as n grows
    EXPECT_LT(j.upper - j.lower, 0.1 * (i.upper - i.lower));
    const k::Interval again = k::predicted_recall(cells, 2000, 0.95, 7);
    EXPECT_EQ(again.lower, i.lower);
    EXPECT_EQ(again.upper, i.upper);
    EXPECT_TRUE(std::isnan(k::predicted_recall({}, 10, 0.95, 1).estimate));
    const std::vector<k::CellCompleteness> orphan{{1, 0, 0}}, bad{{1, 3, 2}};
    EXPECT_THROW(k::predicted_recall(orphan, 10, 0.95, 1), std::invalid_argument);
    EXPECT_THROW(k::predicted_recall(bad, 10, 0.95, 1), std::invalid_argument);
    EXPECT_THROW(k::predicted_recall(cells, 0, 0.95, 1), std::invalid_argument);
}

}  // namespace
