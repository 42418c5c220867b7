// The skeleton stage's parameters and output schema (see skeleton_stage.hpp): what a new stage
// copies first. Params holds every `skeleton.*` value, read once and checked by read_params;
// RandomsGroup declares the output columns once, with the handles process() fills.
#pragma once

#include <cstdint>

#include "core/config/config.hpp"
#include "core/engine/output_group.hpp"

namespace dhs::stages::skeleton {

struct Params {
    std::int64_t randoms = 0;   ///< points in the catalogue
    std::int64_t per_unit = 0;  ///< points per work unit
    std::int64_t nside = 0;     ///< NESTED HEALPix resolution of the `healpix` column
};

/// @brief Declares the `skeleton.*` config keys.
void declare_config(config::Schema& schema);

/// @brief The `skeleton.*` values. @throws ConfigError naming the key (nside not a power of 2).
Params read_params(const config::Config& config);

/// @brief /randoms: one row per random point, in id order.
struct RandomsGroup : engine::GroupSchema {
    engine::Col<std::int64_t> random_id = add<std::int64_t>("random_id", "", "index of the point in the catalogue");
    engine::Col<double> ra = add<double>("ra", "deg", "right ascension, uniform on the sphere");
    engine::Col<double> dec = add<double>("dec", "deg", "declination, uniform on the sphere");
    engine::Col<std::int64_t> healpix = add<std::int64_t>("healpix", "", "NESTED HEALPix cell at skeleton.nside");
    RandomsGroup() : GroupSchema("randoms", "random points uniform on the sphere, with their HEALPix cell") {}
};

}  // namespace dhs::stages::skeleton
