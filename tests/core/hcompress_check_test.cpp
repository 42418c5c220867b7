// Tests of core/fits/hcompress_check (the bounds-checked walk of an HCOMPRESS_1 tile stream made
// before cfitsio's decoder sees it) against cfitsio's own encoder and decoder: every stream
// cfitsio's encoders write (int and 64-bit, odd and even sizes, zeros, masks, noise) passes and
// decodes back to its pixels; every truncation fails; a wrong size, magic, plane count or plane
// code fails; every single-byte corruption the walk accepts decodes in cfitsio without reading
// past the stream (the bytes after it change nothing). Through BrickImage / TileReader: every
// tile of a cfitsio-written HCOMPRESS coadd passes and reads back exactly, and a corrupt tile
// is a FitsError naming the file and the tile (it was a SEGV in fits_hdecompress64, found by
// tests/fuzz/fuzz_tile_reader), the other tiles still readable. Real HCOMPRESS coadds under
// DHS_SHARED_DIR/data/real, if any, pass tile by tile.
#include "core/fits/hcompress_check.hpp"

#include <fitsio.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/fits/brick_image.hpp"
#include "core/fits/coadd_writer.hpp"
#include "core/fits/tile_reader.hpp"
#include "kernels/geometry/brick_geometry.hpp"
#include "tests/support/test_support.hpp"

namespace dhs::fits {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using dhs::test::TempDir;
using Bytes = std::vector<std::uint8_t>;

/// A tile of `w` x `h` pixels (row-major, rows `w` long) and the decoder cfitsio picks for it.
struct Tile {
    long w = 0, h = 0;
    bool wide = false;  ///< fits_hcompress64 / fits_hdecompress64 (ZBITPIX 32, -32), else the int ones (8, 16)
    std::vector<int> px;
    int zbitpix() const { return wide ? 32 : 16; }
};

std::vector<int> pixels(const std::string& kind, long w, long h, bool wide, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> g(0, 1);
    std::uniform_int_distribution<int> bits(0, 0x1ffff), small(-32768, 32767);
    std::vector<int> a(static_cast<std::size_t>(w * h));
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (kind == "const") a[i] = 5;
        if (kind == "mask") a[i] = i % 11 < 7 ? 0 : (wide ? bits(rng) : bits(rng) & 0x7fff);  // maskbits: mostly 0
        if (kind == "noise") a[i] = static_cast<int>(std::lround(40 * g(rng)));
        if (kind == "wide") a[i] = wide ? static_cast<int>(std::lround(5e8 * g(rng))) : small(rng);
    }
    return a;  // "zeros": all 0, no sign bits
}

// cfitsio's encoder as imcompress.c calls it for a tile (a, tile width, tile height), lossless.
Bytes hcompress(const Tile& t) {
    Bytes out(t.px.size() * 16 + 1024);
    long n = static_cast<long>(out.size());
    int status = 0;
    if (t.wide) {
        std::vector<LONGLONG> ll(t.px.begin(), t.px.end());
        fits_hcompress64(ll.data(), static_cast<int>(t.w), static_cast<int>(t.h), 0, reinterpret_cast<char*>(out.data()),
                         &n, &status);
    } else {
        std::vector<int> a = t.px;
        fits_hcompress(a.data(), static_cast<int>(t.w), static_cast<int>(t.h), 0, reinterpret_cast<char*>(out.data()), &n,
                       &status);
    }
    EXPECT_EQ(status, 0);
    out.resize(static_cast<std::size_t>(std::max(n, 0L)));
    return out;
}

