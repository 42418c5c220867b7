// TileReader (see tile_reader.hpp): the tile index of a compressed HDU read once, tiles decoded
// by rice_codec (fast path) or cfitsio, a cache of decoded tiles with planned lifetimes.
#include "core/fits/tile_reader.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/fits/cfitsio_handle.hpp"
#include "core/fits/rice_codec.hpp"

namespace dhs::fits {

namespace {

std::string upper_trim(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
}

/// Reads an optional keyword of the current HDU's own header; false when absent.
template <class T>
bool optional_key(const FitsFile& f, int datatype, const char* name, T* value) {
    int status = 0;
    fits_write_errmark();
    fits_read_key(fptr(f), datatype, name, value, nullptr, &status);
    fits_clear_errmark();
    if (status == KEY_NO_EXIST) return false;
    f.check(status, fmt::format("cannot read keyword {}", name));
    return true;
}

bool optional_string_key(const FitsFile& f, const char* name, std::string* value) {
    char buf[FLEN_VALUE] = {0};
    if (!optional_key(f, TSTRING, name, buf)) return false;
    *value = upper_trim(buf);
    return true;
}

/// Column number of `name` (case-insensitive) or 0 when the table has none.
int column_number(const FitsFile& f, const char* name) {
    int status = 0, col = 0;
    fits_write_errmark();
    fits_get_colnum(fptr(f), CASEINSEN, const_cast<char*>(name), &col, &status);
    fits_clear_errmark();
    return status == 0 ? col : 0;
}

}  // namespace

struct TileReader::Impl {
    BrickImage img;
    long W = 0, H = 0;
    bool tiled = false, fast = false, is_float = true;
    long tw = 0, th = 0, ntx = 1, nty = 1;

    // Fast path: the tile index and quantisation of the compressed HDU.
    int block_size = 32;
    Dither dither = Dither::none;
    long dither0 = 1;
    std::vector<LONGLONG> clen, coff;   // COMPRESSED_DATA descriptors per tile (bytes, heap offset)
    std::vector<double> zscale, zzero;  // per tile
    std::vector<int> zblank;            // per tile when a ZBLANK column exists
    bool has_null = false;
    int null_value = 0;
    LONGLONG heap_start = 0;            // heap offset from the start of the data unit

    // The cache.
    std::vector<std::vector<float>> ftile;
    std::vector<std::vector<std::int32_t>> itile;
    std::vector<float> ffull;
    std::vector<std::int32_t> ifull;
    bool full = false;
    std::vector<int> uses;  // planned reads left per tile; empty: no plan (keep every tile)
    std::vector<std::uint8_t> cbuf;
    std::vector<std::int32_t> qbuf;
    TileStats stats;

    explicit Impl(BrickImage i) : img(std::move(i)) {
        W = img.width();
        H = img.height();
        is_float = img.bitpix() < 0;
        tiled = img.is_compressed() && img.tile_shape().has_value();
        if (tiled) {
            tw = (*img.tile_shape())[0];
            th = (*img.tile_shape())[1];
            if (tw <= 0 || th <= 0) throw FitsError(img.path(), img.hdu(), "", 0, "bad ZTILE values", "");
            ntx = (W + tw - 1) / tw;
            nty = (H + th - 1) / th;
        } else {
            tw = W;
            th = H;
        }
        if (tiled) setup_fast_path();
        const auto n = static_cast<std::size_t>(ntx * nty);
        if (is_float)
            ftile.resize(n);
        else
            itile.resize(n);
    }

    long tile_w(long tx) const { return std::min(tw, W - tx * tw); }
    long tile_h(long ty) const { return std::min(th, H - ty * th); }

