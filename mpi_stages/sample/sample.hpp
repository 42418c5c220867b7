// The sampling stage's parts (stage `sample`, SPEC Stage 1): parameters from `sample.*`, the
// lens and confuser inputs shared by every unit of a rank, the per-row derivation of a block of
// sweep rows (HEALPix, split, bins, magnitudes, exclusion, pools, LRG flags), the columns of an
// output row, and the reduce (positives, stratified negatives, summary).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/config/config.hpp"
#include "core/engine/stage.hpp"
#include "core/fits/sweep_reader.hpp"
#include "core/table/table.hpp"
#include "kernels/geometry/healpix_cells.hpp"
#include "kernels/sampling/sampling_split.hpp"
#include "kernels/geometry/sky_index.hpp"
#include "mpi_stages/sample/lens_catalog.hpp"

namespace dhs::mpi {
class Comm;
}

namespace dhs::stages::sample {

/// @brief The split and stratification resolution: healpix_128.
inline constexpr std::int64_t kSplitNside = 128;
/// @brief The resolution each row's cell is computed at (25.8" cells): healpix_128 and
/// healpix_64 are its NESTED parents (exact), and it pre-filters the lens look-ups.
inline constexpr std::int64_t kFineNside = 8192;
inline constexpr int kFineLevels128 = 6;  ///< 8192 = 128 x 2^6

/// @brief The cells within reach of a catalog (every point's disc of the reach radius): a
/// byte per nside-128 cell, then the sorted nside-8192 cells. A row whose cells are not in
/// it has no catalog point within the radius, so the k-d tree is asked only near points.
struct Reach {
    std::vector<std::uint8_t> coarse;   ///< 12 x 128^2 bytes
    std::vector<std::int64_t> fine;     ///< nside-8192 cells: open addressing, -1 = empty slot
    int shift = 64;                     ///< 64 - log2(fine.size())
    /// @brief Builds the table from the cells (any order, repeats allowed).
    void set_fine(const std::vector<std::int64_t>& cells);
    bool contains(std::int64_t cell128, std::int64_t cell8192) const {
        if (coarse.empty() || !coarse[static_cast<std::size_t>(cell128)]) return false;
        const std::size_t mask = fine.size() - 1;
        for (std::size_t i = slot(cell8192);; i = (i + 1) & mask) {
            if (fine[i] == cell8192) return true;
            if (fine[i] < 0) return false;
        }
    }

private:
    std::size_t slot(std::int64_t cell) const {
        return static_cast<std::size_t>((static_cast<std::uint64_t>(cell) * 0x9E3779B97F4A7C15ull) >> shift);
    }
};

/// @brief Pool classes of an object: N1 (deployment-representative), N2 (hard confuser), none.
enum PoolClass : std::int8_t { kN1 = 0, kN2 = 1, kNoPool = 2 };
/// @brief "N1", "N2", "".
const std::string& pool_name(int pool_class);

/// @brief The `sample.*` keys (plus run.seed, survey.root and survey.sweep_version), resolved.
struct Params {
    std::string root, sweep_version;
    std::vector<std::string> sweep_patterns;  ///< sample.sweep_files as given (empty: the survey layout)
    std::string lens_catalog;                 ///< resolved path
    std::string n2_catalog;                   ///< resolved path; "" = none
    std::int64_t rows_per_unit = 0, read_block_rows = 0;
    double exclusion_radius_arcsec = 11, match_radius_arcsec = 1, duplicate_radius_arcsec = 1;
    std::array<double, 3> split_fractions{};  ///< train, val, test
    std::int64_t split_seed = 42, draw_seed = 42;
    std::int64_t negatives_per_positive = 100;
    double n1_fraction = 0.85;
    bool n2_shortfall_from_n1 = true;
    std::vector<std::string> exclude_types, n1_types;
    std::int64_t min_nobs = 1;
    double pool_max_mag_z = 99;               ///< observed z magnitude limit of the pool (99: none)
    std::int32_t bad_mask = 0;                ///< OR of 1 << bit over sample.bad_maskbits
    bool require_brick_primary = true;
    bool n2_by_catalog = false, n2_edge_on = false, n2_large_blue = false;
    double n2_match_radius_arcsec = 1, n2_max_mag_r = 21, n2_edge_on_min_e = 0.6;
    double n2_large_blue_min_shape_r = 2, n2_large_blue_max_g_minus_r = 0.8;
    int lrg_variant = 2;                      ///< index into kernels::kLrgVariants
    bool lrg_dereddened = true;
    double host_max_ebv = 0.1;
};

/// @brief Declares the `sample.*` config keys.
void declare_config(config::Schema& schema);
/// @brief Reads and checks the parameters. @throws ConfigError naming the key.
Params read_params(const config::Config& config);
/// @brief The sweep files to read, sorted by name: sample.sweep_files (paths or globs,
/// relative ones under survey.root) or <root>/sweep/<version>/sweep-*.fits[.gz].
/// @throws ConfigError when none is found.
std::vector<std::string> find_sweep_files(const Params& p);

/// @brief What every unit of a rank shares: the lens table (duplicates collapsed) with its
/// k-d tree and the nside-128 cells within reach of a lens, and the same for the N2 catalog.
struct Inputs {
    LensCatalog catalog;                      ///< rows as parsed (for counts)
    std::vector<Lens> lenses;
    kernels::SkyIndex lens_index;
    Reach lens_reach;                         ///< cells within reach of a lens
    std::vector<CatalogPoint> confusers;
    kernels::SkyIndex confuser_index;
    Reach confuser_reach;
    std::string lens_sha256, confuser_sha256; ///< of the files' bytes
};
/// @brief The inputs of `p`, read and indexed once per process (cached by file, size, time
/// and radii; thread-safe). @throws DataError/Error naming the file.
std::shared_ptr<const Inputs> load_inputs(const Params& p);

/// @brief The per-row quantities of a block of sweep rows, for every row of the block.
struct Derived {
    std::vector<std::int64_t> healpix_128, healpix_64;
    std::vector<std::int64_t> fine_cell;      ///< nside 8192
    std::vector<std::int8_t> split;           ///< index into split_names()
    std::vector<std::int8_t> nobs_bin, type_bin;
    std::vector<std::uint8_t> primary;        ///< BRICK_PRIMARY (1 when the column is absent)
    std::vector<std::uint8_t> in_pool;        ///< passes the pool cuts and is not near a lens
    std::vector<std::uint8_t> near_lens;      ///< within the exclusion radius of a known lens
};

/// @brief Names of the splits, in the order of Derived::split indices (sorted: test, train, val).
const std::vector<std::string>& split_names();
/// @brief The split rule of `p` (train/val/test proportions walked as the predecessor did).
kernels::SplitRule split_rule(const Params& p);

/// @brief Columns a unit asks of a sweep file (required ones throw when missing).
std::vector<fits::ColumnRequest> sweep_requests();

/// @brief Derives every row of `sweep` (columns of sweep_requests()): healpix_128 and
/// healpix_64 as NESTED parents of the row's nside-8192 cell (one healpix_cxx ang2pix per row).
/// `split_of_cell` caches splits per healpix_128 cell (-1 = not yet hashed; 12 * 128^2 entries), so SHA-256 runs once
/// per distinct cell. @throws DataError naming `file` and the row for a non-finite position.
Derived derive_block(const Table& sweep, const Params& p, const Inputs& in, std::vector<std::int8_t>& split_of_cell,
                     const std::string& file, std::int64_t first_row);

/// @brief The schema of the object groups (pool, hosts, lens_matches when `with_match`).
Table object_schema(bool with_match);
/// @brief The stage's output groups.
std::vector<engine::OutputGroup> output_groups();
/// @brief Processes one sweep-row unit (payload {"path","begin","end"}; end -1: to the end).
engine::UnitOutput process_unit(const engine::WorkUnit& unit, const Params& p);
/// @brief For `dhs plan`: rows per group (pool, hosts, positives, negatives) expected of `plan`
/// from probe slices of it, and the footprint's bricks (quantities["footprint_bricks"]) when
/// every file is named as a sweep block. Runs a few units' first rows; @throws as they do.
engine::StageEstimate estimate(const Params& p, const std::vector<engine::WorkUnit>& plan);
/// @brief The reduce: positives, stratified negatives, lens list and strata summary.
void reduce(const Params& p, const mpi::Comm& comm, const std::string& path);

}  // namespace dhs::stages::sample
