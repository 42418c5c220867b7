// The cutout stage's `cutouts.*` config keys and their reading into Params.
#include <filesystem>

#include "core/error.hpp"
#include "mpi_stages/cutouts/cutouts.hpp"

namespace dhs::stages::cutouts {

void declare_config(config::Schema& s) {
    using config::ValueType;
    s.add({.key = "cutouts.sample_file", .type = ValueType::string,
           .description = "the sampling stage's output to take targets from ('': RUN_DIR/sample.h5)",
           .default_yaml = "''"});
    s.add({.key = "cutouts.target_sets", .type = ValueType::string_list,
           .description = "groups of the sample file whose rows are cut (column galaxy_id, ra, dec; brickname, type, "
                          "nobs_z, flux_r, split when present)",
           .default_yaml = "[positives, negatives, hosts]", .choices = {"positives", "negatives", "hosts", "pool"}});
    s.add({.key = "cutouts.stamp_size", .type = ValueType::integer,
           .description = "stamp side (odd: the target's nearest pixel is the centre)", .default_yaml = "101",
           .min = 3, .max = 1001, .unit = "pixels"});
    s.add({.key = "cutouts.core_radius_px", .type = ValueType::real,
           .description = "radius of the stamp core for core_nan_frac (pixels with centre distance < r)",
           .default_yaml = "8", .min = 0.5, .max = 500, .unit = "pixels"});
    s.add({.key = "cutouts.edge_policy", .type = ValueType::string,
           .description = "which coadd a stamp is cut from: nearest_complete (own brick when it holds the whole "
                          "stamp, else the nearest neighbour that does, else the most complete) or home (own brick "
                          "only); never a mosaic",
           .default_yaml = "nearest_complete", .choices = {"nearest_complete", "home"}});
    s.add({.key = "cutouts.invvar", .type = ValueType::boolean,
           .description = "also cut inverse-variance stamps (/stamps/invvar)", .default_yaml = "true"});
    s.add({.key = "cutouts.maskbits", .type = ValueType::boolean,
           .description = "also cut maskbits stamps (/stamps/maskbits)", .default_yaml = "true"});
    s.add({.key = "cutouts.nan_where_invvar_zero", .type = ValueType::boolean,
           .description = "image pixels whose invvar is 0 (no data: outside the survey, all exposures masked) "
                          "become NaN (needs cutouts.invvar)",
           .default_yaml = "true"});
    s.add({.key = "cutouts.full_decode_fraction", .type = ValueType::real,
           .description = "a coadd is decoded whole, in one pass, when at least this fraction of its tiles is "
                          "needed (above 1: never); below it each needed tile is decoded once",
           .default_yaml = "0.9", .min = 0.0, .max = 2.0});
    s.add({.key = "cutouts.unit_targets", .type = ValueType::integer,
           .description = "targets per work unit: consecutive bricks are grouped up to it; a brick with more "
                          "targets is one unit of its own (never split, so no tile is decoded twice)",
           .default_yaml = "1000", .min = 1, .max = 1e7});
    s.add({.key = "cutouts.maskbits_fill", .type = ValueType::integer,
           .description = "maskbits of stamp pixels without a maskbits value (beyond the coadd, file missing); -1 "
                          "sets every bit",
           .default_yaml = "-1", .min = -2147483648.0, .max = 2147483647.0});
}

Params read_params(const config::Config& c, const std::string& run_dir) {
    Params p;
    p.root = c.get_string("survey.root");
    p.bands = c.get_strings("survey.bands");
    p.pixscale = c.get_real("survey.pixel_scale_arcsec");
    p.sample_file = c.get_string("cutouts.sample_file");
    if (p.sample_file.empty()) p.sample_file = (std::filesystem::path(run_dir) / "sample.h5").string();
    p.target_sets = c.get_strings("cutouts.target_sets");
    p.stamp_size = static_cast<int>(c.get_int("cutouts.stamp_size"));
    if (p.stamp_size % 2 == 0)
        throw ConfigError("cutouts.stamp_size", c.origin_of("cutouts.stamp_size"), 0,
                          "must be odd (the target's pixel is the centre)");
    p.core_radius = c.get_real("cutouts.core_radius_px");
    p.edge = c.get_string("cutouts.edge_policy") == "home" ? EdgePolicy::home : EdgePolicy::nearest_complete;
    p.with_invvar = c.get_bool("cutouts.invvar");
    p.with_maskbits = c.get_bool("cutouts.maskbits");
    p.nan_where_invvar_zero = c.get_bool("cutouts.nan_where_invvar_zero");
    p.full_decode_fraction = c.get_real("cutouts.full_decode_fraction");
    p.unit_targets = c.get_int("cutouts.unit_targets");
    p.maskbits_fill = static_cast<std::int32_t>(c.get_int("cutouts.maskbits_fill"));
    if (p.target_sets.empty())
        throw ConfigError("cutouts.target_sets", c.origin_of("cutouts.target_sets"), 0, "names no target set");
    return p;
}

std::string kind_name(const std::string& product, const std::string& band) {
    return band.empty() ? product : product + "-" + band;
}

}  // namespace dhs::stages::cutouts
