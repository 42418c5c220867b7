// Tests of the DR10 coadd writers (core/fits/coadd_writer): a full-size 3600x3600 brick
// 0489m442 written with DR10's settings reads back through BrickImage within the
// quantisation step with NaNs kept, its header cards and WCS equal the real DR10 header's,
// it is RICE_ONE with 100x100 tiles and passes fitsverify; fpack-like q = 4 within each
// tile's ZSCALE / 2; plain, gzip and integer (RICE, HCOMPRESS) variants exact; deterministic
// dithering; paths, tile sizes and errors.
#include "core/fits/coadd_writer.hpp"

#include <fitsio.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <map>
#include <random>
#include <sstream>

#include "core/error.hpp"
#include "core/fits/brick_image.hpp"
#include "kernels/geometry/brick_geometry.hpp"
#include "tests/support/fits_support.hpp"
#include "tests/support/test_support.hpp"

namespace dhs::fits {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
const std::string kRefHeader = dhs::test::reference_path("dr10_coadd_0489m442_image-r_header.txt");

using dhs::test::TempDir;

// The real DR10 header's cards: keyword -> value text (strings unquoted), in file order.
std::vector<std::pair<std::string, std::string>> reference_cards() {
    std::ifstream in(kRefHeader);
    if (!in) throw std::runtime_error("cannot read " + kRefHeader);
    std::vector<std::pair<std::string, std::string>> out;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#' || line.size() < 10 || line.substr(8, 2) != "= ") continue;
        std::string key = line.substr(0, 8), val = line.substr(10);
        key.erase(key.find_last_not_of(' ') + 1);
        const auto q = val.find('\'');
        if (q != std::string::npos && val.find_first_not_of(' ') == q) {
            val = val.substr(q + 1, val.find('\'', q + 1) - q - 1);
            val.erase(val.find_last_not_of(' ') + 1);
        } else {
            val = val.substr(0, val.find('/'));
            val.erase(0, val.find_first_not_of(' '));
            val.erase(val.find_last_not_of(' ') + 1);
        }
        out.emplace_back(key, val);
    }
    return out;
}

// Keyword names of a header text (80-character cards), in order.
std::vector<std::string> card_names(const std::string& header) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i + 80 <= header.size(); i += 80) {
        std::string k = header.substr(i, 8);
        k.erase(k.find_last_not_of(' ') + 1);
        out.push_back(k);
    }
    return out;
}

// A raw keyword of HDU `hdu` (compression keywords included), quotes and blanks removed.
std::string raw_key(const std::string& path, int hdu, const std::string& key) {
    return dhs::test::raw_keyword_unquoted(path, hdu, key);
}

// ZSCALE of every tile of the compressed HDU 2 (row = tile in row-major tile order).
std::vector<double> tile_zscale(const std::string& path) {
    fitsfile* f = nullptr;
    int st = 0, type = 0, col = 0, anynul = 0;
    long rows = 0;
    fits_open_file(&f, path.c_str(), READONLY, &st);
    fits_movabs_hdu(f, 2, &type, &st);
    fits_read_key(f, TLONG, "NAXIS2", &rows, nullptr, &st);
    fits_get_colnum(f, CASEINSEN, const_cast<char*>("ZSCALE"), &col, &st);
    std::vector<double> z(static_cast<std::size_t>(rows));
    fits_read_col(f, TDOUBLE, col, 1, 1, rows, nullptr, z.data(), &anynul, &st);
    int s2 = 0;
    fits_close_file(f, &s2);
    if (st != 0) throw std::runtime_error("cannot read ZSCALE of " + path + ": status " + std::to_string(st));
    return z;
}

