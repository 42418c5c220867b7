// NESTED HEALPix cells of sky positions through healpix_cxx, with the conventions of the
// predecessor's Python (healpy.ang2pix(nside, radians(90 - dec), radians(ra), nest=True)),
// bit for bit, and the cells a disc touches (for spatial pre-filters). Pure numerics.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace dhs::kernels {

/// @brief One NESTED HEALPix resolution. Immutable after construction: safe to share
/// between threads.
class HealpixNest {
public:
    /// @throws std::invalid_argument unless nside is a power of 2 in [1, 2^29].
    explicit HealpixNest(std::int64_t nside);
    ~HealpixNest();
    HealpixNest(HealpixNest&&) noexcept;
    HealpixNest& operator=(HealpixNest&&) noexcept;

    std::int64_t nside() const noexcept { return nside_; }
    /// @brief Number of cells on the sky, 12 nside^2.
    std::int64_t num_cells() const noexcept { return 12 * nside_ * nside_; }

    /// @brief The NESTED cell of (ra, dec) in degrees: theta = (90 - dec) * (pi / 180),
    /// phi = ra * (pi / 180), as numpy's radians() computes them, then healpix_cxx's
    /// ang2pix (which healpy calls). RA outside [0, 360) wraps.
    /// @throws std::invalid_argument for non-finite input or |dec| > 90.
    std::int64_t cell(double ra_deg, double dec_deg) const;

    /// @brief Every cell that overlaps the disc of `radius_deg` around (ra, dec) (possibly a
    /// few more: healpix_cxx query_disc_inclusive), sorted.
    std::vector<std::int64_t> disc_cells(double ra_deg, double dec_deg, double radius_deg) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::int64_t nside_ = 0;
};

/// @brief The NESTED parent of `cell` `levels` resolutions coarser (nside / 2^levels):
/// cell >> (2 levels), exact in the NESTED scheme.
inline std::int64_t nest_parent(std::int64_t cell, int levels) { return cell >> (2 * levels); }

}  // namespace dhs::kernels
