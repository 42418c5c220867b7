// TileReader (see tile_reader.hpp): the tile index of a compressed HDU read once, tiles decoded
// by rice_codec (fast path) or cfitsio, a cache of decoded tiles with planned lifetimes.
// Own code where cfitsio exists because it pays (issue #13's measurement, cutouts benchmark):
// the RICE path decodes 1.6x faster than cfitsio's, and one raw header read (fits_hdr2str,
// parsed by header_text.hpp) opens a coadd in 0.03 ms instead of 0.1 ms of keyword lookups.
#include "core/fits/tile_reader.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <type_traits>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.hpp"
#include "core/fits/cfitsio_handle.hpp"
#include "core/fits/header_text.hpp"
#include "core/fits/rice_codec.hpp"

namespace dhs::fits {

namespace {

std::string upper_trim(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
}

/// The cards of the current HDU's own header (for a compressed image: the binary table's, with
/// ZTILEn, ZQUANTIZ, TFORMn...) as keyword -> value text (strings unquoted); one cfitsio call
/// instead of a header scan per keyword.
class RawHeader {
public:
    RawHeader() = default;
    /// From the open HDU of `f` (fits_hdr2str).
    explicit RawHeader(const FitsFile& f) {
        char* text = nullptr;
        int n = 0, status = 0;
        fits_hdr2str(fptr(f), 0, nullptr, 0, &text, &n, &status);
        if (status != 0) {
            if (text != nullptr) fits_free_memory(text, &status);
            f.check(status == 0 ? 1 : status, "cannot copy the compressed table's header");
        }
        add(text, n);
        int s2 = 0;
        fits_free_memory(text, &s2);
    }
    /// Adds `n` 80-character cards, parsed by header_text.hpp. Keywords and values are kept in
    /// upper case: the tiled-image keywords' string values are enumerations (RICE_1,
    /// SUBTRACTIVE_DITHER_1, BLOCKSIZE...) and numbers read the same either way.
    void add(const char* text, int n) {
        for (int i = 0; i < n; ++i) {
            const auto card = parse_card(std::string_view(text + static_cast<std::size_t>(i) * 80, 80));
            if (!card) continue;
            cards_.emplace(upper_trim(card->first), upper_trim(card->second));  // first occurrence wins
        }
    }
    const std::string* find(const std::string& key) const {
        const auto it = cards_.find(key);
        return it == cards_.end() ? nullptr : &it->second;
    }
    bool get(const std::string& key, std::string* v) const {
        const auto* x = find(key);
        if (x != nullptr) *v = *x;
        return x != nullptr;
    }
    template <class T>
    bool get(const std::string& key, T* v) const {
        const auto* x = find(key);
        if (x == nullptr || x->empty()) return false;
        std::string t = *x;
        for (char& c : t)
            if (c == 'D' || c == 'd') c = 'E';
        try {
            std::size_t used = 0;
            const double d = std::stod(t, &used);
            if (used != t.size()) return false;
            if constexpr (std::is_integral_v<T>) {
                // Out of T's range (ZVAL1 = -4294967296 for an int, say) does not read as a T:
                // converting it would be undefined (found by fuzzing under UBSan).
                static_assert(std::is_signed_v<T>);
                const double lo = static_cast<double>(std::numeric_limits<T>::min());  // -2^(bits-1)
                if (!(d >= lo && d < -lo)) return false;
            }
            *v = static_cast<T>(d);
        } catch (const std::exception&) {
            return false;
        }
        return true;
    }

private:
    std::map<std::string, std::string> cards_;
};

/// A `.fits.fz` laid out as DR10 writes it, found without cfitsio: an empty primary HDU, then
/// a tile-compressed image (a binary table with ZIMAGE = T, ZNAXIS = 2). Its header cards and
/// where its data start; the file stays open for pread.
struct DirectFile {
    int fd = -1;
    RawHeader header;
    long long data_start = 0;  // byte offset of the table's data in the file
};

/// Reads one header (2880-byte blocks up to the END card) at `offset`; false when the bytes are
/// not FITS cards. `next` receives the offset after the header.
bool read_header_at(int fd, long long offset, RawHeader& h, std::string* first_card, long long& next) {
    char block[2880];
    for (int b = 0; b < 1000; ++b) {
        if (::pread(fd, block, sizeof block, offset + 2880LL * b) != static_cast<ssize_t>(sizeof block)) return false;
        if (b == 0 && first_card != nullptr) first_card->assign(block, 80);
        for (int c = 0; c < 36; ++c) {
            const char* card = block + 80 * c;
            for (int k = 0; k < 80; ++k)
                if (static_cast<unsigned char>(card[k]) < 32 || static_cast<unsigned char>(card[k]) > 126) return false;
            if (std::memcmp(card, "END     ", 8) == 0) {
                h.add(block, c);
                next = offset + 2880LL * (b + 1);
                return true;
            }
        }
        h.add(block, 36);
    }
    return false;
}

std::optional<DirectFile> scan_direct(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    DirectFile d;
    d.fd = fd;
    auto fail = [&] {
        ::close(fd);
        return std::nullopt;
    };
    RawHeader primary;
    std::string first;
    long long next = 0;
    if (!read_header_at(fd, 0, primary, &first, next) || first.compare(0, 30, "SIMPLE  =                    T") != 0)
        return fail();
    long naxis = -1;
    if (!primary.get("NAXIS", &naxis) || naxis != 0) return fail();  // data in the primary: not this layout
    if (!read_header_at(fd, next, d.header, &first, d.data_start) || first.compare(0, 20, "XTENSION= 'BINTABLE'") != 0)
        return fail();
    std::string zimage;
    long znaxis = 0;
    if (!d.header.get("ZIMAGE", &zimage) || zimage != "T" || !d.header.get("ZNAXIS", &znaxis) || znaxis != 2)
        return fail();
    return d;
}

/// Buffers kept between TileReaders of one thread: allocating a tile or an image afresh costs
/// page faults (a whole coadd: ~13,000 pages, tens of ms on a virtual machine) each time.
/// At most one image-sized buffer and kMaxSpare tile buffers per element type and thread.
template <class T>
struct BufferPool {
    static constexpr std::size_t kMaxSpare = 1024;
    std::vector<std::vector<T>> spare;
    std::vector<T> big;
    std::vector<T> take(std::size_t n) {
        std::vector<T> v;
        if (!spare.empty()) {
            v = std::move(spare.back());
            spare.pop_back();
        }
        if (v.size() < n) v.resize(n);
        return v;
    }
    void give(std::vector<T>& v) {
        if (!v.empty() && spare.size() < kMaxSpare) spare.push_back(std::move(v));
        std::vector<T>().swap(v);
    }
    std::vector<T> take_big(std::size_t n) {
        std::vector<T> v = std::move(big);
        std::vector<T>().swap(big);
        if (v.size() < n) v.resize(n);
        return v;
    }
    void give_big(std::vector<T>& v) {
        if (v.size() > big.size()) big = std::move(v);
        std::vector<T>().swap(v);
    }
};
thread_local BufferPool<float> float_pool;
thread_local BufferPool<std::int32_t> int_pool;

/// Per-thread scratch (kept between readers for the same reason): a tile's compressed bytes,
/// its RICE integers, the raw tile table.
struct Scratch {
    std::vector<std::uint8_t> bytes;
    std::vector<std::int32_t> ints;
    std::vector<unsigned char> table;
};
thread_local Scratch scratch;

}  // namespace

struct TileReader::Impl {
    std::string path;
    int hdu = 0;
    mutable std::optional<BrickImage> image_;  // opened on first need in direct mode
    int fd = -1;                 // direct mode: the file, read with pread (no cfitsio)
    long long data_start = 0;    // direct mode: the table's data in the file
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
    long long data_held = 0;            // bytes of the file from the table's data on

