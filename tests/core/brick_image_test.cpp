// Tests of dhs::fits::BrickImage: images written here with cfitsio (plain, GZIP_2 lossless,
// RICE_1 exact and dithered, int32 / int16 masks; 1030x715 px with 100x100 tiles and partial
// edge tiles) read back box by box against the written pixels; header keywords; typed
// errors (missing, not FITS, no image, truncated, corrupt tile); real DECam cutouts; and a
// DR10-like 3600x3600 RICE brick whose box reads must not decompress the whole image.
#include <gtest/gtest.h>

#include <fitsio.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/fits/brick_image.hpp"

namespace fs = std::filesystem;
using dhs::FitsError;
using dhs::fits::BrickImage;

namespace {

constexpr long W = 1030, H = 715;  // 100x100 tiles: last column 30 px wide, last row 15 px tall
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

void ck(int status, const std::string& what) {
    if (status == 0) return;
    char m[FLEN_ERRMSG];
    std::string s;
    while (fits_read_errmsg(m) != 0) s += std::string(m) + "; ";
    throw std::runtime_error(fmt::format("{}: cfitsio {}: {}", what, status, s));
}

float fval(long x, long y) {
    if ((x % 97 == 3 && y % 89 == 5) || (x >= 420 && x < 440 && y >= 310 && y < 330)) return kNaN;
    if ((x + y) % 53 == 0) return 0.f;
    const double v = 50 * std::sin(0.013 * x + 0.007 * y) + 0.1 * ((x * 7 + y * 13) % 17) - 3.0;
    return static_cast<float>(std::round(v * 8) / 8);  // on the 1/8 grid: exact under a 1/8 step
}

std::int32_t mval(long x, long y) {
    if ((x * y) % 1001 == 7) return -123456789;
    std::int32_t m = ((x / 7 + y / 5) % 3 == 0) ? (1 << ((x + y) % 17)) : 0;
    return x == y ? m | (1 << 30) : m;
}

std::int16_t sval(long x, long y) { return static_cast<std::int16_t>((x * 31 + y * 17) % 65536 - 32768); }

template <class T, class F>
std::vector<T> make(long w, long h, F f) {
    std::vector<T> v(static_cast<std::size_t>(w * h));
    for (long y = 0; y < h; ++y)
        for (long x = 0; x < w; ++x) v[y * w + x] = f(x, y);
    return v;
}

std::string card(std::string s) {
    s.resize(80, ' ');
    return s;
}

std::vector<std::string> wcs_and_test_cards() {
    return {card("CTYPE1  = 'RA---TAN'"), card("CTYPE2  = 'DEC--TAN'"),
            card("CRVAL1  =     48.9168278529981 / Reference RA"), card("CRVAL2  =               -44.25"),
            card("CRPIX1  =                515.5"), card("CRPIX2  =                358.0"),
            card("CD1_1   = -7.27777777777778E-05"), card("CD1_2   =                   0."),
            card("CD2_1   =                   0."), card("CD2_2   = 7.27777777777778E-05"),
            card("BRICK   = '0489m442'           / LegacySurveys brick RRRr[pm]DDd"),
            card("BRICKID =               100048 / LegacySurveys brick id"),
            card("DEXP    =              1.5D+03 / Fortran exponent"),
            card("QUOTED  = 'O''Brien  '         / embedded quote"), card("FLAG    =                    T"),
            card("EQUINOX =                2000. / WCS epoch"), card("NOTNUM  = 'abc     '"),
            card("UNDEF   =                      / no value"),
            card("HIERARCH TIME_RECORDED = '2013-11-22T03:05:30.358282'"),
            card("COMMENT BRICK   = 'not this one'")};
}

const std::string kLong(100, 'x');

/// Writes a 2-D image into the primary HDU of `path`, then `cards` and a CONTINUE'd LONGSTR.
void write_primary(const std::string& path, int bitpix, int datatype, long w, long h, const void* data,
                   const std::vector<std::string>& cards) {
    fitsfile* f = nullptr;
    int st = 0;
    long nax[2] = {w, h};
    fits_create_file(&f, ("!" + path).c_str(), &st);
    fits_create_img(f, bitpix, 2, nax, &st);
    for (const auto& c : cards) fits_write_record(f, c.c_str(), &st);
    if (!cards.empty()) fits_write_key_longstr(f, "LONGSTR", (kLong + "end").c_str(), "long", &st);
    fits_write_img(f, datatype, 1, w * h, const_cast<void*>(data), &st);
    fits_close_file(f, &st);
    ck(st, "write " + path);
}

/// fpack-like: compresses the primary image of `in` into HDU 2 of `out` with 100x100 tiles.
void compress(const std::string& in, const std::string& out, int type, float q, int method) {
    fitsfile *fi = nullptr, *fo = nullptr;
    int st = 0;
    long tile[2] = {100, 100};
    fits_open_file(&fi, in.c_str(), READONLY, &st);
    fits_create_file(&fo, ("!" + out).c_str(), &st);
    fits_set_compression_type(fo, type, &st);
    fits_set_tile_dim(fo, 2, tile, &st);
    fits_set_quantize_level(fo, q, &st);
    if (method != 0) fits_set_quantize_method(fo, method, &st);
    fits_img_compress(fi, fo, &st);
    fits_close_file(fo, &st);
    fits_close_file(fi, &st);
    ck(st, "compress " + out);
}

bool same(float a, float b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

struct Box {
    long x0, y0, nx, ny;
};

/// Boxes inside one tile, across tile edges, over each image edge and corner, wholly
/// outside, larger than the image, empty, plus random ones.
std::vector<Box> test_boxes(long w, long h) {
    std::vector<Box> b = {{10, 10, 50, 50},       {150, 250, 101, 101},  {49, 49, 101, 101},
                          {99, 99, 102, 102},     {-20, 100, 101, 101},  {w - 50, 300, 101, 101},
                          {400, -30, 101, 101},   {400, h - 40, 101, 101}, {-50, -50, 101, 101},
                          {w - 50, -50, 101, 101}, {-50, h - 50, 101, 101}, {w - 50, h - 50, 101, 101},
                          {2000, 2000, 101, 101}, {-200, 10, 101, 101},  {-10, -10, w + 20, h + 20},
                          {0, 0, w, h},           {5, 5, 0, 7},          {w - 1, h - 1, 1, 1}};
    std::mt19937 rng(12345);
    std::uniform_int_distribution<long> px(-120, w + 20), py(-120, h + 20), sz(1, 160);
    for (int i = 0; i < 300; ++i) b.push_back({px(rng), py(rng), sz(rng), sz(rng)});
    return b;
}

template <class T>
T expected_at(const std::vector<T>& img, long w, long h, long x, long y, T fill) {
    return (x < 0 || y < 0 || x >= w || y >= h) ? fill : img[y * w + x];
}

struct Paths {
    fs::path dir;
    std::string plain, gzip, rice_exact, rice_dither, mask_plain, mask_rice, short_plain, table_only, text;
};

}  // namespace

class BrickImageTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        std::random_device rd;
        p_.dir = fs::temp_directory_path() / fmt::format("dhs_brick_image_{}_{:08x}", getpid(), rd());
        fs::create_directories(p_.dir);
        auto at = [](const char* name) { return (p_.dir / name).string(); };
        f_ = make<float>(W, H, fval);
        m_ = make<std::int32_t>(W, H, mval);
        s_ = make<std::int16_t>(W, H, sval);
        p_.plain = at("image.fits");
        write_primary(p_.plain, FLOAT_IMG, TFLOAT, W, H, f_.data(), wcs_and_test_cards());
        p_.gzip = at("image-gzip2.fits.fz");
        compress(p_.plain, p_.gzip, GZIP_2, 0.0f, 0);  // q = 0: no quantisation, lossless
        p_.rice_exact = at("image-rice-exact.fits.fz");
        compress(p_.plain, p_.rice_exact, RICE_1, -0.125f, NO_DITHER);  // step 1/8: exact on the grid
        p_.rice_dither = at("image-rice-dither2.fits.fz");
        compress(p_.plain, p_.rice_dither, RICE_1, -0.01f, SUBTRACTIVE_DITHER_2);  // step 0.01, DR10 method
        p_.mask_plain = at("maskbits.fits");
        write_primary(p_.mask_plain, LONG_IMG, TINT, W, H, m_.data(), {});
        p_.mask_rice = at("maskbits.fits.fz");
        compress(p_.mask_plain, p_.mask_rice, RICE_1, 0.0f, 0);
        p_.short_plain = at("short.fits");
        write_primary(p_.short_plain, SHORT_IMG, TSHORT, W, H, s_.data(), {});
        p_.table_only = at("table.fits");
        {
            fitsfile* f = nullptr;
            int st = 0;
            char* ttype[] = {const_cast<char*>("A")};
            char* tform[] = {const_cast<char*>("1J")};
            fits_create_file(&f, ("!" + p_.table_only).c_str(), &st);
            fits_create_tbl(f, BINARY_TBL, 0, 1, ttype, tform, nullptr, "T", &st);
            fits_close_file(f, &st);
            ck(st, "table");
        }
        p_.text = at("notes.txt");
        std::ofstream(p_.text) << "this is not a FITS file\n";
    }
    static void TearDownTestSuite() {
        std::error_code ec;
        fs::remove_all(p_.dir, ec);
    }

    static void expect_float_boxes(const std::string& path) {
        SCOPED_TRACE(path);
        const auto img = BrickImage::open(path);
        for (const Box& b : test_boxes(W, H)) {
            long outside = -1;
            const auto v = img.read_box(b.x0, b.y0, b.nx, b.ny, &outside);
            ASSERT_EQ(v.size(), static_cast<std::size_t>(b.nx * b.ny));
            long want_out = 0, bad = 0;
            for (long iy = 0; iy < b.ny; ++iy)
                for (long ix = 0; ix < b.nx; ++ix) {
                    const long x = b.x0 + ix, y = b.y0 + iy;
                    want_out += (x < 0 || y < 0 || x >= W || y >= H);
                    bad += !same(v[iy * b.nx + ix], expected_at(f_, W, H, x, y, kNaN));
                }
            ASSERT_EQ(bad, 0) << "box " << b.x0 << "," << b.y0 << " " << b.nx << "x" << b.ny;
            ASSERT_EQ(outside, want_out);
        }
    }

    static inline Paths p_;
    static inline std::vector<float> f_;
    static inline std::vector<std::int32_t> m_;
    static inline std::vector<std::int16_t> s_;
};

