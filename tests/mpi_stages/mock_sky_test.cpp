// Tests of the mock DR10 sky: the test footprint (configs/mock_sky_test.yaml) written by
// `dhs mock-sky` with 1 and 2 ranks gives identical files; every FITS file passes fitsverify;
// sweeps hold the 130 DR10 columns in order; coadd WCS maps the brick centre to the centre
// pixel; the calibration star's aperture flux and centroid match its catalog row (Gaussian and
// Moffat PSF); lenses lie in the footprint with truth, their hosts are LRG-cut sweep objects a 1"
// match finds, whose FLUX holds the absorbed arc share; the DR10 LRG cuts select objects; the
// maskbits maps hold the DR10 bits the mock sets (and no i-band / fitting bits), match the
// sweeps' MASKBITS, zero invvar where they must, and NPRIMARY agrees with wcslib on a coadd larger
// than its brick; confusers of every category are listed with positions that are sweep rows;
// objects lie near brick edges; mock_sky.h5 /objects holds every truth column.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/fits/brick_image.hpp"
#include "core/fits/brick_wcs.hpp"
#include "core/hdf5/result_file.hpp"
#include "core/fits/sweep_reader.hpp"
#include "core/fits/table_writer.hpp"
#include "kernels/geometry/brick_geometry.hpp"
#include "mpi_stages/mock_sky/mock_sky.hpp"
#include "tests/support/test_support.hpp"

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
    static fs::path one, two, moffat, wide;
    static void SetUpTestSuite() {
        const auto base = fs::temp_directory_path() / ("dhs-mock-sky-test-" + std::to_string(::getpid()));
        one = base / "n1";
        two = base / "n2";
        moffat = base / "moffat";
        wide = base / "wide";
        fs::remove_all(base);
        ASSERT_EQ(std::system((kDhs + " mock-sky --out " + one.string() + " --config " + kConfig).c_str()), 0);
        const std::string mpi = std::string(DHS_MPIEXEC) + " -n 2 " DHS_MPIEXEC_PREFLAGS " " + kDhs +
                                " mock-sky --out " + two.string() + " --config " + kConfig;
        ASSERT_EQ(std::system(mpi.c_str()), 0);
        ASSERT_EQ(std::system((kDhs + " mock-sky --out " + moffat.string() + " --config " + kConfig +
                               " --set mock_sky.psf_model=moffat --set mock_sky.bricks_ra=1")
                                  .c_str()),
                  0);
        // One brick with a coadd larger than the brick (DR10's 3600 px overlap their neighbours),
        // few objects: NPRIMARY borders.
        ASSERT_EQ(std::system((kDhs + " mock-sky --out " + wide.string() + " --config " + kConfig +
                               " --set mock_sky.bricks_ra=1 --set mock_sky.image_size=3700 --set mock_sky.stars=2"
                               " --set mock_sky.lrgs=4 --set mock_sky.blue_galaxies=5 --set mock_sky.cluster_fraction=0")
                                  .c_str()),
                  0);
    }
    static void TearDownTestSuite() { fs::remove_all(one.parent_path()); }
};
fs::path MockSky::one, MockSky::two, MockSky::moffat, MockSky::wide;

fs::path coadd(const fs::path& root, const std::string& brick, const std::string& kind) {
    return root / "coadd" / brick.substr(0, 3) / brick / ("legacysurvey-" + brick + "-" + kind + ".fits.fz");
}

// The mock sky's CSV side files, as maps column -> text.
std::vector<std::map<std::string, std::string>> read_csv(const fs::path& path) { return dhs::test::csv_records(path.string()); }

/// Every sweep row of a sky: the named columns, concatenated over its sweep files.
dhs::Table all_sweeps(const fs::path& root, const std::vector<std::string>& columns) {
    dhs::Table all;
    for (const auto& e : fs::directory_iterator(root / "sweep" / "10.1")) {
        const auto t = dhs::fits::SweepReader(e.path().string()).read_all(columns);
        if (all.num_columns() == 0) all = t;
        else all.append(t);
    }
    return all;
}

