// Legacy Surveys brick wall and DR10 sweep block names (see brick_geometry.hpp for the
// conventions). The arithmetic follows desiutil.brick.Bricks step by step so that the centres,
// and hence the BRICKNAMEs formatted from them, are bit-identical to the survey's.
#include "kernels/geometry/brick_geometry.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <stdexcept>

namespace dhs::kernels {
namespace {

constexpr int kLastRow = kBrickRows - 1;
constexpr double kHalfBrick = kBrickSizeDeg / 2.0;

void require_finite(double ra_deg, double dec_deg, const char* what) {
    if (!std::isfinite(ra_deg) || !std::isfinite(dec_deg)) {
        throw std::invalid_argument(std::string(what) + ": non-finite RA or Dec");
    }
}

// Unclamped lower edge of row `row` (row = 0..721): -90.125 + 0.25 row, exact in binary.
double raw_dec_edge(int row) { return -90.0 - kHalfBrick + kBrickSizeDeg * row; }

// desiutil: declo = |dec_c| - 0.125; n = 360/0.25 cos(declo); ncols = 2 ceil(n/2); 1 at the poles.
int row_ncols(int row) {
    if (row == 0 || row == kLastRow) return 1;
    const double declo = std::abs(BrickWall::dec_center(row)) - kHalfBrick;
    const double n = 360.0 / kBrickSizeDeg * std::cos(declo * std::numbers::pi / 180.0);
    return static_cast<int>(std::ceil(n / 2.0) * 2.0);
}

// Parses exactly `s.size()` decimal digits; nullopt if any character is not a digit.
std::optional<int> parse_digits(std::string_view s) {
    int value = 0;
    if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
    }
    std::from_chars(s.data(), s.data() + s.size(), value);
    return value;
}

// Parses "DDD" preceded by 'p' or 'm' (sign) into a signed integer.
std::optional<int> parse_signed(char sign, std::string_view digits) {
    if (sign != 'p' && sign != 'm') return std::nullopt;
    const auto v = parse_digits(digits);
    if (!v) return std::nullopt;
    return sign == 'm' ? -*v : *v;
}

// Largest multiple of `step` <= x, exact for integer-degree steps (rounding of x/step corrected).
int floor_to_multiple(double x, int step) {
    int lo = static_cast<int>(std::floor(x / step)) * step;
    if (x < lo) lo -= step;
    if (x >= lo + step) lo += step;
    return lo;
}

}  // namespace

double wrap_ra(double ra_deg) {
    double r = std::fmod(ra_deg, 360.0);
    if (r < 0.0) r += 360.0;
    if (r >= 360.0) r = 0.0;  // -tiny + 360 rounds to 360
    return r + 0.0;           // no -0
}

BrickWall::BrickWall() {
    first_brickid_[0] = 1;
    for (int row = 0; row < kBrickRows; ++row) {
        ncols_[row] = row_ncols(row);
        ra_step_[row] = 360.0 / ncols_[row];
        first_brickid_[row + 1] = first_brickid_[row] + ncols_[row];
    }
}

int BrickWall::row_of_dec(double dec_deg) {
    const double d = std::clamp(dec_deg, -90.0, 90.0);
    int row = std::min(static_cast<int>((d + 90.0 + kHalfBrick) / kBrickSizeDeg), kLastRow);
    // The sum above may round across an edge; the edges themselves are exact.
    if (row > 0 && d < raw_dec_edge(row)) --row;
    else if (row < kLastRow && d >= raw_dec_edge(row + 1)) ++row;
    return row;
}

double BrickWall::dec_center(int row) { return -90.0 + kBrickSizeDeg * row; }

double BrickWall::dec1(int row) { return row == 0 ? -90.0 : raw_dec_edge(row); }

double BrickWall::dec2(int row) { return row == kLastRow ? 90.0 : raw_dec_edge(row + 1); }

int BrickWall::brickq(int row, int col) { return row == 0 ? 1 : (col % 2) + 2 * (row % 2); }

int BrickWall::ncols(int row) const { return ncols_.at(static_cast<std::size_t>(row)); }

std::int64_t BrickWall::first_brickid(int row) const {
    return first_brickid_.at(static_cast<std::size_t>(row));
}

double BrickWall::ra1(int row, int col) const { return col * ra_step_[row]; }

double BrickWall::ra2(int row, int col) const {
    return col + 1 == ncols_[row] ? 360.0 : (col + 1) * ra_step_[row];
}

double BrickWall::ra_center(int row, int col) const {
    return 0.5 * (ra1(row, col) + ra2(row, col));
}

int BrickWall::col_of_ra(int row, double ra_deg) const {
    const int n = ncols_[row];
    const double r = wrap_ra(ra_deg);
    int col = std::min(static_cast<int>(r / 360.0 * n), n - 1);
    if (col > 0 && r < ra1(row, col)) --col;
    else if (col < n - 1 && r >= ra2(row, col)) ++col;
    return col;
}