TEST_F(BrickImageTest, MetadataOfPlainAndCompressed) {
    const auto plain = BrickImage::open(p_.plain);
    EXPECT_EQ(plain.hdu(), 1);
    EXPECT_EQ(plain.width(), W);
    EXPECT_EQ(plain.height(), H);
    EXPECT_EQ(plain.bitpix(), -32);
    EXPECT_FALSE(plain.is_compressed());
    EXPECT_FALSE(plain.tile_shape().has_value());
    EXPECT_EQ(plain.compression_type(), "");

    const auto rice = BrickImage::open(p_.rice_exact);
    EXPECT_EQ(rice.hdu(), 2);  // fpack layout: empty primary, compressed image in HDU 2
    EXPECT_EQ(rice.width(), W);
    EXPECT_EQ(rice.height(), H);
    EXPECT_EQ(rice.bitpix(), -32);
    EXPECT_TRUE(rice.is_compressed());
    ASSERT_TRUE(rice.tile_shape().has_value());
    EXPECT_EQ((*rice.tile_shape())[0], 100);
    EXPECT_EQ((*rice.tile_shape())[1], 100);
    EXPECT_TRUE(rice.compression_type() == "RICE_1" || rice.compression_type() == "RICE_ONE")
        << rice.compression_type();
    EXPECT_EQ(BrickImage::open(p_.gzip).compression_type(), "GZIP_2");
    // The header is the image's, not the binary table's: NAXIS1 is the width, no Z cards.
    EXPECT_EQ(rice.keyword_int("NAXIS1"), W);
    EXPECT_EQ(rice.keyword_int("BITPIX"), -32);
    EXPECT_FALSE(rice.keyword("ZTILE1").has_value());
    EXPECT_EQ(rice.header_text().find("ZCMPTYPE"), std::string::npos);
    EXPECT_EQ(rice.header_text().size(), static_cast<std::size_t>(rice.header_card_count()) * 80);
    EXPECT_EQ(BrickImage::open(p_.mask_rice).bitpix(), 32);
    EXPECT_EQ(BrickImage::open(p_.short_plain).bitpix(), 16);
}

