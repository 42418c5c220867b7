// Tests of kernels/brick_geometry: the brick wall against the reference tables in
// shared/data/real/reference (all 721 rows, the real bricks, the 2,592 DR10 sweep names), and
// the invariants of the wall over all 662,174 bricks (ids, names, edges, look-ups, wrap, poles).
#include "kernels/geometry/brick_geometry.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <unordered_set>
#include <vector>

namespace {

using dhs::kernels::Brick;
using dhs::kernels::brick_wall;
using dhs::kernels::BrickWall;

constexpr double kTol = 1e-9;  // deg
const double kInf = std::numeric_limits<double>::infinity();

std::string reference_path(const std::string& file) {
    return std::string(DHS_SHARED_DIR) + "/data/real/reference/" + file;
}

// Data lines of a reference file: '#' comments dropped, and the header when `header` is set.
std::vector<std::string> data_lines(const std::string& path, bool header) {
    std::ifstream in(path);
    EXPECT_TRUE(in.good()) << "cannot open " << path;
    std::vector<std::string> lines;
    std::string line;
    bool header_seen = !header;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line[0] == '#') continue;
        if (!header_seen) {
            header_seen = true;
            continue;
        }
        lines.push_back(line);
    }
    return lines;
}

std::vector<std::string> split_csv(const std::string& line) {
    std::vector<std::string> fields;
    std::stringstream ss(line);
    std::string field;
    while (std::getline(ss, field, ',')) fields.push_back(field);
    return fields;
}

// --- The 721 rows -------------------------------------------------------------------------

TEST(BrickWall, EveryRowMatchesReferenceTable) {
    const BrickWall& wall = brick_wall();
    const auto lines = data_lines(reference_path("brick_rows_ncols.csv"), true);
    ASSERT_EQ(lines.size(), 721u);
    for (const auto& line : lines) {
        const auto f = split_csv(line);
        ASSERT_EQ(f.size(), 6u) << line;
        const int row = std::stoi(f[0]);
        SCOPED_TRACE("row " + std::to_string(row));
        EXPECT_EQ(BrickWall::dec_center(row), std::stod(f[1]));
        EXPECT_EQ(BrickWall::dec1(row), std::stod(f[2]));
        EXPECT_EQ(BrickWall::dec2(row), std::stod(f[3]));
        EXPECT_EQ(wall.ncols(row), std::stoi(f[4]));
        EXPECT_EQ(wall.first_brickid(row), std::stoll(f[5]));
        EXPECT_EQ(BrickWall::row_of_dec(std::stod(f[1])), row);
        EXPECT_EQ(BrickWall::row_of_dec(std::stod(f[2])), row);
        EXPECT_EQ(BrickWall::row_of_dec(std::nextafter(std::stod(f[3]), -kInf)), row);
    }
}

TEST(BrickWall, RowEdgesAreHalfOpenDespiteRounding) {
    // -90.125 + 0.25 i are exact; the point just below an edge stays in the lower row even where
    // (dec + 90.125) / 0.25 rounds up to the edge.
    for (int row = 1; row <= 720; ++row) {
        const double edge = BrickWall::dec1(row);
        EXPECT_EQ(BrickWall::row_of_dec(edge), row);
        EXPECT_EQ(BrickWall::row_of_dec(std::nextafter(edge, -kInf)), row - 1) << edge;
    }
    EXPECT_EQ(BrickWall::row_of_dec(std::nextafter(12.125, -kInf)), 408);
    EXPECT_EQ(BrickWall::row_of_dec(12.125), 409);
}

// --- All bricks -----------------------------------------------------------------------------