std::int64_t BrickWall::brickid_at(double ra_deg, double dec_deg) const {
    require_finite(ra_deg, dec_deg, "BrickWall::brickid_at");
    const int row = row_of_dec(dec_deg);
    return first_brickid_[row] + col_of_ra(row, ra_deg);
}

Brick BrickWall::brick_at(double ra_deg, double dec_deg) const {
    require_finite(ra_deg, dec_deg, "BrickWall::brick_at");
    const int row = row_of_dec(dec_deg);
    return make_brick(row, col_of_ra(row, ra_deg));
}

Brick BrickWall::brick_by_rowcol(int row, int col) const {
    if (row < 0 || row > kLastRow || col < 0 || col >= ncols_[row]) {
        throw std::out_of_range("BrickWall::brick_by_rowcol: no brick at row " + std::to_string(row) +
                                ", col " + std::to_string(col));
    }
    return make_brick(row, col);
}

Brick BrickWall::brick_by_id(std::int64_t brickid) const {
    if (brickid < 1 || brickid > kTotalBricks) {
        throw std::out_of_range("BrickWall::brick_by_id: no brick " + std::to_string(brickid));
    }
    const auto it = std::upper_bound(first_brickid_.begin(), first_brickid_.end(), brickid);
    const int row = static_cast<int>(it - first_brickid_.begin()) - 1;
    return make_brick(row, static_cast<int>(brickid - first_brickid_[row]));
}

std::optional<Brick> BrickWall::brick_by_name(std::string_view brickname) const {
    if (brickname.size() != 8) return std::nullopt;
    const auto ra_tenths = parse_digits(brickname.substr(0, 4));
    const auto dec_tenths = parse_signed(brickname[4], brickname.substr(5, 3));
    if (!ra_tenths || !dec_tenths) return std::nullopt;
    // The name truncates (or, on a rounding carry, rounds up) the centre to 0.1 deg: the centre
    // is within 0.1 deg of the name's value, and rows/columns are >= 0.25 deg apart, so the
    // brick is the one containing the name's value or a neighbour of it.
    const double sign = brickname[4] == 'm' ? -1.0 : 1.0;
    const double dec_guess = sign * (std::abs(*dec_tenths) / 10.0 + 0.05);
    const double ra_guess = *ra_tenths / 10.0 + 0.05;
    const int row0 = row_of_dec(dec_guess);
    for (int row = std::max(row0 - 1, 0); row <= std::min(row0 + 1, kLastRow); ++row) {
        const int n = ncols_[row];
        const int col0 = col_of_ra(row, ra_guess);
        for (int dc = -1; dc <= 1; ++dc) {
            const int col = ((col0 + dc) % n + n) % n;
            if (brick_name(ra_center(row, col), dec_center(row)) == brickname) {
                return make_brick(row, col);
            }
        }
    }
    return std::nullopt;
}

std::int64_t BrickWall::total_bricks() const { return first_brickid_[kBrickRows] - 1; }

std::vector<Brick> BrickWall::bricks_touching(double ra_min, double ra_max, double dec_min,
                                              double dec_max) const {
    if (!std::isfinite(ra_min) || !std::isfinite(ra_max) || !std::isfinite(dec_min) ||
        !std::isfinite(dec_max)) {
        throw std::invalid_argument("BrickWall::bricks_touching: non-finite box");
    }
    std::vector<Brick> out;
    if (dec_min > dec_max) return out;
    const bool all_ra = ra_max - ra_min >= 360.0;
    const double lo = wrap_ra(ra_min);
    const double hi = wrap_ra(ra_max);
    for (int row = row_of_dec(dec_min); row <= row_of_dec(dec_max); ++row) {
        append_row(out, row, lo, hi, all_ra);
    }
    return out;
}

void BrickWall::append_row(std::vector<Brick>& out, int row, double ra_lo, double ra_hi,
                           bool all_ra) const {
    const int n = ncols_[row];
    const int c_lo = col_of_ra(row, ra_lo);
    const int c_hi = col_of_ra(row, ra_hi);
    if (all_ra || (ra_lo > ra_hi && c_hi >= c_lo - 1)) {  // whole row
        for (int col = 0; col < n; ++col) out.push_back(make_brick(row, col));
    } else if (ra_lo <= ra_hi) {
        for (int col = c_lo; col <= c_hi; ++col) out.push_back(make_brick(row, col));
    } else {  // wraps through RA = 0: [0, ra_hi] then [ra_lo, 360)
        for (int col = 0; col <= c_hi; ++col) out.push_back(make_brick(row, col));
        for (int col = c_lo; col < n; ++col) out.push_back(make_brick(row, col));
    }
}