TEST_F(BrickImageTest, PlainBoxesEqualWrittenPixels) { expect_float_boxes(p_.plain); }
TEST_F(BrickImageTest, GzipLosslessBoxesEqualWrittenPixels) { expect_float_boxes(p_.gzip); }
TEST_F(BrickImageTest, RiceExactBoxesEqualWrittenPixels) { expect_float_boxes(p_.rice_exact); }

TEST_F(BrickImageTest, RiceDitheredWithinQuantisationStep) {
    const auto img = BrickImage::open(p_.rice_dither);
    const auto full = img.read_full();
    ASSERT_EQ(full.size(), f_.size());
    double worst = 0;
    for (std::size_t i = 0; i < f_.size(); ++i) {
        ASSERT_EQ(std::isnan(full[i]), std::isnan(f_[i])) << "NaN (ZBLANK) lost at " << i;
        if (f_[i] == 0.f) {
            ASSERT_EQ(full[i], 0.f) << "SUBTRACTIVE_DITHER_2 keeps zeros exactly";
        }
        if (!std::isnan(f_[i])) worst = std::max(worst, std::fabs(double(full[i]) - f_[i]));
    }
    EXPECT_LE(worst, 0.005 * (1 + 1e-3));  // half of the 0.01 step
    EXPECT_GT(worst, 0.0);                 // it is lossy
    // Any box equals the same pixels of the full read, bit for bit (the dither is per tile).
    for (const Box& b : test_boxes(W, H)) {
        long outside = 0;
        const auto v = img.read_box(b.x0, b.y0, b.nx, b.ny, &outside);
        long bad = 0;
        for (long iy = 0; iy < b.ny; ++iy)
            for (long ix = 0; ix < b.nx; ++ix)
                bad += !same(v[iy * b.nx + ix], expected_at(full, W, H, b.x0 + ix, b.y0 + iy, kNaN));
        ASSERT_EQ(bad, 0) << "box " << b.x0 << "," << b.y0;
    }
}

