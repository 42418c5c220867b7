// The cutout stage's /stamps columns (see schema.hpp).
#include "mpi_stages/cutouts/schema.hpp"

#include <fmt/format.h>

#include "mpi_stages/common/stamp_geometry.hpp"

namespace dhs::stages::cutouts {

TargetKeys add_target_keys(engine::GroupSchema& g) {
    TargetKeys k;
    k.target_set = g.add<std::string>("target_set", "", "sample group the target comes from (positives, negatives, hosts...)");
    k.sample_row = g.add<std::int64_t>("sample_row", "", "row of the target in its sample group");
    k.galaxy_id = g.add<std::string>("galaxy_id", "", "{brickname}_{objid} as in the sample");
    k.ra = g.add<double>("ra", "deg", "right ascension of the target");
    k.dec = g.add<double>("dec", "deg", "declination of the target");
    k.type = g.add<std::string>("type", "", "Tractor TYPE (empty when the sample has none)");
    return k;
}

void fill_target_keys(engine::GroupRows& rows, const TargetKeys& k, const std::vector<Target>& targets) {
    rows.fill(k.target_set, [&](std::size_t i) { return targets[i].set; });
    rows.fill(k.sample_row, [&](std::size_t i) { return targets[i].row; });
    rows.fill(k.galaxy_id, [&](std::size_t i) { return targets[i].galaxy_id; });
    rows.fill(k.ra, [&](std::size_t i) { return targets[i].ra; });
    rows.fill(k.dec, [&](std::size_t i) { return targets[i].dec; });
    rows.fill(k.type, [&](std::size_t i) { return targets[i].type; });
}

StampsGroup::StampsGroup(const Params& p)
    : GroupSchema("stamps", "one stamp per target: bricks in BRICKID order, then targets in sample order") {
    const auto nb = p.bands.size(), s = static_cast<std::size_t>(p.stamp_size);
    key = add_target_keys(*this);
    nobs_z = add<std::int32_t>("nobs_z", "", "number of z exposures (-1 when the sample has none)");
    flux_r = add<float>("flux_r", "nanomaggy", "r flux from the sample (NaN when absent)");
    split = add<std::string>("split", "", "train / val / test from the sample (empty when absent)");
    brickname = add<std::string>("brickname", "", "brick whose coadds the stamp is cut from (empty when none)");
    pixel_x = add<std::int32_t>("pixel_x", "pixel",
                                "zero-based x of the stamp centre in the source coadd (the target's nearest pixel; -1 "
                                "when unknown)");
    pixel_y = add<std::int32_t>("pixel_y", "pixel", "zero-based y of the stamp centre in the source coadd");
    offset_x = add<float>("offset_x", "pixel",
                          "target x (WCS) minus pixel_x, in [-0.5, 0.5): the target sits at stamp pixel (c + offset_x, "
                          "c + offset_y), c = (stamp_size - 1) / 2");
    offset_y = add<float>("offset_y", "pixel", "target y (WCS) minus pixel_y, in [-0.5, 0.5)");
    for (const auto& b : p.bands)
        psfsize.push_back(add<float>("psfsize_" + b, "arcsec",
                                     "PSF FWHM in " + b + " from the psfsize map at the centre pixel (NaN when unavailable)"));
    size_ok = add<bool>("size_ok", "", "the whole stamp lies in the source coadd and every band's image was read");
    nan_frac = add<float>("nan_frac", "", "fraction of NaN image pixels, all bands");
    core_nan_frac = add<float>("core_nan_frac", "",
                               fmt::format("fraction of NaN image pixels within {} px of the centre, all bands",
                                           p.core_radius));
    outside_frac = add<float>("outside_frac", "", "fraction of stamp pixels beyond the source coadd");
    status = add<std::string>("status", "",
                              "ok (complete), partial (edge pixels, or a band or product missing or corrupt), failed (no "
                              "pixels)");
    reason = add<std::string>("reason", "",
                              "';'-separated notes: edge, missing:<kind>, corrupt:<kind>, home_missing, center_outside, "
                              "no_coadd, no_projection (empty when none)");
    const std::string bands = join_bands(p.bands);
    image = add<float>("image", "nanomaggy",
                       "image stamps, bands " + bands + "; NaN beyond the coadd" +
                           (p.nan_where_invvar_zero && p.with_invvar ? " and where invvar is 0" : ""),
                       {nb, s, s});
    set_column_attribute(image, "layout", "NCHW");
    set_column_attribute(image, "bands", bands);
    if (p.with_invvar) {
        invvar = add<float>("invvar", "1/nanomaggy^2", "inverse-variance stamps, bands " + bands + "; NaN beyond the coadd",
                            {nb, s, s});
        set_column_attribute(invvar, "layout", "NCHW");
        set_column_attribute(invvar, "bands", bands);
    }
    if (p.with_maskbits) {
        maskbits = add<std::int32_t>("maskbits", "", fmt::format("DR10 MASKBITS stamps; {} where there is no value",
                                                                p.maskbits_fill),
                                     {s, s});
        set_column_attribute(maskbits, "layout", "NHW");
        set_column_attribute(maskbits, "fill_value", std::to_string(p.maskbits_fill));
    }
}

}  // namespace dhs::stages::cutouts