Brick BrickWall::make_brick(int row, int col) const {
    Brick b;
    b.row = row;
    b.col = col;
    b.brickid = first_brickid_[row] + col;
    b.ra1 = ra1(row, col);
    b.ra2 = ra2(row, col);
    b.ra = ra_center(row, col);
    b.dec = dec_center(row);
    b.dec1 = dec1(row);
    b.dec2 = dec2(row);
    b.brickq = brickq(row, col);
    b.name = brick_name(b.ra, b.dec);
    return b;
}

const BrickWall& brick_wall() {
    static const BrickWall wall;
    return wall;
}

std::string brick_name(double ra_deg, double dec_deg) {
    char ra_text[32];
    char dec_text[32];
    std::snprintf(ra_text, sizeof ra_text, "%07.0f", ra_deg * 10000.0);
    std::snprintf(dec_text, sizeof dec_text, "%06.0f", std::abs(dec_deg) * 10000.0);
    std::string name(ra_text, 4);
    name += dec_deg >= 0.0 ? 'p' : 'm';
    name.append(dec_text, 3);
    return name;
}

std::string coadd_dir_prefix(std::string_view brickname) {
    return std::string(brickname.substr(0, 3));
}

std::string sweep_name(int ra_min, int ra_max, int dec_min, int dec_max) {
    char text[64];
    std::snprintf(text, sizeof text, "sweep-%03d%c%03d-%03d%c%03d.fits", ra_min,
                  dec_min < 0 ? 'm' : 'p', std::abs(dec_min), ra_max, dec_max < 0 ? 'm' : 'p',
                  std::abs(dec_max));
    return text;
}

SweepBlock sweep_block_at(double ra_deg, double dec_deg) {
    require_finite(ra_deg, dec_deg, "sweep_block_at");
    const int ra_lo = std::min(floor_to_multiple(wrap_ra(ra_deg), kSweepBlockDeg), 360 - kSweepBlockDeg);
    const int dec_lo = std::min(floor_to_multiple(std::clamp(dec_deg, -90.0, 90.0), kSweepBlockDeg),
                                90 - kSweepBlockDeg);
    const int ra_hi = ra_lo + kSweepBlockDeg;
    const int dec_hi = dec_lo + kSweepBlockDeg;
    return {static_cast<double>(ra_lo), static_cast<double>(ra_hi), static_cast<double>(dec_lo),
            static_cast<double>(dec_hi), sweep_name(ra_lo, ra_hi, dec_lo, dec_hi)};
}

std::string sweep_block_name(double ra_deg, double dec_deg) {
    return sweep_block_at(ra_deg, dec_deg).name;
}

std::optional<SweepBlock> parse_sweep_name(std::string_view filename) {
    const auto slash = filename.find_last_of('/');
    const std::string_view base = slash == std::string_view::npos ? filename : filename.substr(slash + 1);
    // sweep-RRRsDDD-RRRsDDD.fits
    constexpr std::string_view kPrefix = "sweep-";
    constexpr std::string_view kSuffix = ".fits";
    if (base.size() != 26 || !base.starts_with(kPrefix) || !base.ends_with(kSuffix) || base[13] != '-') {
        return std::nullopt;
    }
    const auto ra_lo = parse_digits(base.substr(6, 3));
    const auto dec_lo = parse_signed(base[9], base.substr(10, 3));
    const auto ra_hi = parse_digits(base.substr(14, 3));
    const auto dec_hi = parse_signed(base[17], base.substr(18, 3));
    if (!ra_lo || !dec_lo || !ra_hi || !dec_hi) return std::nullopt;
    if (!(*ra_lo < *ra_hi && *ra_hi <= 360 && -90 <= *dec_lo && *dec_lo < *dec_hi && *dec_hi <= 90)) {
        return std::nullopt;
    }
    return SweepBlock{static_cast<double>(*ra_lo), static_cast<double>(*ra_hi),
                      static_cast<double>(*dec_lo), static_cast<double>(*dec_hi), std::string(base)};
}

std::vector<SweepBlock> all_sweep_blocks() {
    std::vector<SweepBlock> blocks;
    blocks.reserve((360 / kSweepBlockDeg) * (180 / kSweepBlockDeg));
    for (int ra = 0; ra < 360; ra += kSweepBlockDeg) {
        for (int dec = -90; dec < 90; dec += kSweepBlockDeg) {
            blocks.push_back({static_cast<double>(ra), static_cast<double>(ra + kSweepBlockDeg),
                              static_cast<double>(dec), static_cast<double>(dec + kSweepBlockDeg),
                              sweep_name(ra, ra + kSweepBlockDeg, dec, dec + kSweepBlockDeg)});
        }
    }
    return blocks;
}

}  // namespace dhs::kernels
