// Per-object classifications of the sampling stage (SPEC Stage 1; seeds 001-003): the
// stratification bins (nobs_z_bin x type_bin), the LRG injection-host variants v1..v5, the
// deterministic draw value of an object for the stratified negatives, and the per-stratum
// quotas (negatives per positive, N1:N2). Pure numerics: no I/O, no MPI.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace dhs::kernels {

/// @brief nobs_z bins: "0" (no z exposure; never in the pool), "1-2", "3-5", "6-10", "11+".
inline constexpr int kNumNobsBins = 5;
/// @brief type bins: "SER", "DEV", "REX", "OTHER" (EXP, PSF, DUP, COMP, ...).
inline constexpr int kNumTypeBins = 4;
/// @brief Strata: nobs bin x type bin; id = nobs_bin * kNumTypeBins + type_bin.
inline constexpr int kNumStrata = kNumNobsBins * kNumTypeBins;

/// @brief The nobs_z bin of a z-band exposure count (negative counts go to bin 0).
int nobs_z_bin(std::int64_t nobs_z) noexcept;
/// @brief The name of nobs bin `b` ("0", "1-2", "3-5", "6-10", "11+").
const std::string& nobs_z_bin_name(int b);
/// @brief The type bin of a Tractor TYPE (exact, trimmed upper-case text): SER 0, DEV 1, REX 2, else 3.
int type_bin(std::string_view type) noexcept;
/// @brief The name of type bin `b` ("SER", "DEV", "REX", "OTHER").
const std::string& type_bin_name(int b);
/// @brief Stratum id of (nobs bin, type bin).
inline int stratum_id(int nobs_bin, int type_bin) noexcept { return nobs_bin * kNumTypeBins + type_bin; }
/// @brief Stratum name "<nobs_z_bin>/<type_bin>", e.g. "3-5/DEV".
const std::string& stratum_name(int stratum);

/// @brief One LRG parent-sample variant (seed 003 section 1): z < z_max, r - z > rz_min,
/// z - W1 > zw1_min (AB magnitudes).
struct LrgVariant {
    const char* name;
    double z_max, rz_min, zw1_min;
};
/// @brief v1_pure_massive, v2_baseline_dr10, v3_color_relaxed, v4_mag_relaxed, v5_very_relaxed.
inline constexpr std::array<LrgVariant, 5> kLrgVariants = {{
    {"v1_pure_massive", 20.0, 0.5, 1.6},
    {"v2_baseline_dr10", 20.4, 0.4, 1.6},
    {"v3_color_relaxed", 20.4, 0.4, 0.8},
    {"v4_mag_relaxed", 21.0, 0.4, 0.8},
    {"v5_very_relaxed", 21.5, 0.3, 0.8},
}};
/// @brief True when magnitudes z, r - z, z - W1 pass the variant's cuts (NaN never passes).
inline bool lrg_colour_cut(const LrgVariant& v, double mag_z, double r_minus_z, double z_minus_w1) noexcept {
    return mag_z < v.z_max && r_minus_z > v.rz_min && z_minus_w1 > v.zw1_min;
}
/// @brief Index (0..4) of a variant given as "v3" or "v3_color_relaxed"; -1 when unknown.
int lrg_variant_index(std::string_view name) noexcept;

/// @brief The draw value of an object for the stratified negatives: u in [0, 1) from the
/// top 53 bits of XXH64(galaxy_id, seed). The negatives of a stratum are the objects with
/// the smallest u (ties by canonical row order), so the draw is independent of rank count.
double draw_u(std::string_view galaxy_id, std::uint64_t seed) noexcept;

/// @brief How many negatives a stratum gets from each pool.
struct StratumQuota {
    std::int64_t n1 = 0, n2 = 0;
};
/// @brief ratio x positives negatives, of which round(total x n1_fraction) (half away from
/// zero) from N1 and the rest from N2.
StratumQuota stratum_quota(std::int64_t positives, std::int64_t ratio, double n1_fraction) noexcept;

/// @brief Ellipticity modulus |e| = sqrt(e1^2 + e2^2) of Tractor's SHAPE_E1/E2.
double ellipticity(double e1, double e2) noexcept;

}  // namespace dhs::kernels