TEST(BrickWall, IdsContiguousAndLookupsConsistentOverAllBricks) {
    const BrickWall& wall = brick_wall();
    EXPECT_EQ(wall.total_bricks(), 662174);
    EXPECT_EQ(dhs::kernels::kTotalBricks, 662174);
    std::int64_t expected_id = 1;
    std::unordered_set<std::string> names;
    for (int row = 0; row < dhs::kernels::kBrickRows; ++row) {
        ASSERT_EQ(wall.first_brickid(row), expected_id);
        const int n = wall.ncols(row);
        ASSERT_EQ(n == 1 || n % 2 == 0, true) << "row " << row;
        EXPECT_EQ(wall.ra1(row, 0), 0.0);
        EXPECT_EQ(wall.ra2(row, n - 1), 360.0);
        for (int col = 0; col < n; ++col, ++expected_id) {
            const Brick b = wall.brick_by_rowcol(row, col);
            ASSERT_EQ(b.brickid, expected_id);
            if (col > 0) {
                ASSERT_EQ(b.ra1, wall.ra2(row, col - 1));
            }
            ASSERT_LT(b.ra1, b.ra);
            ASSERT_LT(b.ra, b.ra2);
            ASSERT_EQ(wall.brickid_at(b.ra, b.dec), b.brickid);
            // Lower-left corner belongs to the brick; the point just short of the upper-right
            // corner too (half-open bricks), except Dec = 90 which is inside row 720.
            ASSERT_EQ(wall.brickid_at(b.ra1, b.dec1), b.brickid) << b.name;
            ASSERT_EQ(wall.brickid_at(std::nextafter(b.ra2, 0.0), std::nextafter(b.dec2, -kInf)),
                      b.brickid)
                << b.name;
            const Brick by_id = wall.brick_by_id(b.brickid);
            ASSERT_EQ(by_id.row, row);
            ASSERT_EQ(by_id.col, col);
            ASSERT_EQ(by_id.name, b.name);
            ASSERT_EQ(b.name.size(), 8u);
            ASSERT_TRUE(names.insert(b.name).second) << "duplicate name " << b.name;
        }
    }
    EXPECT_EQ(expected_id - 1, 662174);
    EXPECT_EQ(wall.first_brickid(720) + wall.ncols(720) - 1, 662174);
}

TEST(BrickWall, NameAndIdRoundTripOnEvery97thBrick) {
    const BrickWall& wall = brick_wall();
    int checked = 0;
    for (std::int64_t id = 1; id <= wall.total_bricks(); id += 97) {
        const Brick b = wall.brick_by_id(id);
        const auto by_name = wall.brick_by_name(b.name);
        ASSERT_TRUE(by_name.has_value()) << b.name;
        ASSERT_EQ(by_name->brickid, id) << b.name;
        ASSERT_EQ(wall.brick_at(b.ra, b.dec).name, b.name);
        ++checked;
    }
    EXPECT_EQ(checked, (662174 + 96) / 97);
}

TEST(BrickWall, ByNameRejectsMalformedOrUnknownNames) {
    const BrickWall& wall = brick_wall();
    EXPECT_FALSE(wall.brick_by_name("").has_value());
    EXPECT_FALSE(wall.brick_by_name("0489m44").has_value());
    EXPECT_FALSE(wall.brick_by_name("0489x442").has_value());
    EXPECT_FALSE(wall.brick_by_name("04a9m442").has_value());
    EXPECT_FALSE(wall.brick_by_name("0489m4420").has_value());
    EXPECT_FALSE(wall.brick_by_name("0001m000").has_value());  // Dec 0 is 'p'
    EXPECT_FALSE(wall.brick_by_name("0000p001").has_value());  // no row centre at 0.1
    EXPECT_FALSE(wall.brick_by_name("3700p000").has_value());
    ASSERT_TRUE(wall.brick_by_name("0001p000").has_value());
    EXPECT_EQ(wall.brick_by_name("0001p000")->brickid, wall.first_brickid(360));
}

TEST(BrickWall, ByIdAndRowColRejectOutOfRange) {
    const BrickWall& wall = brick_wall();
    EXPECT_THROW((void)wall.brick_by_id(0), std::out_of_range);
    EXPECT_THROW((void)wall.brick_by_id(662175), std::out_of_range);
    EXPECT_THROW((void)wall.brick_by_rowcol(-1, 0), std::out_of_range);
    EXPECT_THROW((void)wall.brick_by_rowcol(721, 0), std::out_of_range);
    EXPECT_THROW((void)wall.brick_by_rowcol(0, 1), std::out_of_range);
    EXPECT_THROW((void)wall.brick_by_rowcol(360, 1440), std::out_of_range);
    EXPECT_THROW((void)wall.brick_at(std::nan(""), 0.0), std::invalid_argument);
    EXPECT_THROW((void)wall.brickid_at(0.0, kInf), std::invalid_argument);
}

// --- The real bricks ------------------------------------------------------------------------