    // The cache.
    std::vector<std::vector<float>> ftile;
    std::vector<std::vector<std::int32_t>> itile;
    std::vector<char> have;  // tile decoded and kept
    std::vector<float> ffull;
    std::vector<std::int32_t> ifull;
    bool full = false;
    std::vector<int> uses;  // planned reads left per tile; empty: no plan (keep every tile)
    TileStats stats;

    explicit Impl(BrickImage i) : path(i.path()), hdu(i.hdu()), image_(std::move(i)) {
        const BrickImage& m = *image_;
        init_geometry(m.width(), m.height(), m.bitpix(), m.is_compressed() && m.tile_shape().has_value(),
                      m.tile_shape() ? (*m.tile_shape())[0] : 0, m.tile_shape() ? (*m.tile_shape())[1] : 0);
        if (tiled) setup_fast_path(RawHeader(m.file()), m.compression_type(), m.bitpix());
        init_cache();
    }

    /// Direct mode: a DR10-layout `.fits.fz` read with pread. `fast` tells whether it applies
    /// (a RICE float image); the caller falls back to cfitsio otherwise.
    Impl(const std::string& p, DirectFile&& d) : path(p), hdu(2), fd(d.fd), data_start(d.data_start) {
        const RawHeader& h = d.header;
        long w = 0, hh = 0, tw1 = 0, th1 = 1;
        int zbitpix = 0;
        std::string cmp;
        if (!h.get("ZNAXIS1", &w) || !h.get("ZNAXIS2", &hh) || !h.get("ZBITPIX", &zbitpix) || !h.get("ZCMPTYPE", &cmp))
            return;
        if (!h.get("ZTILE1", &tw1)) tw1 = w;
        h.get("ZTILE2", &th1);
        init_geometry(w, hh, zbitpix, true, tw1, th1);
        setup_fast_path(h, cmp, zbitpix);
        init_cache();
    }

