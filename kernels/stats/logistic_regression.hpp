// L2-regularised logistic regression fitted by Newton's method (iteratively reweighted least
// squares) with Eigen's LDLT solver, plus the column standardisation the validation stage's
// shortcut classifiers use (core-only pixels, radial profiles). The objective is
//     sum_i [log(1 + exp(z_i)) - y_i z_i] + (l2 / 2) |w|^2,    z_i = x_i . w + b,
// the intercept b unpenalised: scikit-learn's LogisticRegression(penalty="l2", C = 1 / l2).
// Features are row-major (rows x cols) doubles. Eigen stays inside the .cpp. Pure numerics:
// no I/O, no MPI, no logging; deterministic for the same input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace dhs::kernels {

struct LogisticRegressionOptions {
    double l2 = 1.0;             ///< penalty on the coefficients (>= 0; > 0 when cols >= rows)
    int max_iterations = 100;    ///< Newton steps at most
    double tolerance = 1e-16;    ///< converged when the Newton decrement g.H^-1.g / 2 falls below this
                                 ///< (after which one last full step is taken)
    bool fit_intercept = true;
};

struct LogisticRegressionFit {
    std::vector<double> coefficients;  ///< w, one per column
    double intercept = 0;              ///< b (0 without fit_intercept)
    int iterations = 0;                ///< Newton steps taken
    bool converged = false;            ///< the decrement fell below the tolerance
    double objective = 0;              ///< penalised negative log-likelihood at the solution
};

/// @brief Fits the model to `labels` (0 or 1, one per row).
/// @throws std::invalid_argument on mismatched sizes, non-finite features, labels other than
/// 0/1, a single class, or l2 < 0.
LogisticRegressionFit fit_logistic_regression(std::span<const double> features, std::size_t rows, std::size_t cols,
                                              std::span<const std::uint8_t> labels,
                                              const LogisticRegressionOptions& options = {});

/// @brief The decision function z = x . w + b per row (a monotone score: its ROC AUC is that of
/// the predicted probabilities). @throws std::invalid_argument on a size mismatch.
std::vector<double> logistic_decision_function(const LogisticRegressionFit& fit, std::span<const double> features,
                                               std::size_t rows);

/// @brief Per-column standardisation fitted on training rows: (x - mean) / scale with the
/// mean and population standard deviation of the column's finite values (scale 1 for a
/// constant or all-NaN column, mean 0 when all are NaN).
struct FeatureScaler {
    std::vector<double> mean, scale;

    /// @brief Fits on `rows` x `cols` row-major features.
    static FeatureScaler fit(std::span<const double> features, std::size_t rows, std::size_t cols);
    /// @brief Standardises in place; a non-finite value becomes 0 (the training mean).
    /// @throws std::invalid_argument when features.size() is not a multiple of the column count.
    void apply(std::span<double> features) const;
};

}  // namespace dhs::kernels