TEST(BrickWall, RealBricksFromGeometryVectors) {
    const BrickWall& wall = brick_wall();
    const auto lines = data_lines(reference_path("brick_geometry_vectors.csv"), true);
    ASSERT_GE(lines.size(), 10u);
    for (const auto& line : lines) {
        const auto f = split_csv(line);
        ASSERT_EQ(f.size(), 12u) << line;
        const std::string name = f[1];
        SCOPED_TRACE(name + " from " + f[0]);
        const std::int64_t id = std::stoll(f[2]);
        const int brickq = std::stoi(f[3]);
        const int row = std::stoi(f[4]);
        const int col = std::stoi(f[5]);
        const double ra = std::stod(f[6]), dec = std::stod(f[7]), ra1 = std::stod(f[8]),
                     ra2 = std::stod(f[9]), dec1 = std::stod(f[10]), dec2 = std::stod(f[11]);

        const Brick b = wall.brick_by_rowcol(row, col);
        EXPECT_EQ(b.name, name);
        EXPECT_EQ(b.brickid, id);
        EXPECT_EQ(b.brickq, brickq);
        EXPECT_NEAR(b.ra, ra, kTol);
        EXPECT_NEAR(b.dec, dec, kTol);
        EXPECT_NEAR(b.ra1, ra1, kTol);
        EXPECT_NEAR(b.ra2, ra2, kTol);
        EXPECT_NEAR(b.dec1, dec1, kTol);
        EXPECT_NEAR(b.dec2, dec2, kTol);
        EXPECT_EQ(dhs::kernels::brick_name(ra, dec), name);

        EXPECT_EQ(wall.brick_at(ra, dec).brickid, id);
        constexpr double kInside = 1e-7;  // deg
        EXPECT_EQ(wall.brickid_at(ra1 + kInside, dec1 + kInside), id);
        EXPECT_EQ(wall.brickid_at(ra2 - kInside, dec1 + kInside), id);
        EXPECT_EQ(wall.brickid_at(ra1 + kInside, dec2 - kInside), id);
        EXPECT_EQ(wall.brickid_at(ra2 - kInside, dec2 - kInside), id);
        if (col > 0) {
            EXPECT_EQ(wall.brickid_at(ra1 - kInside, dec), id - 1);  // west neighbour
        }
        EXPECT_EQ(BrickWall::row_of_dec(dec2 + kInside), row + 1);

        const auto by_name = wall.brick_by_name(name);
        ASSERT_TRUE(by_name.has_value());
        EXPECT_EQ(by_name->brickid, id);
        EXPECT_EQ(wall.brick_by_id(id).name, name);
        EXPECT_EQ(dhs::kernels::coadd_dir_prefix(name), name.substr(0, 3));
    }
}

TEST(BrickWall, NameRoundsRaBeforeTruncating) {
    // "%07.0f" of ra*1e4, cut to 4 digits: 177.30245... -> "1773025" -> "1773"; a centre within
    // 5e-5 deg below a 0.1 deg boundary carries up: 9.99996 -> "0100000" -> "0100".
    EXPECT_EQ(dhs::kernels::brick_name(177.30245231607628, 59.5), "1773p595");
    EXPECT_EQ(dhs::kernels::brick_name(9.99996, -0.25), "0100m002");
    EXPECT_EQ(dhs::kernels::brick_name(9.99994, -0.25), "0099m002");
    EXPECT_EQ(dhs::kernels::brick_name(180.0, 0.0), "1800p000");
    // 470 centres sit on a 0.1 deg boundary up to binary noise (row 89, col 214: ra = 140.4 in
    // decimal, floor(10 ra) = 1403 in double); the survey's rounding gives 1404.
    const Brick b = brick_wall().brick_by_rowcol(89, 214);
    EXPECT_NEAR(b.ra, 140.4, 1e-9);
    EXPECT_EQ(b.name, "1404m677");
    EXPECT_EQ(dhs::kernels::coadd_dir_prefix("0489m442"), "048");
}

// --- Wrap and poles -------------------------------------------------------------------------

