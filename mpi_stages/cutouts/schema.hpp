// The cutout stage's output groups, each column declared once (core/engine/output_group.hpp):
// /stamps (one row per target) and /bricks (one row per source brick cut). The stage fills
// rows through these handles; the band-dependent columns follow survey.bands.
#pragma once

#include <vector>

#include "core/engine/output_group.hpp"
#include "mpi_stages/cutouts/cutouts.hpp"

namespace dhs::stages::cutouts {

/// The columns that say which target a stamp is (the cutout and search stages both write them).
struct TargetKeys {
    engine::Col<std::string> target_set, galaxy_id, type;
    engine::Col<std::int64_t> sample_row;
    engine::Col<double> ra, dec;
};

/// @brief Declares target_set, sample_row, galaxy_id, ra, dec and type, in that order.
TargetKeys add_target_keys(engine::GroupSchema& group);
/// @brief Fills them from the targets a unit cut.
void fill_target_keys(engine::GroupRows& rows, const TargetKeys& keys, const std::vector<Target>& targets);

struct StampsGroup : engine::GroupSchema {
    TargetKeys key;
    engine::Col<std::string> split, brickname, status, reason;
    engine::Col<std::int32_t> nobs_z, pixel_x, pixel_y;
    engine::Col<float> flux_r, offset_x, offset_y, nan_frac, core_nan_frac, outside_frac;
    std::vector<engine::Col<float>> psfsize;  ///< one per band, survey.bands order
    engine::Col<bool> size_ok;
    engine::Col<float> image, invvar;         ///< invvar: with cutouts.with_invvar
    engine::Col<std::int32_t> maskbits;       ///< with cutouts.with_maskbits
    explicit StampsGroup(const Params& p);
};

struct BricksGroup : engine::GroupSchema {
    engine::Col<std::string> brickname = add<std::string>("brickname", "", "source brick");
    engine::Col<std::int32_t> targets = add<std::int32_t>("targets", "", "stamps cut from it");
    engine::Col<std::int32_t> files_missing = add<std::int32_t>("files_missing", "", "coadd files absent");
    engine::Col<std::int64_t> tiles_decoded =
        add<std::int64_t>("tiles_decoded", "", "compressed tiles decoded (each at most once)");
    engine::Col<std::int64_t> tiles_partial =
        add<std::int64_t>("tiles_partial", "", "of which decoded only down to the last row needed");
    engine::Col<std::int64_t> full_decodes = add<std::int64_t>("full_decodes", "", "coadds decoded whole");
    engine::Col<std::int64_t> pixels_decoded =
        add<std::int64_t>("pixels_decoded", "", "pixels through an entropy decoder");
    engine::Col<std::int64_t> bytes_read =
        add<std::int64_t>("bytes_read", "", "compressed bytes read by the fast RICE path");
    BricksGroup() : GroupSchema("bricks", "one row per source brick cut: its decoding figures") {}
};

}  // namespace dhs::stages::cutouts
