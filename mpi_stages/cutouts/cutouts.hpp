// The cutout stage's parts (stage `cutouts`, SPEC Stage 2): parameters, the targets read from the
// sampling stage's file, the choice of the brick a stamp is cut from (the edge policy), the
// per-brick cutting of image / invvar / maskbits stamps with PSF size, sub-pixel offsets and
// quality columns. cutouts_stage.cpp turns these into the engine's units and rows; the
// benchmark (benchmarks/cutouts_bench.cpp) calls cut_targets() directly.
//
// EDGE POLICY (`cutouts.edge_policy`). A stamp is never mosaicked: neighbouring bricks have
// different tangent points, so their pixel grids do not line up and a mosaic would need
// resampling, which changes the noise and the PSF of the stamp. Every stamp is cut whole from
// ONE coadd, on its own pixel grid:
//  - `nearest_complete` (default): from the target's own brick (the sample's brickname, where
//    the object is brick-primary, i.e. the brick whose centre is nearest) when that coadd holds
//    the whole stamp; otherwise from the neighbouring brick, nearest centre first, whose coadd
//    holds the whole stamp; when none does, from the coadd that holds most of it (own brick
//    first on ties). A DR10 coadd reaches ~82 px beyond its brick (3600 px at 0.262" for a 900"
//    brick), more than the 50 px half-stamp, so real brick-primary targets are cut from their
//    own brick; neighbours matter at survey edges, for missing bricks and for small test coadds.
//  - `home`: always from the target's own brick.
// Pixels beyond the chosen coadd are NaN (maskbits: cutouts.maskbits_fill), counted in
// outside_frac and flagged "edge".
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config/config.hpp"
#include "core/engine/stage.hpp"
#include "core/fits/brick_wcs.hpp"
#include "core/fits/tile_reader.hpp"