TEST(BrickWall, RaWrapsIntoZeroTo360) {
    const BrickWall& wall = brick_wall();
    EXPECT_EQ(dhs::kernels::wrap_ra(360.0), 0.0);
    EXPECT_EQ(dhs::kernels::wrap_ra(-1e-20), 0.0);
    EXPECT_NEAR(dhs::kernels::wrap_ra(-0.1), 359.9, 1e-12);
    EXPECT_NEAR(dhs::kernels::wrap_ra(725.5), 5.5, 1e-12);
    EXPECT_FALSE(std::signbit(dhs::kernels::wrap_ra(-0.0)));
    for (double dec : {-89.8, -45.0, 0.0, 12.3, 60.0, 89.8}) {
        const int row = BrickWall::row_of_dec(dec);
        EXPECT_EQ(wall.brickid_at(360.0, dec), wall.first_brickid(row)) << dec;
        EXPECT_EQ(wall.brickid_at(0.0, dec), wall.first_brickid(row)) << dec;
        EXPECT_EQ(wall.brickid_at(-0.1, dec), wall.brickid_at(359.9, dec)) << dec;
        EXPECT_EQ(wall.brickid_at(-0.1, dec), wall.first_brickid(row) + wall.ncols(row) - 1) << dec;
        EXPECT_EQ(wall.brickid_at(720.05, dec), wall.brickid_at(0.05, dec)) << dec;
    }
}

TEST(BrickWall, Poles) {
    const BrickWall& wall = brick_wall();
    for (double ra : {0.0, 90.0, 180.0, 359.99, 360.0, -10.0}) {
        const Brick south = wall.brick_at(ra, -90.0);
        EXPECT_EQ(south.brickid, 1);
        EXPECT_EQ(south.row, 0);
        EXPECT_EQ(south.name, "1800m900");
        EXPECT_EQ(south.brickq, 1);
        EXPECT_EQ(south.ra, 180.0);
        EXPECT_EQ(south.ra1, 0.0);
        EXPECT_EQ(south.ra2, 360.0);
        EXPECT_EQ(south.dec1, -90.0);
        EXPECT_EQ(south.dec2, -89.875);
        const Brick north = wall.brick_at(ra, 90.0);
        EXPECT_EQ(north.brickid, 662174);
        EXPECT_EQ(north.row, 720);
        EXPECT_EQ(north.name, "1800p900");
        EXPECT_EQ(north.brickq, 0);
        EXPECT_EQ(north.dec1, 89.875);
        EXPECT_EQ(north.dec2, 90.0);
        EXPECT_EQ(wall.brickid_at(ra, -95.0), 1);      // clamped
        EXPECT_EQ(wall.brickid_at(ra, 95.0), 662174);  // clamped
    }
    EXPECT_EQ(BrickWall::row_of_dec(-89.875), 1);
    EXPECT_EQ(BrickWall::row_of_dec(89.875), 720);
    EXPECT_EQ(wall.brick_by_name("1800m900")->brickid, 1);
    EXPECT_EQ(wall.brick_by_name("1800p900")->brickid, 662174);
}

// --- bricks_touching -------------------------------------------------------------------------

std::set<std::int64_t> ids_of(const std::vector<Brick>& bricks) {
    std::set<std::int64_t> ids;
    for (const auto& b : bricks) ids.insert(b.brickid);
    return ids;
}

bool box_meets_brick(const Brick& b, double ra_lo, double ra_hi, double dec_lo, double dec_hi) {
    // Closed box (no wrap) against half-open brick.
    return ra_lo < b.ra2 && ra_hi >= b.ra1 && dec_lo < b.dec2 && dec_hi >= b.dec1;
}

TEST(BricksTouching, SingleBrickAndAlignedBox) {
    const BrickWall& wall = brick_wall();
    const Brick b = wall.brick_by_name("0489m442").value();
    const auto inside = wall.bricks_touching(b.ra - 0.01, b.ra + 0.01, b.dec - 0.01, b.dec + 0.01);
    ASSERT_EQ(inside.size(), 1u);
    EXPECT_EQ(inside[0].brickid, b.brickid);
    // A box on the brick's own edges also touches the east and north neighbours' lower edges.
    const auto aligned = wall.bricks_touching(b.ra1, b.ra2, b.dec1, b.dec2);
    const auto ids = ids_of(aligned);
    EXPECT_TRUE(ids.count(b.brickid));
    EXPECT_TRUE(ids.count(b.brickid + 1));
    EXPECT_EQ(ids.count(b.brickid - 1), 0u);
    for (const auto& t : aligned) EXPECT_TRUE(t.row == b.row || t.row == b.row + 1);
    const auto shrunk = wall.bricks_touching(b.ra1, std::nextafter(b.ra2, 0.0), b.dec1,
                                             std::nextafter(b.dec2, -kInf));
    ASSERT_EQ(shrunk.size(), 1u);
    EXPECT_EQ(shrunk[0].brickid, b.brickid);
    EXPECT_TRUE(wall.bricks_touching(10, 11, 5, 4).empty());
}