    void init_geometry(long w, long h, int bitpix, bool is_tiled, long tile_w1, long tile_h1) {
        W = w;
        H = h;
        is_float = bitpix < 0;
        tiled = is_tiled;
        if (tiled) {
            tw = tile_w1;
            th = tile_h1;
            if (tw <= 0 || th <= 0 || W < 0 || H < 0) throw FitsError(path, hdu, "", 0, "bad ZTILE values", "");
            ntx = (W + tw - 1) / tw;
            nty = (H + th - 1) / th;
            // Each tile is a row of the compressed table, 8 bytes at least (its descriptor): a
            // header claiming more tiles than the file holds rows for is refused before the
            // per-tile vectors are sized.
            long tiles = 0;
            if (__builtin_mul_overflow(ntx, nty, &tiles) || tiles > file_bytes() / 8 + 1)
                throw FitsError(path, hdu, "", 0,
                                fmt::format("the header claims a {}x{} image in {}x{} tiles, more tiles than the file's "
                                            "{} bytes can hold (corrupt ZNAXISn / ZTILEn)",
                                            W, H, tw, th, file_bytes()),
                                "");
        } else {
            tw = W;
            th = H;
        }
    }

    void init_cache() {
        const auto n = static_cast<std::size_t>(ntx * nty);
        if (is_float)
            ftile.resize(n);
        else
            itile.resize(n);
        have.assign(n, 0);
    }

    /// Size of the file in bytes (as cfitsio sees it, a .gz decompressed, when not in direct mode).
    long long file_bytes() const {
        if (fd >= 0) {
            struct stat st {};
            return ::fstat(fd, &st) == 0 ? static_cast<long long>(st.st_size) : 0;
        }
        return fptr(img().file())->Fptr->logfilesize;
    }
    /// Bytes of the file from the start of the compressed table's data on.
    long long data_bytes() const {
        if (fd >= 0) return std::max(0LL, file_bytes() - data_start);
        LONGLONG head = 0, data = 0, end = 0;
        int status = 0;
        fits_get_hduaddrll(fptr(img().file()), &head, &data, &end, &status);
        img().file().check(status, "cannot locate the compressed table's data");
        return std::max(0LL, file_bytes() - static_cast<long long>(data));
    }

    /// The cfitsio view of the file (opened on first use in direct mode).
    BrickImage& img() const {
        if (!image_) image_ = BrickImage::open(path);
        return *image_;
    }

    /// `n` bytes at `offset` from the start of the table's data.
    void read_bytes(long long offset, long long n, void* out, const char* what) const {
        if (fd >= 0) {
            auto* p = static_cast<char*>(out);
            long long done = 0;
            while (done < n) {
                const ssize_t r = ::pread(fd, p + done, static_cast<std::size_t>(n - done), data_start + offset + done);
                if (r <= 0)
                    throw FitsError(path, hdu, "", READ_ERROR,
                                    fmt::format("{}: cannot read {} bytes at {} (file truncated?)", what, n, data_start + offset), "");
                done += r;
            }
            return;
        }
        int status = 0;
        fits_read_ext(fptr(img().file()), offset, n, out, &status);
        if (status != 0) img().file().check(status, what, "COMPRESSED_DATA");
    }