// Sky-like pixels: smooth galaxies plus noise, exact zeros, isolated NaNs, one NaN block
// (and one wholly NaN 100x100 tile).
std::vector<float> sky_pixels(long w, long h, double noise, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> n01(0.0, 1.0);
    std::vector<float> v(static_cast<std::size_t>(w * h));
    for (long y = 0; y < h; ++y)
        for (long x = 0; x < w; ++x) {
            const double r2 = std::pow(x - 0.37 * w, 2) + std::pow(y - 0.61 * h, 2);
            v[y * w + x] = static_cast<float>(20.0 * std::exp(-r2 / 300.0) + noise * n01(rng));
        }
    for (long i = 0; i < w * h; i += 9973) v[i] = kNaN;
    for (long i = 17; i < w * h; i += 7919) v[i] = 0.f;
    for (long y = 200; y < 300 && y < h; ++y)
        for (long x = 100; x < 200 && x < w; ++x) v[y * w + x] = kNaN;  // exactly tile (1, 2)
    for (long y = 420; y < 433 && y < h; ++y)
        for (long x = 15; x < 260 && x < w; ++x) v[y * w + x] = kNaN;
    return v;
}

struct Diff {
    long nan_lost = 0, nan_made = 0, zero_changed = 0, over = 0;
    double worst = 0;
};

// Compares read-back pixels with the written ones; `bound(i)` is the allowed |error|.
template <class Bound>
Diff compare(const std::vector<float>& in, const std::vector<float>& out, Bound bound) {
    Diff d;
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (std::isnan(in[i]) || std::isnan(out[i])) {
            d.nan_lost += std::isnan(in[i]) && !std::isnan(out[i]);
            d.nan_made += !std::isnan(in[i]) && std::isnan(out[i]);
            continue;
        }
        if (in[i] == 0.f && out[i] != 0.f) ++d.zero_changed;
        const double e = std::fabs(double(out[i]) - double(in[i]));
        d.worst = std::max(d.worst, e);
        d.over += e > bound(i);
    }
    return d;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(CoaddWriter, Dr10BrickHeaderMatchesTheRealHeader) {
    const auto brick = kernels::brick_wall().brick_by_name("0489m442").value();
    const CoaddHeader h = dr10_brick_header(brick, "r", "nanomaggy");
    std::map<std::string, std::string> ref;
    for (const auto& [k, v] : reference_cards()) ref.emplace(k, v);
    EXPECT_EQ(h.brick, "0489m442");
    EXPECT_EQ(h.brickid, 100048);
    EXPECT_NEAR(h.ramin, std::stod(ref["RAMIN"]), 1e-12);
    EXPECT_NEAR(h.ramax, std::stod(ref["RAMAX"]), 1e-12);
    EXPECT_NEAR(h.centra, std::stod(ref["CENTRA"]), 1e-12);
    for (int i = 0; i < 4; ++i) {
        EXPECT_NEAR(h.corner_ra[i], std::stod(ref["CORN" + std::to_string(i + 1) + "RA"]), 1e-11) << i;
        EXPECT_NEAR(h.corner_dec[i], std::stod(ref["CORN" + std::to_string(i + 1) + "DEC"]), 1e-11) << i;
    }
    EXPECT_EQ(h.crpix[0], 1800.5);
    EXPECT_NEAR(h.cd[0], std::stod(ref["CD1_1"]), 1e-18);
    EXPECT_NEAR(h.cd[3], std::stod(ref["CD2_2"]), 1e-18);
}

