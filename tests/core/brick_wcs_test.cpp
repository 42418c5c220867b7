// Tests of dhs::fits::BrickWcs: round trips on the real DECam TPV images, agreement with an
// independent TPV + gnomonic evaluation and (when present) astropy, the real DR10 TAN brick
// header (centre, corners, 0.262"/px), copies, invalid points and error reports.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/fits/brick_image.hpp"
#include "core/fits/brick_wcs.hpp"

namespace fs = std::filesystem;
using dhs::fits::BrickImage;
using dhs::fits::BrickWcs;
using dhs::fits::PixelXY;
using dhs::fits::SkyRaDec;

namespace {

constexpr double kDeg = 3.14159265358979323846 / 180.0;

std::string card(const std::string& text) {
    std::string c = text.substr(0, 80);
    c.resize(80, ' ');
    return c;
}

/// Every real DECam `_ooi_` image under legacypipe/*/images, testcase9's first.
std::vector<std::string> decam_images() {
    std::vector<std::string> out;
    const fs::path root = fs::path(DHS_SHARED_DIR) / "data/real/legacypipe";
    for (const auto& e : fs::recursive_directory_iterator(root)) {
        const std::string p = e.path().string();
        if (e.is_regular_file() && p.find("/images/") != std::string::npos && p.find("_ooi_") != std::string::npos)
            out.push_back(p);
    }
    std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
        const bool a9 = a.find("testcase9") != std::string::npos, b9 = b.find("testcase9") != std::string::npos;
        return a9 != b9 ? a9 : a < b;
    });
    return out;
}

/// The real DR10 coadd header (reference file) as the image header cfitsio presents for the
/// decompressed HDU: SIMPLE/BITPIX/NAXISn first, table and compression cards dropped.
std::string dr10_header_cards() {
    std::ifstream in(std::string(DHS_SHARED_DIR) + "/data/real/reference/dr10_coadd_0489m442_image-r_header.txt");
    std::string out = card("SIMPLE  =                    T") + card("BITPIX  =                  -32") +
                      card("NAXIS   =                    2") + card("NAXIS1  =                 3600") +
                      card("NAXIS2  =                 3600");
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        const std::string key = line.substr(0, 8);
        const bool structural = key[0] == 'Z' || key.starts_with("XTENSION") || key.starts_with("BITPIX") ||
                                key.starts_with("NAXIS") || key.starts_with("PCOUNT") || key.starts_with("GCOUNT") ||
                                key.starts_with("TFIELDS") || key.starts_with("TTYPE") || key.starts_with("TFORM");
        if (!structural) out += card(line);
    }
    return out + card("END");
}

std::string tan_header(double crval1, double crval2, double crpix, double cd) {
    return card("SIMPLE  =                    T") + card("NAXIS   =                    2") +
           card("CTYPE1  = 'RA---TAN'") + card("CTYPE2  = 'DEC--TAN'") +
           card(fmt::format("CRVAL1  = {:20.12f}", crval1)) + card(fmt::format("CRVAL2  = {:20.12f}", crval2)) +
           card(fmt::format("CRPIX1  = {:20.6f}", crpix)) + card(fmt::format("CRPIX2  = {:20.6f}", crpix)) +
           card(fmt::format("CD1_1   = {:20.12E}", -cd)) + card(fmt::format("CD2_2   = {:20.12E}", cd)) +
           card("CD1_2   =                   0.") + card("CD2_1   =                   0.") + card("END");
}

/// Independent TPV: CD * (p - CRPIX) -> the TPV polynomials (PV terms 0..10) -> gnomonic
/// deprojection about CRVAL. Zero-based pixel in, degrees out.
SkyRaDec tpv_reference(const BrickImage& img, double x, double y) {
    auto kd = [&](const std::string& k) { return img.keyword_double(k).value(); };
    const double dx = x + 1 - kd("CRPIX1"), dy = y + 1 - kd("CRPIX2");
    const double u = kd("CD1_1") * dx + kd("CD1_2") * dy, v = kd("CD2_1") * dx + kd("CD2_2") * dy;
    const double r = std::hypot(u, v);
    auto poly = [&](int axis, double a, double b) {
        const double t[11] = {1, a, b, r, a * a, a * b, b * b, a * a * a, a * a * b, a * b * b, b * b * b};
        double s = 0;
        for (int m = 0; m <= 10; ++m)
            s += img.keyword_double(fmt::format("PV{}_{}", axis, m)).value_or(m == 1 ? 1.0 : 0.0) * t[m];
        return s;
    };
    const double xi = poly(1, u, v) * kDeg, eta = poly(2, v, u) * kDeg;
    const double a0 = kd("CRVAL1") * kDeg, d0 = kd("CRVAL2") * kDeg;
    const double den = std::cos(d0) - eta * std::sin(d0);
    double ra = (a0 + std::atan2(xi, den)) / kDeg;
    ra = std::fmod(ra + 360.0, 360.0);
    const double dec = std::atan2(std::sin(d0) + eta * std::cos(d0), std::hypot(xi, den)) / kDeg;
    return {ra, dec};
}