    void setup_fast_path() {
        const FitsFile& f = img.file();
        const std::string cmp = upper_trim(img.compression_type());
        if ((cmp != "RICE_1" && cmp != "RICE_ONE") || img.bitpix() != -32) return;
        // RICE parameters: ZNAMEn / ZVALn pairs (BLOCKSIZE, BYTEPIX); defaults 32 and 4.
        int bytepix = 4;
        for (int i = 1; i <= 4; ++i) {
            std::string zname;
            if (!optional_string_key(f, fmt::format("ZNAME{}", i).c_str(), &zname)) continue;
            int v = 0;
            if (!optional_key(f, TINT, fmt::format("ZVAL{}", i).c_str(), &v)) continue;
            if (zname == "BLOCKSIZE") block_size = v;
            if (zname == "BYTEPIX") bytepix = v;
            if (zname == "NOISEBIT") return;  // pre-2009 layout: leave it to cfitsio
        }
        if (bytepix != 4 || block_size <= 0) return;
        // Quantisation: ZSCALE and ZZERO per tile (columns) or constant (keywords).
        const int cs = column_number(f, "ZSCALE"), cz = column_number(f, "ZZERO");
        double kscale = 1, kzero = 0;
        const bool ks = cs == 0 && optional_key(f, TDOUBLE, "ZSCALE", &kscale);
        const bool kz = cz == 0 && optional_key(f, TDOUBLE, "ZZERO", &kzero);
        if ((cs == 0 && !ks) || (cz == 0 && !kz)) return;  // not quantised: cfitsio's business
        std::string q;
        if (optional_string_key(f, "ZQUANTIZ", &q)) {
            if (q == "SUBTRACTIVE_DITHER_1")
                dither = Dither::subtractive_1;
            else if (q == "SUBTRACTIVE_DITHER_2")
                dither = Dither::subtractive_2;
            else if (q != "NO_DITHER")
                return;  // NONE or unknown
        }
        int d0 = 1;
        if (optional_key(f, TINT, "ZDITHER0", &d0)) dither0 = d0;
        // BSCALE / BZERO of the image on top of ZSCALE / ZZERO: rare; cfitsio combines them.
        for (const char* k : {"BSCALE", "BZERO"}) {
            const auto v = img.keyword_double(k);
            if (v && *v != (std::string(k) == "BSCALE" ? 1.0 : 0.0)) return;
        }
        // Nulls: a ZBLANK column, else the ZBLANK or BLANK keyword.
        const int cb = column_number(f, "ZBLANK");
        if (cb == 0) {
            has_null = optional_key(f, TINT, "ZBLANK", &null_value) || optional_key(f, TINT, "BLANK", &null_value);
        } else {
            has_null = true;
        }
        const int cc = column_number(f, "COMPRESSED_DATA");
        if (cc == 0) return;
        const LONGLONG n = static_cast<LONGLONG>(ntx) * nty;
        LONGLONG rows = 0, naxis1 = 0, theap = 0;
        int status = 0;
        fits_read_key(fptr(f), TLONGLONG, "NAXIS2", &rows, nullptr, &status);
        fits_read_key(fptr(f), TLONGLONG, "NAXIS1", &naxis1, nullptr, &status);
        f.check(status, "cannot read the compressed table's NAXIS1 / NAXIS2");
        if (rows != n) throw FitsError(img.path(), img.hdu(), "", 0, fmt::format("{} tiles in the table, {} expected", rows, n), "");
        heap_start = optional_key(f, TLONGLONG, "THEAP", &theap) ? theap : naxis1 * rows;
        clen.resize(static_cast<std::size_t>(n));
        coff.resize(static_cast<std::size_t>(n));
        fits_read_descriptsll(fptr(f), cc, 1, n, clen.data(), coff.data(), &status);
        f.check(status, "cannot read the tile descriptors", "COMPRESSED_DATA");
        zscale.assign(static_cast<std::size_t>(n), kscale);
        zzero.assign(static_cast<std::size_t>(n), kzero);
        double dnull = 0;
        if (cs != 0) fits_read_col(fptr(f), TDOUBLE, cs, 1, 1, n, &dnull, zscale.data(), nullptr, &status);
        f.check(status, "cannot read the tile scales", "ZSCALE");
        if (cz != 0) fits_read_col(fptr(f), TDOUBLE, cz, 1, 1, n, &dnull, zzero.data(), nullptr, &status);
        f.check(status, "cannot read the tile zero points", "ZZERO");
        if (cb != 0) {
            zblank.resize(static_cast<std::size_t>(n));
            int inull = 0;
            fits_read_col(fptr(f), TINT, cb, 1, 1, n, &inull, zblank.data(), nullptr, &status);
            f.check(status, "cannot read the tile blanks", "ZBLANK");
        }
        fast = true;
    }

    TileQuantization quantization(long t) const {
        TileQuantization qz;
        const auto i = static_cast<std::size_t>(t);
        qz.scale = zscale[i];
        qz.zero = zzero[i];
        qz.dither = dither;
        qz.has_null = has_null;
        qz.null_value = zblank.empty() ? null_value : zblank[i];
        qz.dither_row = t + 1 + dither0 - 1;
        return qz;
    }

    [[noreturn]] void corrupt(long t, const std::string& why) const {
        const long tx = t % ntx, ty = t / ntx;
        throw FitsError(img.path(), img.hdu(), "", DATA_DECOMPRESSION_ERR,
                        fmt::format("tile {} (x [{}, {}) y [{}, {}) zero-based) cannot be decoded: {}", t + 1, tx * tw,
                                    tx * tw + tile_w(tx), ty * th, ty * th + tile_h(ty), why),
                        "");
    }

