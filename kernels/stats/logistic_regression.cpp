// L2 logistic regression by Newton / IRLS with Eigen's LDLT (see logistic_regression.hpp).
#include "kernels/stats/logistic_regression.hpp"

#include <Eigen/Dense>
#include <cmath>
#include <stdexcept>
#include <string>

namespace dhs::kernels {

namespace {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

void require(bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument("dhs::kernels logistic_regression: " + what);
}

// log(1 + exp(z)) without overflow.
inline double softplus(double z) { return std::max(z, 0.0) + std::log1p(std::exp(-std::fabs(z))); }

// 1 / (1 + exp(-z)) without overflow.
inline double sigmoid(double z) {
    if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
    const double e = std::exp(z);
    return e / (1.0 + e);
}

double objective(const VectorXd& z, const VectorXd& y, const VectorXd& beta, Index ncoef, double l2) {
    double f = 0;
    for (Index i = 0; i < z.size(); ++i) f += softplus(z[i]) - y[i] * z[i];
    return f + 0.5 * l2 * beta.head(ncoef).squaredNorm();
}

}  // namespace

LogisticRegressionFit fit_logistic_regression(std::span<const double> features, std::size_t rows, std::size_t cols,
                                              std::span<const std::uint8_t> labels,
                                              const LogisticRegressionOptions& options) {
    require(features.size() == rows * cols, "features size is not rows x cols");
    require(labels.size() == rows, "one label per row is needed");
    require(options.l2 >= 0 && std::isfinite(options.l2), "l2 must be finite and >= 0");
    require(options.max_iterations >= 1, "max_iterations must be >= 1");
    std::size_t ones = 0;
    for (auto l : labels) {
        require(l == 0 || l == 1, "labels must be 0 or 1");
        ones += l;
    }
    require(ones > 0 && ones < rows, "both classes are needed");
    for (double x : features) require(std::isfinite(x), "features must be finite");

    const auto n = static_cast<Index>(rows), p = static_cast<Index>(cols);
    const Index k = p + (options.fit_intercept ? 1 : 0);
    // The design matrix [X | 1], column-major for Eigen's products.
    MatrixXd x(n, k);
    x.leftCols(p) = Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
        features.data(), n, p);
    if (options.fit_intercept) x.col(p).setOnes();
    VectorXd y(n);
    for (Index i = 0; i < n; ++i) y[i] = labels[static_cast<std::size_t>(i)];

    VectorXd beta = VectorXd::Zero(k), z = VectorXd::Zero(n), prob(n), w(n), grad(k);
    MatrixXd hess(k, k), xw(n, k);  // xw: allocated once (50 MB for 8192 x 769), refilled each step
    double f = objective(z, y, beta, p, options.l2);
    LogisticRegressionFit fit;
    for (int it = 0; it < options.max_iterations; ++it) {
        for (Index i = 0; i < n; ++i) {
            prob[i] = sigmoid(z[i]);
            w[i] = prob[i] * (1.0 - prob[i]);
        }
        grad.noalias() = x.transpose() * (prob - y);
        grad.head(p) += options.l2 * beta.head(p);
        // H = X^T diag(w) X + l2 I (coefficients only), lower triangle, then LDLT.
        xw.array() = x.array().colwise() * w.array().sqrt();
        hess.setZero();
        hess.selfadjointView<Eigen::Lower>().rankUpdate(xw.transpose());
        hess.diagonal().head(p).array() += options.l2;
        const Eigen::LDLT<MatrixXd, Eigen::Lower> ldlt(hess);
        require(ldlt.info() == Eigen::Success, "the Hessian could not be factorised");
        const VectorXd step = ldlt.solve(grad);
        const double decrement = grad.dot(step);
        fit.iterations = it + 1;
        if (!(decrement >= 0) || !std::isfinite(decrement)) break;  // not a descent direction
        // In the quadratic region (the decrement is below what the objective can resolve, or
        // below the tolerance) a full Newton step is safe and squares the remaining error.
        const bool quadratic = decrement / 2 <= std::max(options.tolerance, 1e-12 * std::max(1.0, std::fabs(f)));
        if (quadratic) {
            beta -= step;
            z.noalias() = x * beta;
            f = objective(z, y, beta, p, options.l2);
            fit.converged = decrement / 2 <= options.tolerance;
            if (fit.converged) break;
            continue;
        }
        // Backtracking (Armijo) line search along the Newton step.
        double t = 1.0;
        VectorXd trial_beta, trial_z;
        double trial_f = f;
        for (int h = 0; h < 60; ++h, t /= 2) {
            trial_beta = beta - t * step;
            trial_z = x * trial_beta;
            trial_f = objective(trial_z, y, trial_beta, p, options.l2);
            if (trial_f <= f - 1e-4 * t * decrement) break;
        }
        if (!(trial_f < f)) break;  // no progress possible at double precision: not converged
        beta = std::move(trial_beta);
        z = std::move(trial_z);
        f = trial_f;
    }
    fit.coefficients.assign(beta.data(), beta.data() + p);
    fit.intercept = options.fit_intercept ? beta[p] : 0.0;
    fit.objective = f;
    return fit;
}

std::vector<double> logistic_decision_function(const LogisticRegressionFit& fit, std::span<const double> features,
                                               std::size_t rows) {
    const std::size_t p = fit.coefficients.size();
    require(features.size() == rows * p, "features size is not rows x coefficients");
    std::vector<double> out(rows);
    for (std::size_t i = 0; i < rows; ++i) {
        double z = fit.intercept;
        const double* row = features.data() + i * p;
        for (std::size_t j = 0; j < p; ++j) z += row[j] * fit.coefficients[j];
        out[i] = z;
    }
    return out;
}

FeatureScaler FeatureScaler::fit(std::span<const double> features, std::size_t rows, std::size_t cols) {
    require(features.size() == rows * cols, "features size is not rows x cols");
    FeatureScaler s;
    s.mean.assign(cols, 0.0);
    s.scale.assign(cols, 1.0);
    std::vector<std::size_t> count(cols, 0);
    for (std::size_t i = 0; i < rows; ++i)
        for (std::size_t j = 0; j < cols; ++j) {
            const double v = features[i * cols + j];
            if (std::isfinite(v)) {
                s.mean[j] += v;
                ++count[j];
            }
        }
    for (std::size_t j = 0; j < cols; ++j) s.mean[j] = count[j] > 0 ? s.mean[j] / static_cast<double>(count[j]) : 0.0;
    std::vector<double> ss(cols, 0.0);
    for (std::size_t i = 0; i < rows; ++i)
        for (std::size_t j = 0; j < cols; ++j) {
            const double v = features[i * cols + j];
            if (std::isfinite(v)) ss[j] += (v - s.mean[j]) * (v - s.mean[j]);
        }
    for (std::size_t j = 0; j < cols; ++j) {
        const double sd = count[j] > 0 ? std::sqrt(ss[j] / static_cast<double>(count[j])) : 0.0;
        s.scale[j] = sd > 0 ? sd : 1.0;
    }
    return s;
}

void FeatureScaler::apply(std::span<double> features) const {
    const std::size_t cols = mean.size();
    require(cols > 0 && features.size() % cols == 0, "features size is not a multiple of the scaler's columns");
    for (std::size_t i = 0; i < features.size(); ++i) {
        const std::size_t j = i % cols;
        const double v = features[i];
        features[i] = std::isfinite(v) ? (v - mean[j]) / scale[j] : 0.0;
    }
}

}  // namespace dhs::kernels