// cfitsio's decoder on `stream` followed by 16 KiB of `fill` (so that a read past the stream
// shows as a change in the pixels when `fill` changes, instead of a crash). Sets `status`.
std::vector<int> hdecompress(Bytes stream, const Tile& t, std::uint8_t fill, int& status) {
    stream.resize(stream.size() + (16 << 10), fill);
    std::vector<LONGLONG> a(t.px.size() + 1);  // the 64-bit decoder packs its ints into the first half
    int nx = 0, ny = 0, scale = 0;
    status = 0;
    if (t.wide) {
        fits_hdecompress64(stream.data(), 0, a.data(), &nx, &ny, &scale, &status);
        const int* ints = reinterpret_cast<const int*>(a.data());
        return std::vector<int>(ints, ints + t.px.size());
    }
    std::vector<int> ints(t.px.size() + 1);
    fits_hdecompress(stream.data(), 0, ints.data(), &nx, &ny, &scale, &status);
    ints.pop_back();
    return ints;
}

bool complete(std::span<const std::uint8_t> s, const Tile& t) {
    return hcompress_stream_complete(s, t.w, t.h, t.zbitpix());
}

std::vector<Tile> tiles() {
    std::vector<Tile> out;
    unsigned seed = 1;
    for (const auto& [w, h] : std::vector<std::pair<long, long>>{
             {2, 2}, {3, 5}, {4, 4}, {5, 7}, {7, 5}, {16, 16}, {40, 30}, {30, 90}, {100, 100}, {33, 4}})
        for (const char* kind : {"zeros", "const", "mask", "noise", "wide"})
            for (const bool wide : {false, true}) out.push_back({w, h, wide, pixels(kind, w, h, wide, seed++)});
    return out;
}

TEST(HcompressCheck, EveryStreamCfitsioWritesPassesAndDecodesToItsPixels) {
    for (const auto& t : tiles()) {
        const Bytes s = hcompress(t);
        EXPECT_TRUE(complete(s, t)) << t.w << "x" << t.h << " wide " << t.wide << ", " << s.size() << " bytes";
        int status = 0;
        EXPECT_EQ(hdecompress(s, t, 0, status), t.px) << t.w << "x" << t.h;
        EXPECT_EQ(status, 0);
    }
}

TEST(HcompressCheck, StreamTruncatedAtEveryLengthFails) {
    for (const auto& t : tiles()) {
        if (t.w * t.h > 1600) continue;  // the 100x100 and 30x90 tiles: enough lengths below
        const Bytes s = hcompress(t);
        std::vector<std::size_t> accepted;
        for (std::size_t len = 0; len < s.size(); ++len)
            if (complete(std::span<const std::uint8_t>(s.data(), len), t)) accepted.push_back(len);
        EXPECT_TRUE(accepted.empty()) << t.w << "x" << t.h << " wide " << t.wide << ": " << accepted.size()
                                      << " truncations of " << s.size() << " bytes accepted, the first "
                                      << accepted.front();
    }
}

// Byte `at` of `s` set to `v`.
Bytes with(Bytes s, std::size_t at, std::uint8_t v) {
    s.at(at) = v;
    return s;
}

TEST(HcompressCheck, WrongSizeMagicPlaneCountOrPlaneCodeFails) {
    const Tile t{40, 30, true, pixels("mask", 40, 30, true, 9)};
    const Bytes s = hcompress(t);
    ASSERT_TRUE(complete(s, t));
    // nx (bytes 2..5) counts rows: the tile's height; ny (6..9) is the row length.
    EXPECT_EQ(s[5], 30);
    EXPECT_EQ(s[9], 40);
    EXPECT_FALSE(hcompress_stream_complete(s, 30, 40, 32));  // swapped
    EXPECT_FALSE(hcompress_stream_complete(s, 40, 29, 32));
    EXPECT_FALSE(hcompress_stream_complete(s, 39, 30, 32));
    EXPECT_FALSE(complete(with(s, 5, 31), t));  // the stream says 31 rows: cfitsio would write past the tile
    EXPECT_FALSE(complete(with(s, 9, 41), t));
    EXPECT_FALSE(complete(with(s, 2, 0x80), t));  // a negative size
    EXPECT_FALSE(complete(with(s, 0, 0xDE), t));  // magic
    EXPECT_FALSE(complete(with(s, 1, 0x98), t));
    EXPECT_FALSE(hcompress_stream_complete(s, 0, 0, 32));
    // nbitplanes (bytes 22..24): 64 is more than the 64-bit decoder's coefficients hold, 32 more
    // than the int decoder's.
    EXPECT_FALSE(complete(with(s, 22, 64), t));
    const Tile ti{40, 30, false, pixels("mask", 40, 30, false, 9)};
    const Bytes si = hcompress(ti);
    ASSERT_TRUE(complete(si, ti));
    EXPECT_FALSE(complete(with(si, 22, 32), ti));
    EXPECT_FALSE(complete(with(si, 23, 255), ti));
    // The first plane code (the high nybble of byte 25) is 0x0 (direct) or 0xF (quadtree).
    ASSERT_TRUE((s[25] >> 4) == 0x0 || (s[25] >> 4) == 0xF);
    EXPECT_FALSE(complete(with(s, 25, static_cast<std::uint8_t>((s[25] & 0x0F) | 0x50)), t));
    EXPECT_FALSE(complete(Bytes{0xDD, 0x99}, t));
    EXPECT_FALSE(complete(Bytes{}, t));
    // Bytes after the stream are ignored, as cfitsio ignores them.
    Bytes longer = s;
    longer.resize(s.size() + 10, 0xAB);
    EXPECT_TRUE(complete(longer, t));
}