double sky_sep_deg(SkyRaDec a, SkyRaDec b) {
    double dra = std::fabs(a.ra - b.ra);
    dra = std::min(dra, 360.0 - dra);
    return std::hypot(dra * std::cos(a.dec * kDeg), a.dec - b.dec);
}

/// A grid over the image including its four corner pixels and its outer edges.
std::vector<PixelXY> pixel_grid(long w, long h) {
    std::vector<PixelXY> g;
    for (int i = 0; i <= 10; ++i)
        for (int j = 0; j <= 10; ++j) g.push_back({(w - 1) * i / 10.0, (h - 1) * j / 10.0});
    for (double x : {-0.5, w - 0.5})
        for (double y : {-0.5, h - 0.5}) g.push_back({x, y});
    return g;
}

bool astropy_usable() {
    if (!fs::exists("/usr/bin/python3")) return false;
    return std::system("/usr/bin/python3 -c 'from astropy.wcs import WCS' >/dev/null 2>&1") == 0;
}

/// astropy's all_pix2world (origin 0 = zero-based) for `pix` of HDU `hdu` (1-based) of `path`.
std::vector<SkyRaDec> astropy_pix2world(const std::string& path, int hdu, const std::vector<PixelXY>& pix) {
    std::string cmd =
        "/usr/bin/python3 -c \"import sys, warnings; warnings.simplefilter('ignore'); "
        "from astropy.io import fits; from astropy.wcs import WCS; "
        "w = WCS(fits.getheader(sys.argv[1], int(sys.argv[2]))); v = [float(a) for a in sys.argv[3:]]; "
        "[print('%.15f %.15f' % tuple(w.all_pix2world([[v[i], v[i + 1]]], 0)[0])) for i in range(0, len(v), 2)]\" ";
    cmd += "'" + path + "' " + std::to_string(hdu - 1);
    for (const auto& p : pix) cmd += fmt::format(" {:.6f} {:.6f}", p.x, p.y);
    cmd += " 2>/dev/null";
    std::vector<SkyRaDec> out;
    FILE* f = popen(cmd.c_str(), "r");
    if (f == nullptr) return out;
    double ra = 0, dec = 0;
    while (std::fscanf(f, "%lf %lf", &ra, &dec) == 2) out.push_back({ra, dec});
    pclose(f);
    return out;
}

}  // namespace