    ~Impl() {
        if (fd >= 0) ::close(fd);
        for (long t = 0; t < static_cast<long>(have.size()); ++t) drop(t);
        float_pool.give_big(ffull);
        int_pool.give_big(ifull);
    }
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;

    long tile_w(long tx) const { return std::min(tw, W - tx * tw); }
    long tile_h(long ty) const { return std::min(th, H - ty * th); }

    /// Reads the whole tile table in one go and decodes its big-endian fields (descriptor of
    /// COMPRESSED_DATA as 1P or 1Q, ZSCALE / ZZERO as 1D, ZBLANK as 1J). False when a column
    /// has another form (the caller then reads column by column through cfitsio).
    bool read_index_bytes(const RawHeader& h, LONGLONG naxis1, LONGLONG n, int cc, int cs, int cz, int cb) {
        int tfields = 0;
        if (!h.get("TFIELDS", &tfields) || tfields <= 0) return false;
        std::vector<long> offset(static_cast<std::size_t>(tfields) + 2, 0);
        std::vector<std::string> form(static_cast<std::size_t>(tfields) + 1);
        long at = 0;
        for (int c = 1; c <= tfields; ++c) {
            std::string tf;
            if (!h.get(fmt::format("TFORM{}", c), &tf)) return false;
            std::size_t k = 0;
            long repeat = 0;
            while (k < tf.size() && std::isdigit(static_cast<unsigned char>(tf[k]))) repeat = repeat * 10 + (tf[k++] - '0');
            if (k == 0) repeat = 1;
            if (k >= tf.size()) return false;
            const char code = tf[k];
            long width = 0;
            switch (code) {
                case 'L': case 'B': case 'A': width = 1; break;
                case 'I': width = 2; break;
                case 'J': case 'E': width = 4; break;
                case 'K': case 'D': case 'C': case 'P': width = 8; break;
                case 'M': case 'Q': width = 16; break;
                case 'X': width = 0; repeat = (repeat + 7) / 8; width = 1; break;
                default: return false;
            }
            offset[static_cast<std::size_t>(c)] = at;
            form[static_cast<std::size_t>(c)] = std::string(1, code) + (repeat == 1 ? "" : "*");
            at += repeat * width;
        }
        if (at != naxis1) return false;
        auto is = [&](int c, const char* want) { return form[static_cast<std::size_t>(c)] == want; };
        if (!(is(cc, "P") || is(cc, "Q"))) return false;
        if ((cs && !is(cs, "D")) || (cz && !is(cz, "D")) || (cb && !is(cb, "J"))) return false;
        std::vector<unsigned char>& raw = scratch.table;
        if (raw.size() < static_cast<std::size_t>(naxis1 * n)) raw.resize(static_cast<std::size_t>(naxis1 * n));
        read_bytes(0, naxis1 * n, raw.data(), "the compressed table");
        auto be = [&](const unsigned char* p, int bytes) {
            std::uint64_t v = 0;
            for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
            return v;
        };
        auto as_double = [&](const unsigned char* p) {
            const std::uint64_t v = be(p, 8);
            double d;
            std::memcpy(&d, &v, 8);
            return d;
        };
        const bool q = is(cc, "Q");
        for (LONGLONG r = 0; r < n; ++r) {
            const unsigned char* row = raw.data() + r * naxis1;
            const auto i = static_cast<std::size_t>(r);
            const unsigned char* d = row + offset[static_cast<std::size_t>(cc)];
            clen[i] = static_cast<LONGLONG>(q ? be(d, 8) : be(d, 4));
            coff[i] = static_cast<LONGLONG>(q ? be(d + 8, 8) : be(d + 4, 4));
            if (cs) zscale[i] = as_double(row + offset[static_cast<std::size_t>(cs)]);
            if (cz) zzero[i] = as_double(row + offset[static_cast<std::size_t>(cz)]);
            if (cb) zblank[i] = static_cast<int>(static_cast<std::int32_t>(be(row + offset[static_cast<std::size_t>(cb)], 4)));
        }
        return true;
    }