// A tile 1 pixel wide has an empty quadrant; cfitsio's encoder quadtree-codes its planes, and
// its decoder decodes them into a zero-byte scratch buffer (cfitsio's writer never makes such
// tiles: 4 pixels a side at least). Refused, unless the quadrant has no planes.
TEST(HcompressCheck, QuadtreeCodedPlaneOfAnEmptyQuadrantFails) {
    const Tile narrow{1, 9, true, pixels("noise", 1, 9, true, 4)};
    EXPECT_FALSE(complete(hcompress(narrow), narrow));
    const Tile zeros{1, 9, true, pixels("zeros", 1, 9, true, 4)};
    EXPECT_TRUE(complete(hcompress(zeros), zeros));
}

// Every single-byte change the walk accepts is a stream cfitsio decodes within its bytes: the
// same pixels and status whatever follows the stream.
TEST(HcompressCheck, AcceptedCorruptionsDecodeWithinTheStream) {
    std::mt19937 rng(11);
    std::uniform_int_distribution<int> byte(0, 255);
    long accepted = 0, refused = 0;
    for (const auto& t : tiles()) {
        if (t.w * t.h > 1600) continue;
        const Bytes s = hcompress(t);
        for (std::size_t at = 0; at < s.size(); ++at) {
            const Bytes m = with(s, at, static_cast<std::uint8_t>(byte(rng)));
            if (!complete(m, t)) {
                ++refused;
                continue;
            }
            ++accepted;
            int st0 = 0, st1 = 0;
            const auto a = hdecompress(m, t, 0x00, st0), b = hdecompress(m, t, 0xFF, st1);
            EXPECT_EQ(st0, st1) << t.w << "x" << t.h << " byte " << at;
            EXPECT_EQ(a, b) << t.w << "x" << t.h << " wide " << t.wide << " byte " << at << " of " << s.size();
        }
    }
    EXPECT_GT(accepted, 10000);
    EXPECT_GT(refused, 2000);
}

CoaddHeader header(long w, long h) {
    return dr10_brick_header(kernels::brick_wall().brick_by_name("1501p022").value(), "r", "nanomaggy", w, h);
}

/// The COMPRESSED_DATA column of a tile-compressed coadd's HDU 2, as cfitsio reads it.
struct TileTable {
    long long heap = 0;  ///< file offset of the heap
    std::vector<std::pair<long long, long long>> tiles;  ///< (bytes, heap offset) per tile
};