    /// Reads tile t's compressed bytes and RICE-decodes its first `pixels` integers into qbuf.
    void rice_tile(long t, std::size_t pixels) {
        const auto i = static_cast<std::size_t>(t);
        const auto n = static_cast<std::size_t>(clen[i]);
        cbuf.resize(n);
        int status = 0;
        fits_read_ext(fptr(img.file()), heap_start + coff[i], clen[i], cbuf.data(), &status);
        if (status != 0) img.file().check(status, fmt::format("cannot read the compressed bytes of tile {}", t + 1), "COMPRESSED_DATA");
        stats.bytes_read += static_cast<std::int64_t>(n);
        qbuf.resize(pixels);
        if (!rice_decode_int32(cbuf, std::span<std::int32_t>(qbuf.data(), pixels), block_size))
            corrupt(t, "the RICE stream ends early or is malformed");
        stats.pixels_decoded += static_cast<std::int64_t>(pixels);
    }

    /// True when tile t goes through rice_codec (a fast-path image with a RICE-coded tile;
    /// tiles stored otherwise, e.g. GZIP_COMPRESSED_DATA, go through cfitsio).
    bool fast_tile(long t) const { return fast && clen[static_cast<std::size_t>(t)] > 0; }

    /// Decodes tile t whole into the cache; a tile that fails is not kept (it fails again).
    void decode_tile(long t) {
        try {
            decode_tile_into_cache(t);
        } catch (...) {
            drop(t);
            throw;
        }
    }

    void decode_tile_into_cache(long t) {
        const long tx = t % ntx, ty = t / ntx, w = tile_w(tx), h = tile_h(ty);
        const auto npix = static_cast<std::size_t>(w * h);
        ++stats.tiles_decoded;
        if (is_float) {
            auto& buf = ftile[static_cast<std::size_t>(t)];
            buf.resize(npix);
            if (fast_tile(t)) {
                rice_tile(t, npix);
                unquantize_float(qbuf, 0, buf, quantization(t));
            } else {
                img.read_box(tx * tw, ty * th, w, h, std::span<float>(buf));
                ++stats.tiles_cfitsio;
                stats.pixels_decoded += static_cast<std::int64_t>(npix);
            }
        } else {
            auto& buf = itile[static_cast<std::size_t>(t)];
            buf.resize(npix);
            img.read_box_int(tx * tw, ty * th, w, h, std::span<std::int32_t>(buf));
            ++stats.tiles_cfitsio;
            stats.pixels_decoded += static_cast<std::int64_t>(npix);
        }
    }

    bool cached(long t) const {
        const auto i = static_cast<std::size_t>(t);
        return is_float ? !ftile[i].empty() : !itile[i].empty();
    }

    void drop(long t) {
        const auto i = static_cast<std::size_t>(t);
        if (is_float)
            std::vector<float>().swap(ftile[i]);
        else
            std::vector<std::int32_t>().swap(itile[i]);
    }

    void decode_all() {
        if (full) return;
        const auto npix = static_cast<std::size_t>(W) * static_cast<std::size_t>(H);
        ++stats.full_decodes;
        if (!tiled) {
            if (is_float)
                ffull = img.read_full();
            else
                ifull = img.read_full_int();
            stats.pixels_decoded += static_cast<std::int64_t>(npix);
        } else if (fast && is_float) {
            ffull.resize(npix);
            for (long t = 0; t < ntx * nty; ++t) {
                const long tx = t % ntx, ty = t / ntx, w = tile_w(tx), h = tile_h(ty);
                float* dst = ffull.data() + static_cast<std::size_t>(ty * th) * static_cast<std::size_t>(W) +
                             static_cast<std::size_t>(tx * tw);
                if (cached(t)) {
                    const auto& src = ftile[static_cast<std::size_t>(t)];
                    for (long r = 0; r < h; ++r)
                        std::memcpy(dst + r * W, src.data() + r * w, static_cast<std::size_t>(w) * sizeof(float));
                    continue;
                }
                ++stats.tiles_decoded;
                if (fast_tile(t)) {
                    rice_tile(t, static_cast<std::size_t>(w * h));
                    unquantize_float_box(qbuf, 0, static_cast<std::size_t>(w), static_cast<std::size_t>(h),
                                         static_cast<std::size_t>(w), dst, static_cast<std::size_t>(W), quantization(t));
                } else {
                    std::vector<float> tmp(static_cast<std::size_t>(w * h));
                    img.read_box(tx * tw, ty * th, w, h, std::span<float>(tmp));
                    for (long r = 0; r < h; ++r)
                        std::memcpy(dst + r * W, tmp.data() + r * w, static_cast<std::size_t>(w) * sizeof(float));
                    ++stats.tiles_cfitsio;
                    stats.pixels_decoded += w * h;
                }
            }
        } else {
            if (is_float)
                ffull = img.read_full();
            else
                ifull = img.read_full_int();
            stats.tiles_decoded += ntx * nty;
            stats.tiles_cfitsio += ntx * nty;
            stats.pixels_decoded += static_cast<std::int64_t>(npix);
        }
        full = true;
        for (long t = 0; t < ntx * nty; ++t) drop(t);
    }

