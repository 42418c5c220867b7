// Legacy Surveys brick geometry ("brick wall", 0.25 deg bricks) and DR10 sweep-file block names.
// Reproduces desiutil.brick.Bricks (desihub/desiutil py/desiutil/brick.py) and the bricks of the
// real survey-bricks tables: BRICKNAME, BRICKID, BRICKQ, BRICKROW, BRICKCOL, RA, DEC, RA1, RA2,
// DEC1, DEC2. All angles are in degrees (ICRS RA, Dec). Pure numerics: no I/O, no MPI.
//
// The wall: 721 rows with centres Dec = -90 + 0.25 row (row = 0..720); row edges halfway between
// centres, clamped at the poles (row 0 = [-90, -89.875], row 720 = [89.875, 90]). Row `row` has
// ncols = 2 ceil(1440 cos(|dec_c| - 0.125) / 2) columns (1 in the two polar rows) with RA edges
// evenly spaced over [0, 360): ra1 = col (360/ncols), ra2 = (col+1) (360/ncols) (360 exactly for
// the last column), ra = (ra1 + ra2) / 2 (180 in the polar rows). BRICKID = first_brickid(row) +
// col with first_brickid(0) = 1; 662,174 bricks in all. BRICKQ = (col % 2) + 2 (row % 2), except
// 1 in row 0. BRICKNAME = first 4 characters of "%07.0f" of ra*10000, 'p' (dec >= 0) or 'm',
// first 3 characters of "%06.0f" of |dec|*10000 (so the RA part is round(ra*1e4) truncated to
// 0.1 deg: usually floor(10 ra), one more when ra*1e4 rounds up across a 0.1 deg boundary).
//
// Edge conventions of the point -> brick look-ups:
//  - RA is wrapped into [0, 360) first (ra = 360 is ra = 0, ra = -0.1 is 359.9).
//  - Bricks are half-open: ra1 <= ra < ra2 and dec1 <= dec < dec2, so a point on an edge belongs
//    to the brick above / east of it; the exception is dec = +90, which is in row 720.
//  - Dec outside [-90, 90] is clamped to it; non-finite coordinates throw std::invalid_argument.
//  - The assignment is exact against the bricks' own edges (floating-point rounding of the
//    row/column estimate is corrected), so brick_at(p) always satisfies the half-open bounds.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dhs::kernels {

/// @brief Brick side in Dec, degrees.
inline constexpr double kBrickSizeDeg = 0.25;
/// @brief Number of Dec rows of the brick wall (row = 0..720).
inline constexpr int kBrickRows = 721;
/// @brief Number of bricks on the sky (BRICKID runs 1..kTotalBricks).
inline constexpr std::int64_t kTotalBricks = 662174;

/// @brief One Legacy Surveys brick, as in a survey-bricks table. Angles in degrees.
struct Brick {
    std::string name;      ///< BRICKNAME, e.g. "0489m442"
    std::int64_t brickid;  ///< BRICKID, 1..662174
    int row;               ///< BRICKROW, 0..720 (south to north)
    int col;               ///< BRICKCOL, 0..ncols(row)-1 (increasing RA)
    double ra, dec;        ///< centre, deg
    double ra1, ra2;       ///< RA edges, deg: 0 <= ra1 < ra2 <= 360
    double dec1, dec2;     ///< Dec edges, deg: -90 <= dec1 < dec2 <= 90
    int brickq;            ///< BRICKQ, 0..3: (col % 2) + 2 (row % 2); 1 in row 0
};

/// @brief RA wrapped into [0, 360) degrees (never returns 360 or -0).
double wrap_ra(double ra_deg);

/// @brief The Legacy Surveys brick wall: per-row tables of ncols and first BRICKID, so that
/// point look-ups are O(1). Immutable after construction; safe to share between threads.
class BrickWall {
public:
    /// @brief Builds the 721-row table (about 20 kB; use brick_wall() for a shared instance).
    BrickWall();

    /// @brief Row (0..720) containing Dec `dec_deg` (degrees; clamped to [-90, 90]); a Dec
    /// exactly on a row edge belongs to the upper row, +90 to row 720.
    static int row_of_dec(double dec_deg);
    /// @brief Dec of the centre of a row, degrees: -90 + 0.25 row.
    static double dec_center(int row);
    /// @brief Lower Dec edge of a row, degrees (-90 for row 0).
    static double dec1(int row);
    /// @brief Upper Dec edge of a row, degrees (+90 for row 720).
    static double dec2(int row);
    /// @brief BRICKQ of a brick: (col % 2) + 2 (row % 2), 1 in row 0 (as desiutil).
    static int brickq(int row, int col);

    /// @brief Number of bricks (columns) in a row; 1 for the polar rows 0 and 720.
    int ncols(int row) const;
    /// @brief BRICKID of column 0 of a row (1 for row 0).
    std::int64_t first_brickid(int row) const;
    /// @brief Lower RA edge of brick (row, col), degrees: col (360 / ncols). The ra1/ra2/
    /// ra_center/col_of_ra accessors do not check (row, col); use brick_by_rowcol() for that.
    double ra1(int row, int col) const;
    /// @brief Upper RA edge of brick (row, col), degrees; 360 exactly for the last column.
    double ra2(int row, int col) const;
    /// @brief RA of the centre of brick (row, col), degrees: (ra1 + ra2) / 2.
    double ra_center(int row, int col) const;
    /// @brief Column of `row` containing RA `ra_deg` (degrees, any value: wrapped into [0, 360)).
    int col_of_ra(int row, double ra_deg) const;