TEST(CoaddWriter, FullSizeDr10BrickReadsBackThroughBrickImage) {
    TempDir tmp("dhs_cwriter_");
    constexpr long N = 3600;
    const auto brick = kernels::brick_wall().brick_by_name("0489m442").value();
    const CoaddHeader h = dr10_brick_header(brick, "r", "nanomaggy");
    const CoaddCompression c = dr10_coadd_compression("image-r");
    ASSERT_EQ(c.quantize_level, -1e-4f);
    const std::vector<float> px = sky_pixels(N, N, 0.004, 1);
    const std::string path = coadd_path(tmp.path().string(), brick.name, "image-r");
    EXPECT_EQ(path, (tmp.path() / "coadd/048/0489m442/legacysurvey-0489m442-image-r.fits.fz").string());

    const auto t0 = std::chrono::steady_clock::now();
    write_coadd_image(path, px, N, N, h, c);
    const double t_write = seconds_since(t0);
    std::cout << "3600x3600 RICE (qz -1e-4) write: " << t_write << " s, " << fs::file_size(path) / 1e6 << " MB\n";
    EXPECT_FALSE(fs::exists(path + ".tmp"));

    // Layout: empty BITPIX 16 primary, then a RICE_ONE 100x100 SUBTRACTIVE_DITHER_2 image.
    EXPECT_EQ(raw_key(path, 1, "BITPIX"), "16");
    EXPECT_EQ(raw_key(path, 1, "NAXIS"), "0");
    EXPECT_EQ(raw_key(path, 2, "ZQUANTIZ"), "SUBTRACTIVE_DITHER_2");
    EXPECT_EQ(raw_key(path, 2, "ZCMPTYPE"), "RICE_ONE");
    const std::string zd = raw_key(path, 2, "ZDITHER0");
    ASSERT_NE(zd, "<missing>");
    EXPECT_GE(std::stoi(zd), 1);
    EXPECT_LE(std::stoi(zd), 10000);

    const auto img = BrickImage::open(path);
    EXPECT_EQ(img.hdu(), 2);
    EXPECT_EQ(img.width(), N);
    EXPECT_EQ(img.height(), N);
    EXPECT_EQ(img.bitpix(), -32);
    EXPECT_TRUE(img.is_compressed());
    EXPECT_EQ(img.compression_type(), "RICE_ONE");
    ASSERT_TRUE(img.tile_shape().has_value());
    EXPECT_EQ(*img.tile_shape(), (std::array<long, 2>{100, 100}));

    // Header cards equal the real DR10 header's, in its order.
    const auto ref = reference_cards();
    for (const auto& [key, val] : ref) {
        static const std::vector<std::string> numeric = {
            "BRICKID", "RAMIN",   "RAMAX",    "DECMIN",  "DECMAX",   "CENTRA",  "CENTDEC", "CORN1RA",
            "CORN1DEC", "CORN2RA", "CORN2DEC", "CORN3RA", "CORN3DEC", "CORN4RA", "CORN4DEC", "CRVAL1",
            "CRVAL2",  "CRPIX1",  "CRPIX2",   "CD1_1",   "CD1_2",    "CD2_1",   "CD2_2",   "EQUINOX", "MAGZERO"};
        static const std::vector<std::string> text = {"BRICK", "RA", "DEC", "CTYPE1", "CTYPE2", "BUNIT", "IMTYPE",
                                                      "PRODTYPE", "FILTERX"};
        if (std::find(numeric.begin(), numeric.end(), key) != numeric.end()) {
            const auto v = img.keyword_double(key);
            ASSERT_TRUE(v.has_value()) << key;
            EXPECT_NEAR(*v, std::stod(val), key.rfind("CD", 0) == 0 ? 1e-18 : 1e-9) << key;
        } else if (std::find(text.begin(), text.end(), key) != text.end()) {
            EXPECT_EQ(img.keyword(key).value_or("<missing>"), val) << key;
        }
    }
    std::vector<std::string> ref_order, mine;
    const auto names = card_names(img.header_text());
    for (const auto& [key, val] : ref)
        if (std::find(names.begin(), names.end(), key) != names.end() && key.rfind("NAXIS", 0) != 0 &&
            key != "BITPIX" && key != "PCOUNT" && key != "GCOUNT")
            ref_order.push_back(key);
    for (const auto& n : names)
        if (std::find(ref_order.begin(), ref_order.end(), n) != ref_order.end()) mine.push_back(n);
    EXPECT_EQ(mine, ref_order) << "cards in the real header's order";
    EXPECT_EQ(ref_order.size(), 34u) << "every brick, WCS and unit card of the real header";

    // WCS: the centre pixel is the brick centre, pixel (0, 0) is CORN1.
    const auto& wcs = img.wcs();
    const SkyRaDec centre = wcs.pixel_to_sky(1799.5, 1799.5);
    EXPECT_NEAR(centre.ra, brick.ra, 1e-9);
    EXPECT_NEAR(centre.dec, brick.dec, 1e-9);
    const SkyRaDec c1 = wcs.pixel_to_sky(0, 0);
    EXPECT_NEAR(c1.ra, 49.1000682155857, 1e-9);
    EXPECT_NEAR(c1.dec, -44.3808169095601, 1e-9);
    EXPECT_NEAR(wcs.pixel_scale_arcsec(), 0.262, 1e-9);

    // Pixels: within half the absolute step 1e-4 (plus float rounding), NaN kept, zeros exact.
    const auto t1 = std::chrono::steady_clock::now();
    const std::vector<float> back = img.read_full();
    std::cout << "3600x3600 RICE read_full: " << seconds_since(t1) << " s\n";
    const Diff d = compare(px, back, [&](std::size_t i) { return 0.5e-4 + 2e-7 * std::fabs(px[i]); });
    EXPECT_EQ(d.nan_lost, 0) << "NaN pixels must stay NaN";
    EXPECT_EQ(d.nan_made, 0);
    EXPECT_EQ(d.zero_changed, 0) << "SUBTRACTIVE_DITHER_2 keeps zeros";
    EXPECT_EQ(d.over, 0) << "worst error " << d.worst;
    EXPECT_GT(d.worst, 1e-5) << "the data were quantised";
    EXPECT_FITSVERIFY_OK(path);
}

