// Tests of core/fits/rice_codec and TileReader against cfitsio, the independent reference:
// rice_decode_int32 gives back what cfitsio's own encoder (fits_rcomp) packed, for every block
// kind (all-zero, Rice, verbatim) and long zero runs, and what fits_rdecomp decodes; the dither
// table is cfitsio's; TileReader boxes equal BrickImage's (cfitsio's fits_read_subset) bit for
// bit for RICE float coadds (dither 1 / 2 / none, NaN, exact zeros, partial edge tiles), for
// HCOMPRESS maskbits, GZIP psfsize and plain images, whether tiles are decoded whole, partly,
// kept or the image decoded in one pass; each tile is decoded at most once; a corrupt tile is
// a FitsError naming the file and the tile and leaves the other tiles readable.
#include "core/fits/tile_reader.hpp"

#include <fitsio.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>

#include "core/error.hpp"
#include "core/fits/coadd_writer.hpp"
#include "core/fits/rice_codec.hpp"
#include "kernels/geometry/brick_geometry.hpp"
#include "tests/support/test_support.hpp"

// cfitsio internals the library exports (fitsio2.h declares them without C linkage): its RICE
// encoder and decoder and its dither table.
extern "C" {
int fits_rcomp(int a[], int nx, unsigned char* c, int clen, int nblock);
int fits_rdecomp(unsigned char* c, int clen, unsigned int array[], int nx, int nblock);
int fits_init_randoms(void);
extern float* fits_rand_value;
}