namespace dhs::stages::cutouts {

enum class EdgePolicy { nearest_complete, home };

/// @brief The `cutouts.*` keys plus what the stage needs of `survey` and the run directory.
struct Params {
    std::string root;                       ///< survey.root
    std::vector<std::string> bands;         ///< survey.bands (stamp channels, in order)
    double pixscale = 0.262;                ///< survey.pixel_scale_arcsec
    std::string sample_file;                ///< cutouts.sample_file (resolved: RUN_DIR/sample.h5 when empty)
    std::vector<std::string> target_sets;   ///< cutouts.target_sets
    int stamp_size = 101;                   ///< cutouts.stamp_size (odd)
    double core_radius = 8;                 ///< cutouts.core_radius_px
    EdgePolicy edge = EdgePolicy::nearest_complete;
    bool with_invvar = true, with_maskbits = true;
    bool nan_where_invvar_zero = true;      ///< image pixels with invvar == 0 (no data) become NaN
    double full_decode_fraction = 0.9;      ///< decode a coadd whole when this fraction of its tiles is needed
    std::int64_t unit_targets = 1000;       ///< targets per work unit (bricks are grouped up to it)
    std::int32_t maskbits_fill = -1;        ///< maskbits of pixels without data
};

/// @brief Declares the `cutouts.*` config keys.
void declare_config(config::Schema& schema);
/// @brief Reads the parameters; `run_dir` resolves an empty cutouts.sample_file.
/// @throws ConfigError for an even stamp size.
Params read_params(const config::Config& config, const std::string& run_dir);

/// @brief One target: a row of a target set of the sample file.
struct Target {
    std::string set;          ///< target set (sample group): positives, negatives, hosts...
    std::int64_t row = 0;     ///< row in that group
    std::string galaxy_id, home_brick, type, split;
    double ra = 0, dec = 0;   ///< deg
    std::int32_t nobs_z = -1;
    float flux_r = 0;
};

/// @brief Columns read from a target set: required, optional (defaults when absent).
inline constexpr const char* kRequiredColumns[] = {"galaxy_id", "ra", "dec"};
inline constexpr const char* kOptionalColumns[] = {"brickname", "type", "nobs_z", "flux_r", "split"};

/// @brief The home brick of every row of every target set, for planning: (set index, row,
/// BRICKID, brick name). The sample's brickname is used when it names a real brick, else
/// the brick holding (ra, dec). @throws Error naming the file and group when a set is absent
/// or lacks galaxy_id / ra / dec.
struct TargetRef {
    int set = 0;
    std::int64_t row = 0;
    std::int64_t brickid = 0;
    std::string brick;
};
std::vector<TargetRef> list_targets(const Params& p);

/// @brief The work units of `refs`: targets grouped by home brick (BRICKID, then set and row
/// order), consecutive bricks up to p.unit_targets targets a unit (a brick is never split).
/// The payload lists, per brick, its targets as (set index, row).
std::vector<engine::WorkUnit> brick_units(const Params& p, std::vector<TargetRef> refs);
/// @brief The (set index, row) of a unit's targets, in the unit's row order.
std::vector<std::pair<int, std::int64_t>> unit_targets(const std::string& payload);

/// @brief Reads the targets `refs` (set index into p.target_sets, row) from the sample file,
/// in the order given. @throws Error / HdfError naming the file.
std::vector<Target> read_targets(const Params& p, const std::vector<std::pair<int, std::int64_t>>& refs);

inline constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

/// @brief What was cut for one target (besides the pixels).
struct CutInfo {
    std::string source_brick;              ///< coadd the stamp comes from ("" when none)
    std::int32_t pixel_x = -1, pixel_y = -1;  ///< zero-based centre pixel in that coadd
    float offset_x = kNaN, offset_y = kNaN;  ///< WCS position - centre pixel, in [-0.5, 0.5)
    std::vector<float> psfsize;            ///< per band, arcsec (NaN when unavailable)
    bool size_ok = false;
    float nan_frac = 1, core_nan_frac = 1, outside_frac = 1;
    std::string status;                    ///< ok, partial, failed
    std::string reason;                    ///< ';'-separated notes ("" when none)
};

/// @brief Per-coadd decoding figures of one source brick (the /bricks rows).
struct BrickReport {
    std::string brick;
    std::int32_t targets = 0;
    std::int32_t files_missing = 0;
    std::int64_t tiles_decoded = 0, tiles_partial = 0, full_decodes = 0, pixels_decoded = 0, bytes_read = 0;
};

/// @brief Stamps of n targets: image / invvar (n, bands, s, s) float32, maskbits (n, s, s).
struct StampBatch {
    std::size_t n = 0;
    int nb = 0, s = 0;
    std::vector<float> image, invvar;
    std::vector<std::int32_t> maskbits;
    std::vector<CutInfo> info;
    std::vector<BrickReport> bricks;  ///< one per source brick, in the order cut
    /// @brief Allocates for n targets (image always; invvar / maskbits when asked), pixels
    /// NaN and maskbits `maskbits_fill` until cut.
    void allocate(std::size_t n, int nb, int s, bool invvar, bool maskbits, std::int32_t maskbits_fill);
    float* image_of(std::size_t i, int b) { return image.data() + (i * nb + b) * static_cast<std::size_t>(s) * s; }
    float* invvar_of(std::size_t i, int b) { return invvar.data() + (i * nb + b) * static_cast<std::size_t>(s) * s; }
    std::int32_t* maskbits_of(std::size_t i) { return maskbits.data() + i * static_cast<std::size_t>(s) * s; }
};

/// @brief Cuts every target (any home bricks, any order): targets are located through the
/// WCS of their home brick, given a source brick by the edge policy, and each source brick's
/// coadds are opened once and read through TileReader (each compressed tile decoded once for
/// all of its targets). Problems with files (missing brick, band or product; corrupt tile;
/// inconsistent sizes) flag the targets they touch (status / reason) and fill their pixels
/// with NaN, never zero; the other targets go on. `out` is allocated here.
void cut_targets(const Params& p, const std::vector<Target>& targets, StampBatch& out);

/// @brief Quality columns of one stamp (all bands of the image): fraction of NaN pixels, of NaN
/// pixels within core_radius of the centre, of pixels outside the coadd (`outside` pixels).
void stamp_quality(const float* image, int nb, int s, double core_radius, long outside, CutInfo& info);

/// @brief Coadd kinds of a brick: "image-g", "invvar-g", "maskbits", "psfsize-g"...
std::string kind_name(const std::string& product, const std::string& band = "");

}  // namespace dhs::stages::cutouts
