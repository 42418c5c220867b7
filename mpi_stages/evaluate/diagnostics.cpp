// Failure modes and calibration repairs of the evaluation (see evaluate.hpp): the most
// confident false positives and false negatives (rows into cutouts.h5 / injections.h5 for a
// gallery), score histograms per stratum, and temperature scaling fitted on the val split.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "kernels/stats/evaluation_metrics.hpp"
#include "mpi_stages/evaluate/evaluate.hpp"
#include "mpi_stages/evaluate/rows.hpp"

namespace dhs::stages::evaluate {

void failure_modes(const Params& p, const Comparison& c, Rows& rows) {
    std::vector<std::size_t> order(c.score.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    // Highest-scored negatives first, then lowest-scored positives; ties by file row.
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return c.score[a] != c.score[b] ? c.score[a] > c.score[b] : c.source_row[a] < c.source_row[b];
    });
    const auto list = [&](const char* kind, std::uint8_t label, bool from_top) {
        int rank = 0;
        for (std::size_t k = 0; k < order.size() && rank < p.gallery_size; ++k) {
            const std::size_t i = from_top ? order[k] : order[order.size() - 1 - k];
            if (c.label[i] != label) continue;
            rows.add("comparison", c.name), rows.add("kind", kind), rows.add("rank", static_cast<std::int64_t>(rank++));
            rows.add("source", c.name == "real" ? "cutouts" : "injections"), rows.add("source_row", c.source_row[i]);
            rows.add("galaxy_id", c.galaxy[i]), rows.add("p_lens", c.score[i]);
        }
    };
    list("false_positive", 0, true);
    list("false_negative", 1, false);
}

void score_histograms(const Comparison& c, Rows& rows) {
    constexpr int kBins = 20;
    std::map<std::string, std::vector<std::string>> strata = c.strata;
    strata["all"] = std::vector<std::string>(c.score.size(), "all");
    for (const auto& [kind, labels] : strata) {
        std::map<std::pair<std::string, int>, std::vector<std::int64_t>> counts;
        for (std::size_t i = 0; i < c.score.size(); ++i) {
            auto& h = counts[{labels[i], c.label[i]}];
            h.resize(kBins, 0);
            ++h[static_cast<std::size_t>(std::clamp(static_cast<int>(c.score[i] * kBins), 0, kBins - 1))];
        }
        for (const auto& [key, h] : counts)
            for (int b = 0; b < kBins; ++b) {
                rows.add("comparison", c.name), rows.add("stratum", kind), rows.add("value", key.first);
                rows.add("label", static_cast<std::int64_t>(key.second));
                rows.add("p_lens_lo", static_cast<double>(b) / kBins), rows.add("p_lens_hi", static_cast<double>(b + 1) / kBins);
                rows.add("count", h[static_cast<std::size_t>(b)]);
            }
    }
}

namespace {

// Mean binary cross-entropy of sigmoid(logit / t).
double nll(const std::vector<double>& logit, const std::vector<std::uint8_t>& label, double t) {
    double sum = 0;
    for (std::size_t i = 0; i < logit.size(); ++i) {
        const double x = logit[i] / t;
        sum += std::max(x, 0.0) - x * label[i] + std::log1p(std::exp(-std::abs(x)));
    }
    return logit.empty() ? 0 : sum / static_cast<double>(logit.size());
}

}  // namespace

TemperatureFit fit_temperature(const std::vector<double>& logit, const std::vector<std::uint8_t>& label) {
    // Golden-section search of the NLL over log T in [-5, 5] (T from 0.007 to 148); the NLL of a
    // logistic model is convex in 1/T, unimodal in log T.
    double a = -5, b = 5;
    const double g = (std::sqrt(5.0) - 1) / 2;
    double c = b - g * (b - a), d = a + g * (b - a);
    double fc = nll(logit, label, std::exp(c)), fd = nll(logit, label, std::exp(d));
    for (int it = 0; it < 200 && b - a > 1e-10; ++it) {
        if (fc < fd) {
            b = d, d = c, fd = fc, c = b - g * (b - a), fc = nll(logit, label, std::exp(c));
        } else {
            a = c, c = d, fc = fd, d = a + g * (b - a), fd = nll(logit, label, std::exp(d));
        }
    }
    TemperatureFit f;
    f.temperature = std::exp(0.5 * (a + b));
    f.nll_before = nll(logit, label, 1.0);
    f.nll_after = nll(logit, label, f.temperature);
    return f;
}

std::vector<double> scaled_probabilities(const std::vector<double>& logit, double t) {
    std::vector<double> p(logit.size());
    for (std::size_t i = 0; i < logit.size(); ++i) p[i] = 1.0 / (1.0 + std::exp(-logit[i] / t));
    return p;
}

}  // namespace dhs::stages::evaluate