TEST(BricksTouching, MatchesBruteForceAndPointSamples) {
    const BrickWall& wall = brick_wall();
    const double ra_lo = 150.3, ra_hi = 152.1, dec_lo = 1.05, dec_hi = 3.2;
    const auto found = wall.bricks_touching(ra_lo, ra_hi, dec_lo, dec_hi);
    std::set<std::int64_t> expected;
    for (int row = BrickWall::row_of_dec(dec_lo) - 2; row <= BrickWall::row_of_dec(dec_hi) + 2; ++row) {
        for (int col = 0; col < wall.ncols(row); ++col) {
            const Brick b = wall.brick_by_rowcol(row, col);
            if (box_meets_brick(b, ra_lo, ra_hi, dec_lo, dec_hi)) expected.insert(b.brickid);
        }
    }
    EXPECT_EQ(ids_of(found), expected);
    for (std::size_t i = 1; i < found.size(); ++i) EXPECT_LT(found[i - 1].brickid, found[i].brickid);
    std::mt19937_64 rng(12345);
    std::uniform_real_distribution<double> ura(ra_lo, ra_hi), udec(dec_lo, dec_hi);
    const auto ids = ids_of(found);
    for (int i = 0; i < 10000; ++i) EXPECT_TRUE(ids.count(wall.brickid_at(ura(rng), udec(rng))));
}

TEST(BricksTouching, WrapsThroughRaZero) {
    const BrickWall& wall = brick_wall();
    const auto found = wall.bricks_touching(359.9, 0.1, -0.2, 0.1);  // rows 359 and 360
    const auto ids = ids_of(found);
    ASSERT_EQ(found.size(), 4u);
    for (int row : {359, 360}) {
        EXPECT_TRUE(ids.count(wall.first_brickid(row)));
        EXPECT_TRUE(ids.count(wall.first_brickid(row) + wall.ncols(row) - 1));
    }
    EXPECT_EQ(ids_of(wall.bricks_touching(-0.1, 0.1, -0.2, 0.1)), ids);
    EXPECT_EQ(ids_of(wall.bricks_touching(359.9, 360.1, -0.2, 0.1)), ids);
    // A whole ring, however written.
    EXPECT_EQ(wall.bricks_touching(0, 360, 0.0, 0.1).size(), 1440u);
    EXPECT_EQ(wall.bricks_touching(-180, 180, 0.0, 0.1).size(), 1440u);
    EXPECT_EQ(wall.bricks_touching(0.2, 0.1, 0.0, 0.1).size(), 1440u);
}

TEST(BricksTouching, PolesAndWholeSky) {
    const BrickWall& wall = brick_wall();
    const auto cap = wall.bricks_touching(10, 20, -90, -89.9);
    ASSERT_EQ(cap.size(), 1u);
    EXPECT_EQ(cap[0].brickid, 1);
    const auto cap2 = wall.bricks_touching(0, 360, -90, -89.8);
    EXPECT_EQ(cap2.size(), 1u + 10u);
    const auto north = wall.bricks_touching(0, 1, 89.9, 95);
    ASSERT_EQ(north.size(), 1u);
    EXPECT_EQ(north[0].brickid, 662174);
    const auto sky = wall.bricks_touching(0, 360, -90, 90);
    ASSERT_EQ(sky.size(), 662174u);
    EXPECT_EQ(sky.front().brickid, 1);
    EXPECT_EQ(sky.back().brickid, 662174);
}

// --- Sweep blocks -----------------------------------------------------------------------------

