// Tests of kernels/roc_auc: the AUC equals the Mann-Whitney rank-sum formula (mid-ranks for
// ties) and a brute-force pair count on tied and untied data, and scikit-learn's
// roc_auc_score to 1e-12; the bootstrap is deterministic in its seed, equals a naive
// resampling with the same draws, and its percentiles follow numpy.percentile.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

#include "kernels/stats/roc_auc.hpp"
#include "tests/support/python_support.hpp"
#include "tests/support/test_support.hpp"

namespace {

using dhs::kernels::bootstrap_roc_auc;
using dhs::kernels::roc_auc;

// U / (n_pos n_neg) with U = R_pos - n_pos (n_pos + 1) / 2 and mid-ranks for ties.
double mann_whitney_auc(const std::vector<double>& pos, const std::vector<double>& neg) {
    std::vector<std::pair<double, int>> all;
    for (double v : pos) all.emplace_back(v, 1);
    for (double v : neg) all.emplace_back(v, 0);
    std::sort(all.begin(), all.end());
    double rank_sum = 0;
    for (std::size_t i = 0; i < all.size();) {
        std::size_t j = i;
        while (j < all.size() && all[j].first == all[i].first) ++j;
        const double mid = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;  // ranks i+1 .. j
        for (std::size_t k = i; k < j; ++k)
            if (all[k].second) rank_sum += mid;
        i = j;
    }
    const double np = static_cast<double>(pos.size()), nn = static_cast<double>(neg.size());
    return (rank_sum - np * (np + 1) / 2) / (np * nn);
}

double brute_force_auc(const std::vector<double>& pos, const std::vector<double>& neg) {
    double s = 0;
    for (double p : pos)
        for (double n : neg) s += p > n ? 1.0 : p == n ? 0.5 : 0.0;
    return s / (static_cast<double>(pos.size()) * static_cast<double>(neg.size()));
}

struct Data {
    std::vector<double> pos, neg;
};

Data continuous(unsigned seed, std::size_t np, std::size_t nn, double shift) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> g(0, 1);
    Data d;
    for (std::size_t i = 0; i < np; ++i) d.pos.push_back(g(rng) + shift);
    for (std::size_t i = 0; i < nn; ++i) d.neg.push_back(g(rng));
    return d;
}

Data tied(unsigned seed, std::size_t np, std::size_t nn) {
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int> u(0, 4);
    Data d;
    for (std::size_t i = 0; i < np; ++i) d.pos.push_back(u(rng) + (u(rng) > 2 ? 1 : 0));
    for (std::size_t i = 0; i < nn; ++i) d.neg.push_back(u(rng));
    return d;
}

TEST(RocAuc, SmallCasesByHand) {
    EXPECT_DOUBLE_EQ(roc_auc(std::vector<double>{1, 2, 3}, std::vector<double>{0, 1}), 5.5 / 6.0);
    EXPECT_DOUBLE_EQ(roc_auc(std::vector<double>{1, 1}, std::vector<double>{1, 1, 1}), 0.5);
    EXPECT_DOUBLE_EQ(roc_auc(std::vector<double>{2}, std::vector<double>{1}), 1.0);
    EXPECT_DOUBLE_EQ(roc_auc(std::vector<double>{0}, std::vector<double>{1, 2}), 0.0);
    EXPECT_TRUE(std::isnan(roc_auc(std::vector<double>{}, std::vector<double>{1})));
    EXPECT_THROW(roc_auc(std::vector<double>{NAN}, std::vector<double>{1}), std::invalid_argument);
    EXPECT_THROW(roc_auc(std::vector<double>{1}, std::vector<double>{INFINITY}), std::invalid_argument);
}

TEST(RocAuc, EqualsTheMannWhitneyFormulaOnTiedAndUntiedData) {
    for (unsigned seed = 1; seed <= 5; ++seed) {
        const Data c = continuous(seed, 37 + seed, 53, 0.4);
        EXPECT_NEAR(roc_auc(c.pos, c.neg), mann_whitney_auc(c.pos, c.neg), 1e-15);
        EXPECT_NEAR(roc_auc(c.pos, c.neg), brute_force_auc(c.pos, c.neg), 1e-15);
        const Data t = tied(seed, 61, 40 + seed);
        EXPECT_NEAR(roc_auc(t.pos, t.neg), mann_whitney_auc(t.pos, t.neg), 1e-15);
        EXPECT_NEAR(roc_auc(t.pos, t.neg), brute_force_auc(t.pos, t.neg), 1e-15);
    }
}

// Writes "label score" lines for scikit-learn.
void write_scores(const std::string& path, const Data& d) {
    std::ofstream f(path);
    f.precision(17);
    for (double v : d.pos) f << "1 " << v << "\n";
    for (double v : d.neg) f << "0 " << v << "\n";
}

TEST(RocAuc, EqualsScikitLearnTo1e12) {
    if (!dhs::test::python_has("numpy sklearn")) GTEST_SKIP() << "/usr/bin/python3 with scikit-learn is not installed";
    dhs::test::TempDir dir("roc_auc_");
    const std::vector<Data> sets = {continuous(7, 1000, 3000, 0.3), continuous(8, 5, 7, -0.2), tied(9, 800, 1200),
                                    tied(10, 3, 500), continuous(11, 20000, 20000, 0.05)};
    std::vector<std::string> args;
    for (std::size_t i = 0; i < sets.size(); ++i) {
        args.push_back(dir.file("scores" + std::to_string(i) + ".txt"));
        write_scores(args.back(), sets[i]);
    }
    const std::string script = R"PY(
import sys
import numpy as np
from sklearn.metrics import roc_auc_score
for path in sys.argv[1:]:
    d = np.loadtxt(path)
    print("%.17g" % roc_auc_score(d[:, 0], d[:, 1]))
)PY";
    const auto out = dhs::test::run_python(dir.path(), "auc.py", script, args);
    ASSERT_TRUE(out.has_value());
    std::istringstream in(*out);
    for (const auto& d : sets) {
        double ref = NAN;
        in >> ref;
        EXPECT_NEAR(roc_auc(d.pos, d.neg), ref, 1e-12);
    }
}

