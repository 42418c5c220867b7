// Evaluation tables gathered row by row (Rows::add appends to a named column) and turned into
// a table group of evaluation.h5.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/engine/table_file.hpp"

namespace dhs::stages::evaluate {

// Columns gathered row by row: add(name, value) appends to the named column.
struct Rows {
    std::map<std::string, std::vector<double>> real;
    std::map<std::string, std::vector<std::int64_t>> integer;
    std::map<std::string, std::vector<std::string>> text;
    std::vector<std::string> order;
    template <class V>
    void add(const std::string& name, V v) {
        if (std::find(order.begin(), order.end(), name) == order.end()) order.push_back(name);
        if constexpr (std::is_floating_point_v<V>) real[name].push_back(static_cast<double>(v));
        else if constexpr (std::is_integral_v<V>) integer[name].push_back(static_cast<std::int64_t>(v));
        else text[name].push_back(std::string(v));
    }
    engine::TableGroup group(const std::string& name, const std::string& description) const {
        engine::TableGroup g{name, {}, {{"description", description}}, {}};
        for (const auto& c : order) {
            if (real.count(c)) g.table.add(Column(c, real.at(c)));
            else if (integer.count(c)) g.table.add(Column(c, integer.at(c)));
            else g.table.add(Column(c, text.at(c)));
        }
        return g;
    }
};

struct Params;
struct Comparison;

/// @brief A threshold on p_lens chosen at a target FPR (on the real negatives, else the controls).
struct OperatingPoint {
    double target_fpr = 0, threshold = std::numeric_limits<double>::quiet_NaN(),
           fpr = std::numeric_limits<double>::quiet_NaN();
    std::string chosen_on;
    bool resolvable = false;
};
/// @brief Per resolvable operating point: `keys` adds the row's key columns, then k of n scores
/// at or above the threshold, the fraction with its Clopper-Pearson and bootstrap intervals.
void detection_rows(const Params& p, const std::vector<double>& scores, const std::vector<OperatingPoint>& ops,
                    const std::function<void(Rows&)>& keys, Rows& rows);
/// @brief The selection function per cell, its 1-D and 2-D marginals and C(arc_snr).
void selection_function(const Params& p, const Comparison& inj, const std::vector<OperatingPoint>& ops, Rows& cells,
                        Rows& marginals, Rows& marginals_2d, Rows& by_snr);
/// @brief The mock sky's true lenses: their measured recall per theta_E bin beside the recall
/// the injections' selection function predicts for their (theta_E, PSF, depth) cells.
nlohmann::json truth_check(const Params& p, const Comparison& real, const Comparison& inj,
                           const std::vector<OperatingPoint>& ops, Rows& rows);
/// @brief The `gallery_size` highest-scored negatives and lowest-scored positives (failure modes).
void failure_modes(const Params& p, const Comparison& c, Rows& rows);
/// @brief Histograms of p_lens (20 bins) per stratum value and label, and over all.
void score_histograms(const Comparison& c, Rows& rows);

}  // namespace dhs::stages::evaluate