    void setup_fast_path(const RawHeader& h, const std::string& compression, int bitpix) {
        const std::string cmp = upper_trim(compression);
        if ((cmp != "RICE_1" && cmp != "RICE_ONE") || bitpix != -32) return;
        // Column numbers from TTYPEn.
        int tfields = 0;
        h.get("TFIELDS", &tfields);
        auto column = [&](const char* name) {
            for (int c = 1; c <= tfields; ++c) {
                std::string t;
                if (h.get(fmt::format("TTYPE{}", c), &t) && t == name) return c;
            }
            return 0;
        };
        // RICE parameters: ZNAMEn / ZVALn pairs (BLOCKSIZE, BYTEPIX); defaults 32 and 4.
        int bytepix = 4;
        for (int i = 1; i <= 4; ++i) {
            std::string zname;
            int v = 0;
            if (!h.get(fmt::format("ZNAME{}", i), &zname)) continue;
            if (!h.get(fmt::format("ZVAL{}", i), &v)) return;  // a parameter that is no int: leave it to cfitsio
            if (zname == "BLOCKSIZE") block_size = v;
            if (zname == "BYTEPIX") bytepix = v;
            if (zname == "NOISEBIT") return;  // pre-2009 layout: leave it to cfitsio
        }
        if (bytepix != 4 || block_size <= 0) return;
        // Quantisation: ZSCALE and ZZERO per tile (columns) or constant (keywords).
        const int cs = column("ZSCALE"), cz = column("ZZERO");
        double kscale = 1, kzero = 0;
        const bool ks = cs == 0 && h.get("ZSCALE", &kscale);
        const bool kz = cz == 0 && h.get("ZZERO", &kzero);
        if ((cs == 0 && !ks) || (cz == 0 && !kz)) return;  // not quantised: cfitsio's business
        std::string q;
        if (h.get("ZQUANTIZ", &q)) {
            if (q == "SUBTRACTIVE_DITHER_1")
                dither = Dither::subtractive_1;
            else if (q == "SUBTRACTIVE_DITHER_2")
                dither = Dither::subtractive_2;
            else if (q != "NO_DITHER")
                return;  // NONE or unknown
        }
        long d0 = 1;
        if (h.get("ZDITHER0", &d0)) dither0 = d0;
        // BSCALE / BZERO of the image on top of ZSCALE / ZZERO: rare; cfitsio combines them.
        // (cfitsio reads them from the table's own header, as here.)
        double bscale = 1, bzero = 0;
        h.get("BSCALE", &bscale);
        h.get("BZERO", &bzero);
        if (bscale != 1.0 || bzero != 0.0) return;
        // Nulls: a ZBLANK column, else the ZBLANK or BLANK keyword.
        const int cb = column("ZBLANK");
        if (cb == 0) {
            has_null = h.get("ZBLANK", &null_value) || h.get("BLANK", &null_value);
        } else {
            has_null = true;
        }
        const int cc = column("COMPRESSED_DATA");
        if (cc == 0) return;
        const LONGLONG n = static_cast<LONGLONG>(ntx) * nty;
        LONGLONG rows = 0, naxis1 = 0, theap = 0;
        if (!h.get("NAXIS2", &rows) || !h.get("NAXIS1", &naxis1))
            throw FitsError(path, hdu, "", 0, "the compressed table has no NAXIS1 / NAXIS2", "");
        if (rows != n) throw FitsError(path, hdu, "", 0, fmt::format("{} tiles in the table, {} expected", rows, n), "");
        // The table and the heap must lie in the file: sizes the header claims are checked
        // before anything is allocated for them.
        const long long held = data_bytes();
        LONGLONG table_bytes = 0;
        if (naxis1 < 0 || rows < 0 || __builtin_mul_overflow(naxis1, rows, &table_bytes) || table_bytes > held)
            throw FitsError(path, hdu, "", 0,
                            fmt::format("the compressed table claims {} rows of {} bytes, but the file holds {} bytes "
                                        "after its header (corrupt NAXIS1 / NAXIS2 or truncated file)",
                                        rows, naxis1, held),
                            "");
        heap_start = h.get("THEAP", &theap) ? theap : table_bytes;
        if (heap_start < 0 || heap_start > held)
            throw FitsError(path, hdu, "", 0, fmt::format("THEAP = {} lies outside the file's {} data bytes", heap_start, held),
                            "");
        clen.resize(static_cast<std::size_t>(n));
        coff.resize(static_cast<std::size_t>(n));
        zscale.assign(static_cast<std::size_t>(n), kscale);
        zzero.assign(static_cast<std::size_t>(n), kzero);
        if (cb != 0) zblank.resize(static_cast<std::size_t>(n));
        if (!read_index_bytes(h, naxis1, n, cc, cs, cz, cb)) {  // an unusual layout: column by column
            if (fd >= 0) return;  // direct mode: leave such files to cfitsio
            const FitsFile& f = img().file();
            int status = 0;
            fits_read_descriptsll(fptr(f), cc, 1, n, clen.data(), coff.data(), &status);
            f.check(status, "cannot read the tile descriptors", "COMPRESSED_DATA");
            double dnull = 0;
            if (cs != 0) fits_read_col(fptr(f), TDOUBLE, cs, 1, 1, n, &dnull, zscale.data(), nullptr, &status);
            f.check(status, "cannot read the tile scales", "ZSCALE");
            if (cz != 0) fits_read_col(fptr(f), TDOUBLE, cz, 1, 1, n, &dnull, zzero.data(), nullptr, &status);
            f.check(status, "cannot read the tile zero points", "ZZERO");
            if (cb != 0) {
                int inull = 0;
                fits_read_col(fptr(f), TINT, cb, 1, 1, n, &inull, zblank.data(), nullptr, &status);
                f.check(status, "cannot read the tile blanks", "ZBLANK");
            }
        }
        data_held = held;
        fast = true;
    }