TEST(CoaddWriter, FpackQ4StaysWithinEachTilesStep) {
    TempDir tmp("dhs_cwriter_");
    constexpr long W = 1030, H = 715;  // partial edge tiles: 30 px wide, 15 px tall
    const auto brick = kernels::brick_wall().brick_by_name("0001m002").value();
    const std::vector<float> px = sky_pixels(W, H, 0.01, 2);
    const std::string path = tmp.file("q4.fits.fz");
    CoaddCompression c;  // defaults: RICE, 100x100, q = 4, SUBTRACTIVE_DITHER_2
    write_coadd_image(path, px, W, H, dr10_brick_header(brick, "g", "nanomaggy", W, H), c);
    const auto z = tile_zscale(path);
    ASSERT_EQ(z.size(), 11u * 8u);
    const auto img = BrickImage::open(path);
    const std::vector<float> back = img.read_full();
    const Diff d = compare(px, back, [&](std::size_t i) {
        const std::size_t x = i % W, y = i / W;
        return 0.5 * z[(y / 100) * 11 + x / 100] + 2e-7 * std::fabs(px[i]);
    });
    EXPECT_EQ(d.nan_lost, 0);
    EXPECT_EQ(d.nan_made, 0);
    EXPECT_EQ(d.zero_changed, 0);
    EXPECT_EQ(d.over, 0) << "worst " << d.worst;
    EXPECT_NEAR(z[0], 0.01 / 4, 0.002) << "step = noise / q";
    EXPECT_EQ(img.keyword_double("CRPIX1"), 515.5);
    EXPECT_EQ(img.keyword_double("CRPIX2"), 358.0);
    EXPECT_FITSVERIFY_OK(path);
}