TEST(RocAuc, BootstrapIsDeterministicAndEqualsANaiveResampling) {
    const Data d = tied(21, 40, 55);
    const auto a = bootstrap_roc_auc(d.pos, d.neg, 200, 0.95, 1234);
    const auto b = bootstrap_roc_auc(d.pos, d.neg, 200, 0.95, 1234);
    const auto c = bootstrap_roc_auc(d.pos, d.neg, 200, 0.95, 1235);
    EXPECT_EQ(a.lower, b.lower);
    EXPECT_EQ(a.upper, b.upper);
    EXPECT_NE(a.lower + a.upper, c.lower + c.upper);
    EXPECT_EQ(a.auc, roc_auc(d.pos, d.neg));
    EXPECT_LE(a.lower, a.auc);
    EXPECT_GE(a.upper, a.auc);
    EXPECT_EQ(a.n_positive, 40u);
    EXPECT_EQ(a.n_negative, 55u);

    // The same draws (documented stream), resampled into arrays and scored with the brute force.
    using dhs::kernels::splitmix64;
    auto draw = [](std::uint64_t bits, std::size_t n) {
        __extension__ typedef unsigned __int128 u128;
        return static_cast<std::size_t>((static_cast<u128>(bits) * n) >> 64);
    };
    std::vector<double> aucs;
    for (int r = 0; r < 200; ++r) {
        const std::uint64_t stream = splitmix64(1234 ^ splitmix64(static_cast<std::uint64_t>(r) + 1));
        std::uint64_t k = 0;
        std::vector<double> p, n;
        for (std::size_t i = 0; i < d.pos.size(); ++i) p.push_back(d.pos[draw(splitmix64(stream + k++), d.pos.size())]);
        for (std::size_t i = 0; i < d.neg.size(); ++i) n.push_back(d.neg[draw(splitmix64(stream + k++), d.neg.size())]);
        aucs.push_back(brute_force_auc(p, n));
    }
    std::sort(aucs.begin(), aucs.end());
    EXPECT_NEAR(a.lower, dhs::kernels::quantile_sorted(aucs, 0.025), 1e-15);
    EXPECT_NEAR(a.upper, dhs::kernels::quantile_sorted(aucs, 0.975), 1e-15);
    // No resamples: no interval.
    const auto z = bootstrap_roc_auc(d.pos, d.neg, 0, 0.95, 1);
    EXPECT_TRUE(std::isnan(z.lower));
    EXPECT_THROW(bootstrap_roc_auc(d.pos, d.neg, 10, 1.0, 1), std::invalid_argument);
}

TEST(RocAuc, QuantileFollowsNumpyPercentile) {
    const std::vector<double> v{0.1, 0.25, 0.3, 0.3, 0.55, 0.61, 0.7, 0.9, 0.91, 1.0};
    EXPECT_DOUBLE_EQ(dhs::kernels::quantile_sorted(v, 0.0), 0.1);
    EXPECT_DOUBLE_EQ(dhs::kernels::quantile_sorted(v, 1.0), 1.0);
    EXPECT_DOUBLE_EQ(dhs::kernels::quantile_sorted(v, 0.5), (0.55 + 0.61) / 2);
    if (!dhs::test::python_has("numpy")) GTEST_SKIP() << "/usr/bin/python3 with numpy is not installed";
    dhs::test::TempDir dir("quantile_");
    const std::string script = R"PY(
import numpy as np
v = np.array([0.1, 0.25, 0.3, 0.3, 0.55, 0.61, 0.7, 0.9, 0.91, 1.0])
for q in (0.025, 0.1, 0.333, 0.5, 0.8, 0.975):
    print("%.17g" % np.percentile(v, 100 * q))
)PY";
    const auto out = dhs::test::run_python(dir.path(), "q.py", script);
    ASSERT_TRUE(out.has_value());
    std::istringstream in(*out);
    for (double q : {0.025, 0.1, 0.333, 0.5, 0.8, 0.975}) {
        double ref = NAN;
        in >> ref;
        EXPECT_NEAR(dhs::kernels::quantile_sorted(v, q), ref, 1e-15) << q;
    }
}

TEST(RocAuc, PlantedSeparationHasAHighIntervalAndNoiseContainsOneHalf) {
    const Data sep = continuous(31, 500, 500, 1.0);  // AUC = Phi(1 / sqrt 2) = 0.760
    const auto s = bootstrap_roc_auc(sep.pos, sep.neg, 1000, 0.95, 5);
    EXPECT_NEAR(s.auc, 0.760, 0.04);
    EXPECT_GT(s.lower, 0.70);
    const Data same = continuous(32, 500, 500, 0.0);
    const auto n = bootstrap_roc_auc(same.pos, same.neg, 1000, 0.95, 5);
    EXPECT_LT(n.lower, 0.5);
    EXPECT_GT(n.upper, 0.5);
    EXPECT_LT(n.upper - n.lower, 0.10);  // ~ 2 x 1.96 x 0.018 for 500 vs 500
}

}  // namespace
