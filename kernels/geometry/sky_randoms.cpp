// Uniform random points on the sphere (see sky_randoms.hpp).
#include "kernels/geometry/sky_randoms.hpp"

#include <cmath>
#include <numbers>

#include "kernels/injection/injection_design.hpp"

namespace dhs::kernels {

SkyPoint sky_random(std::uint64_t seed, std::int64_t id) {
    const double u1 = injection::uniform01(seed, id, 0), u2 = injection::uniform01(seed, id, 1);
    return {360.0 * u1, std::asin(2.0 * u2 - 1.0) * (180.0 / std::numbers::pi)};
}

}  // namespace dhs::kernels