TEST(BrickWcs, DecamTpvRoundTripAndIndependentTpv) {
    const auto files = decam_images();
    ASSERT_GE(files.size(), 3u);
    int testcase9 = 0;
    for (const auto& path : files) {
        SCOPED_TRACE(path);
        testcase9 += path.find("testcase9") != std::string::npos;
        const auto img = BrickImage::open(path);
        const BrickWcs& w = img.wcs();
        EXPECT_TRUE(w.has_distortion()) << "TPV must become TAN + a distortion";
        EXPECT_EQ(w.ctype1().substr(0, 5), "RA---");
        for (int axis = 1; axis <= 2; ++axis)
            for (int m = 11; m <= 39; ++m)
                ASSERT_FALSE(img.keyword(fmt::format("PV{}_{}", axis, m))) << "reference TPV covers terms 0..10";

        const auto grid = pixel_grid(img.width(), img.height());
        std::vector<double> xs, ys;
        for (const auto& p : grid) {
            xs.push_back(p.x);
            ys.push_back(p.y);
        }
        std::vector<double> ra(xs.size()), dec(xs.size()), x2(xs.size()), y2(xs.size());
        ASSERT_EQ(w.pixel_to_sky(xs, ys, ra, dec), 0u);
        ASSERT_EQ(w.sky_to_pixel(ra, dec, x2, y2), 0u);
        double worst_px = 0, worst_ref = 0;
        for (std::size_t i = 0; i < xs.size(); ++i) {
            worst_px = std::max(worst_px, std::hypot(x2[i] - xs[i], y2[i] - ys[i]));
            worst_ref = std::max(worst_ref, sky_sep_deg({ra[i], dec[i]}, tpv_reference(img, xs[i], ys[i])));
            const SkyRaDec one = w.pixel_to_sky(xs[i], ys[i]);  // single == batch, bit for bit
            EXPECT_EQ(one.ra, ra[i]);
            EXPECT_EQ(one.dec, dec[i]);
        }
        std::cout << fmt::format("[ tpv ] {}: round trip {:.1e} px, vs independent TPV {:.1e} deg\n",
                                 fs::path(path).filename().string(), worst_px, worst_ref);
        EXPECT_LT(worst_px, 1e-3);
        EXPECT_LT(worst_ref, 1e-9) << "wcslib TPV vs the independent polynomial, degrees";
        // At CRPIX the TPV offsets reduce to (PV1_0, PV2_0): CRVAL shifted by them.
        const PixelXY r = w.reference_pixel();
        EXPECT_DOUBLE_EQ(r.x, w.crpix()[0] - 1.0);
        EXPECT_LT(sky_sep_deg(w.pixel_to_sky(r.x, r.y), tpv_reference(img, r.x, r.y)), 1e-10);
        EXPECT_NEAR(w.pixel_scale_arcsec(), 0.263, 0.003);  // DECam: ~0.2637"/px with distortion
    }
    EXPECT_EQ(testcase9, 3);
}

TEST(BrickWcs, DecamAgreesWithAstropy) {
    if (!astropy_usable()) GTEST_SKIP() << "/usr/bin/python3 with astropy.wcs not available";
    for (const auto& path : decam_images()) {
        if (path.find("testcase9") == std::string::npos) continue;
        SCOPED_TRACE(path);
        const auto img = BrickImage::open(path);
        const std::vector<PixelXY> pix = {{0, 0}, {img.width() - 1.0, 0}, {0, img.height() - 1.0},
                                          {img.width() - 1.0, img.height() - 1.0}, {50.25, 37.75}};
        const auto ref = astropy_pix2world(path, img.hdu(), pix);
        ASSERT_EQ(ref.size(), pix.size());
        for (std::size_t i = 0; i < pix.size(); ++i) {
            const SkyRaDec s = img.wcs().pixel_to_sky(pix[i].x, pix[i].y);
            EXPECT_NEAR(s.ra, ref[i].ra, 1e-8);
            EXPECT_NEAR(s.dec, ref[i].dec, 1e-8);
        }
    }
}

TEST(BrickWcs, Dr10TanBrickHeader) {
    const std::string cards = dr10_header_cards();
    const auto w = BrickWcs::from_header(cards, "dr10_coadd_0489m442_image-r_header.txt");
    EXPECT_FALSE(w.has_distortion());
    EXPECT_EQ(w.crpix()[0], 1800.5);
    EXPECT_EQ(w.crval()[0], 48.9168278529981);
    EXPECT_EQ(w.crval()[1], -44.25);
    const SkyRaDec c = w.pixel_to_sky(1799.5, 1799.5);  // zero-based centre == FITS 1800.5
    EXPECT_NEAR(c.ra, 48.9168278529981, 1e-12);
    EXPECT_NEAR(c.dec, -44.25, 1e-12);
    const PixelXY p = w.sky_to_pixel(48.9168278529981, -44.25);
    EXPECT_NEAR(p.x, 1799.5, 1e-9);
    EXPECT_NEAR(p.y, 1799.5, 1e-9);
    EXPECT_NEAR(w.pixel_scale_arcsec(), 0.262, 1e-9);
    // Independent values: the header's CORNnRA/DEC are the centres of the corner pixels.
    const PixelXY corner[4] = {{0, 0}, {3599, 0}, {3599, 3599}, {0, 3599}};
    const double cra[4] = {49.1000682155857, 48.7335874904105, 48.7344017054984, 49.0992540004978};
    const double cdec[4] = {-44.3808169095601, -44.3808169095601, -44.1188914770497, -44.1188914770497};
    for (int i = 0; i < 4; ++i) {
        const PixelXY q = w.sky_to_pixel(cra[i], cdec[i]);
        EXPECT_NEAR(q.x, corner[i].x, 1e-6) << "corner " << i + 1;
        EXPECT_NEAR(q.y, corner[i].y, 1e-6) << "corner " << i + 1;
    }
}