TEST_F(BrickImageTest, SpanOverloadAndArguments) {
    const auto img = BrickImage::open(p_.rice_exact);
    std::vector<float> buf(101 * 101, 42.f);
    EXPECT_EQ(img.read_box(-1, 0, 101, 101, std::span<float>(buf)), 101);
    EXPECT_TRUE(std::isnan(buf[0]));
    EXPECT_EQ(buf[1], f_[0]);
    EXPECT_THROW(img.read_box(0, 0, 100, 101, std::span<float>(buf)), std::invalid_argument);
    EXPECT_THROW(img.read_box(0, 0, -1, 5), std::invalid_argument);
    long outside = -1;
    EXPECT_TRUE(img.read_box(3, 3, 0, 10, &outside).empty());
    EXPECT_EQ(outside, 0);
}

TEST_F(BrickImageTest, TilesTouched) {
    const auto img = BrickImage::open(p_.rice_exact);
    EXPECT_EQ(img.tiles_touched(0, 0, 100, 100), 1);
    EXPECT_EQ(img.tiles_touched(150, 250, 101, 101), 4);  // a 101-px box always spans 2x2 tiles
    EXPECT_EQ(img.tiles_touched(49, 49, 101, 101), 4);
    EXPECT_EQ(img.tiles_touched(99, 99, 102, 102), 9);
    EXPECT_EQ(img.tiles_touched(1000, 700, 101, 101), 1);  // the 30x15 corner tile only
    EXPECT_EQ(img.tiles_touched(-50, -50, 101, 101), 1);
    EXPECT_EQ(img.tiles_touched(2000, 0, 10, 10), 0);
    EXPECT_EQ(BrickImage::open(p_.plain).tiles_touched(0, 0, 10, 10), 0);
}