namespace dhs::fits {
namespace {

using ::testing::HasSubstr;
using dhs::test::TempDir;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// cfitsio's encoder: the int32 RICE stream of `a`.
std::vector<std::uint8_t> rcomp(std::vector<int> a, int block) {
    std::vector<std::uint8_t> buf(a.size() * 5 + 64);
    const int n = fits_rcomp(a.data(), static_cast<int>(a.size()), buf.data(), static_cast<int>(buf.size()), block);
    EXPECT_GT(n, 0);
    buf.resize(static_cast<std::size_t>(std::max(n, 0)));
    return buf;
}

std::vector<int> sequence(const std::string& kind, std::size_t n, std::mt19937& rng) {
    std::vector<int> a(n);
    std::normal_distribution<double> g(0, 1);
    std::uniform_int_distribution<std::uint32_t> any;
    int v = 1000;
    for (std::size_t i = 0; i < n; ++i) {
        if (kind == "noise") a[i] = static_cast<int>(std::lround(50 * g(rng)));
        if (kind == "wide") a[i] = static_cast<int>(std::lround(3e5 * g(rng)));
        if (kind == "const") a[i] = 7;
        if (kind == "walk") a[i] = v += static_cast<int>(std::lround(3 * g(rng)));
        if (kind == "random") a[i] = static_cast<int>(any(rng));  // verbatim blocks (fs = 25)
        if (kind == "spikes") a[i] = (i % 97 == 13) ? 2000000000 : (i % 97 == 14 ? -2000000000 : static_cast<int>(i % 5));
        if (kind == "runs") a[i] = (i / 40) % 2 ? 0 : static_cast<int>(std::lround(4 * g(rng)));  // zero blocks among Rice
        if (kind == "bursts") a[i] = i % 32 == 5 ? 20000 : 0;  // unary runs of hundreds of zeros
    }
    return a;
}

TEST(RiceCodec, DecodesWhatCfitsioEncodes) {
    std::mt19937 rng(7);
    for (const std::string kind : {"noise", "wide", "const", "walk", "random", "spikes", "runs", "bursts"})
        for (const std::size_t n : {1u, 31u, 32u, 33u, 1000u, 10000u, 10201u})
            for (const int block : {32, 16}) {
                const auto a = sequence(kind, n, rng);
                const auto c = rcomp(a, block);
                std::vector<std::int32_t> mine(n);
                ASSERT_TRUE(rice_decode_int32(c, mine, block)) << kind << " n=" << n;
                EXPECT_EQ(std::vector<int>(mine.begin(), mine.end()), a) << kind << " n=" << n << " block " << block;
                std::vector<unsigned> theirs(n);
                auto cc = c;
                ASSERT_EQ(fits_rdecomp(cc.data(), static_cast<int>(cc.size()), theirs.data(), static_cast<int>(n), block), 0);
                EXPECT_EQ(0, std::memcmp(theirs.data(), mine.data(), n * 4)) << kind;
                // A prefix decodes to the same first pixels.
                const std::size_t k = n / 3 + 1;
                std::vector<std::int32_t> prefix(k);
                ASSERT_TRUE(rice_decode_int32(c, prefix, block));
                EXPECT_TRUE(std::equal(prefix.begin(), prefix.end(), mine.begin())) << kind;
            }
}

TEST(RiceCodec, TruncatedStreamIsAnError) {
    std::mt19937 rng(3);
    const auto a = sequence("noise", 10000, rng);
    auto c = rcomp(a, 32);
    std::vector<std::int32_t> out(a.size());
    c.resize(c.size() / 2);
    EXPECT_FALSE(rice_decode_int32(c, out, 32));
    EXPECT_FALSE(rice_decode_int32(std::span<const std::uint8_t>(c.data(), 3), out, 32));
}

TEST(RiceCodec, DitherSequenceIsCfitsios) {
    ASSERT_EQ(fits_init_randoms(), 0);
    const auto mine = dither_sequence();
    ASSERT_EQ(mine.size(), 10000u);
    EXPECT_EQ(0, std::memcmp(mine.data(), fits_rand_value, 10000 * sizeof(float)));
}

// A float image with sky noise, sources, NaN holes, exact zeros (kept by SUBTRACTIVE_DITHER_2)
// and an all-NaN tile.
std::vector<float> sky(long w, long h, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0.0f, 0.01f);
    std::vector<float> px(static_cast<std::size_t>(w * h));
    for (long y = 0; y < h; ++y)
        for (long x = 0; x < w; ++x) {
            float v = g(rng) + 2.0f * std::exp(-((x - 60.f) * (x - 60.f) + (y - 40.f) * (y - 40.f)) / 8.0f);
            if ((x + 3 * y) % 211 == 0) v = kNaN;
            if ((x * 7 + y) % 173 == 0) v = 0.0f;
            if (x < 30 && y >= h - 20) v = kNaN;
            px[static_cast<std::size_t>(y * w + x)] = v;
        }
    return px;
}

CoaddHeader header(long w, long h) {
    return dr10_brick_header(kernels::brick_wall().brick_by_name("1501p022").value(), "r", "nanomaggy", w, h);
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

std::vector<PixelBox> random_boxes(long w, long h, int n, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<long> xs(-60, w + 10), ys(-60, h + 10), sz(1, 101);
    std::vector<PixelBox> out;
    for (int i = 0; i < n; ++i) out.push_back({xs(rng), ys(rng), sz(rng), sz(rng)});
    out.push_back({0, 0, w, h});
    out.push_back({-5, -5, 101, 101});
    out.push_back({w - 50, h - 50, 101, 101});
    return out;
}

// Every box of `boxes` read through a fresh reader (planned as `mode` says) equals cfitsio's.
void expect_boxes_match(const std::string& path, const std::vector<PixelBox>& boxes, const std::string& mode) {
    auto ref = BrickImage::open(path);
    // "cfitsio": the same fast decoding with the tile table read through cfitsio.
    auto tr = mode == "cfitsio" ? TileReader(BrickImage::open(path)) : TileReader::open(path);
    if (mode == "plan") tr.plan(boxes);
    if (mode == "full") tr.plan(boxes, 0.0);
    for (const auto& b : boxes) {
        std::vector<float> mine(static_cast<std::size_t>(b.nx * b.ny)), theirs(mine.size());
        const long o1 = tr.read_box(b, mine);
        const long o2 = ref.read_box(b.x0, b.y0, b.nx, b.ny, std::span<float>(theirs));
        EXPECT_EQ(o1, o2);
        EXPECT_TRUE(same_bits(mine, theirs)) << path << " " << mode << " box " << b.x0 << "," << b.y0 << " " << b.nx
                                             << "x" << b.ny;
    }
}

TEST(TileReader, RiceFloatBoxesEqualCfitsio) {
    TempDir tmp("dhs-tile-reader-");
    struct Case {
        const char* name;
        long w, h, tw, th;
        float q;
        QuantizeMethod m;
    };
    const Case cases[] = {
        {"dither2.fits.fz", 250, 173, 100, 100, 4.0f, QuantizeMethod::subtractive_dither_2},
        {"dither1.fits.fz", 250, 173, 100, 100, 16.0f, QuantizeMethod::subtractive_dither_1},
        {"nodither.fits.fz", 250, 173, 64, 48, 4.0f, QuantizeMethod::no_dither},
        {"absolute.fits.fz", 301, 207, 100, 100, -1e-4f, QuantizeMethod::subtractive_dither_2},
    };
    for (const auto& c : cases) {
        const auto px = sky(c.w, c.h, 11);
        CoaddCompression comp;
        comp.tile_width = c.tw;
        comp.tile_height = c.th;
        comp.quantize_level = c.q;
        comp.method = c.m;
        const std::string path = tmp.file(c.name);
        write_coadd_image(path, px, c.w, c.h, header(c.w, c.h), comp);
        const auto tr = TileReader::open(path);
        ASSERT_TRUE(tr.fast_path()) << c.name;
        EXPECT_TRUE(tr.direct()) << c.name;  // a DR10-layout file: no cfitsio needed
        EXPECT_EQ(tr.image().wcs().crpix()[0], (c.w + 1) / 2.0);  // cfitsio opened on demand
        EXPECT_TRUE(TileReader(BrickImage::open(path)).fast_path());
        const auto boxes = random_boxes(c.w, c.h, 60, 5);
        for (const char* mode : {"none", "plan", "full", "cfitsio"}) expect_boxes_match(path, boxes, mode);
    }
}

TEST(TileReader, OtherCodecsAndPlainImagesEqualCfitsio) {
    TempDir tmp("dhs-tile-reader-");
    const long w = 230, h = 190;
    const auto px = sky(w, h, 3);
    const std::string gz = tmp.file("psfsize.fits.fz"), plain = tmp.file("plain.fits");
    write_coadd_image(gz, px, w, h, header(w, h), dr10_coadd_compression("psfsize-r"));
    CoaddCompression none;
    none.codec = CoaddCodec::none;
    write_coadd_image(plain, px, w, h, header(w, h), none);
    EXPECT_FALSE(TileReader::open(gz).fast_path());
    EXPECT_FALSE(TileReader::open(gz).direct());
    EXPECT_FALSE(TileReader::open(plain).is_tiled());
    const auto boxes = random_boxes(w, h, 30, 9);
    for (const auto& path : {gz, plain})
        for (const char* mode : {"none", "plan", "full"}) expect_boxes_match(path, boxes, mode);

    // Integer maskbits, HCOMPRESS as DR10 writes them.
    std::vector<std::int32_t> mask(static_cast<std::size_t>(w * h));
    for (std::size_t i = 0; i < mask.size(); ++i) mask[i] = static_cast<std::int32_t>((i * 2654435761u) >> 15) & 0x1ffff;
    const std::string mpath = tmp.file("maskbits.fits.fz");
    write_coadd_image(mpath, std::span<const std::int32_t>(mask), w, h, header(w, h), dr10_coadd_compression("maskbits"));
    auto ref = BrickImage::open(mpath);
    for (const char* mode : {"none", "plan", "full"}) {
        auto tr = TileReader::open(mpath);
        if (std::string(mode) == "plan") tr.plan(boxes);
        if (std::string(mode) == "full") tr.plan(boxes, 0.0);
        for (const auto& b : boxes) {
            std::vector<std::int32_t> mine(static_cast<std::size_t>(b.nx * b.ny));
            tr.read_box_int(b, mine, -1);
            EXPECT_EQ(mine, ref.read_box_int(b.x0, b.y0, b.nx, b.ny, -1)) << mode;
        }
    }
    std::vector<std::int32_t> iv(4);
    EXPECT_THROW(TileReader::open(gz).read_box_int({0, 0, 2, 2}, iv), FitsError);
}

TEST(TileReader, EachTileDecodedOnceAndPartlyWhenOneBoxNeedsIt) {
    TempDir tmp("dhs-tile-reader-");
    const long w = 400, h = 400;
    const std::string path = tmp.file("img.fits.fz");
    write_coadd_image(path, sky(w, h, 1), w, h, header(w, h), CoaddCompression{});
    // Two boxes sharing their two lower tiles; a third alone in the top right.
    const std::vector<PixelBox> boxes = {{20, 20, 101, 101}, {60, 30, 101, 101}, {280, 250, 101, 101}};
    auto tr = TileReader::open(path);
    tr.plan(boxes);
    std::vector<float> out(101 * 101);
    for (const auto& b : boxes) tr.read_box(b, out);
    // Tiles: boxes 0 and 1 touch the same 4; box 2 touches 4 more; each decoded once.
    EXPECT_EQ(tr.stats().tiles_decoded, 8);
    EXPECT_EQ(tr.tiles_needed(boxes), 8);
    // Box 2's upper tiles (rows 300..350 of tiles starting at 300) stop after row 50.
    EXPECT_EQ(tr.stats().tiles_partial, 2);
    EXPECT_EQ(tr.stats().full_decodes, 0);
    // Reading again after the plan is used up decodes again (tiles were freed), same values.
    std::vector<float> again(101 * 101);
    tr.read_box(boxes[0], again);
    std::vector<float> first(101 * 101);
    TileReader::open(path).read_box(boxes[0], first);
    EXPECT_TRUE(same_bits(again, first));
    // Most tiles needed -> one whole-image decode.
    auto full = TileReader::open(path);
    full.plan(boxes, 0.5);
    EXPECT_EQ(full.stats().full_decodes, 1);
    EXPECT_EQ(full.stats().tiles_decoded, 16);
}

TEST(TileReader, CorruptTileIsAnErrorNamingFileAndTile) {
    TempDir tmp("dhs-tile-reader-");
    const long w = 300, h = 200;
    const std::string path = tmp.file("img.fits.fz");
    write_coadd_image(path, sky(w, h, 2), w, h, header(w, h), CoaddCompression{});
    // Find tile 5's bytes (x [100, 200), y [100, 200)) and scramble them.
    long long len = 0, off = 0, heap = 0;
    {
        fitsfile* f = nullptr;
        int st = 0, type = 0;
        fits_open_file(&f, path.c_str(), READONLY, &st);
        fits_movabs_hdu(f, 2, &type, &st);
        LONGLONG l = 0, o = 0, start = 0, dstart = 0, dend = 0;
        fits_read_descriptll(f, 1, 5, &l, &o, &st);
        fits_get_hduaddrll(f, &start, &dstart, &dend, &st);
        long naxis1 = 0, naxis2 = 0;
        fits_read_key(f, TLONG, "NAXIS1", &naxis1, nullptr, &st);
        fits_read_key(f, TLONG, "NAXIS2", &naxis2, nullptr, &st);
        fits_close_file(f, &st);
        ASSERT_EQ(st, 0);
        len = l;
        off = o;
        heap = dstart + naxis1 * naxis2;
    }
    {
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(heap + off + 6);
        std::mt19937 rng(1);
        for (long long i = 0; i < len - 8; ++i) f.put(static_cast<char>(rng() | 0xF0));  // long runs of 1s: too many bits
    }
    auto tr = TileReader::open(path);
    std::vector<float> out(50 * 50);
    try {
        tr.read_box({120, 120, 50, 50}, out);
        ADD_FAILURE() << "no error for a corrupt tile";
    } catch (const FitsError& e) {
        EXPECT_THAT(e.what(), HasSubstr(path));
        EXPECT_THAT(e.what(), HasSubstr("tile 5"));
    }
    // It fails again (no half-decoded tile is kept), planned or not, whole or partly.
    EXPECT_THROW(tr.read_box({130, 110, 50, 50}, out), FitsError);
    const std::vector<PixelBox> two = {{150, 150, 20, 20}, {160, 160, 20, 20}, {120, 100, 10, 10}};
    auto planned = TileReader::open(path);
    planned.plan(two);
    std::vector<float> small(400), tiny(100);
    EXPECT_THROW(planned.read_box(two[0], small), FitsError);
    EXPECT_THROW(planned.read_box(two[1], small), FitsError);
    EXPECT_THROW(planned.read_box(two[2], tiny), FitsError);
    auto whole = TileReader::open(path);
    EXPECT_THROW(whole.plan(two, 0.0), FitsError);
    EXPECT_THROW(TileReader(BrickImage::open(path)).read_box({120, 120, 50, 50}, out), FitsError);
    // A truncated file: the tiles past the end are read errors naming the file.
    const std::string cut = tmp.file("cut.fits.fz");
    std::filesystem::copy_file(path, cut);
    std::filesystem::resize_file(cut, static_cast<std::uintmax_t>(heap + off));
    auto trunc = TileReader::open(cut);
    try {
        trunc.read_box({250, 150, 40, 40}, std::span<float>(out.data(), 1600));
        ADD_FAILURE() << "no error for a truncated file";
    } catch (const FitsError& e) {
        EXPECT_THAT(e.what(), HasSubstr(cut));
    }
    // Other tiles still read, equal to cfitsio.
    std::vector<float> theirs(out.size());
    tr.read_box({10, 10, 50, 50}, out);
    BrickImage::open(path).read_box(10, 10, 50, 50, std::span<float>(theirs));
    EXPECT_TRUE(same_bits(out, theirs));
}

}  // namespace
}  // namespace dhs::fits
