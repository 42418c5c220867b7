// Stratification bins, LRG variants, draw values and quotas (see sampling_strata.hpp).
#include "kernels/sampling/sampling_strata.hpp"

#include <xxhash.h>

#include <cmath>
#include <stdexcept>
#include <vector>

namespace dhs::kernels {

int nobs_z_bin(std::int64_t n) noexcept {
    if (n <= 0) return 0;
    if (n <= 2) return 1;
    if (n <= 5) return 2;
    if (n <= 10) return 3;
    return 4;
}

const std::string& nobs_z_bin_name(int b) {
    static const std::array<std::string, kNumNobsBins> names = {"0", "1-2", "3-5", "6-10", "11+"};
    return names.at(static_cast<std::size_t>(b));
}

int type_bin(std::string_view t) noexcept {
    if (t == "SER") return 0;
    if (t == "DEV") return 1;
    if (t == "REX") return 2;
    return 3;
}

const std::string& type_bin_name(int b) {
    static const std::array<std::string, kNumTypeBins> names = {"SER", "DEV", "REX", "OTHER"};
    return names.at(static_cast<std::size_t>(b));
}

const std::string& stratum_name(int s) {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> v;
        for (int n = 0; n < kNumNobsBins; ++n)
            for (int t = 0; t < kNumTypeBins; ++t) v.push_back(nobs_z_bin_name(n) + "/" + type_bin_name(t));
        return v;
    }();
    return names.at(static_cast<std::size_t>(s));
}

int lrg_variant_index(std::string_view name) noexcept {
    for (std::size_t i = 0; i < kLrgVariants.size(); ++i) {
        const std::string_view full = kLrgVariants[i].name;
        if (name == full || name == full.substr(0, 2)) return static_cast<int>(i);
    }
    return -1;
}

double draw_u(std::string_view galaxy_id, std::uint64_t seed) noexcept {
    const XXH64_hash_t h = XXH64(galaxy_id.data(), galaxy_id.size(), seed);
    return static_cast<double>(h >> 11) * 0x1.0p-53;
}

StratumQuota stratum_quota(std::int64_t positives, std::int64_t ratio, double n1_fraction) noexcept {
    const std::int64_t total = positives * ratio;
    const auto n1 = static_cast<std::int64_t>(std::llround(static_cast<double>(total) * n1_fraction));
    return {n1, total - n1};
}

double ellipticity(double e1, double e2) noexcept { return std::sqrt(e1 * e1 + e2 * e2); }

}  // namespace dhs::kernels