    /// Tile t's RICE bytes lie in the file and can hold the tile's pixels (a RICE block of
    /// `block_size` pixels takes 5 bits at least), so that its buffers are sized by what the
    /// file holds, not by what a corrupt header or descriptor claims. Checked when the tile is
    /// first needed: a bad tile fails alone, as a corrupt stream does.
    void check_tile(long t) const {
        const auto i = static_cast<std::size_t>(t);
        if (clen[i] == 0) return;  // stored otherwise: cfitsio's business
        LONGLONG end = 0;
        if (clen[i] < 0 || coff[i] < 0 || __builtin_add_overflow(heap_start, coff[i], &end) ||
            __builtin_add_overflow(end, clen[i], &end) || end > data_held)
            corrupt(t, fmt::format("its {} compressed bytes at heap offset {} lie outside the file's {} data bytes "
                                   "(file truncated?)",
                                   clen[i], coff[i], data_held));
        const auto npix = static_cast<unsigned long long>(tile_w(t % ntx)) * static_cast<unsigned long long>(tile_h(t / ntx));
        const auto most = (static_cast<unsigned long long>(std::max<LONGLONG>(clen[i] - 4, 0)) * 8 / 5 + 1) *
                          static_cast<unsigned long long>(block_size);
        if (npix > most) corrupt(t, fmt::format("{} compressed bytes cannot hold its {} pixels", clen[i], npix));
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
        throw FitsError(path, hdu, "", DATA_DECOMPRESSION_ERR,
                        fmt::format("tile {} (x [{}, {}) y [{}, {}) zero-based) cannot be decoded: {}", t + 1, tx * tw,
                                    tx * tw + tile_w(tx), ty * th, ty * th + tile_h(ty), why),
                        "");
    }

    /// Reads tile t's compressed bytes and RICE-decodes its first `pixels` integers into scratch.ints.
    void rice_tile(long t, std::size_t pixels) {
        check_tile(t);
        const auto i = static_cast<std::size_t>(t);
        const auto n = static_cast<std::size_t>(clen[i]);
        auto& bytes = scratch.bytes;
        if (bytes.size() < n) bytes.resize(n);
        read_bytes(heap_start + coff[i], clen[i], bytes.data(), "the compressed bytes of a tile");
        stats.bytes_read += static_cast<std::int64_t>(n);
        if (scratch.ints.size() < pixels) scratch.ints.resize(pixels);
        if (!rice_decode_int32(std::span<const std::uint8_t>(bytes.data(), n), std::span<std::int32_t>(scratch.ints.data(), pixels),
                               block_size))
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
        const auto i = static_cast<std::size_t>(t);
        ++stats.tiles_decoded;
        if (fast_tile(t)) check_tile(t);  // before its buffer is sized
        if (is_float) {
            auto& buf = ftile[i];
            buf = float_pool.take(npix);
            have[i] = 1;
            if (fast_tile(t)) {
                rice_tile(t, npix);
                unquantize_float(scratch.ints, 0, std::span<float>(buf.data(), npix), quantization(t));
            } else {
                img().read_box(tx * tw, ty * th, w, h, std::span<float>(buf.data(), npix));
                ++stats.tiles_cfitsio;
                stats.pixels_decoded += static_cast<std::int64_t>(npix);
            }
        } else {
            auto& buf = itile[i];
            buf = int_pool.take(npix);
            have[i] = 1;
            img().read_box_int(tx * tw, ty * th, w, h, std::span<std::int32_t>(buf.data(), npix));
            ++stats.tiles_cfitsio;
            stats.pixels_decoded += static_cast<std::int64_t>(npix);
        }
    }

