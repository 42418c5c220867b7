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
#include <zlib.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
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

// Fuzz regression (tests/fuzz, fuzz_rice against cfitsio): block codes 27..31 (fs above the
// verbatim code) are no RICE block; they were decoded, differently from cfitsio (whose 32-bit
// bit buffer overflows). Now a malformed stream; rice_stream_complete agrees with the decoder.
TEST(RiceCodec, BlockCodeAboveVerbatimIsAnError) {
    std::vector<std::uint8_t> c = {0, 0, 0, 7, 0xD8};  // first pixel 7, then code 27 (11011)
    c.resize(400, 0x55);
    std::vector<std::int32_t> out(64);
    EXPECT_FALSE(rice_decode_int32(c, out, 32));
    EXPECT_FALSE(rice_stream_complete(c, 64, 32, 4));
    c[4] = 0xD0;  // code 26 (11010): verbatim 32-bit differences, valid
    EXPECT_TRUE(rice_decode_int32(c, out, 32));
    EXPECT_TRUE(rice_stream_complete(c, 64, 32, 4));
    // Every stream cfitsio encodes is complete; half of it is not.
    std::mt19937 rng(5);
    for (const std::string kind : {"noise", "wide", "const", "random", "runs", "bursts"}) {
        const auto a = sequence(kind, 1000, rng);
        auto s = rcomp(a, 32);
        EXPECT_TRUE(rice_stream_complete(s, a.size(), 32, 4)) << kind;
        if (kind == "const") continue;  // one zero block code per 32 pixels: a few bytes
        s.resize(s.size() / 2);
        EXPECT_FALSE(rice_stream_complete(s, a.size(), 32, 4)) << kind;
    }
}

