// Tests of kernels/brick_geometry against the real survey-bricks tables of the legacypipe test
// data (shared/data/real/legacypipe/*/survey-bricks.fits.gz), read in place with cfitsio: every
// row's BRICKNAME, BRICKID, BRICKQ, BRICKROW, BRICKCOL, RA, DEC, RA1, RA2, DEC1, DEC2.
#include "kernels/geometry/brick_geometry.hpp"

#include <fitsio.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using dhs::kernels::Brick;
using dhs::kernels::brick_wall;

constexpr double kTol = 1e-9;  // deg

// One row of a survey-bricks table.
struct BrickRow {
    std::string name;
    long long brickid = 0, brickq = 0, brickrow = 0, brickcol = 0;
    double ra = 0, dec = 0, ra1 = 0, ra2 = 0, dec1 = 0, dec2 = 0;
};

std::vector<fs::path> survey_bricks_files() {
    std::vector<fs::path> files;
    const fs::path root = fs::path(DHS_SHARED_DIR) / "data/real/legacypipe";
    if (!fs::is_directory(root)) return files;
    for (const auto& entry : fs::directory_iterator(root)) {
        const fs::path f = entry.path() / "survey-bricks.fits.gz";
        if (fs::is_regular_file(f)) files.push_back(f);
    }
    std::sort(files.begin(), files.end());
    return files;
}

// Reads column `name` (any numeric type, converted by cfitsio) of rows 1..n.
template <typename T>
std::vector<T> read_column(fitsfile* fptr, const char* name, int datatype, long n, int& status) {
    std::vector<T> values(static_cast<std::size_t>(n));
    int colnum = 0;
    fits_get_colnum(fptr, CASEINSEN, const_cast<char*>(name), &colnum, &status);
    fits_read_col(fptr, datatype, colnum, 1, 1, n, nullptr, values.data(), nullptr, &status);
    return values;
}

std::vector<std::string> read_string_column(fitsfile* fptr, const char* name, long n, int& status) {
    int colnum = 0;
    fits_get_colnum(fptr, CASEINSEN, const_cast<char*>(name), &colnum, &status);
    std::vector<std::string> out;
    char buffer[64] = {};
    char* ptr = buffer;
    char null_string[] = "";
    for (long row = 1; row <= n && status == 0; ++row) {
        fits_read_col(fptr, TSTRING, colnum, row, 1, 1, null_string, &ptr, nullptr, &status);
        out.emplace_back(buffer);
    }
    return out;
}

std::vector<BrickRow> read_survey_bricks(const fs::path& path) {
    int status = 0;
    fitsfile* fptr = nullptr;
    fits_open_table(&fptr, path.c_str(), READONLY, &status);
    long n = 0;
    fits_get_num_rows(fptr, &n, &status);
    const auto names = read_string_column(fptr, "BRICKNAME", n, status);
    const auto ids = read_column<long long>(fptr, "BRICKID", TLONGLONG, n, status);
    const auto qs = read_column<long long>(fptr, "BRICKQ", TLONGLONG, n, status);
    const auto rows = read_column<long long>(fptr, "BRICKROW", TLONGLONG, n, status);
    const auto cols = read_column<long long>(fptr, "BRICKCOL", TLONGLONG, n, status);
    const auto ra = read_column<double>(fptr, "RA", TDOUBLE, n, status);
    const auto dec = read_column<double>(fptr, "DEC", TDOUBLE, n, status);
    const auto ra1 = read_column<double>(fptr, "RA1", TDOUBLE, n, status);
    const auto ra2 = read_column<double>(fptr, "RA2", TDOUBLE, n, status);
    const auto dec1 = read_column<double>(fptr, "DEC1", TDOUBLE, n, status);
    const auto dec2 = read_column<double>(fptr, "DEC2", TDOUBLE, n, status);
    int close_status = 0;
    if (fptr != nullptr) fits_close_file(fptr, &close_status);
    char message[FLEN_STATUS] = {};
    fits_get_errstatus(status, message);
    EXPECT_EQ(status, 0) << path << ": " << message;
    std::vector<BrickRow> out;
    if (status != 0) return out;
    for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
        out.push_back({names[i], ids[i], qs[i], rows[i], cols[i], ra[i], dec[i], ra1[i], ra2[i],
                       dec1[i], dec2[i]});
    }
    return out;
}

TEST(BrickGeometryReal, EverySurveyBricksRowIsReproduced) {
    const auto files = survey_bricks_files();
    ASSERT_GE(files.size(), 8u) << "expected the legacypipe test survey-bricks tables under "
                                << DHS_SHARED_DIR;
    const auto& wall = brick_wall();
    std::size_t checked = 0;
    for (const auto& file : files) {
        for (const BrickRow& r : read_survey_bricks(file)) {
            SCOPED_TRACE(file.string() + ": " + r.name);
            const Brick b = wall.brick_by_rowcol(static_cast<int>(r.brickrow), static_cast<int>(r.brickcol));
            EXPECT_EQ(b.name, r.name);
            EXPECT_EQ(b.brickid, r.brickid);
            EXPECT_EQ(b.brickq, r.brickq);
            EXPECT_NEAR(b.ra, r.ra, kTol);
            EXPECT_NEAR(b.dec, r.dec, kTol);
            EXPECT_NEAR(b.ra1, r.ra1, kTol);
            EXPECT_NEAR(b.ra2, r.ra2, kTol);
            EXPECT_NEAR(b.dec1, r.dec1, kTol);
            EXPECT_NEAR(b.dec2, r.dec2, kTol);
            EXPECT_EQ(dhs::kernels::brick_name(r.ra, r.dec), r.name);

            const Brick at = wall.brick_at(r.ra, r.dec);
            EXPECT_EQ(at.brickid, r.brickid);
            EXPECT_EQ(at.row, r.brickrow);
            EXPECT_EQ(at.col, r.brickcol);
            constexpr double kInside = 1e-7;  // deg
            EXPECT_EQ(wall.brickid_at(r.ra1 + kInside, r.dec1 + kInside), r.brickid);
            EXPECT_EQ(wall.brickid_at(r.ra2 - kInside, r.dec1 + kInside), r.brickid);
            EXPECT_EQ(wall.brickid_at(r.ra1 + kInside, r.dec2 - kInside), r.brickid);
            EXPECT_EQ(wall.brickid_at(r.ra2 - kInside, r.dec2 - kInside), r.brickid);

            const auto by_name = wall.brick_by_name(r.name);
            ASSERT_TRUE(by_name.has_value());
            EXPECT_EQ(by_name->brickid, r.brickid);
            EXPECT_EQ(wall.brick_by_id(r.brickid).name, r.name);
            ++checked;
        }
    }
    EXPECT_GE(checked, files.size());
    std::printf("checked %zu real bricks in %zu survey-bricks tables\n", checked, files.size());
}

}  // namespace