    bool cached(long t) const { return have[static_cast<std::size_t>(t)] != 0; }

    void drop(long t) {
        const auto i = static_cast<std::size_t>(t);
        have[i] = 0;
        if (is_float)
            float_pool.give(ftile[i]);
        else
            int_pool.give(itile[i]);
    }

    void decode_all() {
        if (full) return;
        const auto npix = static_cast<std::size_t>(W) * static_cast<std::size_t>(H);
        ++stats.full_decodes;
        auto read_whole = [&] {  // through cfitsio, into a pooled buffer
            if (is_float) {
                ffull = float_pool.take_big(npix);
                img().read_box(0, 0, W, H, std::span<float>(ffull.data(), npix));
            } else {
                ifull = int_pool.take_big(npix);
                img().read_box_int(0, 0, W, H, std::span<std::int32_t>(ifull.data(), npix));
            }
        };
        if (!tiled) {
            read_whole();
            stats.pixels_decoded += static_cast<std::int64_t>(npix);
        } else if (fast && is_float) {
            for (long t = 0; t < ntx * nty; ++t)  // every tile can hold its pixels: so can the image
                if (fast_tile(t)) check_tile(t);
            ffull = float_pool.take_big(npix);
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
                    unquantize_float_box(scratch.ints, 0, static_cast<std::size_t>(w), static_cast<std::size_t>(h),
                                         static_cast<std::size_t>(w), dst, static_cast<std::size_t>(W), quantization(t));
                } else {
                    std::vector<float> tmp(static_cast<std::size_t>(w * h));
                    img().read_box(tx * tw, ty * th, w, h, std::span<float>(tmp));
                    for (long r = 0; r < h; ++r)
                        std::memcpy(dst + r * W, tmp.data() + r * w, static_cast<std::size_t>(w) * sizeof(float));
                    ++stats.tiles_cfitsio;
                    stats.pixels_decoded += w * h;
                }
            }
        } else {
            read_whole();
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
                img().read_box(b.x0, b.y0, b.nx, b.ny, out);
                return outside;
            } else {
                throw FitsError(path, hdu, "", 0,
                                fmt::format("integer read of a floating-point image (BITPIX {})", img().bitpix()), "");
            }
        }
        auto at = [&](long x, long y) { return out.data() + (y - b.y0) * b.nx + (x - b.x0); };
        if (!tiled && !full) {  // a plain image: cfitsio reads just the rows of the box
            if constexpr (want_float)
                img().read_box(b.x0, b.y0, b.nx, b.ny, out);
            else
                img().read_box_int(b.x0, b.y0, b.nx, b.ny, out, fill);
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
                        unquantize_float_box(scratch.ints, first, static_cast<std::size_t>(ox1 - ox0),
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

TileReader TileReader::open(const std::string& path) {
    if (auto d = scan_direct(path)) {
        auto impl = std::make_unique<Impl>(path, std::move(*d));
        if (impl->fast) return TileReader(std::move(impl));
    }
    return TileReader(BrickImage::open(path));
}

TileReader::TileReader(BrickImage image) : impl_(std::make_unique<Impl>(std::move(image))) {}
TileReader::TileReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TileReader::TileReader(TileReader&&) noexcept = default;
TileReader& TileReader::operator=(TileReader&&) noexcept = default;
TileReader::~TileReader() = default;

const BrickImage& TileReader::image() const { return impl_->img(); }
long TileReader::width() const noexcept { return impl_->W; }
long TileReader::height() const noexcept { return impl_->H; }
bool TileReader::is_tiled() const noexcept { return impl_->tiled; }
bool TileReader::fast_path() const noexcept { return impl_->fast; }
bool TileReader::direct() const noexcept { return impl_->fd >= 0; }
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
    float_pool.give_big(m.ffull);
    int_pool.give_big(m.ifull);
    m.full = false;
    m.uses.clear();
}

}  // namespace dhs::fits