TEST(SweepBlocks, AllDr10NamesMatchFile) {
    const auto names = data_lines(reference_path("dr10_sweep_filenames.txt"), false);
    ASSERT_EQ(names.size(), 2592u);
    const auto blocks = dhs::kernels::all_sweep_blocks();
    ASSERT_EQ(blocks.size(), 2592u);
    std::set<std::string> unique;
    for (std::size_t i = 0; i < names.size(); ++i) {
        EXPECT_EQ(blocks[i].name, names[i]);
        const auto parsed = dhs::kernels::parse_sweep_name(names[i]);
        ASSERT_TRUE(parsed.has_value()) << names[i];
        EXPECT_EQ(parsed->ra_max - parsed->ra_min, 5.0);
        EXPECT_EQ(parsed->dec_max - parsed->dec_min, 5.0);
        EXPECT_EQ(parsed->ra_min, blocks[i].ra_min);
        EXPECT_EQ(parsed->dec_min, blocks[i].dec_min);
        const double ra_c = 0.5 * (parsed->ra_min + parsed->ra_max);
        const double dec_c = 0.5 * (parsed->dec_min + parsed->dec_max);
        EXPECT_EQ(dhs::kernels::sweep_block_name(ra_c, dec_c), names[i]);
        EXPECT_EQ(dhs::kernels::sweep_block_name(parsed->ra_min, parsed->dec_min), names[i]);
        EXPECT_EQ(dhs::kernels::sweep_block_name(std::nextafter(parsed->ra_max, 0.0),
                                                 std::nextafter(parsed->dec_max, -kInf)),
                  names[i]);
        unique.insert(names[i]);
    }
    EXPECT_EQ(unique.size(), 2592u);
}

TEST(SweepBlocks, EdgesWrapAndPoles) {
    using dhs::kernels::sweep_block_name;
    EXPECT_EQ(sweep_block_name(0.0, 0.0), "sweep-000p000-005p005.fits");
    EXPECT_EQ(sweep_block_name(0.0, -0.0), "sweep-000p000-005p005.fits");
    EXPECT_EQ(sweep_block_name(4.9, -0.1), "sweep-000m005-005p000.fits");
    EXPECT_EQ(sweep_block_name(5.0, -5.0), "sweep-005m005-010p000.fits");
    EXPECT_EQ(sweep_block_name(360.0, 1.0), "sweep-000p000-005p005.fits");
    EXPECT_EQ(sweep_block_name(-0.1, 1.0), "sweep-355p000-360p005.fits");
    EXPECT_EQ(sweep_block_name(10.0, 90.0), "sweep-010p085-015p090.fits");
    EXPECT_EQ(sweep_block_name(10.0, -90.0), "sweep-010m090-015m085.fits");
    EXPECT_EQ(sweep_block_name(10.0, 95.0), "sweep-010p085-015p090.fits");
    EXPECT_EQ(sweep_block_name(48.9, -44.25), "sweep-045m045-050m040.fits");
    EXPECT_EQ(sweep_block_name(std::nextafter(5.0, 0.0), std::nextafter(-5.0, 0.0)),
              "sweep-000m005-005p000.fits");
    EXPECT_THROW((void)sweep_block_name(std::nan(""), 0.0), std::invalid_argument);
}

TEST(SweepBlocks, ParsesDr8AndRejectsMalformed) {
    using dhs::kernels::parse_sweep_name;
    const auto dr8 = parse_sweep_name("sweep-310m005-320p000.fits");
    ASSERT_TRUE(dr8.has_value());
    EXPECT_EQ(dr8->ra_min, 310.0);
    EXPECT_EQ(dr8->ra_max, 320.0);
    EXPECT_EQ(dr8->dec_min, -5.0);
    EXPECT_EQ(dr8->dec_max, 0.0);
    EXPECT_EQ(dr8->name, "sweep-310m005-320p000.fits");
    const auto with_dir = parse_sweep_name("/global/cfs/dr10/south/sweep/10.1/sweep-350p080-360p085.fits");
    ASSERT_TRUE(with_dir.has_value());
    EXPECT_EQ(with_dir->ra_min, 350.0);
    EXPECT_EQ(with_dir->ra_max, 360.0);
    EXPECT_EQ(with_dir->dec_min, 80.0);
    EXPECT_EQ(with_dir->dec_max, 85.0);
    EXPECT_EQ(with_dir->name, "sweep-350p080-360p085.fits");
    for (const char* bad : {"", "sweep-000m005-005p000.fit", "sweep-000m005-005p000.fits.gz",
                            "sweep-005m005-000p000.fits", "sweep-000p005-005m000.fits",
                            "sweep-000x005-005p000.fits", "sweep-000m095-005m090.fits",
                            "sweep-355p000-365p005.fits", "sweep-0a0m005-005p000.fits",
                            "sweep_000m005-005p000.fits", "sweep-000m005_005p000.fits"}) {
        EXPECT_FALSE(parse_sweep_name(bad).has_value()) << bad;
    }
    EXPECT_EQ(dhs::kernels::sweep_name(310, 320, -5, 0), "sweep-310m005-320p000.fits");
}

}  // namespace