TEST_F(BrickImageTest, IntegerImages) {
    for (const auto& path : {p_.mask_plain, p_.mask_rice}) {
        SCOPED_TRACE(path);
        const auto img = BrickImage::open(path);
        EXPECT_EQ(img.read_full_int(), m_);
        for (const Box& b : test_boxes(W, H)) {
            long outside = -1;
            const auto v = img.read_box_int(b.x0, b.y0, b.nx, b.ny, -7, &outside);
            long bad = 0, want_out = 0;
            for (long iy = 0; iy < b.ny; ++iy)
                for (long ix = 0; ix < b.nx; ++ix) {
                    const long x = b.x0 + ix, y = b.y0 + iy;
                    want_out += (x < 0 || y < 0 || x >= W || y >= H);
                    bad += v[iy * b.nx + ix] != expected_at<std::int32_t>(m_, W, H, x, y, -7);
                }
            ASSERT_EQ(bad, 0) << "box " << b.x0 << "," << b.y0;
            ASSERT_EQ(outside, want_out);
        }
        const auto asf = img.read_box(10, 10, 5, 5);  // float reads of an int image convert
        EXPECT_EQ(asf[0], static_cast<float>(m_[10 * W + 10]));
    }
    const auto shorts = BrickImage::open(p_.short_plain);
    const auto v = shorts.read_box_int(-2, H - 3, 6, 6, 0);
    EXPECT_EQ(v[0], 0);
    EXPECT_EQ(v[2], sval(0, H - 3));
    EXPECT_EQ(v[2 * 6 + 3], sval(1, H - 1));
    EXPECT_EQ(v[3 * 6 + 3], 0);
    EXPECT_THROW(BrickImage::open(p_.plain).read_box_int(0, 0, 2, 2), FitsError);
}

TEST_F(BrickImageTest, HeaderKeywords) {
    for (const auto& path : {p_.plain, p_.rice_exact}) {
        SCOPED_TRACE(path);
        const auto img = BrickImage::open(path);
        EXPECT_EQ(img.keyword("BRICK"), "0489m442");
        EXPECT_EQ(img.keyword("brick"), "0489m442");  // names are case-insensitive
        EXPECT_EQ(img.keyword_int("BRICKID"), 100048);
        EXPECT_EQ(img.keyword_double("CRVAL1"), 48.9168278529981);
        EXPECT_EQ(img.keyword_double("DEXP"), 1500.0);
        EXPECT_EQ(img.keyword("QUOTED"), "O'Brien");
        EXPECT_EQ(img.keyword("FLAG"), "T");
        EXPECT_EQ(img.keyword_double("EQUINOX"), 2000.0);
        EXPECT_EQ(img.keyword_int("EQUINOX"), 2000);
        EXPECT_EQ(img.keyword("UNDEF"), "");
        EXPECT_FALSE(img.keyword_double("UNDEF").has_value());
        EXPECT_EQ(img.keyword("TIME_RECORDED"), "2013-11-22T03:05:30.358282");
        EXPECT_EQ(img.keyword("LONGSTR"), kLong + "end");
        EXPECT_FALSE(img.keyword("NOSUCHKEY").has_value());
        EXPECT_FALSE(img.keyword_int("NOSUCHKEY").has_value());
        EXPECT_THROW(img.keyword_double("NOTNUM"), FitsError);
        EXPECT_THROW(img.keyword_int("CRVAL1"), FitsError);
        // The WCS comes from the same header: CRPIX (515.5, 358.0) is zero-based (514.5, 357.0).
        const auto c = img.wcs().pixel_to_sky(514.5, 357.0);
        EXPECT_NEAR(c.ra, 48.9168278529981, 1e-12);
        EXPECT_NEAR(c.dec, -44.25, 1e-12);
        EXPECT_NEAR(img.wcs().pixel_scale_arcsec(), 0.262, 1e-9);
    }
}

