// fuzz_make_seeds OUT_DIR: small valid inputs for the harnesses of tests/fuzz, written at run
// time so that nothing binary is committed (scripts/fuzz.sh adds the mock sky's files, the real
// files of shared/data/real and configs/*.yaml). Writes OUT_DIR/<harness>/<name>:
//   tile_reader/  coadds of 40x30 pixels in 16x16 tiles: RICE float with each dither and NaN
//                 pixels (DR10's layout, read without cfitsio), GZIP float, HCOMPRESS and RICE
//                 int32, a plain float image (these go through cfitsio)
//   rice/         RICE streams (cfitsio's fits_rcomp) with the harness's 12-byte prefix
//   sweep_reader/ a 3-row binary table with every TFORM letter, TSCAL/TZERO, TDIM, a
//                 variable-length column
//   spool/        spool files (write_spool) with every dtype, shaped columns, strings, no rows
//   fits_header/  header blocks of the coadds above
#include <fitsio.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "core/engine/spool.hpp"
#include "core/fits/coadd_writer.hpp"
#include "kernels/geometry/brick_geometry.hpp"

extern "C" int fits_rcomp(int a[], int nx, unsigned char* c, int clen, int nblock);

namespace fs = std::filesystem;
using namespace dhs;

namespace {

void write_bytes(const fs::path& p, const void* data, std::size_t n) {
    std::ofstream out(p, std::ios::binary);
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
    if (!out) throw std::runtime_error("cannot write " + p.string());
}

void tile_seeds(const fs::path& dir) {
    const kernels::Brick brick = kernels::brick_wall().brick_at(150.1, 2.2);
    const long W = 40, H = 30;
    std::vector<float> f(static_cast<std::size_t>(W * H));
    std::vector<std::int32_t> m(f.size());
    for (long y = 0; y < H; ++y)
        for (long x = 0; x < W; ++x) {
            const auto i = static_cast<std::size_t>(y * W + x);
            f[i] = static_cast<float>(std::sin(0.3 * x) * std::cos(0.2 * y) + 0.01 * x);
            m[i] = static_cast<std::int32_t>((x * 7 + y * 3) % 5 == 0 ? 1 << (x % 12) : 0);
        }
    f[5] = std::numeric_limits<float>::quiet_NaN();
    f[300] = 0.0f;
    const auto h = fits::dr10_brick_header(brick, "r", "nanomaggy", W, H);
    auto comp = [](fits::CoaddCodec codec, fits::QuantizeMethod q, float level) {
        fits::CoaddCompression c;
        c.codec = codec;
        c.tile_width = 16;
        c.tile_height = 16;
        c.quantize_level = level;
        c.method = q;
        return c;
    };
    using C = fits::CoaddCodec;
    using Q = fits::QuantizeMethod;
    fits::write_coadd_image((dir / "rice-dither2.fits.fz").string(), f, W, H, h, comp(C::rice, Q::subtractive_dither_2, -1e-3f));
    fits::write_coadd_image((dir / "rice-dither1.fits.fz").string(), f, W, H, h, comp(C::rice, Q::subtractive_dither_1, 4));
    fits::write_coadd_image((dir / "rice-nodither.fits.fz").string(), f, W, H, h, comp(C::rice, Q::no_dither, 16));
    fits::write_coadd_image((dir / "gzip-float.fits.fz").string(), f, W, H, h, comp(C::gzip, Q::subtractive_dither_2, 0));
    fits::write_coadd_image((dir / "hcompress-int.fits.fz").string(), m, W, H, h, comp(C::hcompress, Q::no_dither, 0));
    fits::write_coadd_image((dir / "rice-int.fits.fz").string(), m, W, H, h, comp(C::rice, Q::no_dither, 0));
    fits::write_coadd_image((dir / "plain-float.fits").string(), f, W, H, h, comp(C::none, Q::no_dither, 0));
}

void rice_seeds(const fs::path& dir) {
    const int n = 300;
    std::vector<int> patterns[4];
    for (int i = 0; i < n; ++i) {
        patterns[0].push_back(1000);                                     // constant: fs = -1 blocks
        patterns[1].push_back(i * 3 - 200);                               // small differences
        patterns[2].push_back(static_cast<int>(std::sin(i * 0.7) * 1e5));  // larger ones
        patterns[3].push_back(i % 17 == 0 ? std::numeric_limits<int>::min() + i : i);  // huge jumps: raw blocks
    }
    for (int p = 0; p < 4; ++p)
        for (const int block : {32, 16}) {
            std::vector<unsigned char> out(12 + 8 * n + 64);
            const int len = fits_rcomp(patterns[p].data(), n, out.data() + 12, static_cast<int>(out.size() - 12), block);
            if (len <= 0) throw std::runtime_error("fits_rcomp failed");
            out[0] = block == 32 ? 1 : 0;
            out[1] = static_cast<unsigned char>(n & 0xFF);
            out[2] = static_cast<unsigned char>(n >> 8);
            out[3] = static_cast<unsigned char>(p);  // dither none / 1 / 2, nulls on for p = 3... (mode & 4)
            for (int k = 4; k < 12; ++k) out[static_cast<std::size_t>(k)] = static_cast<unsigned char>(k * p + 1);
            out.resize(static_cast<std::size_t>(12 + len));
            write_bytes(dir / ("rice-" + std::to_string(p) + "-" + std::to_string(block)), out.data(), out.size());
        }
}

void check(int status, const char* what) {
    if (status != 0) {
        char msg[FLEN_ERRMSG];
        fits_get_errstatus(status, msg);
        throw std::runtime_error(std::string(what) + ": " + msg);
    }
}

void sweep_seeds(const fs::path& dir) {
    const std::string path = (dir / "every-tform.fits").string();
    fs::remove(path);
    fitsfile* f = nullptr;
    int status = 0;
    fits_create_file(&f, path.c_str(), &status);
    check(status, "create");
    const char* ttype[] = {"FLAG", "BITS", "SBYTE", "UINT16", "INT32", "INT64", "FLUX", "DFLUX", "TYPE", "NAMES", "VEC", "VAR"};
    const char* tform[] = {"L", "8X", "B", "I", "J", "K", "E", "D", "3A", "8A", "6E", "1PE(3)"};
    const char* tunit[] = {"", "", "", "", "", "", "nanomaggy", "", "", "", "deg", ""};
    fits_create_tbl(f, BINARY_TBL, 0, 12, const_cast<char**>(ttype), const_cast<char**>(tform), const_cast<char**>(tunit),
                    "SWEEP", &status);
    double tzero_b = -128, tzero_i = 32768, tscal_e = 2.5;
    fits_write_key(f, TDOUBLE, "TZERO3", &tzero_b, "signed byte", &status);
    fits_write_key(f, TDOUBLE, "TZERO4", &tzero_i, "unsigned 16", &status);
    fits_write_key(f, TDOUBLE, "TSCAL7", &tscal_e, "scaled float", &status);
    fits_write_key(f, TSTRING, "TDIM10", const_cast<char*>("(4,2)"), "two strings of 4", &status);
    fits_write_key(f, TSTRING, "TDIM11", const_cast<char*>("(3,2)"), "2x3 array", &status);
    check(status, "header");
    fits_set_tscale(f, 3, 1.0, -128, &status);
    fits_set_tscale(f, 4, 1.0, 32768, &status);
    fits_set_tscale(f, 7, 2.5, 0, &status);
    for (long r = 1; r <= 3; ++r) {
        char flag = r % 2 ? 1 : 0;
        char bits[8];
        for (int k = 0; k < 8; ++k) bits[k] = static_cast<char>(((0xA5 ^ r) >> k) & 1);
        signed char sb = static_cast<signed char>(-r);
        unsigned short u16 = static_cast<unsigned short>(40000 + r);
        int i32 = static_cast<int>(-100000 * r);
        LONGLONG i64 = 1LL << (40 + r);
        float e = 1.5f * static_cast<float>(r);
        double d = 3.25 * static_cast<double>(r);
        const char* type[] = {r == 1 ? "DEV" : r == 2 ? "PSF" : "REX"};
        const char* names[] = {"abcdefgh"};
        float vec[6] = {1, 2, 3, 4, 5, static_cast<float>(r)};
        float var[3] = {0.5f, 1.5f, 2.5f};
        fits_write_col(f, TLOGICAL, 1, r, 1, 1, &flag, &status);
        fits_write_col_bit(f, 2, r, 1, 8, bits, &status);
        fits_write_col(f, TSBYTE, 3, r, 1, 1, &sb, &status);
        fits_write_col(f, TUSHORT, 4, r, 1, 1, &u16, &status);
        fits_write_col(f, TINT, 5, r, 1, 1, &i32, &status);
        fits_write_col(f, TLONGLONG, 6, r, 1, 1, &i64, &status);
        fits_write_col(f, TFLOAT, 7, r, 1, 1, &e, &status);
        fits_write_col(f, TDOUBLE, 8, r, 1, 1, &d, &status);
        fits_write_col(f, TSTRING, 9, r, 1, 1, const_cast<char**>(type), &status);
        fits_write_col(f, TSTRING, 10, r, 1, 1, const_cast<char**>(names), &status);
        fits_write_col(f, TFLOAT, 11, r, 1, 6, vec, &status);
        fits_write_col(f, TFLOAT, 12, r, 1, static_cast<LONGLONG>(r), var, &status);
        check(status, "row");
    }
    fits_close_file(f, &status);
    check(status, "close");
}

void spool_seeds(const fs::path& dir) {
    engine::UnitOutput out;
    Table t;
    t.add(Column("flag", std::vector<std::uint8_t>{1, 0, 1}, {}, DType::boolean));
    t.add(Column("i8", std::vector<std::int8_t>{-1, 2, 3}));
    t.add(Column("u16", std::vector<std::uint16_t>{1, 65535, 3}));
    t.add(Column("i32", std::vector<std::int32_t>{-7, 0, 7}));
    t.add(Column("u64", std::vector<std::uint64_t>{1, 2, 3}));
    t.add(Column("x", std::vector<double>{0.5, 1.5, 2.5}));
    t.add(Column("stamp", std::vector<float>(3 * 2 * 3, 0.25f), {2, 3}));
    t.add(Column("name", std::vector<std::string>{"a", "", "lens | b"}));
    out["objects"] = t;
    Table e;
    e.add(Column("id", std::vector<std::int64_t>{}));
    e.add(Column("why", std::vector<std::string>{}));
    out["failures"] = e;
    engine::write_spool(dir.string(), 7, out);
    engine::write_spool(dir.string(), 8, engine::UnitOutput{});
}

void header_seeds(const fs::path& tile_dir, const fs::path& dir) {
    for (const auto& e : fs::directory_iterator(tile_dir)) {
        std::ifstream in(e.path(), std::ios::binary);
        std::vector<char> head(2880 * 3);
        in.read(head.data(), static_cast<std::streamsize>(head.size()));
        head.resize(static_cast<std::size_t>(in.gcount()));
        write_bytes(dir / (e.path().filename().string() + ".hdr"), head.data(), head.size());
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: fuzz_make_seeds OUT_DIR\n");
        return 2;
    }
    const fs::path root = argv[1];
    try {
        for (const char* h : {"tile_reader", "rice", "sweep_reader", "spool", "fits_header"}) fs::create_directories(root / h);
        tile_seeds(root / "tile_reader");
        rice_seeds(root / "rice");
        sweep_seeds(root / "sweep_reader");
        spool_seeds(root / "spool");
        header_seeds(root / "tile_reader", root / "fits_header");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fuzz_make_seeds: %s\n", e.what());
        return 1;
    }
    return 0;
}