TEST(CoaddWriter, PlainGzipAndIntegerVariantsAreExact) {
    TempDir tmp("dhs_cwriter_");
    constexpr long W = 310, H = 207;
    const auto brick = kernels::brick_wall().brick_by_name("1800p900").value();
    CoaddHeader h = dr10_brick_header(brick, "z", "nanomaggy", W, H);
    const std::vector<float> px = sky_pixels(W, H, 0.01, 3);

    CoaddCompression plain;
    plain.codec = CoaddCodec::none;
    const std::string p_plain = tmp.file("plain.fits");
    write_coadd_image(p_plain, px, W, H, h, plain);
    {
        const auto img = BrickImage::open(p_plain);
        EXPECT_EQ(img.hdu(), 2);
        EXPECT_FALSE(img.is_compressed());
        EXPECT_FALSE(img.tile_shape().has_value());
        const Diff d = compare(px, img.read_full(), [](std::size_t) { return 0.0; });
        EXPECT_EQ(d.nan_lost + d.nan_made + d.over, 0);
        EXPECT_EQ(img.keyword("BRICK"), "1800p900");
    }
    EXPECT_FITSVERIFY_OK(p_plain);

    const std::string p_gz = tmp.file("psfsize.fits.fz");  // DR10 psfsize: GZIP lossless
    write_coadd_image(p_gz, px, W, H, h, dr10_coadd_compression("psfsize-z"));
    {
        const auto img = BrickImage::open(p_gz);
        EXPECT_TRUE(img.is_compressed());
        EXPECT_EQ(img.compression_type(), "GZIP_1");
        const Diff d = compare(px, img.read_full(), [](std::size_t) { return 0.0; });
        EXPECT_EQ(d.nan_lost + d.nan_made + d.over, 0);
    }
    EXPECT_FITSVERIFY_OK(p_gz);

    CoaddCompression rice_lossless;  // RICE cannot store floats losslessly: cfitsio's error names the file
    rice_lossless.quantize_level = 0.0f;
    const std::string p_rl = tmp.file("rice-lossless.fits.fz");
    try {
        write_coadd_image(p_rl, px, W, H, h, rice_lossless);
        ADD_FAILURE() << "cfitsio compresses lossless floats with GZIP only";
    } catch (const FitsError& e) {
        EXPECT_THAT(e.what(), HasSubstr("rice-lossless.fits.fz"));
        EXPECT_THAT(e.library_message(), HasSubstr("GZIP"));
    }
    EXPECT_FALSE(fs::exists(p_rl));
    EXPECT_FALSE(fs::exists(p_rl + ".tmp"));

    std::vector<std::int32_t> mask(static_cast<std::size_t>(W * H));
    std::vector<std::int16_t> small(mask.size());
    for (std::size_t i = 0; i < mask.size(); ++i) {
        mask[i] = (i % 13 == 0) ? (1 << (i % 17)) : (i % 1001 == 5 ? 0x7fffffff : 0);
        small[i] = static_cast<std::int16_t>((i * 31) % 65536 - 32768);
    }
    h.band.clear();
    h.bunit.clear();
    h.magzero.reset();
    h.imtype = "maskbits";
    for (const auto& [name, comp] : std::vector<std::pair<std::string, CoaddCompression>>{
             {"maskbits-rice.fits.fz", CoaddCompression{}},
             {"maskbits-dr10.fits.fz", dr10_coadd_compression("maskbits")},
             {"maskbits-plain.fits", plain}}) {
        const std::string p = tmp.file(name);
        write_coadd_image(p, mask, W, H, h, comp);
        const auto img = BrickImage::open(p);
        EXPECT_EQ(img.bitpix(), 32) << name;
        EXPECT_EQ(img.read_full_int(), mask) << name;
        EXPECT_FALSE(img.keyword("BUNIT").has_value());
        EXPECT_EQ(img.keyword("IMTYPE"), "maskbits");
        EXPECT_FITSVERIFY_OK(p);
    }
    // cfitsio writes 'RICE_ONE' only for SUBTRACTIVE_DITHER_2 floats (an alias that old funpack refuses).
    EXPECT_EQ(BrickImage::open(tmp.file("maskbits-rice.fits.fz")).compression_type(), "RICE_1");
    EXPECT_EQ(BrickImage::open(tmp.file("maskbits-dr10.fits.fz")).compression_type(), "HCOMPRESS_1");
    const std::string p16 = tmp.file("int16.fits.fz");
    write_coadd_image(p16, small, W, H, h);
    const auto img16 = BrickImage::open(p16);
    EXPECT_EQ(img16.bitpix(), 16);
    const auto back16 = img16.read_full_int();
    EXPECT_TRUE(std::equal(back16.begin(), back16.end(), small.begin()));
    EXPECT_FITSVERIFY_OK(p16);
}

