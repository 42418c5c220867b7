// Evaluation tables gathered row by row (Rows::add appends to a named column) and turned into
// a table group of evaluation.h5.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

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
/// @brief The `gallery_size` highest-scored negatives and lowest-scored positives (failure modes).
void failure_modes(const Params& p, const Comparison& c, Rows& rows);
/// @brief Histograms of p_lens (20 bins) per stratum value and label, and over all.
void score_histograms(const Comparison& c, Rows& rows);

}  // namespace dhs::stages::evaluate