// Fuzz regression (tests/fuzz, fuzz_rice under UBSan): within 8 bytes of the end the bit
// buffer was refilled byte by byte up to 64 bits, and a buffer holding only its last bit set
// was then shifted by 64 (undefined; on x86 a stale bit stayed behind). This stream (found by
// the fuzzer) did it; it is malformed, and both decoders say so.
TEST(RiceCodec, ByteWiseRefillNeverShiftsBy64) {
    const std::vector<std::uint8_t> c = {0x00, 0x00, 0xff, 0x68, 0x8d, 0x00, 0x10, 0x9c, 0x62, 0x2c, 0x00,
                                         0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x40, 0x00, 0x00, 0xff, 0x68,
                                         0x00, 0x01, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xf2};
    std::vector<std::int32_t> out(556);
    EXPECT_FALSE(rice_decode_int32(c, out, 16));
    auto padded = c;
    padded.resize(c.size() + 4096, 0xFF);  // cfitsio reads past a malformed stream
    std::vector<unsigned> theirs(out.size());
    EXPECT_NE(fits_rdecomp(padded.data(), static_cast<int>(c.size()), theirs.data(), static_cast<int>(out.size()), 16), 0);
    // Every prefix of a good stream near its end decodes as cfitsio's.
    std::mt19937 rng(11);
    for (const std::string kind : {"noise", "bursts", "spikes"})
        for (const std::size_t n : {1u, 2u, 3u, 5u, 9u, 17u, 33u}) {
            const auto a = sequence(kind, n, rng);
            const auto s = rcomp(a, 16);
            std::vector<std::int32_t> mine(n);
            ASSERT_TRUE(rice_decode_int32(s, mine, 16)) << kind << " n=" << n;
            EXPECT_EQ(std::vector<int>(mine.begin(), mine.end()), a) << kind << " n=" << n;
        }
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

// Fuzz regression (tests/fuzz, fuzz_tile_reader): a RICE tile that cfitsio decodes (an integer
// image: not the fast path) whose stream ends in a run of zero bits made cfitsio's fits_rdecomp
// read past the tile's buffer (a SEGV under ASan). BrickImage checks the stream first.
TEST(TileReader, RiceTileRunningOffItsEndThroughCfitsioIsAnError) {
    TempDir tmp("dhs-tile-reader-");
    const long w = 40, h = 30;
    std::vector<std::int32_t> px(static_cast<std::size_t>(w * h));
    for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::int32_t>(i % 7);
    CoaddCompression c;
    c.tile_width = c.tile_height = 16;
    const std::string path = tmp.file("ints.fits.fz");
    write_coadd_image(path, std::span<const std::int32_t>(px), w, h, header(w, h), c);
    long long len = 0, off = 0, heap = 0;
    {
        fitsfile* f = nullptr;
        int st = 0, type = 0;
        fits_open_file(&f, path.c_str(), READONLY, &st);
        fits_movabs_hdu(f, 2, &type, &st);
        LONGLONG l = 0, o = 0, start = 0, dstart = 0, dend = 0;
        fits_read_descriptll(f, 1, 1, &l, &o, &st);
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
    ASSERT_GT(len, 5);
    {
        // Tile 1: after its first pixel, code 2 (fs = 1), then nothing but zero bits.
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(heap + off + 4);
        f.put(static_cast<char>(0x10));
        for (long long i = 5; i < len; ++i) f.put(0);
    }
    auto tr = TileReader::open(path);
    EXPECT_FALSE(tr.fast_path());
    std::vector<float> out(10 * 10);
    try {
        tr.read_box({0, 0, 10, 10}, out);
        ADD_FAILURE() << "no error for a RICE tile that runs off its end";
    } catch (const FitsError& e) {
        EXPECT_THAT(e.what(), HasSubstr(path));
        EXPECT_THAT(e.what(), HasSubstr("tile 1"));
        EXPECT_THAT(e.what(), HasSubstr("RICE stream"));
    }
    std::vector<std::int32_t> ints(10 * 10);
    EXPECT_THROW(BrickImage::open(path).read_box_int(0, 0, 10, 10, std::span<std::int32_t>(ints)), FitsError);
    // The other tiles read as written.
    tr.read_box({20, 20, 10, 10}, out);
    EXPECT_EQ(out[0], static_cast<float>(px[20 * w + 20]));
}

// Fuzz regression (tests/fuzz, fuzz_tile_reader: a timeout): a tile descriptor claiming 1 GiB
// of compressed bytes in a small file made TileReader size (and zero) a 1 GiB buffer before
// the read failed. A tile's bytes must lie in the file and be able to hold its pixels; the
// tile fails alone (FitsError naming it), before anything is allocated for it.
TEST(TileReader, TileDescriptorsClaimingMoreThanTheFileHoldsFailThatTile) {
    TempDir tmp("dhs-tile-reader-");
    const long w = 40, h = 30;
    CoaddCompression c;
    c.tile_width = c.tile_height = 16;
    const std::string path = tmp.file("img.fits.fz");
    write_coadd_image(path, sky(w, h, 4), w, h, header(w, h), c);
    LONGLONG dstart = 0;
    long naxis1 = 0;
    {
        fitsfile* f = nullptr;
        int st = 0, type = 0;
        LONGLONG start = 0, dend = 0;
        fits_open_file(&f, path.c_str(), READONLY, &st);
        fits_movabs_hdu(f, 2, &type, &st);
        fits_get_hduaddrll(f, &start, &dstart, &dend, &st);
        fits_read_key(f, TLONG, "NAXIS1", &naxis1, nullptr, &st);
        char tform[FLEN_VALUE] = {0};
        fits_read_key(f, TSTRING, "TFORM1", tform, nullptr, &st);
        fits_close_file(f, &st);
        ASSERT_EQ(st, 0);
        ASSERT_EQ(std::string(tform).find("1P"), 0u) << tform;  // COMPRESSED_DATA: 4-byte length, 4-byte offset
    }
    auto set_length = [&](long row, std::uint32_t len) {
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(dstart + (row - 1) * naxis1);
        for (int k = 3; k >= 0; --k) f.put(static_cast<char>((len >> (8 * k)) & 0xFF));
    };
    set_length(2, 1u << 30);  // tile 2 (x [16, 32) y [0, 16)): 1 GiB
    set_length(3, 5);         // tile 3 (x [32, 40) y [0, 16)): 5 bytes for 128 pixels
    auto tr = TileReader::open(path);
    ASSERT_TRUE(tr.direct());
    std::vector<float> out(4 * 4);
    try {
        tr.read_box({20, 4, 4, 4}, out);
        ADD_FAILURE() << "no error for a tile claiming 1 GiB";
    } catch (const FitsError& e) {
        EXPECT_THAT(e.what(), HasSubstr(path));
        EXPECT_THAT(e.what(), HasSubstr("tile 2"));
        EXPECT_THAT(e.what(), HasSubstr("outside the file"));
    }
    try {
        tr.read_box({34, 4, 4, 4}, out);
        ADD_FAILURE() << "no error for 5 bytes holding 128 pixels";
    } catch (const FitsError& e) {
        EXPECT_THAT(e.what(), HasSubstr("tile 3"));
        EXPECT_THAT(e.what(), HasSubstr("cannot hold"));
    }
    EXPECT_THROW(tr.decode_all(), FitsError);
    // Tile 1 is intact and reads as cfitsio reads it.
    std::vector<float> theirs(out.size());
    tr.read_box({2, 2, 4, 4}, out);
    BrickImage::open(path).read_box(2, 2, 4, 4, std::span<float>(theirs));
    EXPECT_TRUE(same_bits(out, theirs));
}

// Fuzz regression (tests/fuzz, fuzz_tile_reader: a timeout): cfitsio inflates a GZIP tile into
// a buffer it grows 28,800 bytes at a time for as long as the stream gives bytes; a tile whose
// stream inflates far beyond its pixels (a deflate bomb) took minutes under ASan. BrickImage
// inflates each GZIP tile itself first, bounded by the tile's size, and refuses it.
TEST(TileReader, GzipTileInflatingBeyondItsPixelsIsAnError) {
    TempDir tmp("dhs-tile-reader-");
    const long w = 40, h = 30;
    CoaddCompression c;
    c.codec = CoaddCodec::gzip;
    c.quantize_level = 0;
    c.tile_width = c.tile_height = 16;
    const std::string path = tmp.file("gz.fits.fz");
    write_coadd_image(path, sky(w, h, 5), w, h, header(w, h), c);
    long long len = 0, off = 0, heap = 0;
    {
        fitsfile* f = nullptr;
        int st = 0, type = 0;
        fits_open_file(&f, path.c_str(), READONLY, &st);
        fits_movabs_hdu(f, 2, &type, &st);
        LONGLONG l = 0, o = 0, start = 0, dstart = 0, dend = 0;
        fits_read_descriptll(f, 1, 1, &l, &o, &st);
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
    // 256 KiB of zeros, gzip-compressed: a few hundred bytes for a tile of 256 pixels (1 KiB).
    std::vector<unsigned char> zeros(256 << 10, 0), bomb(4096);
    z_stream z{};
    ASSERT_EQ(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = zeros.data();
    z.avail_in = static_cast<uInt>(zeros.size());
    z.next_out = bomb.data();
    z.avail_out = static_cast<uInt>(bomb.size());
    ASSERT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
    bomb.resize(z.total_out);
    deflateEnd(&z);
    ASSERT_LE(static_cast<long long>(bomb.size()), len);
    {
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(heap + off);
        f.write(reinterpret_cast<const char*>(bomb.data()), static_cast<std::streamsize>(bomb.size()));
    }
    std::vector<float> out(8 * 8);
    try {
        BrickImage::open(path).read_box(2, 2, 8, 8, std::span<float>(out));
        ADD_FAILURE() << "no error for a GZIP tile inflating to 256 KiB";
    } catch (const FitsError& e) {
        EXPECT_THAT(e.what(), HasSubstr(path));
        EXPECT_THAT(e.what(), HasSubstr("tile 1"));
        EXPECT_THAT(e.what(), HasSubstr("GZIP stream"));
    }
    EXPECT_THROW(TileReader::open(path).read_box({2, 2, 8, 8}, out), FitsError);
    // The other tiles read as written (lossless).
    auto img = BrickImage::open(path);
    img.read_box(20, 20, 8, 8, std::span<float>(out));
    const auto px = sky(w, h, 5);
    EXPECT_EQ(std::memcmp(&out[0], &px[20 * w + 20], sizeof(float)), 0);
}

// Writes a tile-compressed coadd of sky(w, h, seed) to `path`, then puts `card` (padded to 80
// bytes) in place of the card of the compressed HDU that starts with `key`: a header broken on
// purpose, as the fuzzers found them.
void write_with_card(const std::string& path, long w, long h, const CoaddCompression& c, int seed,
                     const std::string& key, const std::string& card) {
    write_coadd_image(path, sky(w, h, seed), w, h, header(w, h), c);
    std::string bytes;
    {
        std::ifstream in(path, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    const std::size_t at = bytes.find(key, 2880);
    ASSERT_NE(at, std::string::npos) << key;
    bytes.replace(at, 80, card + std::string(80 - card.size(), ' '));
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Fuzz regression (tests/fuzz, fuzz_tile_reader: SIGFPE in cfitsio's
// imcomp_get_compressed_image_par): a second ZTILE1 card ('BLOCKSIZE', a mutated ZNAME1)
// after ZCMPTYPE. cfitsio looks keywords up from the last card it read, took that one and
// divided by zero. A structural keyword given twice is refused before cfitsio parses the
// header; the direct RICE path, which takes the first, never reaches cfitsio.
// BrickImage::open must refuse `path` with a FitsError holding every one of `parts`.
void expect_open_refused(const std::string& path, const std::string& what, std::initializer_list<std::string> parts) {
    try {
        (void)BrickImage::open(path);
        ADD_FAILURE() << what << " was accepted";
    } catch (const FitsError& e) {
        for (const auto& part : parts) EXPECT_THAT(e.what(), HasSubstr(part));
    }
}

TEST(TileReader, StructuralKeywordGivenTwiceIsRefusedBeforeCfitsio) {
    TempDir tmp("dhs-tile-reader-");
    const long w = 40, h = 30;
    CoaddCompression c;
    c.tile_width = c.tile_height = 16;
    const std::string path = tmp.file("img.fits.fz");
    write_with_card(path, w, h, c, 6, "BUNIT   =", "ZTILE1  = 'BLOCKSIZE'");
    expect_open_refused(path, "a second ZTILE1", {path, "ZTILE1 appears twice in HDU 2"});
    std::vector<std::int32_t> ints(16);
    EXPECT_THROW(TileReader::open(path).read_box_int({0, 0, 4, 4}, ints), FitsError);
    // The same division from a tile size cfitsio reads as 0 ("0           16"): refused too.
    write_with_card(path, w, h, c, 6, "ZTILE2  =", "ZTILE2  =       0           16");
    expect_open_refused(path, "ZTILE2 = '0           16'", {"ZTILE2"});
    // A long string as ZNAXIS1: cfitsio's ffc2j overran its message buffer quoting it (abort).
    write_with_card(path, w, h, c, 6, "ZNAXIS1 =", "ZNAXIS1 = '" + std::string(66, 'x') + "'");
    expect_open_refused(path, "a string ZNAXIS1", {"ZNAXIS1 in HDU 2", "is not a number"});
    // An image axis of length 0 (the default tile when ZTILE1 is unreadable): the same division.
    write_with_card(path, w, h, c, 6, "ZNAXIS1 =", "ZNAXIS1 =                    0");
    expect_open_refused(path, "ZNAXIS1 = 0", {"ZNAXIS1 = '0' in HDU 2 is not a positive image axis length"});
}

// Fuzz regression (tests/fuzz, fuzz_tile_reader under UBSan): TileReader's own header parser
// converted ZVAL1 = -4294967296 to an int (undefined). A value out of range does not read as
// one: the fast path is left to cfitsio, which answers for the file.
TEST(TileReader, RiceParameterOutOfIntRangeLeavesTheFastPath) {
    TempDir tmp("dhs-tile-reader-");
    const long w = 40, h = 30;
    CoaddCompression c;
    c.tile_width = c.tile_height = 16;
    const std::string path = tmp.file("img.fits.fz");
    write_with_card(path, w, h, c, 7, "ZVAL1   =", "ZVAL1   =          -4294967296");
    try {
        (void)TileReader::open(path);
        ADD_FAILURE() << "ZVAL1 = -4294967296 was accepted";
    } catch (const FitsError& e) {  // cfitsio's answer: "datatype conversion overflow"
        EXPECT_THAT(e.what(), HasSubstr(path));
        EXPECT_THAT(e.what(), HasSubstr("ZVAL1"));
    }
}

}  // namespace
}  // namespace dhs::fits