TEST(CoaddWriter, DitherIsDeterministic) {
    TempDir tmp("dhs_cwriter_");
    constexpr long W = 250, H = 240;
    const std::vector<float> px = sky_pixels(W, H, 0.01, 4);
    const auto& wall = kernels::brick_wall();
    const CoaddHeader a = dr10_brick_header(wall.brick_by_name("0489m442").value(), "r", "nanomaggy", W, H);
    const CoaddHeader b = dr10_brick_header(wall.brick_by_name("0001m002").value(), "r", "nanomaggy", W, H);
    auto slurp = [](const std::string& p) {
        std::ifstream in(p, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    };
    write_coadd_image(tmp.file("a1.fits.fz"), px, W, H, a);
    write_coadd_image(tmp.file("a2.fits.fz"), px, W, H, a);
    write_coadd_image(tmp.file("b.fits.fz"), px, W, H, b);
    EXPECT_EQ(slurp(tmp.file("a1.fits.fz")), slurp(tmp.file("a2.fits.fz"))) << "same input, same bytes";
    EXPECT_NE(raw_key(tmp.file("a1.fits.fz"), 2, "ZDITHER0"), raw_key(tmp.file("b.fits.fz"), 2, "ZDITHER0"));
    CoaddCompression c;
    c.dither_seed = 2329;
    write_coadd_image(tmp.file("seed.fits.fz"), px, W, H, a, c);
    EXPECT_EQ(raw_key(tmp.file("seed.fits.fz"), 2, "ZDITHER0"), "2329");
    c.dither_seed = 10001;
    EXPECT_THROW(write_coadd_image(tmp.file("badseed.fits.fz"), px, W, H, a, c), FitsError);
    EXPECT_FALSE(fs::exists(tmp.file("badseed.fits.fz")));
    EXPECT_FALSE(fs::exists(tmp.file("badseed.fits.fz.tmp")));
}

TEST(CoaddWriter, TileSizesPathsAndErrors) {
    TempDir tmp("dhs_cwriter_");
    const auto brick = kernels::brick_wall().brick_by_name("0001m002").value();
    const CoaddHeader h = dr10_brick_header(brick, "g", "nanomaggy", 1002, 203);
    std::vector<float> px(1002 * 203, 1.5f);
    const std::string p = tmp.file("odd.fits.fz");
    write_coadd_image(p, px, 1002, 203, h);  // 1002 % 100 = 2, 203 % 100 = 3 and 203 % 101 = 1: tiles grow
    EXPECT_EQ(*BrickImage::open(p).tile_shape(), (std::array<long, 2>{101, 102}));

    EXPECT_EQ(coadd_path("/r", "1800p900", "maskbits"), "/r/coadd/180/1800p900/legacysurvey-1800p900-maskbits.fits.fz");
    EXPECT_EQ(dr10_coadd_compression("invvar-g").quantize_level, 16.0f);
    EXPECT_EQ(dr10_coadd_compression("maskbits").codec, CoaddCodec::hcompress);
    EXPECT_EQ(dr10_coadd_compression("galdepth-z").codec, CoaddCodec::gzip);
    EXPECT_THROW(dr10_coadd_compression("blobmodel-r"), Error);

    EXPECT_THROW(write_coadd_image(tmp.file("short.fits.fz"), std::span<const float>(px).first(10), 1002, 203, h),
                 std::invalid_argument);
    px[5000] = std::numeric_limits<float>::infinity();
    const std::string inf = tmp.file("inf.fits.fz");
    try {
        write_coadd_image(inf, px, 1002, 203, h);
        FAIL() << "an infinite pixel cannot be quantised";
    } catch (const FitsError& e) {
        EXPECT_THAT(e.what(), HasSubstr("pixel (992, 4)"));
        EXPECT_THAT(e.what(), HasSubstr("inf.fits.fz"));
    }
    EXPECT_FALSE(fs::exists(inf));
    EXPECT_FALSE(fs::exists(inf + ".tmp"));
}

}  // namespace
}  // namespace dhs::fits
