// The skeleton stage's `skeleton.*` keys and their values read into Params.
#include <fmt/format.h>

#include "core/error.hpp"
#include "mpi_stages/skeleton/skeleton.hpp"

namespace dhs::stages::skeleton {

void declare_config(config::Schema& s) {
    using config::ValueType;
    s.add({.key = "skeleton.randoms", .type = ValueType::integer, .description = "random points in the catalogue",
           .default_yaml = "100000", .min = 0, .max = 1e10});
    s.add({.key = "skeleton.per_unit", .type = ValueType::integer, .description = "points per work unit",
           .default_yaml = "10000", .min = 1, .max = 1e9});
    s.add({.key = "skeleton.nside", .type = ValueType::integer,
           .description = "NESTED HEALPix resolution of the healpix column (a power of 2)", .default_yaml = "64",
           .min = 1, .max = 1 << 29});
}

Params read_params(const config::Config& c) {
    Params p;
    p.randoms = c.get_int("skeleton.randoms");
    p.per_unit = c.get_int("skeleton.per_unit");
    p.nside = c.get_int("skeleton.nside");
    if ((p.nside & (p.nside - 1)) != 0)
        throw ConfigError("skeleton.nside", c.origin_of("skeleton.nside"), 0,
                          fmt::format("{} is not a power of 2", p.nside));
    return p;
}

}  // namespace dhs::stages::skeleton