// An image too small for the calibration star's keep-out used to loop forever drawing positions
// (image_size 200): now the bricks fail at once, naming the key; the command does not hang.
TEST(MockSkyTooSmall, AnImageWithNoRoomForItsObjectsFailsNamingImageSize) {
    const fs::path out = fs::temp_directory_path() / ("dhs-mock-small-" + std::to_string(::getpid()));
    const fs::path log = out.string() + ".log";
    const int rc = std::system(("timeout 60 " + kDhs + " mock-sky --out " + out.string() + " --config " + kConfig +
                                " --set mock_sky.image_size=200 > " + log.string() + " 2>&1")
                                   .c_str());
    EXPECT_NE(rc, 0);
    EXPECT_NE(WEXITSTATUS(rc), 124) << "timed out: the draw hangs again";
    std::ifstream in(log);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("mock_sky.image_size (200 px) is too small"), std::string::npos) << text;
    fs::remove_all(out);
    fs::remove(log);
}

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

void check_calibration_stars(const fs::path& one, int want_bricks);

TEST_F(MockSky, CalibrationStarMatchesItsCatalogRow) { check_calibration_stars(one, 2); }

TEST_F(MockSky, CalibrationStarMatchesItsCatalogRowWithAMoffatPsf) { check_calibration_stars(moffat, 1); }

