// Tests of kernels/logistic_regression: Newton/IRLS with L2 recovers known coefficients from
// synthetic data, matches scikit-learn's LogisticRegression(C = 1 / l2) on the same data,
// stays finite with more columns than rows (the core-pixel case) and on separable data, and
// the scaler standardises with training statistics.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

#include "kernels/stats/logistic_regression.hpp"
#include "kernels/stats/roc_auc.hpp"
#include "tests/support/python_support.hpp"
#include "tests/support/test_support.hpp"

namespace {

using dhs::kernels::fit_logistic_regression;
using dhs::kernels::LogisticRegressionOptions;

struct Synthetic {
    std::vector<double> x;
    std::vector<std::uint8_t> y;
    std::size_t rows, cols;
};

Synthetic draw(unsigned seed, std::size_t rows, const std::vector<double>& w, double b) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> g(0, 1);
    std::uniform_real_distribution<double> u(0, 1);
    Synthetic s{{}, {}, rows, w.size()};
    for (std::size_t i = 0; i < rows; ++i) {
        double z = b;
        for (double wj : w) {
            const double v = g(rng);
            s.x.push_back(v);
            z += wj * v;
        }
        s.y.push_back(u(rng) < 1.0 / (1.0 + std::exp(-z)) ? 1 : 0);
    }
    return s;
}

TEST(LogisticRegression, RecoversKnownCoefficients) {
    const std::vector<double> w{1.5, -2.0, 0.0, 0.7, -0.3};
    const double b = -0.4;
    const auto s = draw(3, 40000, w, b);
    LogisticRegressionOptions opt;
    opt.l2 = 1e-6;
    const auto fit = fit_logistic_regression(s.x, s.rows, s.cols, s.y, opt);
    EXPECT_TRUE(fit.converged);
    EXPECT_LT(fit.iterations, 20);
    // Standard errors are ~0.02 at this size: 0.08 is four of them.
    for (std::size_t j = 0; j < w.size(); ++j) EXPECT_NEAR(fit.coefficients[j], w[j], 0.08) << j;
    EXPECT_NEAR(fit.intercept, b, 0.08);
    // The decision function ranks like the true model.
    const auto z = dhs::kernels::logistic_decision_function(fit, s.x, s.rows);
    std::vector<double> pos, neg;
    for (std::size_t i = 0; i < s.rows; ++i) (s.y[i] ? pos : neg).push_back(z[i]);
    EXPECT_GT(dhs::kernels::roc_auc(pos, neg), 0.8);
}

TEST(LogisticRegression, MatchesScikitLearn) {
    if (!dhs::test::python_has("numpy sklearn")) GTEST_SKIP() << "/usr/bin/python3 with scikit-learn is not installed";
    dhs::test::TempDir dir("logreg_");
    const auto s = draw(5, 600, {0.8, -0.5, 0.2, 0.0, 1.1, -0.9}, 0.3);
    {
        std::ofstream f(dir.file("data.txt"));
        f.precision(17);
        for (std::size_t i = 0; i < s.rows; ++i) {
            f << int(s.y[i]);
            for (std::size_t j = 0; j < s.cols; ++j) f << " " << s.x[i * s.cols + j];
            f << "\n";
        }
    }
    const std::string script = R"PY(
import sys
import numpy as np
from sklearn.linear_model import LogisticRegression
d = np.loadtxt(sys.argv[1])
for c in (1.0, 0.05):
    # newton-cholesky (scikit-learn >= 1.2) converges to 1e-13; lbfgs stops near 1e-5.
    m = LogisticRegression(C=c, tol=1e-12, max_iter=10000, solver="newton-cholesky").fit(d[:, 1:], d[:, 0])
    print(" ".join("%.17g" % v for v in list(m.coef_[0]) + [m.intercept_[0]]))
)PY";
    const auto out = dhs::test::run_python(dir.path(), "lr.py", script, {dir.file("data.txt")});
    ASSERT_TRUE(out.has_value());
    std::istringstream in(*out);
    for (double c : {1.0, 0.05}) {
        LogisticRegressionOptions opt;
        opt.l2 = 1.0 / c;
        const auto fit = fit_logistic_regression(s.x, s.rows, s.cols, s.y, opt);
        EXPECT_TRUE(fit.converged);
        // The optimality condition itself: X^T (p - y) + l2 w = 0 and sum (p - y) = 0.
        const auto z = dhs::kernels::logistic_decision_function(fit, s.x, s.rows);
        std::vector<double> grad(s.cols + 1, 0.0);
        for (std::size_t i = 0; i < s.rows; ++i) {
            const double r = 1.0 / (1.0 + std::exp(-z[i])) - s.y[i];
            for (std::size_t j = 0; j < s.cols; ++j) grad[j] += s.x[i * s.cols + j] * r;
            grad[s.cols] += r;
        }
        for (std::size_t j = 0; j < s.cols; ++j) grad[j] += opt.l2 * fit.coefficients[j];
        for (double g : grad) EXPECT_LT(std::fabs(g), 1e-8);
        for (std::size_t j = 0; j < s.cols; ++j) {
            double ref = NAN;
            in >> ref;
            EXPECT_NEAR(fit.coefficients[j], ref, 1e-9) << "C=" << c << " coef " << j;
        }
        double ref_b = NAN;
        in >> ref_b;
        EXPECT_NEAR(fit.intercept, ref_b, 1e-9) << "C=" << c;
    }
}