    template <class T>
    long read(const PixelBox& b, std::span<T> out, T fill) {
        if (b.nx < 0 || b.ny < 0)
            throw std::invalid_argument(fmt::format("TileReader: bad box {}x{}", b.nx, b.ny));
        const auto total = static_cast<std::size_t>(b.nx) * static_cast<std::size_t>(b.ny);
        if (out.size() != total)
            throw std::invalid_argument(fmt::format("TileReader: output holds {} values, box {}x{}", out.size(), b.nx, b.ny));
        const long cx0 = std::max(b.x0, 0L), cy0 = std::max(b.y0, 0L);
        const long cx1 = std::min(b.x0 + b.nx, W), cy1 = std::min(b.y0 + b.ny, H);
        const long cw = std::max(0L, cx1 - cx0), ch = std::max(0L, cy1 - cy0);
        const long outside = static_cast<long>(total) - cw * ch;
        if (outside > 0) std::fill(out.begin(), out.end(), fill);
        if (cw == 0 || ch == 0) return outside;
        constexpr bool want_float = std::is_same_v<T, float>;
        if (want_float != is_float) {
            if constexpr (want_float) {
                // An integer image read as float: through cfitsio.
                img.read_box(b.x0, b.y0, b.nx, b.ny, out);
                return outside;
            } else {
                throw FitsError(img.path(), img.hdu(), "", 0,
                                fmt::format("integer read of a floating-point image (BITPIX {})", img.bitpix()), "");
            }
        }
        auto at = [&](long x, long y) { return out.data() + (y - b.y0) * b.nx + (x - b.x0); };
        if (!tiled && !full) {  // a plain image: cfitsio reads just the rows of the box
            if constexpr (want_float)
                img.read_box(b.x0, b.y0, b.nx, b.ny, out);
            else
                img.read_box_int(b.x0, b.y0, b.nx, b.ny, out, fill);
            return outside;
        }
        if (full) {
            const T* src;
            if constexpr (want_float)
                src = ffull.data();
            else
                src = ifull.data();
            for (long y = cy0; y < cy1; ++y)
                std::memcpy(at(cx0, y), src + static_cast<std::size_t>(y) * static_cast<std::size_t>(W) + cx0,
                            static_cast<std::size_t>(cw) * sizeof(T));
            return outside;
        }
        for (long ty = cy0 / th; ty <= (cy1 - 1) / th; ++ty) {
            for (long tx = cx0 / tw; tx <= (cx1 - 1) / tw; ++tx) {
                const long t = ty * ntx + tx, w = tile_w(tx);
                const long ox0 = std::max(cx0, tx * tw), ox1 = std::min(cx1, tx * tw + w);
                const long oy0 = std::max(cy0, ty * th), oy1 = std::min(cy1, ty * th + tile_h(ty));
                int* left = uses.empty() ? nullptr : &uses[static_cast<std::size_t>(t)];
                if constexpr (want_float) {
                    if (!cached(t) && left != nullptr && *left <= 1 && fast_tile(t)) {
                        // This box is the tile's last planned reader: decode only the rows it
                        // needs and un-quantise only its pixels, straight into the box.
                        const long rows_needed = oy1 - ty * th;
                        rice_tile(t, static_cast<std::size_t>(rows_needed * w));
                        ++stats.tiles_decoded;
                        if (rows_needed < tile_h(ty)) ++stats.tiles_partial;
                        const auto first = static_cast<std::size_t>((oy0 - ty * th) * w + (ox0 - tx * tw));
                        unquantize_float_box(qbuf, first, static_cast<std::size_t>(ox1 - ox0),
                                             static_cast<std::size_t>(oy1 - oy0), static_cast<std::size_t>(w),
                                             at(ox0, oy0), static_cast<std::size_t>(b.nx), quantization(t));
                        *left = 0;
                        continue;
                    }
                }
                if (!cached(t)) decode_tile(t);
                const T* src;
                if constexpr (want_float)
                    src = ftile[static_cast<std::size_t>(t)].data();
                else
                    src = itile[static_cast<std::size_t>(t)].data();
                for (long y = oy0; y < oy1; ++y)
                    std::memcpy(at(ox0, y), src + (y - ty * th) * w + (ox0 - tx * tw),
                                static_cast<std::size_t>(ox1 - ox0) * sizeof(T));
                if (left != nullptr && *left > 0 && --*left == 0) drop(t);
            }
        }
        return outside;
    }
};

TileReader TileReader::open(const std::string& path) { return TileReader(BrickImage::open(path)); }

TileReader::TileReader(BrickImage image) : impl_(std::make_unique<Impl>(std::move(image))) {}
TileReader::TileReader(TileReader&&) noexcept = default;
TileReader& TileReader::operator=(TileReader&&) noexcept = default;
TileReader::~TileReader() = default;

const BrickImage& TileReader::image() const noexcept { return impl_->img; }
long TileReader::width() const noexcept { return impl_->W; }
long TileReader::height() const noexcept { return impl_->H; }
bool TileReader::is_tiled() const noexcept { return impl_->tiled; }
bool TileReader::fast_path() const noexcept { return impl_->fast; }
long TileReader::tiles_x() const noexcept { return impl_->ntx; }
long TileReader::tiles_y() const noexcept { return impl_->nty; }
long TileReader::tile_width() const noexcept { return impl_->tw; }
long TileReader::tile_height() const noexcept { return impl_->th; }
const TileStats& TileReader::stats() const noexcept { return impl_->stats; }

namespace {
/// Calls f(tile index) for every tile of a reader's grid a box touches.
template <class F>
void for_tiles(const PixelBox& b, long W, long H, long tw, long th, long ntx, F&& f) {
    const long cx0 = std::max(b.x0, 0L), cy0 = std::max(b.y0, 0L);
    const long cx1 = std::min(b.x0 + b.nx, W), cy1 = std::min(b.y0 + b.ny, H);
    if (cx1 <= cx0 || cy1 <= cy0) return;
    for (long ty = cy0 / th; ty <= (cy1 - 1) / th; ++ty)
        for (long tx = cx0 / tw; tx <= (cx1 - 1) / tw; ++tx) f(ty * ntx + tx);
}
}  // namespace

long TileReader::tiles_needed(std::span<const PixelBox> boxes) const {
    const auto& m = *impl_;
    std::vector<char> seen(static_cast<std::size_t>(m.ntx * m.nty), 0);
    long n = 0;
    for (const auto& b : boxes)
        for_tiles(b, m.W, m.H, m.tw, m.th, m.ntx, [&](long t) {
            if (!seen[static_cast<std::size_t>(t)]) {
                seen[static_cast<std::size_t>(t)] = 1;
                ++n;
            }
        });
    return n;
}

void TileReader::plan(std::span<const PixelBox> boxes, double full_decode_fraction) {
    auto& m = *impl_;
    m.uses.assign(static_cast<std::size_t>(m.ntx * m.nty), 0);
    long needed = 0;
    for (const auto& b : boxes)
        for_tiles(b, m.W, m.H, m.tw, m.th, m.ntx, [&](long t) {
            if (m.uses[static_cast<std::size_t>(t)]++ == 0) ++needed;
        });
    if (!m.tiled) {
        m.uses.clear();
        return;
    }
    if (full_decode_fraction <= 1.0 && static_cast<double>(needed) >= full_decode_fraction * static_cast<double>(m.ntx * m.nty))
        m.decode_all();
}

long TileReader::read_box(const PixelBox& box, std::span<float> out) {
    return impl_->read<float>(box, out, std::numeric_limits<float>::quiet_NaN());
}

long TileReader::read_box_int(const PixelBox& box, std::span<std::int32_t> out, std::int32_t fill) {
    return impl_->read<std::int32_t>(box, out, fill);
}

float TileReader::read_pixel(long x, long y) {
    float v = std::numeric_limits<float>::quiet_NaN();
    read_box({x, y, 1, 1}, std::span<float>(&v, 1));
    return v;
}

void TileReader::decode_all() { impl_->decode_all(); }

void TileReader::release() {
    auto& m = *impl_;
    for (long t = 0; t < m.ntx * m.nty; ++t) m.drop(t);
    std::vector<float>().swap(m.ffull);
    std::vector<std::int32_t>().swap(m.ifull);
    m.full = false;
    m.uses.clear();
}

}  // namespace dhs::fits
