// BrickImage: box reads from plain or tile-compressed FITS images (see brick_image.hpp).
// Zero-based pixels in the API; cfitsio's 1-based fpixel/lpixel appear only in read_clipped.
#include "core/fits/brick_image.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include <fmt/format.h>
#include <zlib.h>

#include "core/error.hpp"
#include "core/fits/cfitsio_handle.hpp"
#include "core/fits/hcompress_check.hpp"
#include "core/fits/header_text.hpp"
#include "core/fits/rice_codec.hpp"

namespace dhs::fits {

namespace {

static_assert(sizeof(int) == sizeof(std::int32_t), "TINT must be 32-bit");
constexpr long kMaxCoord = 1L << 40;  // keeps x0 + nx and nx * ny far from overflow

std::string upper(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

std::optional<double> parse_double(std::string_view token) {
    std::string t(token);
    if (!t.empty() && t.front() == '+') t.erase(0, 1);
    for (char& c : t)
        if (c == 'D' || c == 'd') c = 'E';
    double v = 0;
    const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
    if (t.empty() || r.ec != std::errc() || r.ptr != t.data() + t.size()) return std::nullopt;
    return v;
}

/// Throws FitsError for a failed pixel read. cfitsio's stack is kept except its notes that a
/// compressed HDU has no ZSCALE / ZZERO column (stored as keywords instead): noise, not cause.
[[noreturn]] void throw_read_error(const std::string& path, int hdu, int status, const std::string& what) {
    const std::string all = cfitsio_messages(status);
    std::string kept;
    for (std::size_t start = 0; start <= all.size();) {
        std::size_t end = all.find("; ", start);
        if (end == std::string::npos) end = all.size();
        const std::string_view part(all.data() + start, end - start);
        if (!part.empty() && part.find("could not find column: Z") == std::string_view::npos)
            kept += (kept.empty() ? "" : "; ") + std::string(part);
        start = end + 2;
    }
    throw FitsError(path, hdu, "", status, what, kept);
}

/// What fits_convert_hdr2str does for a tile-compressed HDU (the header of the image it
/// holds, via an in-memory copy made by fits_img_decompress_header), except that the copy's
/// NAXIS is set to 0 before the copy is closed: closing it at full size makes cfitsio
/// fill the whole image with zeros (~160 ms for a 3600x3600 coadd, for a header).
void image_header_of_compressed(fitsfile* f, char** text, int* n, int* status) {
    fitsfile* tmp = nullptr;
    if (fits_create_file(&tmp, "mem://", status) > 0) return;
    fits_img_decompress_header(f, tmp, status);
    fits_hdr2str(tmp, 0, nullptr, 0, text, n, status);
    int s2 = 0, zero = 0;
    fits_update_key(tmp, TINT, "NAXIS", &zero, nullptr, &s2);  // no data unit: nothing to fill
    fits_close_file(tmp, &s2);
}

}  // namespace

BrickImage::BrickImage(BrickImage&&) noexcept = default;
BrickImage& BrickImage::operator=(BrickImage&&) noexcept = default;
BrickImage::~BrickImage() = default;

BrickImage BrickImage::open(const std::string& path) {
    BrickImage img;
    img.file_ = FitsFile::open(path);
    fitsfile* f = fptr(img.file_);
    for (int hdu = 1;; ++hdu) {
        int type = 0, status = 0;
        fits_movabs_hdu(f, hdu, &type, &status);
        if (status == END_OF_FILE && hdu > 1) {
            fits_clear_errmsg();
            throw FitsError(path, 0, "", 0, "no HDU holds a 2-D image", "");
        }
        img.file_.check(status, fmt::format("cannot move to HDU {}", hdu));
        if (type != IMAGE_HDU) continue;
        int naxis = 0;
        fits_get_img_dim(f, &naxis, &status);
        img.file_.check(status, "cannot read NAXIS");
        if (naxis != 2) continue;
        img.hdu_ = hdu;
        img.read_header();
        return img;
    }
}

void BrickImage::read_header() {
    fitsfile* f = fptr(file_);
    int status = 0, naxis = 0;
    long naxes[2] = {0, 0};
    fits_get_img_param(f, 2, &bitpix_, &naxis, naxes, &status);
    file_.check(status, "cannot read the image size");
    width_ = naxes[0];
    height_ = naxes[1];
    compressed_ = fits_is_compressed_image(f, &status) != 0;
    file_.check(status, "cannot tell whether the image is compressed");

    if (compressed_) {
        // ZTILEn / ZCMPTYPE are cards of the underlying binary table, which fits_read_key
        // still sees on a compressed HDU.
        long tile[2] = {width_, 1};  // the standard's default: one row per tile
        for (int i = 0; i < 2; ++i) {
            long v = 0;
            fits_write_errmark();
            fits_read_key(f, TLONG, fmt::format("ZTILE{}", i + 1).c_str(), &v, nullptr, &status);
            if (status == KEY_NO_EXIST) {
                status = 0;
            } else {
                file_.check(status, fmt::format("cannot read ZTILE{}", i + 1));
                tile[i] = v;
            }
            fits_clear_errmark();
        }
        tile_ = std::array<long, 2>{tile[0], tile[1]};
        char cmp[FLEN_VALUE] = {0};
        fits_read_key(f, TSTRING, "ZCMPTYPE", cmp, nullptr, &status);
        file_.check(status, "cannot read ZCMPTYPE");
        compression_ = cmp;
    }

}

void BrickImage::load_header_text() const {
    if (header_loaded_) return;
    fitsfile* f = fptr(file_);
    int status = 0;
    char* text = nullptr;
    int n = 0;
    if (compressed_)
        image_header_of_compressed(f, &text, &n, &status);
    else
        fits_hdr2str(f, 0, nullptr, 0, &text, &n, &status);
    if (status != 0 && text != nullptr) {
        int s2 = 0;
        fits_free_memory(text, &s2);
    }
    file_.check(status, "cannot copy the header");
    header_.assign(text, static_cast<std::size_t>(n) * 80);
    ncards_ = n;
    fits_free_memory(text, &status);
    header_loaded_ = true;
}

const std::string& BrickImage::header_text() const {
    load_header_text();
    return header_;
}

int BrickImage::header_card_count() const {
    load_header_text();
    return ncards_;
}

long BrickImage::tiles_touched(long x0, long y0, long nx, long ny) const {
    if (!tile_ || nx <= 0 || ny <= 0) return 0;
    const long cx0 = std::max(x0, 0L), cy0 = std::max(y0, 0L);
    const long cx1 = std::min(x0 + nx, width_), cy1 = std::min(y0 + ny, height_);
    if (cx1 <= cx0 || cy1 <= cy0) return 0;
    const auto [tw, th] = *tile_;
    return ((cx1 - 1) / tw - cx0 / tw + 1) * ((cy1 - 1) / th - cy0 / th + 1);
}

std::optional<std::string> BrickImage::keyword(const std::string& name) const {
    load_header_text();
    const std::string want = upper(name);
    const std::string_view all(header_);
    for (int i = 0; i < ncards_; ++i) {
        const std::string_view card = all.substr(static_cast<std::size_t>(i) * 80, 80);
        if (upper(std::string(card_name(card))) != want) continue;
        const auto field = card_value_field(card);
        if (!field) continue;  // a commentary card of that name: keep looking
        const std::string_view token = value_token(*field);
        if (token.empty() || token.front() != '\'') return std::string(token);
        std::string value = unquote(token);
        // Long strings (the CONTINUE convention): 'abc&' followed by CONTINUE  'def'.
        for (int j = i + 1; !value.empty() && value.back() == '&' && j < ncards_; ++j) {
            const std::string_view next = all.substr(static_cast<std::size_t>(j) * 80, 80);
            if (next.substr(0, 8) != "CONTINUE") break;
            const std::string_view rest = trim(next.substr(8));
            if (rest.empty() || rest.front() != '\'') break;
            value.pop_back();
            value += unquote(value_token(rest));
        }
        return value;
    }
    return std::nullopt;
}

std::optional<double> BrickImage::keyword_double(const std::string& name) const {
    const auto v = keyword(name);
    if (!v || v->empty()) return std::nullopt;
    if (const auto d = parse_double(*v)) return d;
    throw FitsError(path(), hdu_, "", BAD_C2D, fmt::format("keyword {} = '{}' is not a number", name, *v), "");
}

std::optional<long long> BrickImage::keyword_int(const std::string& name) const {
    const auto v = keyword(name);
    if (!v || v->empty()) return std::nullopt;
    std::string t(*v);
    if (!t.empty() && t.front() == '+') t.erase(0, 1);
    long long i = 0;
    const auto r = std::from_chars(t.data(), t.data() + t.size(), i);
    if (!t.empty() && r.ec == std::errc() && r.ptr == t.data() + t.size()) return i;
    const auto d = parse_double(*v);
    if (d && std::trunc(*d) == *d && std::fabs(*d) < 9.2e18) return static_cast<long long>(*d);
    throw FitsError(path(), hdu_, "", BAD_C2I, fmt::format("keyword {} = '{}' is not an integer", name, *v), "");
}

const BrickWcs& BrickImage::wcs() const {
    if (!wcs_) wcs_ = std::make_unique<BrickWcs>(BrickWcs::from_header(header_text(), header_card_count(), path(), hdu_));
    return *wcs_;
}

namespace {
/// Whether a GZIP tile inflates, whole, to at most `most` bytes. cfitsio inflates a tile into
/// a buffer it grows 28,800 bytes at a time for as long as the stream yields bytes, however
/// many the tile can hold: a small tile whose stream inflates to megabytes (a deflate bomb in
/// a fuzzed coadd) took minutes under ASan and memory up to 1032 times its size.
bool gzip_tile_fits(std::span<const unsigned char> in, std::size_t most) {
    z_stream z{};
    if (inflateInit2(&z, 15 + 32) != Z_OK) return false;  // gzip or zlib header
    std::vector<unsigned char> out(std::min<std::size_t>(most, 1 << 20) + 1);
    z.next_in = const_cast<unsigned char*>(in.data());
    z.avail_in = static_cast<uInt>(in.size());
    std::size_t total = 0;
    int rc = Z_OK;
    while (rc == Z_OK && total <= most) {
        z.next_out = out.data();
        z.avail_out = static_cast<uInt>(out.size());
        rc = inflate(&z, Z_NO_FLUSH);
        total += out.size() - z.avail_out;
        if (rc == Z_OK && z.avail_out != 0 && z.avail_in == 0) break;  // input ended before the stream did
    }
    inflateEnd(&z);
    return rc == Z_STREAM_END && total <= most;
}

enum class TileCodec { other, rice, gzip, hcompress };

/// What a tile's bytes are checked against before cfitsio decodes them.
struct TileCheck {
    TileCodec codec = TileCodec::other;
    int block_size = 32, bytepix = 4;  ///< RICE: ZVALn of BLOCKSIZE and BYTEPIX, cfitsio's defaults
    int zbitpix = 0;                   ///< HCOMPRESS: picks cfitsio's int or 64-bit decoder
};

TileCodec tile_codec(const std::string& zcmptype) {
    const std::string cmp = upper(zcmptype);
    if (cmp.rfind("RICE_1", 0) == 0 || cmp.rfind("RICE_ONE", 0) == 0) return TileCodec::rice;
    if (cmp.rfind("GZIP_1", 0) == 0 || cmp.rfind("GZIP_2", 0) == 0) return TileCodec::gzip;
    if (cmp.rfind("HCOMPRESS_1", 0) == 0) return TileCodec::hcompress;
    return TileCodec::other;
}

/// The RICE parameters as cfitsio reads them: ZNAMEn / ZVALn pairs.
void read_rice_parameters(fitsfile* f, TileCheck& check) {
    for (int i = 1; i <= 8; ++i) {
        char name[FLEN_VALUE] = {0};
        int v = 0, s1 = 0, s2 = 0;
        fits_write_errmark();
        fits_read_key(f, TSTRING, fmt::format("ZNAME{}", i).c_str(), name, nullptr, &s1);
        fits_read_key(f, TINT, fmt::format("ZVAL{}", i).c_str(), &v, nullptr, &s2);
        fits_clear_errmark();
        if (s1 != 0 || s2 != 0) continue;
        const std::string n = upper(name);
        if (n == "BLOCKSIZE") check.block_size = v;
        if (n == "BYTEPIX") check.bytepix = v;
    }
}

/// Why the `w` x `h` pixel tile stored as `bytes` must not reach cfitsio's decoder; empty
/// when it may.
std::string tile_bytes_problem(const TileCheck& check, std::span<const unsigned char> bytes, long w, long h) {
    const auto npix = static_cast<std::size_t>(w) * static_cast<std::size_t>(h);
    switch (check.codec) {
        case TileCodec::gzip:  // a GZIP tile holds the tile's pixels as 1 to 8 bytes each
            if (!gzip_tile_fits(bytes, npix * 8))
                return fmt::format("its GZIP stream is corrupt or inflates to more than its {} pixels", npix);
            break;
        case TileCodec::rice:
            if (!rice_stream_complete(bytes, npix, check.block_size, check.bytepix))
                return "the RICE stream ends early or is malformed";
            break;
        case TileCodec::hcompress:
            if (!hcompress_stream_complete(bytes, w, h, check.zbitpix))
                return fmt::format("the HCOMPRESS stream ends early or is malformed (or is not of a {}x{} tile)", w, h);
            break;
        case TileCodec::other: break;
    }
    return {};
}

/// Reads the COMPRESSED_DATA bytes of tile `t` (0-based) of column `col` into `bytes`
/// (empty for a tile stored otherwise). @throws FitsError for an unreadable descriptor or a
/// tile claiming more bytes than the file holds.
void read_tile_bytes(const FitsFile& file, int hdu, int col, long t, std::vector<unsigned char>& bytes) {
    fitsfile* f = fptr(file);
    int status = 0;
    LONGLONG len = 0, off = 0;
    fits_read_descriptll(f, col, t + 1, &len, &off, &status);
    file.check(status, fmt::format("cannot read the descriptor of tile {}", t + 1), "COMPRESSED_DATA");
    const LONGLONG file_bytes = f->Fptr->logfilesize;
    if (len < 0 || len > file_bytes)
        throw FitsError(file.path(), hdu, "COMPRESSED_DATA", DATA_DECOMPRESSION_ERR,
                        fmt::format("tile {} claims {} compressed bytes, the file holds {}", t + 1, len, file_bytes), "");
    bytes.resize(static_cast<std::size_t>(len));
    if (len == 0) return;
    fits_read_col(f, TBYTE, col, t + 1, 1, len, nullptr, bytes.data(), nullptr, &status);
    file.check(status, fmt::format("cannot read the compressed bytes of tile {}", t + 1), "COMPRESSED_DATA");
}
}  // namespace

// cfitsio's tile decoders trust their input: its RICE decoder (fits_rdecomp and its _short /
// _byte twins) reads past the end of a malformed stream (a run of zero bits at its end: a
// crash in a fuzzed coadd), its HCOMPRESS decoder (fits_hdecompress / _64) reads past a
// corrupt stream (a SEGV), writes past its output when the stream's size is not the tile's
// and deadlocks on the errors it detects itself, and its GZIP path inflates a tile to whatever size its stream gives. So each RICE,
// GZIP or HCOMPRESS tile a box touches is checked once, with the parameters cfitsio uses,
// before cfitsio decodes it. Tiles stored otherwise (no compressed bytes:
// GZIP_COMPRESSED_DATA or UNCOMPRESSED_DATA columns) are left to cfitsio.
void BrickImage::check_tiles_before_cfitsio(long cx0, long cy0, long cx1, long cy1) const {
    TileCheck check{tile_codec(compression_), 32, 4, bitpix_};
    if (!compressed_ || !tile_ || check.codec == TileCodec::other) return;
    const auto [tw, th] = *tile_;
    if (tw <= 0 || th <= 0) throw FitsError(path(), hdu_, "", 0, "bad ZTILE values", "");
    fitsfile* f = fptr(file_);
    if (check.codec == TileCodec::rice) read_rice_parameters(f, check);
    int col = 0, status = 0;
    fits_write_errmark();
    fits_get_colnum(f, CASEINSEN, const_cast<char*>("COMPRESSED_DATA"), &col, &status);
    fits_clear_errmark();
    if (status != 0) {
        fits_clear_errmsg();
        return;  // no compressed bytes to check: cfitsio reports what is missing
    }
    const long ntx = (width_ + tw - 1) / tw;
    std::vector<unsigned char> bytes;
    for (long ty = cy0 / th; ty <= (cy1 - 1) / th; ++ty)
        for (long tx = cx0 / tw; tx <= (cx1 - 1) / tw; ++tx) {
            const long t = ty * ntx + tx;
            if (tiles_checked_.count(t) != 0) continue;
            read_tile_bytes(file_, hdu_, col, t, bytes);
            const long x0 = tx * tw, y0 = ty * th, w = std::min(tw, width_ - x0), h = std::min(th, height_ - y0);
            const std::string why = bytes.empty() ? std::string() : tile_bytes_problem(check, bytes, w, h);
            if (!why.empty())
                throw FitsError(path(), hdu_, "COMPRESSED_DATA", DATA_DECOMPRESSION_ERR,
                                fmt::format("tile {} (x [{}, {}) y [{}, {}) zero-based) cannot be decoded: {}", t + 1,
                                            x0, x0 + w, y0, y0 + h, why),
                                "");
            tiles_checked_.insert(t);
        }
}

template <class T>
long BrickImage::read_clipped(long x0, long y0, long nx, long ny, std::span<T> out, T fill) const {
    if (nx < 0 || ny < 0 || nx > kMaxCoord || ny > kMaxCoord || std::labs(x0) > kMaxCoord ||
        std::labs(y0) > kMaxCoord)
        throw std::invalid_argument(fmt::format("BrickImage: bad box x0={} y0={} nx={} ny={}", x0, y0, nx, ny));
    const auto total = static_cast<std::size_t>(nx) * static_cast<std::size_t>(ny);
    if (out.size() != total)
        throw std::invalid_argument(fmt::format("BrickImage: output holds {} values, box {}x{}", out.size(), nx, ny));
    const long cx0 = std::max(x0, 0L), cy0 = std::max(y0, 0L);
    const long cx1 = std::min(x0 + nx, width_), cy1 = std::min(y0 + ny, height_);
    const long cw = std::max(0L, cx1 - cx0), ch = std::max(0L, cy1 - cy0);
    const long outside = static_cast<long>(total) - cw * ch;
    if (cw == 0 || ch == 0) {
        std::fill(out.begin(), out.end(), fill);
        return outside;
    }
    const bool direct = outside == 0;  // the box lies wholly inside: read straight into out
    T* dst = out.data();
    if (!direct) {
        scratch_.resize(static_cast<std::size_t>(cw * ch) * sizeof(T));
        dst = reinterpret_cast<T*>(scratch_.data());
    }
    check_tiles_before_cfitsio(cx0, cy0, cx1, cy1);
    long fpixel[2] = {cx0 + 1, cy0 + 1}, lpixel[2] = {cx1, cy1}, inc[2] = {1, 1};  // FITS 1-based
    constexpr int datatype = std::is_same_v<T, float> ? TFLOAT : TINT;
    float nan = std::numeric_limits<float>::quiet_NaN();
    void* nulval = datatype == TFLOAT ? &nan : nullptr;  // NaN for blanks; no check for ints
    int anynul = 0, status = 0;
    fits_write_errmark();
    fits_read_subset(fptr(file_), datatype, fpixel, lpixel, inc, nulval, dst, &anynul, &status);
    if (status != 0)
        throw_read_error(path(), hdu_, status,
                         fmt::format("cannot read pixel box x [{}, {}) y [{}, {}) (zero-based)", cx0, cx1, cy0, cy1));
    fits_clear_errmark();  // cfitsio leaves harmless notes (e.g. "no ZZERO column") behind
    if (!direct) {
        std::fill(out.begin(), out.end(), fill);
        for (long r = 0; r < ch; ++r)
            std::memcpy(out.data() + (cy0 - y0 + r) * nx + (cx0 - x0), dst + r * cw,
                        static_cast<std::size_t>(cw) * sizeof(T));
    }
    return outside;
}

long BrickImage::read_box(long x0, long y0, long nx, long ny, std::span<float> out) const {
    return read_clipped<float>(x0, y0, nx, ny, out, std::numeric_limits<float>::quiet_NaN());
}

std::vector<float> BrickImage::read_box(long x0, long y0, long nx, long ny, long* n_outside) const {
    std::vector<float> out(static_cast<std::size_t>(std::max(nx, 0L)) * static_cast<std::size_t>(std::max(ny, 0L)));
    const long o = read_box(x0, y0, nx, ny, std::span<float>(out));
    if (n_outside != nullptr) *n_outside = o;
    return out;
}

long BrickImage::read_box_int(long x0, long y0, long nx, long ny, std::span<std::int32_t> out,
                              std::int32_t fill) const {
    if (bitpix_ < 0)
        throw FitsError(path(), hdu_, "", 0,
                        fmt::format("integer read of a floating-point image (BITPIX {})", bitpix_), "");
    return read_clipped<std::int32_t>(x0, y0, nx, ny, out, fill);
}

std::vector<std::int32_t> BrickImage::read_box_int(long x0, long y0, long nx, long ny, std::int32_t fill,
                                                   long* n_outside) const {
    std::vector<std::int32_t> out(static_cast<std::size_t>(std::max(nx, 0L)) *
                                  static_cast<std::size_t>(std::max(ny, 0L)));
    const long o = read_box_int(x0, y0, nx, ny, std::span<std::int32_t>(out), fill);
    if (n_outside != nullptr) *n_outside = o;
    return out;
}

std::vector<float> BrickImage::read_full() const { return read_box(0, 0, width_, height_); }

std::vector<std::int32_t> BrickImage::read_full_int() const { return read_box_int(0, 0, width_, height_); }

}  // namespace dhs::fits