TEST(LogisticRegression, MoreColumnsThanRowsAndSeparableDataStayFinite) {
    // 768 columns, 120 rows: the core-pixel classifier on a small set.
    std::mt19937_64 rng(9);
    std::normal_distribution<double> g(0, 1);
    const std::size_t rows = 120, cols = 768;
    std::vector<double> x(rows * cols);
    std::vector<std::uint8_t> y(rows);
    for (std::size_t i = 0; i < rows; ++i) {
        y[i] = i % 2;
        for (std::size_t j = 0; j < cols; ++j) x[i * cols + j] = g(rng) + (y[i] && j < 4 ? 0.5 : 0.0);
    }
    const auto fit = fit_logistic_regression(x, rows, cols, y);
    EXPECT_TRUE(fit.converged);
    for (double c : fit.coefficients) EXPECT_TRUE(std::isfinite(c));
    // Perfectly separable in one column: L2 keeps the solution finite.
    std::vector<double> xs{-2, -1, -0.5, 0.5, 1, 2};
    std::vector<std::uint8_t> ys{0, 0, 0, 1, 1, 1};
    const auto sep = fit_logistic_regression(xs, 6, 1, ys);
    EXPECT_TRUE(sep.converged);
    EXPECT_GT(sep.coefficients[0], 0.5);
    EXPECT_LT(sep.coefficients[0], 50);
}

TEST(LogisticRegression, BadInputThrows) {
    std::vector<double> x{1, 2, 3};
    EXPECT_THROW(fit_logistic_regression(x, 3, 1, std::vector<std::uint8_t>{1, 1, 1}), std::invalid_argument);
    EXPECT_THROW(fit_logistic_regression(x, 3, 1, std::vector<std::uint8_t>{0, 2, 1}), std::invalid_argument);
    EXPECT_THROW(fit_logistic_regression(x, 2, 1, std::vector<std::uint8_t>{0, 1}), std::invalid_argument);
    std::vector<double> bad{1, NAN, 3};
    EXPECT_THROW(fit_logistic_regression(bad, 3, 1, std::vector<std::uint8_t>{0, 1, 1}), std::invalid_argument);
}

TEST(LogisticRegression, ScalerUsesTrainingStatisticsAndZeroesNaN) {
    const std::vector<double> train{1, 10, 3, 10, NAN, 10};  // 3 rows x 2 cols
    const auto sc = dhs::kernels::FeatureScaler::fit(train, 3, 2);
    EXPECT_DOUBLE_EQ(sc.mean[0], 2.0);
    EXPECT_DOUBLE_EQ(sc.scale[0], 1.0);  // population std of {1, 3}
    EXPECT_DOUBLE_EQ(sc.mean[1], 10.0);
    EXPECT_DOUBLE_EQ(sc.scale[1], 1.0);  // constant column: scale 1
    std::vector<double> test{4, 12, NAN, 9};
    sc.apply(test);
    EXPECT_DOUBLE_EQ(test[0], 2.0);
    EXPECT_DOUBLE_EQ(test[1], 2.0);
    EXPECT_DOUBLE_EQ(test[2], 0.0);
    EXPECT_DOUBLE_EQ(test[3], -1.0);
}

}  // namespace