TEST_F(BrickImageTest, OpenErrorsNameTheFile) {
    const std::string missing = (p_.dir / "no-such-brick.fits.fz").string();
    for (const auto& path : {missing, p_.text, p_.table_only}) {
        try {
            (void)BrickImage::open(path);
            ADD_FAILURE() << "no exception for " << path;
        } catch (const FitsError& e) {
            EXPECT_EQ(e.file(), path);
            EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
        }
    }
    try {
        (void)BrickImage::open(p_.mask_plain).wcs();  // no WCS cards
        ADD_FAILURE() << "no exception";
    } catch (const FitsError& e) {
        EXPECT_EQ(e.file(), p_.mask_plain);
        EXPECT_EQ(e.hdu(), 1);
    }
}

namespace {
/// Location of the compressed HDU's table rows and heap in a .fits.fz file (HDU 2).
struct HeapLayout {
    long long data_start = 0, row_bytes = 0, rows = 0, heap_start = 0, heap_bytes = 0;
};

HeapLayout heap_layout(const std::string& path) {
    fitsfile* f = nullptr;
    int st = 0, type = 0;
    HeapLayout h;
    long long head = 0, end = 0;
    char tform[FLEN_VALUE] = {0};
    fits_open_file(&f, path.c_str(), READONLY, &st);
    fits_movabs_hdu(f, 2, &type, &st);
    fits_get_hduaddrll(f, &head, &h.data_start, &end, &st);
    fits_read_key(f, TLONGLONG, "NAXIS1", &h.row_bytes, nullptr, &st);  // the table's, raw
    fits_read_key(f, TLONGLONG, "NAXIS2", &h.rows, nullptr, &st);
    fits_read_key(f, TLONGLONG, "PCOUNT", &h.heap_bytes, nullptr, &st);
    fits_read_key(f, TSTRING, "TFORM1", tform, nullptr, &st);
    fits_close_file(f, &st);
    ck(st, "heap layout");
    if (std::string(tform).rfind("1PB", 0) != 0) throw std::runtime_error("unexpected TFORM1 " + std::string(tform));
    h.heap_start = h.data_start + h.row_bytes * h.rows;
    return h;
}

std::vector<char> slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}
}  // namespace

TEST_F(BrickImageTest, TruncatedCompressedFile) {
    const auto h = heap_layout(p_.rice_exact);
    auto bytes = slurp(p_.rice_exact);
    const std::string cut = (p_.dir / "truncated.fits.fz").string();
    std::ofstream(cut, std::ios::binary).write(bytes.data(), h.heap_start + h.heap_bytes / 2);
    std::unique_ptr<BrickImage> img;
    try {
        img = std::make_unique<BrickImage>(BrickImage::open(cut));
    } catch (const FitsError& e) {  // acceptable too, as long as the file is named
        EXPECT_EQ(e.file(), cut);
        return;
    }
    // Tiles stored before the cut still decode: only the tiles a box touches are read.
    EXPECT_NO_THROW((void)img->read_box(0, 0, 100, 100));
    try {
        (void)img->read_full();
        ADD_FAILURE() << "no exception";
    } catch (const FitsError& e) {
        EXPECT_EQ(e.file(), cut);
        EXPECT_EQ(e.hdu(), 2);
        std::cout << "[ truncated ] " << e.what() << "\n";
    }
}

