// Tests of the mock DR10 sky: the test footprint (configs/mock_sky_test.yaml) written by
// `dhs mock-sky` with 1 and 2 ranks gives identical files; every FITS file passes fitsverify;
// sweeps hold the 130 DR10 columns in order; coadd WCS maps the brick centre to the centre
// pixel; the calibration star's aperture flux and centroid match its catalog row; lenses lie
// in the footprint with truth; the DR10 LRG cuts select objects.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/fits/brick_image.hpp"
#include "core/fits/sweep_reader.hpp"
#include "core/fits/table_writer.hpp"
#include "kernels/brick_geometry.hpp"
#include "mpi_stages/mock_sky/mock_sky.hpp"

namespace fs = std::filesystem;

namespace {

const std::string kDhs = std::string(DHS_BINARY_DIR) + "/apps/dhs/dhs";
const std::string kConfig = std::string(DHS_SOURCE_DIR) + "/configs/mock_sky_test.yaml";
const std::string kCsv = std::string(DHS_SHARED_DIR) + "/data/real/reference/dr10_sweep_columns.csv";

std::string slurp(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

std::vector<fs::path> files_under(const fs::path& root) {
    std::vector<fs::path> out;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
        const auto rel = fs::relative(e.path(), root);
        if (e.is_regular_file() && rel.string().rfind(".dhs-run", 0) != 0) out.push_back(rel);
    }
    std::sort(out.begin(), out.end());
    return out;
}

class MockSky : public ::testing::Test {
protected:
    static fs::path one, two;
    static void SetUpTestSuite() {
        const auto base = fs::temp_directory_path() / ("dhs-mock-sky-test-" + std::to_string(::getpid()));
        one = base / "n1";
        two = base / "n2";
        fs::remove_all(base);
        ASSERT_EQ(std::system((kDhs + " mock-sky --out " + one.string() + " --config " + kConfig).c_str()), 0);
        const std::string mpi = std::string(DHS_MPIEXEC) + " -n 2 --oversubscribe --bind-to none " + kDhs +
                                " mock-sky --out " + two.string() + " --config " + kConfig;
        ASSERT_EQ(std::system(mpi.c_str()), 0);
    }
    static void TearDownTestSuite() { fs::remove_all(one.parent_path()); }
};
fs::path MockSky::one, MockSky::two;

TEST_F(MockSky, SameFilesForOneAndTwoRanks) {
    const auto a = files_under(one), b = files_under(two);
    ASSERT_EQ(a, b);
    EXPECT_GE(a.size(), 26u);  // 2 bricks x 10 coadds + sweep + bricks + lenscat + 3 truth
    for (const auto& f : a) EXPECT_EQ(slurp(one / f), slurp(two / f)) << f;
}

TEST_F(MockSky, EveryFitsFilePassesFitsverify) {
    int n = 0;
    for (const auto& f : files_under(one)) {
        if (f.string().find(".fits") == std::string::npos) continue;
        ++n;
        EXPECT_EQ(std::system(("fitsverify -q -e " + (one / f).string() + " >/dev/null").c_str()), 0) << f;
    }
    EXPECT_GE(n, 22);
}

TEST_F(MockSky, SweepsHaveTheDr10ColumnsInOrder) {
    std::vector<std::string> want;
    for (const auto& c : dhs::fits::dr10_sweep_schema(kCsv)) want.push_back(c.name);
    ASSERT_EQ(want.size(), 130u);
    const auto& mine = dhs::stages::mock_sky::sweep_columns();
    ASSERT_EQ(mine.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(mine[i].name, want[i]);
    int files = 0;
    for (const auto& e : fs::directory_iterator(one / "sweep" / "10.1")) {
        ++files;
        dhs::fits::SweepReader r(e.path().string());
        EXPECT_EQ(r.column_names(), want);
        EXPECT_GT(r.num_rows(), 0);
        const auto block = dhs::kernels::parse_sweep_name(e.path().filename().string());
        ASSERT_TRUE(block);
        const auto t = r.read_all({"RA", "DEC"});
        const auto ra = t.column("RA").as<double>(), dec = t.column("DEC").as<double>();
        for (std::size_t i = 0; i < ra.size(); ++i)
            EXPECT_EQ(dhs::kernels::sweep_block_name(ra[i], dec[i]), e.path().filename().string());
    }
    EXPECT_GE(files, 1);
}

TEST_F(MockSky, CalibrationStarMatchesItsCatalogRow) {
    const auto sweep_dir = one / "sweep" / "10.1";
    for (const auto& e : fs::directory_iterator(sweep_dir)) {
        dhs::fits::SweepReader r(e.path().string());
        const auto t = r.read_all({"BRICKNAME", "OBJID", "RA", "DEC", "FLUX_G", "FLUX_R", "FLUX_Z", "TYPE"});
        const auto& names = t.column("BRICKNAME").strings();
        const auto objid = t.column("OBJID").as<long>();
        const auto ra = t.column("RA").as<double>(), dec = t.column("DEC").as<double>();
        int checked = 0;
        for (std::size_t i = 0; i < names.size(); ++i) {
            if (objid[i] != 0) continue;  // objid 0: the calibration star of the brick
            EXPECT_EQ(t.column("TYPE").strings()[i], "PSF");
            const char* bands[3] = {"g", "r", "z"};
            const char* cols[3] = {"FLUX_G", "FLUX_R", "FLUX_Z"};
            for (int b = 0; b < 3; ++b) {
                auto img = dhs::fits::BrickImage::open(
                    (one / "coadd" / names[i].substr(0, 3) / names[i] /
                     ("legacysurvey-" + names[i] + "-image-" + bands[b] + ".fits.fz")).string());
                EXPECT_EQ(img.width(), 600);
                // The WCS maps the brick centre to the centre pixel.
                const auto brick = dhs::kernels::brick_wall().brick_by_name(names[i]);
                const auto c = img.wcs().sky_to_pixel(brick->ra, brick->dec);
                EXPECT_NEAR(c.x, 299.5, 1e-6);
                EXPECT_NEAR(c.y, 299.5, 1e-6);
                const auto p = img.wcs().sky_to_pixel(ra[i], dec[i]);
                const long r0 = 20, x0 = std::lround(p.x) - r0, y0 = std::lround(p.y) - r0;
                const auto box = img.read_box(x0, y0, 2 * r0 + 1, 2 * r0 + 1);
                double sum = 0, csum = 0, sx = 0, sy = 0;
                for (long y = 0; y <= 2 * r0; ++y)
                    for (long x = 0; x <= 2 * r0; ++x) {
                        const double dx = x0 + x - p.x, dy = y0 + y - p.y;
                        if (dx * dx + dy * dy > r0 * r0) continue;
                        const double v = box[static_cast<std::size_t>(y * (2 * r0 + 1) + x)];
                        sum += v;
                        if (dx * dx + dy * dy > 64) continue;  // centroid within 8 px (> 2.7 sigma)
                        csum += v;
                        sx += v * dx;
                        sy += v * dy;
                    }
                const double flux = t.column(cols[b]).as<double>()[i];
                EXPECT_NEAR(sum / flux, 1.0, 0.03) << names[i] << " " << bands[b];
                EXPECT_NEAR(sx / csum, 0.0, 0.05) << names[i] << " " << bands[b];
                EXPECT_NEAR(sy / csum, 0.0, 0.05) << names[i] << " " << bands[b];
            }
            ++checked;
        }
        EXPECT_EQ(checked, 2);
    }
}

TEST_F(MockSky, LensesAreInTheFootprintWithTruth) {
    std::ifstream cat(one / "lenses" / "lenscat.csv");
    std::string line;
    std::getline(cat, line);
    EXPECT_EQ(line, "name,RA [deg],DEC [deg],zlens,type,grading,ref");
    const std::string truth = slurp(one / "truth" / "lenses.csv");
    const auto& wall = dhs::kernels::brick_wall();
    int n = 0;
    while (std::getline(cat, line)) {
        std::stringstream s(line);
        std::string name, ra, dec, z, type, grading;
        std::getline(s, name, ',');
        std::getline(s, ra, ',');
        std::getline(s, dec, ',');
        std::getline(s, z, ',');
        std::getline(s, type, ',');
        std::getline(s, grading, ',');
        EXPECT_TRUE(grading == "confident" || grading == "probable");
        const auto b = wall.brick_at(std::stod(ra), std::stod(dec));
        EXPECT_TRUE(fs::exists(one / "coadd" / b.name.substr(0, 3) / b.name)) << name;
        EXPECT_NE(truth.find(name + "," + b.name + ","), std::string::npos) << name;
        ++n;
    }
    EXPECT_EQ(n, 4);  // 2 bricks x 2 lenses
}

TEST_F(MockSky, LrgCutsSelectObjects) {
    int lrg = 0, total = 0;
    for (const auto& e : fs::directory_iterator(one / "sweep" / "10.1")) {
        dhs::fits::SweepReader r(e.path().string());
        const auto t = r.read_all({"TYPE", "FLUX_R", "FLUX_Z", "FLUX_W1", "MW_TRANSMISSION_R", "MW_TRANSMISSION_Z",
                                   "MW_TRANSMISSION_W1"});
        const auto fr = t.column("FLUX_R").as<double>(), fz = t.column("FLUX_Z").as<double>(),
                   fw = t.column("FLUX_W1").as<double>();
        const auto mr = t.column("MW_TRANSMISSION_R").as<double>(), mz = t.column("MW_TRANSMISSION_Z").as<double>(),
                   mw = t.column("MW_TRANSMISSION_W1").as<double>();
        for (std::size_t i = 0; i < fr.size(); ++i) {
            ++total;
            if (t.column("TYPE").strings()[i] == "PSF" || fr[i] <= 0 || fz[i] <= 0 || fw[i] <= 0) continue;
            const double mag_r = 22.5 - 2.5 * std::log10(fr[i] / mr[i]), z = 22.5 - 2.5 * std::log10(fz[i] / mz[i]),
                         w1 = 22.5 - 2.5 * std::log10(fw[i] / mw[i]);
            if (z < 20.4 && mag_r - z > 0.4 && z - w1 > 0.8) ++lrg;  // v3_color_relaxed
        }
    }
    EXPECT_GE(lrg, 20);
    EXPECT_LT(lrg, total / 2);
}

}  // namespace
