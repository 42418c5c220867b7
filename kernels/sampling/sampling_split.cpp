// Split arithmetic of the sampling stage (see sampling_split.hpp).
#include "kernels/sampling/sampling_split.hpp"

#include <algorithm>
#include <stdexcept>

namespace dhs::kernels {

std::string split_hash_text(std::int64_t cell, std::int64_t seed) {
    return std::to_string(cell) + "_" + std::to_string(seed);
}

double split_u_from_digest(const std::uint8_t* d) {
    const std::uint32_t h = (std::uint32_t{d[0]} << 24) | (std::uint32_t{d[1]} << 16) | (std::uint32_t{d[2]} << 8) |
                            std::uint32_t{d[3]};
    return static_cast<double>(h) / 4294967296.0;
}

SplitRule::SplitRule(std::vector<std::pair<std::string, double>> allocations, std::string fallback) {
    if (allocations.empty()) throw std::invalid_argument("SplitRule: no allocations");
    // Python's sorted(dict.items()): by name (names are unique, so the value never decides).
    std::sort(allocations.begin(), allocations.end());
    double cum = 0.0;
    for (std::size_t i = 0; i < allocations.size(); ++i) {
        if (i > 0 && allocations[i].first == allocations[i - 1].first)
            throw std::invalid_argument("SplitRule: split '" + allocations[i].first + "' given twice");
        if (!(allocations[i].second >= 0.0)) throw std::invalid_argument("SplitRule: negative proportion");
        cum += allocations[i].second;
        names_.push_back(allocations[i].first);
        cumulative_.push_back(cum);
    }
    auto it = std::find(names_.begin(), names_.end(), fallback);
    if (it == names_.end()) {
        names_.push_back(fallback);
        cumulative_.push_back(-1.0);  // never chosen by the walk
    }
    fallback_ = static_cast<int>(std::find(names_.begin(), names_.end(), fallback) - names_.begin());
}

int SplitRule::index_of(double u) const noexcept {
    for (std::size_t i = 0; i < cumulative_.size(); ++i)
        if (u < cumulative_[i]) return static_cast<int>(i);
    return fallback_;
}

}  // namespace dhs::kernels