TEST_F(BrickImageTest, CorruptTileFailsOnlyBoxesTouchingIt) {
    const auto h = heap_layout(p_.rice_exact);
    auto bytes = slurp(p_.rice_exact);
    const long tiles_x = (W + 99) / 100, bad_tile = 2 * tiles_x + 3;  // tile column 3, row 2
    const long long at = h.data_start + bad_tile * h.row_bytes;      // its 'P' descriptor: count, offset
    const unsigned char three[4] = {0, 0, 0, 3};                      // claim 3 bytes of RICE data
    std::memcpy(bytes.data() + at, three, 4);
    const std::string bad = (p_.dir / "corrupt.fits.fz").string();
    std::ofstream(bad, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));

    const auto img = BrickImage::open(bad);
    const auto good = img.read_box(150, 150, 101, 101);  // tiles (1..2, 1..2) are intact
    const auto ref = BrickImage::open(p_.rice_exact).read_box(150, 150, 101, 101);
    for (std::size_t i = 0; i < good.size(); ++i) ASSERT_TRUE(same(good[i], ref[i])) << i;
    try {
        (void)img.read_box(350, 250, 10, 10);  // inside tile (3, 2)
        ADD_FAILURE() << "no exception";
    } catch (const FitsError& e) {
        EXPECT_EQ(e.file(), bad);
        EXPECT_EQ(e.hdu(), 2);
        EXPECT_NE(e.status(), 0);
        std::cout << "[ corrupt ] " << e.what() << "\n";
    }
    EXPECT_THROW((void)img.read_box(290, 190, 20, 20), FitsError);  // overlaps it at a corner
    // The handle stays usable for boxes elsewhere after the failure.
    const auto again = img.read_box(0, 600, 101, 101);
    EXPECT_EQ(again[0], f_[600 * W]);
}

TEST(BrickImageReal, DecamCutouts) {
    const std::string dir = std::string(DHS_SHARED_DIR) + "/data/real/legacypipe/testcase9/images/decam/CP/V4.8.2a/";
    const std::string ooi = dir + "CP20131121/c4d_131122_030338_ooi_z_ls9.S21.fits";
    const std::string ood = dir + "CP20131121/c4d_131122_030338_ood_z_ls9.S21.fits";
    const auto img = BrickImage::open(ooi);
    EXPECT_EQ(img.hdu(), 2);  // the primary has NAXIS = 0
    EXPECT_EQ(img.width(), 101);
    EXPECT_EQ(img.height(), 101);
    EXPECT_EQ(img.bitpix(), -32);
    EXPECT_EQ(img.keyword("EXTNAME"), "S21");
    EXPECT_EQ(img.keyword("CTYPE1"), "RA---TPV");
    EXPECT_EQ(img.keyword_double("CRPIX1"), 7777.40000000001);
    EXPECT_EQ(img.keyword_double("SATURATE"), 46169.6590503195);
    // Direct cfitsio read of the same HDU, the independent path.
    std::vector<float> direct(101 * 101);
    {
        fitsfile* f = nullptr;
        int st = 0, type = 0, anynul = 0;
        fits_open_file(&f, ooi.c_str(), READONLY, &st);
        fits_movabs_hdu(f, 2, &type, &st);
        fits_read_img(f, TFLOAT, 1, 101 * 101, nullptr, direct.data(), &anynul, &st);
        fits_close_file(f, &st);
        ck(st, ooi);
    }
    EXPECT_EQ(img.read_full(), direct);
    long outside = 0;
    const auto corner = img.read_box(-5, 96, 20, 20, &outside);
    EXPECT_EQ(outside, 20 * 20 - 15 * 5);
    EXPECT_TRUE(std::isnan(corner[0]));
    EXPECT_EQ(corner[5], direct[96 * 101 + 0]);
    EXPECT_EQ(corner[4 * 20 + 19], direct[100 * 101 + 14]);
    EXPECT_TRUE(std::isnan(corner[5 * 20 + 5]));

    const auto mask = BrickImage::open(ood);
    EXPECT_EQ(mask.bitpix(), 32);
    const auto mv = mask.read_box_int(-1, -1, 103, 103, 0, &outside);
    EXPECT_EQ(outside, 103 * 103 - 101 * 101);
    EXPECT_EQ(mv.size(), 103u * 103u);
}