    /// @brief Brick containing (ra, dec), degrees. O(1); allocates only the name.
    Brick brick_at(double ra_deg, double dec_deg) const;
    /// @brief BRICKID of the brick containing (ra, dec), degrees. O(1), no allocation.
    std::int64_t brickid_at(double ra_deg, double dec_deg) const;
    /// @brief Brick with a given BRICKID (1..662174); throws std::out_of_range otherwise.
    Brick brick_by_id(std::int64_t brickid) const;
    /// @brief Brick at (row, col); throws std::out_of_range for a row or column off the wall.
    Brick brick_by_rowcol(int row, int col) const;
    /// @brief Brick of a BRICKNAME such as "0489m442" (exactly 8 characters: 4 digits, 'p'/'m',
    /// 3 digits); nullopt when malformed or no brick has that name.
    std::optional<Brick> brick_by_name(std::string_view brickname) const;
    /// @brief Number of bricks on the sky: 662,174.
    std::int64_t total_bricks() const;

    /// @brief All bricks that contain a point of the closed box [ra_min, ra_max] x [dec_min,
    /// dec_max] (degrees), in increasing BRICKID. With the half-open bricks this includes a
    /// brick whose lower edge the box only touches. RA wraps: ra_min > ra_max (after wrapping
    /// into [0, 360)) means [ra_min, 360) + [0, ra_max]; ra_max - ra_min >= 360 means all RA.
    /// Dec is clamped to [-90, 90]; dec_min > dec_max gives an empty list.
    std::vector<Brick> bricks_touching(double ra_min, double ra_max, double dec_min,
                                       double dec_max) const;

private:
    Brick make_brick(int row, int col) const;
    void append_row(std::vector<Brick>& out, int row, double ra_lo, double ra_hi, bool all_ra) const;

    std::array<int, kBrickRows> ncols_{};
    std::array<std::int64_t, kBrickRows + 1> first_brickid_{};  // [kBrickRows] = total + 1
    std::array<double, kBrickRows> ra_step_{};                   // 360 / ncols, deg
};

/// @brief A process-wide BrickWall (built once, on first use; thread-safe).
const BrickWall& brick_wall();

/// @brief BRICKNAME formatted from a brick centre (ra in [0, 360), dec in [-90, 90], degrees):
/// "%07.0f" of ra*1e4 cut to 4 characters, 'p' if dec >= 0 else 'm', "%06.0f" of |dec|*1e4 cut
/// to 3 characters. Meaningful only for brick centres (use brick_at() for arbitrary points).
std::string brick_name(double ra_deg, double dec_deg);

/// @brief DR10 coadd sub-directory of a brick: its first 3 characters (coadd/<RRR>/<brick>/).
std::string coadd_dir_prefix(std::string_view brickname);

/// @brief A sweep-file block: RA [ra_min, ra_max) x Dec [dec_min, dec_max), degrees, and its
/// file name "sweep-<ramin><decmin>-<ramax><decmax>.fits".
struct SweepBlock {
    double ra_min, ra_max;    ///< deg, 0 <= ra_min < ra_max <= 360
    double dec_min, dec_max;  ///< deg, -90 <= dec_min < dec_max <= 90
    std::string name;         ///< file name without directory
};

/// @brief Side of a DR10 sweep block, degrees (DR10 blocks are 5 x 5 deg: 72 x 36 = 2,592).
inline constexpr int kSweepBlockDeg = 5;

/// @brief Sweep file name of a block with integer-degree bounds: RA "%03d", Dec "%+04d" with the
/// sign written 'm'/'p' (as legacypipe's "%03g"/"%+04g"), e.g. "sweep-000m005-005p000.fits".
std::string sweep_name(int ra_min, int ra_max, int dec_min, int dec_max);

/// @brief The DR10 5x5-deg sweep block containing (ra, dec), degrees: ra wrapped into [0, 360),
/// ra_min <= ra < ra_max and dec_min <= dec < dec_max, except dec = +90 which is in the
/// [85, 90] block; Dec outside [-90, 90] is clamped. Throws std::invalid_argument if non-finite.
SweepBlock sweep_block_at(double ra_deg, double dec_deg);

/// @brief File name of the DR10 sweep block containing (ra, dec), degrees (see sweep_block_at).
std::string sweep_block_name(double ra_deg, double dec_deg);

/// @brief Parses a sweep file name (an optional directory is ignored) of any block size, e.g.
/// DR10 "sweep-000m005-005p000.fits" or DR8 "sweep-310m005-320p000.fits"; nullopt when the
/// name is malformed or the bounds are not 0 <= ra_min < ra_max <= 360, -90 <= dec_min <
/// dec_max <= 90. `name` is the file name as given, without directory.
std::optional<SweepBlock> parse_sweep_name(std::string_view filename);

/// @brief All 2,592 DR10 sweep blocks, RA-major (ra_min 0..355, then dec_min -90..85).
std::vector<SweepBlock> all_sweep_blocks();

}  // namespace dhs::kernels
