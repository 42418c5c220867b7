// A static k-d tree on unit vectors of the sky: which catalog points lie within an angle of a
// position, and the nearest one. Works across RA = 0/360, the poles and any cell or file edge,
// because distances are chords between 3-D unit vectors, never differences of RA/Dec.
// Used for the known-lens exclusion, the lens crossmatch, duplicate collapsing and confuser
// matches of the sampling stage. Pure numerics: no I/O, no MPI.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace dhs::kernels {

/// @brief A point on the unit sphere (x towards RA 0 Dec 0, z towards the north pole).
struct UnitVector {
    double x = 0, y = 0, z = 0;
};

/// @brief The unit vector of (ra, dec) in degrees.
UnitVector unit_vector(double ra_deg, double dec_deg);

/// @brief Squared chord length between two unit vectors.
inline double chord2(const UnitVector& a, const UnitVector& b) {
    const double dx = a.x - b.x, dy = a.y - b.y, dz = a.z - b.z;
    return dx * dx + dy * dy + dz * dz;
}

/// @brief Squared chord of an angular separation in arcsec: (2 sin(theta / 2))^2.
double chord2_of_arcsec(double arcsec);

/// @brief Angular separation in arcsec of a squared chord (inverse of chord2_of_arcsec).
double arcsec_of_chord2(double chord2);

/// @brief Angular separation of two (ra, dec) positions in arcsec (haversine-exact via chords).
double separation_arcsec(double ra1_deg, double dec1_deg, double ra2_deg, double dec2_deg);

/// @brief A balanced k-d tree over a fixed set of unit vectors. Point indices are the
/// positions in the vector given to the constructor. Immutable after construction: safe to
/// query from many threads at once.
class SkyIndex {
public:
    /// @brief An index with no points (every query finds nothing).
    SkyIndex() = default;
    /// @brief Builds the tree in O(n log n).
    explicit SkyIndex(std::vector<UnitVector> points);

    /// @brief Number of points indexed.
    std::size_t size() const noexcept { return points_.size(); }
    /// @brief The i-th point as given.
    const UnitVector& point(std::size_t i) const { return points_.at(i); }

    /// @brief Every point with chord2(point, q) <= max_chord2, as (index, chord2) pairs sorted
    /// by index, written into `out` (cleared first).
    void within(const UnitVector& q, double max_chord2, std::vector<std::pair<std::uint32_t, double>>& out) const;
    /// @brief True when some point has chord2(point, q) <= max_chord2.
    bool any_within(const UnitVector& q, double max_chord2) const;
    /// @brief The nearest point with chord2 <= max_chord2 as (index, chord2); ties go to the
    /// smaller index. nullopt when there is none.
    std::optional<std::pair<std::uint32_t, double>> nearest(const UnitVector& q, double max_chord2) const;

private:
    struct Node {
        std::uint32_t begin = 0, end = 0;  ///< range in order_ of the points below
        std::int32_t left = -1, right = -1;
        int axis = -1;                     ///< -1: leaf
        double split = 0;
        UnitVector lo, hi;                 ///< bounding box of the points below
    };
    std::int32_t build(std::uint32_t begin, std::uint32_t end);
    static double box_distance2(const Node& n, const UnitVector& q);
    template <class Leaf>
    bool walk(const UnitVector& q, const double& bound, Leaf&& leaf) const;

    std::vector<UnitVector> points_;
    std::vector<std::uint32_t> order_;  ///< point indices in tree order
    std::vector<Node> nodes_;
};

}  // namespace dhs::kernels
