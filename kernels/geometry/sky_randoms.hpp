// Random points uniform on the sphere ("randoms", as the Legacy Surveys' random catalogues):
// point `id` of a seed is a pure function of (seed, id), so any partition of the ids over
// ranks or units gives the same catalogue. Pure numerics.
#pragma once

#include <cstdint>

namespace dhs::kernels {

struct SkyPoint {
    double ra = 0.0;   ///< degrees, [0, 360)
    double dec = 0.0;  ///< degrees, [-90, 90]
};

/// @brief Point `id` of the uniform random catalogue of `seed`: ra = 360 u1,
/// dec = asin(2 u2 - 1) (equal area), u1 and u2 = injection::uniform01(seed, id, stream 0 and 1).
SkyPoint sky_random(std::uint64_t seed, std::int64_t id);

}  // namespace dhs::kernels