TEST(BrickWcs, CopiesAreIndependentAndEqual) {
    const auto files = decam_images();
    ASSERT_FALSE(files.empty());
    std::unique_ptr<BrickWcs> copy;
    std::vector<SkyRaDec> expect;
    const auto grid = pixel_grid(101, 101);
    {
        const auto img = BrickImage::open(files.front());
        for (const auto& p : grid) expect.push_back(img.wcs().pixel_to_sky(p.x, p.y));
        copy = std::make_unique<BrickWcs>(img.wcs());  // wcssub deep copy, distortion included
    }  // the original dies here
    BrickWcs assigned = BrickWcs::from_header(tan_header(10, 10, 50, 1e-4), "tan");
    assigned = *copy;
    BrickWcs moved = std::move(assigned);
    for (std::size_t i = 0; i < grid.size(); ++i) {
        EXPECT_EQ(copy->pixel_to_sky(grid[i].x, grid[i].y).ra, expect[i].ra);
        EXPECT_EQ(moved.pixel_to_sky(grid[i].x, grid[i].y).dec, expect[i].dec);
    }
    EXPECT_TRUE(moved.has_distortion());
}

TEST(BrickWcs, RaWrapsAndInvalidPointsAreNaN) {
    const auto w = BrickWcs::from_header(tan_header(0.002, 5.0, 100.5, 7.2777777777778e-05), "tan@ra0");
    const SkyRaDec west = w.pixel_to_sky(199, 99.5);  // west of RA 0 -> just below 360
    EXPECT_GT(west.ra, 359.99);
    EXPECT_LT(west.ra, 360.0);
    const PixelXY back = w.sky_to_pixel(west.ra, west.dec);
    EXPECT_NEAR(back.x, 199, 1e-9);
    const PixelXY back2 = w.sky_to_pixel(west.ra - 360.0, west.dec);  // any RA branch is accepted
    EXPECT_NEAR(back2.x, 199, 1e-9);

    std::vector<double> ra = {0.002, 180.002}, dec = {5.0, -5.0}, x(2), y(2);  // the second: antipode
    EXPECT_EQ(w.sky_to_pixel(ra, dec, x, y), 1u);
    EXPECT_NEAR(x[0], 99.5, 1e-9);
    EXPECT_TRUE(std::isnan(x[1]) && std::isnan(y[1]));
    EXPECT_TRUE(std::isnan(w.sky_to_pixel(180.002, -5.0).x));
    std::vector<double> short_span(1);
    EXPECT_THROW(w.sky_to_pixel(ra, dec, short_span, y), std::invalid_argument);
}

TEST(BrickWcs, ErrorsNameTheOrigin) {
    const std::string no_wcs = card("SIMPLE  =                    T") + card("NAXIS   =                    2") +
                               card("NAXIS1  =                  100") + card("NAXIS2  =                  100") +
                               card("END");
    try {
        (void)BrickWcs::from_header(no_wcs, "nowcs.fits", 3);
        FAIL() << "no exception";
    } catch (const dhs::FitsError& e) {
        EXPECT_EQ(e.file(), "nowcs.fits");
        EXPECT_EQ(e.hdu(), 3);
        std::cout << "[ no wcs ] " << e.what() << "\n";
        EXPECT_NE(std::string(e.what()).find("nowcs.fits"), std::string::npos);
    }
    std::string bad = tan_header(10, 10, 50, 1e-4);
    bad.replace(bad.find("RA---TAN"), 8, "RA---QQQ");
    bad.replace(bad.find("DEC--TAN"), 8, "DEC--QQQ");
    try {
        (void)BrickWcs::from_header(bad, "badproj.fits");
        FAIL() << "no exception";
    } catch (const dhs::FitsError& e) {
        EXPECT_EQ(e.file(), "badproj.fits");
        EXPECT_FALSE(e.library_message().empty()) << e.what();
        std::cout << "[ bad projection ] " << e.what() << "\n";
    }
    EXPECT_THROW((void)BrickWcs::from_header("SIMPLE", 3, "short"), std::invalid_argument);
}