TileTable tile_table(const std::string& path) {
    TileTable out;
    fitsfile* f = nullptr;
    int st = 0, type = 0, col = 0;
    fits_open_file(&f, path.c_str(), READONLY, &st);
    fits_movabs_hdu(f, 2, &type, &st);
    LONGLONG start = 0, dstart = 0, dend = 0;
    fits_get_hduaddrll(f, &start, &dstart, &dend, &st);
    long naxis1 = 0, naxis2 = 0;
    fits_read_key(f, TLONG, "NAXIS1", &naxis1, nullptr, &st);
    fits_read_key(f, TLONG, "NAXIS2", &naxis2, nullptr, &st);
    fits_get_colnum(f, CASEINSEN, const_cast<char*>("COMPRESSED_DATA"), &col, &st);
    for (long row = 1; row <= naxis2 && st == 0; ++row) {
        LONGLONG len = 0, off = 0;
        fits_read_descriptll(f, col, row, &len, &off, &st);
        out.tiles.emplace_back(len, off);
    }
    out.heap = dstart + naxis1 * naxis2;
    fits_close_file(f, &st);
    EXPECT_EQ(st, 0) << path;
    return out;
}

Bytes file_bytes(const std::string& path, long long at, long long n) {
    Bytes b(static_cast<std::size_t>(n));
    std::ifstream in(path, std::ios::binary);
    in.seekg(at);
    in.read(reinterpret_cast<char*>(b.data()), static_cast<std::streamsize>(n));
    return b;
}

// Every tile of the HCOMPRESS image `path` (tiles `tw` x `th`) passes the walk.
void expect_every_tile_passes(const std::string& path) {
    const auto img = BrickImage::open(path);
    ASSERT_EQ(img.compression_type().rfind("HCOMPRESS_1", 0), 0u) << path;
    const auto [tw, th] = img.tile_shape().value();
    const long ntx = (img.width() + tw - 1) / tw;
    const TileTable table = tile_table(path);
    ASSERT_EQ(static_cast<long>(table.tiles.size()), ntx * ((img.height() + th - 1) / th)) << path;
    for (std::size_t t = 0; t < table.tiles.size(); ++t) {
        const long tx = static_cast<long>(t) % ntx, ty = static_cast<long>(t) / ntx;
        const long w = std::min(tw, img.width() - tx * tw), h = std::min(th, img.height() - ty * th);
        const auto [len, off] = table.tiles[t];
        EXPECT_TRUE(hcompress_stream_complete(file_bytes(path, table.heap + off, len), w, h, img.bitpix()))
            << path << " tile " << t + 1 << " (" << w << "x" << h << ")";
    }
}

TEST(HcompressCheck, EveryTileOfACfitsioWrittenCoaddPassesAndReadsBackExactly) {
    TempDir tmp("dhs-hcompress-");
    const long w = 230, h = 190;  // 100x100 tiles: partial tiles 30 wide and 90 high
    std::vector<std::int32_t> mask(static_cast<std::size_t>(w * h));
    std::vector<std::int16_t> nexp(mask.size());
    for (std::size_t i = 0; i < mask.size(); ++i) {
        mask[i] = static_cast<std::int32_t>((i * 2654435761u) >> 15) & 0x1ffff;
        nexp[i] = static_cast<std::int16_t>((i / 7) % 13);
    }
    const std::string mpath = tmp.file("maskbits.fits.fz"), npath = tmp.file("nexp.fits.fz");
    write_coadd_image(mpath, std::span<const std::int32_t>(mask), w, h, header(w, h), dr10_coadd_compression("maskbits"));
    write_coadd_image(npath, std::span<const std::int16_t>(nexp), w, h, header(w, h), dr10_coadd_compression("nexp-r"));
    expect_every_tile_passes(mpath);
    expect_every_tile_passes(npath);
    EXPECT_EQ(BrickImage::open(mpath).read_full_int(), mask);
    const auto n = BrickImage::open(npath).read_full_int();
    EXPECT_TRUE(std::equal(n.begin(), n.end(), nexp.begin(), nexp.end()));
    std::vector<std::int32_t> box(static_cast<std::size_t>(w * h));
    TileReader::open(mpath).read_box_int({0, 0, w, h}, box);
    EXPECT_EQ(box, mask);
}