TEST(BrickImageDr10Like, RiceBrickBoxReadsTouchOnlyTheirTiles) {
    // A 3600x3600 float32 brick with DR10's compression (RICE_1, 100x100 tiles,
    // SUBTRACTIVE_DITHER_2, q = 4) and the real DR10 header cards.
    std::random_device rd;
    const fs::path dir = fs::temp_directory_path() / fmt::format("dhs_brick_dr10_{}_{:08x}", getpid(), rd());
    fs::create_directories(dir);
    const long n = 3600;
    std::vector<float> pix(static_cast<std::size_t>(n * n));
    std::mt19937 rng(7);
    std::normal_distribution<float> noise(0.f, 0.01f);
    for (auto& v : pix) v = noise(rng);
    std::vector<std::string> cards;
    {
        std::ifstream in(std::string(DHS_SHARED_DIR) + "/data/real/reference/dr10_coadd_0489m442_image-r_header.txt");
        std::string line;
        bool body = false;
        while (std::getline(in, line)) {
            if (line.rfind("LEGPIPEV", 0) == 0) body = true;  // the cards after the table/compression ones
            if (body && !line.empty() && line[0] != '#') cards.push_back(card(line));
        }
    }
    ASSERT_GT(cards.size(), 50u);
    const std::string plain = (dir / "plain.fits").string();
    const std::string fz = (dir / "legacysurvey-0489m442-image-r.fits.fz").string();
    write_primary(plain, FLOAT_IMG, TFLOAT, n, n, pix.data(), cards);
    compress(plain, fz, RICE_1, 4.0f, SUBTRACTIVE_DITHER_2);

    const auto img = BrickImage::open(fz);
    EXPECT_EQ(img.width(), 3600);
    EXPECT_EQ(img.height(), 3600);
    EXPECT_EQ(img.keyword("BRICK"), "0489m442");
    EXPECT_EQ(img.keyword("BUNIT"), "nanomaggy");
    EXPECT_EQ(img.keyword_int("BRICKID"), 100048);
    const auto c = img.wcs().pixel_to_sky(1799.5, 1799.5);
    EXPECT_NEAR(c.ra, 48.9168278529981, 1e-12);
    EXPECT_NEAR(c.dec, -44.25, 1e-12);
    EXPECT_NEAR(img.wcs().pixel_scale_arcsec(), 0.262, 1e-9);

    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    const auto full = img.read_full();
    const double t_full = std::chrono::duration<double>(clock::now() - t0).count();
    std::uniform_int_distribution<long> pos(-50, n - 51);
    const int nbox = 100;
    std::vector<std::array<long, 2>> where(nbox);
    for (auto& w : where) w = {pos(rng), pos(rng)};
    std::vector<float> box(101 * 101);
    const auto t1 = clock::now();
    for (const auto& w : where) {
        auto span_tiles = [](long a) { return a < 0 || a >= 3500 ? 1L : 2L; };  // clipped at the edges
        EXPECT_EQ(img.tiles_touched(w[0], w[1], 101, 101), span_tiles(w[0]) * span_tiles(w[1]));
        (void)img.read_box(w[0], w[1], 101, 101, std::span<float>(box));
    }
    const double t_box = std::chrono::duration<double>(clock::now() - t1).count() / nbox;
    std::cout << fmt::format("[ timing ] full 3600x3600 decode {:.1f} ms, 101x101 box {:.3f} ms (ratio {:.0f})\n",
                             t_full * 1e3, t_box * 1e3, t_full / t_box);
    EXPECT_LT(t_box * 20, t_full) << "a box read must not decompress the whole image";
    for (int k = 0; k < 5; ++k) {  // and the boxes equal the full read
        const auto& w = where[k];
        const auto v = img.read_box(w[0], w[1], 101, 101);
        for (long iy = 0; iy < 101; ++iy)
            for (long ix = 0; ix < 101; ++ix)
                ASSERT_TRUE(same(v[iy * 101 + ix], expected_at(full, n, n, w[0] + ix, w[1] + iy, kNaN)));
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
}