void check_calibration_stars(const fs::path& one, int want_bricks) {
    const auto sweep_dir = one / "sweep" / "10.1";
    int checked = 0;
    for (const auto& e : fs::directory_iterator(sweep_dir)) {
        dhs::fits::SweepReader r(e.path().string());
        const auto t = r.read_all({"BRICKNAME", "OBJID", "RA", "DEC", "FLUX_G", "FLUX_R", "FLUX_Z", "TYPE"});
        const auto& names = t.column("BRICKNAME").strings();
        const auto objid = t.column("OBJID").as<long>();
        const auto ra = t.column("RA").as<double>(), dec = t.column("DEC").as<double>();
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
    }
    EXPECT_EQ(checked, want_bricks);
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

// Hosts of the true lenses: a 1" match to lenscat.csv finds each as a brick-primary sweep row of
// TYPE DEV that the LRG cut v3 (z < 20.4, r - z > 0.4, z - W1 > 0.8, E(B-V) < 0.1, no BRIGHT /
// GALAXY / CLUSTER bit) keeps, whose FLUX is the host's own light plus the arc share a
// fixed-shape fit absorbs (truth/lenses.csv), at most the arc's flux.
TEST_F(MockSky, LensHostsAreLrgSweepObjectsWithTheAbsorbedArcLight) {
    const auto t = all_sweeps(one, {"BRICKNAME", "OBJID", "RA", "DEC", "TYPE", "FLUX_G", "FLUX_R", "FLUX_Z", "FLUX_W1",
                                    "MW_TRANSMISSION_R", "MW_TRANSMISSION_Z", "MW_TRANSMISSION_W1", "EBV", "MASKBITS"});
    const auto ra = t.column("RA").as<double>(), dec = t.column("DEC").as<double>();
    const auto lenses = read_csv(one / "truth" / "lenses.csv");
    ASSERT_EQ(lenses.size(), 4u);
    int lrg_hosts = 0;
    for (const auto& cat : read_csv(one / "lenses" / "lenscat.csv")) {
        const double lra = std::stod(cat.at("RA [deg]")), ldec = std::stod(cat.at("DEC [deg]"));
        std::size_t best = 0;
        double dmin = 1e9;
        for (std::size_t i = 0; i < ra.size(); ++i) {
            const double d = std::hypot((ra[i] - lra) * std::cos(ldec * M_PI / 180), dec[i] - ldec) * 3600;
            if (d < dmin) {
                dmin = d;
                best = i;
            }
        }
        ASSERT_LT(dmin, 1.0) << cat.at("name");
        EXPECT_EQ(t.column("TYPE").strings()[best], "DEV");
        auto mag = [&](const char* f, const char* m) {
            return 22.5 - 2.5 * std::log10(t.column(f).as<double>()[best] / t.column(m).as<double>()[best]);
        };
        const double r = mag("FLUX_R", "MW_TRANSMISSION_R"), z = mag("FLUX_Z", "MW_TRANSMISSION_Z"),
                     w1 = mag("FLUX_W1", "MW_TRANSMISSION_W1");
        const long bits = t.column("MASKBITS").as<long>()[best];
        if (z < 20.4 && r - z > 0.4 && z - w1 > 0.8 && t.column("EBV").as<double>()[best] < 0.1 &&
            (bits & ((1 << 1) | (1 << 12) | (1 << 13))) == 0)
            ++lrg_hosts;
        const auto truth = std::find_if(lenses.begin(), lenses.end(), [&](const auto& l) { return l.at("name") == cat.at("name"); });
        ASSERT_NE(truth, lenses.end());
        EXPECT_EQ(truth->at("brickname"), t.column("BRICKNAME").strings()[best]);
        EXPECT_EQ(std::stol(truth->at("objid")), t.column("OBJID").as<long>()[best]);
        const char* bands[3] = {"g", "r", "z"};
        const char* cols[3] = {"FLUX_G", "FLUX_R", "FLUX_Z"};
        for (int b = 0; b < 3; ++b) {
            const std::string bb = bands[b];
            const double host = std::stod(truth->at("host_flux_" + bb)), absorbed = std::stod(truth->at("arc_absorbed_" + bb));
            EXPECT_GE(absorbed, 0.0);
            EXPECT_LE(absorbed, std::stod(truth->at("arc_flux_" + bb)) * (1 + 1e-6));
            EXPECT_NEAR(t.column(cols[b]).as<double>()[best], host + absorbed, 1e-4 * (host + absorbed)) << bb;
        }
        EXPECT_GT(std::stod(truth->at("magnification")), 1.0);
    }
    EXPECT_GE(lrg_hosts, 3);
}

// The maskbits maps: the bits the test footprint must show, none of the i-band / fitting bits;
// ALLMASK_X pixels have invvar 0 and image 0 in band X, SATUR_X pixels invvar 0; each sweep row's
// MASKBITS is the map at its pixel, and its ALLMASK_X / WISEMASK_W1 columns follow the bits.
TEST_F(MockSky, MaskbitsFollowTheDr10LayoutAndTheSweeps) {
    const auto t = all_sweeps(one, {"BRICKNAME", "RA", "DEC", "MASKBITS", "ALLMASK_G", "WISEMASK_W1"});
    std::set<std::string> bricks(t.column("BRICKNAME").strings().begin(), t.column("BRICKNAME").strings().end());
    ASSERT_EQ(bricks.size(), 2u);
    long seen = 0;
    for (const auto& brick : bricks) {
        const auto mb = dhs::fits::BrickImage::open(coadd(one, brick, "maskbits").string());
        const auto bits = mb.read_box_int(0, 0, 600, 600);
        for (auto v : bits) seen |= v;
        const char* bands[3] = {"g", "r", "z"};
        for (int b = 0; b < 3; ++b) {
            const auto img = dhs::fits::BrickImage::open(coadd(one, brick, std::string("image-") + bands[b]).string()).read_full();
            const auto iv = dhs::fits::BrickImage::open(coadd(one, brick, std::string("invvar-") + bands[b]).string()).read_full();
            long allmask = 0;
            for (std::size_t i = 0; i < bits.size(); ++i) {
                if (bits[i] & (1 << (5 + b))) {
                    ++allmask;
                    ASSERT_EQ(iv[i], 0.0f) << brick << " " << bands[b] << " @" << i;
                    ASSERT_EQ(img[i], 0.0f) << brick << " " << bands[b] << " @" << i;
                }
                if (bits[i] & (1 << (2 + b))) {
                    ASSERT_EQ(iv[i], 0.0f);
                }
                if (!(bits[i] & ((1 << (5 + b)) | (1 << (2 + b))))) {
                    ASSERT_GT(iv[i], 0.0f);
                }
            }
            EXPECT_GE(allmask, 50) << brick << " " << bands[b];  // bad columns at least
        }
        const auto wcs = mb.wcs();
        const auto& names = t.column("BRICKNAME").strings();
        const auto ra = t.column("RA").as<double>(), dec = t.column("DEC").as<double>();
        const auto sweep_bits = t.column("MASKBITS").as<long>();
        for (std::size_t i = 0; i < names.size(); ++i) {
            if (names[i] != brick) continue;
            const auto px = wcs.sky_to_pixel(ra[i], dec[i]);
            const long x = std::lround(px.x), y = std::lround(px.y);
            EXPECT_EQ(sweep_bits[i], bits[static_cast<std::size_t>(y * 600 + x)]) << brick << " row " << i;
            EXPECT_EQ(t.column("ALLMASK_G").as<long>()[i] != 0, (sweep_bits[i] & (1 << 5)) != 0);
            EXPECT_EQ(t.column("WISEMASK_W1").as<long>()[i] != 0, (sweep_bits[i] & (1 << 8)) != 0);
        }
    }
    for (int bit : {5, 6, 7, 11, 13}) EXPECT_TRUE(seen & (1L << bit)) << "bit " << bit;  // ALLMASK_G/R/Z, MEDIUM, CLUSTER
    for (int bit : {10, 14, 15, 16}) EXPECT_FALSE(seen & (1L << bit)) << "bit " << bit;  // BAILOUT, SATUR_I, ALLMASK_I, SUB_BLOB
}

// On a coadd larger than its brick, NPRIMARY is set exactly outside the brick's RA/Dec box (by
// wcslib's pixel -> sky), sampled over the border strip.
TEST_F(MockSky, NprimaryIsOutsideTheBrickByWcslib) {
    const auto brick_dir = *fs::directory_iterator(wide / "coadd" / "150");
    const std::string name = brick_dir.path().filename().string();
    const auto brick = dhs::kernels::brick_wall().brick_by_name(name);
    ASSERT_TRUE(brick);
    const auto mb = dhs::fits::BrickImage::open(coadd(wide, name, "maskbits").string());
    ASSERT_EQ(mb.width(), 3700);
    const auto bits = mb.read_box_int(0, 0, 3700, 3700);
    const auto wcs = mb.wcs();
    long outside = 0, checked = 0;
    for (long y = 0; y < 3700; y += 7) {
        for (long x = 0; x < 3700; x += (y < 200 || y > 3500) ? 7 : 3) {
            if (x > 200 && x < 3500 && y > 200 && y < 3500) x = 3500;  // the border strip only
            const auto s = wcs.pixel_to_sky(static_cast<double>(x), static_cast<double>(y));
            // Skip pixels within 1e-7 deg (0.0014 px) of an edge: rounding may go either way.
            const double m = std::min({std::abs(s.ra - brick->ra1), std::abs(s.ra - brick->ra2),
                                       std::abs(s.dec - brick->dec1), std::abs(s.dec - brick->dec2)});
            if (m < 1e-7) continue;
            const bool in = s.ra >= brick->ra1 && s.ra < brick->ra2 && s.dec >= brick->dec1 && s.dec < brick->dec2;
            const bool np = bits[static_cast<std::size_t>(y * 3700 + x)] & 1;
            ASSERT_EQ(np, !in) << "pixel " << x << "," << y;
            outside += !in;
            ++checked;
        }
    }
    EXPECT_GT(outside, 1000);
    EXPECT_GT(checked, 20000);
}

// truth/confusers.csv lists every category with positions that are sweep rows of that brick and
// objid; a merger's companion is a sweep row within its separation.
TEST_F(MockSky, ConfusersOfEveryCategoryAreSweepRows) {
    const auto t = all_sweeps(one, {"BRICKNAME", "OBJID", "RA", "DEC"});
    std::map<std::pair<std::string, long>, std::pair<double, double>> pos;
    for (std::size_t i = 0; i < t.num_rows(); ++i)
        pos[{t.column("BRICKNAME").strings()[i], t.column("OBJID").as<long>()[i]}] = {t.column("RA").as<double>()[i],
                                                                                     t.column("DEC").as<double>()[i]};
    std::set<std::string> categories;
    for (const auto& c : read_csv(one / "truth" / "confusers.csv")) {
        categories.insert(c.at("category"));
        const auto it = pos.find({c.at("brickname"), std::stol(c.at("objid"))});
        ASSERT_NE(it, pos.end()) << c.at("category");
        EXPECT_NEAR(it->second.first, std::stod(c.at("ra")), 1e-7);
        EXPECT_NEAR(it->second.second, std::stod(c.at("dec")), 1e-7);
        if (c.at("category") == "merger") {
            const auto comp = pos.find({c.at("brickname"), std::stol(c.at("companion_objid"))});
            ASSERT_NE(comp, pos.end());
            const double d = std::hypot((comp->second.first - it->second.first) * std::cos(it->second.second * M_PI / 180),
                                        comp->second.second - it->second.second) * 3600;
            EXPECT_NEAR(d, std::stod(c.at("companion_sep_arcsec")), 1e-3);
        }
    }
    EXPECT_EQ(categories, (std::set<std::string>{"bright_star", "edge_on", "merger", "ring", "spiral"}));
}

// The cutout stage's edge cases: lens hosts and LRGs within 50 px of the 600-px coadds' edges.
TEST_F(MockSky, SomeHostsAndLrgsLieNearBrickEdges) {
    int hosts = 0, lrgs = 0;
    for (const auto& o : read_csv(one / "truth" / "objects.csv")) {
        const double x = std::stod(o.at("x")), y = std::stod(o.at("y"));
        if (std::min({x, y, 599 - x, 599 - y}) >= 50) continue;
        hosts += o.at("population") == "lens_host";
        lrgs += o.at("population") == "lrg";
    }
    EXPECT_GE(hosts, 2);  // the first host of each brick
    EXPECT_GE(lrgs, 4);   // the first two LRGs of each brick
}

// mock_sky.h5 /objects: one row per sweep row with every truth column, equal to objects.csv.
TEST_F(MockSky, ObjectsGroupHoldsEveryTruthColumn) {
    dhs::hdf5::ResultReader r((one / ".dhs-run" / "mock_sky.h5").string());
    const auto cols = r.datasets("/objects");
    for (const char* want : {"brickname", "objid", "population", "confuser_category", "ra", "dec", "x", "y", "flux_r",
                             "true_flux_r", "flux_w1", "shape_r", "sersic", "maskbits", "psfsize_r", "psfdepth_r", "is_lens",
                             "theta_e", "src_clumpy", "magnification", "arc_absorbed_r", "ring_radius", "spiral_arms",
                             "companion_objid", "tail_flux_frac", "spike_length", "large_galaxy"})
        EXPECT_NE(std::find(cols.begin(), cols.end(), want), cols.end()) << want;
    const auto sweep = all_sweeps(one, {"OBJID"});
    EXPECT_EQ(r.table_rows("/objects"), sweep.num_rows());
    const auto csv = read_csv(one / "truth" / "objects.csv");
    ASSERT_EQ(csv.size(), sweep.num_rows());
    const auto theta = r.read_column("/objects/theta_e").as<double>();
    const auto lens = r.read_column("/objects/is_lens").as<int>();
    int lenses = 0;
    for (std::size_t i = 0; i < csv.size(); ++i) {
        lenses += lens[i];
        EXPECT_EQ(lens[i] != 0, csv[i].at("is_lens") == "1");
        if (lens[i]) EXPECT_NEAR(theta[i], std::stod(csv[i].at("theta_e")), 1e-8);
        else EXPECT_TRUE(std::isnan(theta[i]));
    }
    EXPECT_EQ(lenses, 4);
}

}  // namespace