// Fuzz regression (tests/fuzz, fuzz_tile_reader: a SEGV in cfitsio's fits_hdecompress64 on a
// mutated maskbits-like coadd): a corrupt HCOMPRESS tile is refused before cfitsio decodes it,
// as a FitsError naming the file and the tile; the other tiles read as written. (cfitsio itself
// would read past tile 1, write past tile 2, and hang on tile 3: on an error it detects, its
// decoder calls ffpmsg while holding cfitsio's lock, a deadlock in the reentrant build.)
TEST(HcompressCheck, CorruptHcompressCoaddTileIsAFitsErrorNamingTheTile) {
    TempDir tmp("dhs-hcompress-");
    const long w = 40, h = 30;
    std::vector<std::int32_t> px(static_cast<std::size_t>(w * h));
    for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::int32_t>((i * 40503u) >> 3) & 0xfff;
    CoaddCompression c = dr10_coadd_compression("maskbits");
    c.tile_width = c.tile_height = 16;  // tiles 1..3 on the first row: x [0, 16) [16, 32) [32, 40)
    const std::string path = tmp.file("maskbits.fits.fz");
    write_coadd_image(path, std::span<const std::int32_t>(px), w, h, header(w, h), c);
    const TileTable table = tile_table(path);
    ASSERT_EQ(table.tiles.size(), 6u);
    {
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        // Tile 1: the sign bits and more cut off (bytes after the stream are zeroed, the
        // descriptor kept): cfitsio reads on into what follows.
        const auto [len1, off1] = table.tiles[0];
        f.seekp(table.heap + off1 + len1 / 2);
        for (long long i = len1 / 2; i < len1; ++i) f.put(static_cast<char>(0xFF));
        // Tile 2: the stream claims 17 rows of 16 (cfitsio would write past the tile).
        f.seekp(table.heap + table.tiles[1].second + 5);
        f.put(static_cast<char>(17));
        // Tile 3: a plane code that is neither 0x0 nor 0xF.
        f.seekp(table.heap + table.tiles[2].second + 25);
        f.put(static_cast<char>(0x55));
    }
    const struct {
        long x0, tile;
    } cases[] = {{2, 1}, {20, 2}, {34, 3}};
    for (const auto& k : cases) {
        std::vector<std::int32_t> out(4 * 4);
        try {
            BrickImage::open(path).read_box_int(k.x0, 2, 4, 4, std::span<std::int32_t>(out));
            ADD_FAILURE() << "no error for corrupt tile " << k.tile;
        } catch (const FitsError& e) {
            EXPECT_THAT(e.what(), HasSubstr(path));
            EXPECT_THAT(e.what(), HasSubstr("tile " + std::to_string(k.tile) + " (x ["));
            EXPECT_THAT(e.what(), HasSubstr("HCOMPRESS stream ends early or is malformed"));
        }
        EXPECT_THROW(TileReader::open(path).read_box_int({k.x0, 2, 4, 4}, out), FitsError) << "tile " << k.tile;
    }
    // The second row of tiles reads as written.
    const auto box = BrickImage::open(path).read_box_int(0, 16, w, h - 16);
    EXPECT_TRUE(std::equal(box.begin(), box.end(), px.begin() + 16 * w));
}

// Real HCOMPRESS coadds (legacypipe maskbits / nexp .fits.fz) in the shared data, read in
// place: every tile passes. data/real holds none at present; the test then says so.
TEST(HcompressCheck, RealHcompressCoaddsPassTileByTile) {
    const fs::path root = fs::path(DHS_SHARED_DIR) / "data/real";
    if (!fs::exists(root)) GTEST_SKIP() << root << " is missing";
    int found = 0;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
        if (!e.is_regular_file() || e.path().extension() != ".fz") continue;
        const auto img = BrickImage::open(e.path().string());
        if (img.compression_type().rfind("HCOMPRESS_1", 0) != 0) continue;
        ++found;
        expect_every_tile_passes(e.path().string());
        EXPECT_NO_THROW((void)img.read_full_int()) << e.path();
    }
    if (found == 0) GTEST_SKIP() << "no HCOMPRESS .fits.fz under " << root;
}

}  // namespace
}  // namespace dhs::fits
