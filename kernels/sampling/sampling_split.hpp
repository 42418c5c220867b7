// The train/val/test split of the sampling stage (SPEC Stage 1, seed 001 section 3): a sky
// cell's split comes from h = the first 4 bytes (big-endian) of SHA-256("{healpix_128}_{seed}"),
// u = h / 2^32, walking the allocations sorted by split name and taking the first with
// u < cumulative proportion (else "train"), exactly as the predecessor's Python
// assign_split() does it. The SHA-256 itself is computed by the caller (core/util/sha256.hpp);
// this file holds the arithmetic. Pure numerics.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace dhs::kernels {

/// @brief The text hashed for a cell: "{cell}_{seed}" in decimal, as Python's f-string writes it.
std::string split_hash_text(std::int64_t cell, std::int64_t seed);

/// @brief u = (first 4 digest bytes as a big-endian unsigned integer) / 2^32, in [0, 1).
double split_u_from_digest(const std::uint8_t* digest);

/// @brief The allocations of assign_split(): names and proportions, walked in sorted name
/// order with the running sum accumulated in double precision as Python does.
class SplitRule {
public:
    /// @brief `allocations` in any order (names unique); `fallback` is returned when u is
    /// not below the final cumulative sum ("train" in the predecessor).
    /// @throws std::invalid_argument for duplicate names, an empty list or a negative proportion.
    explicit SplitRule(std::vector<std::pair<std::string, double>> allocations, std::string fallback = "train");

    /// @brief The split names in walk order (sorted).
    const std::vector<std::string>& names() const noexcept { return names_; }
    /// @brief Index into names() of the split of u.
    int index_of(double u) const noexcept;
    /// @brief Name of the split of u.
    const std::string& split_of(double u) const noexcept { return names_[static_cast<std::size_t>(index_of(u))]; }

private:
    std::vector<std::string> names_;
    std::vector<double> cumulative_;
    int fallback_ = 0;
};

}  // namespace dhs::kernels
