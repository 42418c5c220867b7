// FitsFile: RAII cfitsio handle and checked-status wrapper (see fits_file.hpp).
#include "core/fits/cfitsio_handle.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <set>
#include <string_view>
#include <utility>

#include "core/error.hpp"
#include "core/fits/header_text.hpp"

namespace dhs::fits {

namespace {
inline fitsfile* F(void* p) { return static_cast<fitsfile*>(p); }

/// A gzip-compressed file is decompressed by cfitsio into a buffer sized from the gzip
/// trailer's ISIZE (the last 4 bytes) before any byte is inflated: a corrupt trailer makes it
/// allocate up to 8 GiB for a file of a few bytes. Deflate expands at most 1032:1, so an ISIZE
/// beyond that of the compressed size is refused. Other files, and paths that are cfitsio
/// extended filenames rather than plain files, are left to cfitsio.
void check_gzip_size(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st {};
    unsigned char magic[2] = {0, 0}, trailer[4] = {0, 0, 0, 0};
    const bool gz = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && ::pread(fd, magic, 2, 0) == 2 &&
                    magic[0] == 0x1f && magic[1] == 0x8b;
    const bool whole = gz && st.st_size >= 18 && ::pread(fd, trailer, 4, st.st_size - 4) == 4;
    ::close(fd);
    if (!gz) return;
    if (!whole)  // cfitsio would take the last 4 bytes, whatever they are, as the size
        throw FitsError(path, 0, "", 0,
                        fmt::format("cannot open as FITS: {} bytes are too few for a gzip file (18 at least)", st.st_size),
                        "");
    std::uint64_t isize = trailer[0] | (std::uint64_t{trailer[1]} << 8) | (std::uint64_t{trailer[2]} << 16) |
                          (std::uint64_t{trailer[3]} << 24);
    // ISIZE is the size modulo 2^32: cfitsio takes one smaller than a compressed file of more
    // than 10,000 bytes as 4 GiB more (and allocates that).
    if (st.st_size > 10000)
        while (isize < static_cast<std::uint64_t>(st.st_size)) isize += std::uint64_t{1} << 32;
    const auto most = static_cast<std::uint64_t>(st.st_size) * 1032;
    if (isize > most)
        throw FitsError(path, 0, "", 0,
                        fmt::format("cannot open as FITS: the gzip trailer claims {} bytes uncompressed, more than "
                                    "{} compressed bytes can hold (corrupt or truncated .gz)",
                                    isize, st.st_size),
                        "");
}

/// cfitsio copies a card's value into a 71-byte buffer, and its table parser (ffgtbp)
/// overruns that buffer (an abort under _FORTIFY_SOURCE: crashes found by fuzzing a sweep) for
/// a card with '=' in column 9 but no blank in column 10 (not a FITS value card: the standard's
/// value indicator is "= "; the value is then 71 characters) and for some cards holding bytes
/// outside ASCII. Every header of a FITS file (a .gz one inflated on the way) is scanned for
/// both before cfitsio parses any: the standard allows only ASCII 32..126 in a header. A file
/// that does not start as FITS, or a header whose shape cannot be followed (no END, a size
/// that cannot be read, no XTENSION where the next HDU should start), ends the scan, and
/// cfitsio reports what is wrong with it.
/// Keywords that shape an HDU or its data (FITS structure, tables, tile compression): the
/// standard gives each at most once per header.
bool structural(std::string_view k) {
    static constexpr std::string_view prefixes[] = {
        "SIMPLE", "XTENSION", "BITPIX", "NAXIS", "PCOUNT", "GCOUNT", "EXTEND", "TFIELDS", "TFORM", "TTYPE",
        "TDIM", "TSCAL", "TZERO", "TNULL", "THEAP", "BSCALE", "BZERO", "BLANK", "ZIMAGE", "ZCMPTYPE",
        "ZBITPIX", "ZNAXIS", "ZTILE", "ZNAME", "ZVAL", "ZQUANTIZ", "ZDITHER", "ZBLANK", "ZSCALE", "ZZERO"};
    for (const auto p : prefixes)
        if (k.substr(0, p.size()) == p) return true;
    return false;
}

/// Keywords whose value must be a number: the HDU's shape and tile compression's.
bool numeric(std::string_view k) {
    static constexpr std::string_view prefixes[] = {"BITPIX", "NAXIS", "PCOUNT", "GCOUNT", "TFIELDS", "THEAP",
                                                    "ZBITPIX", "ZNAXIS", "ZTILE", "ZVAL", "ZDITHER", "ZBLANK"};
    for (const auto p : prefixes)
        if (k.substr(0, p.size()) == p) return true;
    return false;
}

void check_header_cards(const std::string& path) {
    gzFile g = gzopen(path.c_str(), "rb");  // reads a plain file as it is
    if (g == nullptr) return;
    struct Closer {
        gzFile g;
        ~Closer() { gzclose(g); }
    } closer{g};
    char block[2880];
    for (int hdu = 1; hdu <= 1000; ++hdu) {
        long long bitpix = 0, naxis = 0, pcount = 0, gcount = 1, cells = 1;
        bool end = false;
        std::set<std::string> seen;
        for (int card_no = 0; !end;) {
            if (gzread(g, block, sizeof block) != static_cast<int>(sizeof block)) return;
            // Only what is surely a header is checked: the primary's, then each extension's.
            if (card_no == 0 && std::memcmp(block, hdu == 1 ? "SIMPLE  =" : "XTENSION=", 9) != 0) return;
            for (int c = 0; c < 36 && !end; ++c, ++card_no) {
                const std::string_view card(block + 80 * c, 80);
                if (card.substr(0, 8) == "END     ") {
                    end = true;
                    break;
                }
                for (std::size_t k = 0; k < card.size(); ++k)
                    if (static_cast<unsigned char>(card[k]) < 32 || static_cast<unsigned char>(card[k]) > 126)
                        throw FitsError(path, hdu, "", 0,
                                        fmt::format("cannot open as FITS: card {} of HDU {} holds byte 0x{:02X} in "
                                                    "column {}: a FITS header is ASCII text",
                                                    card_no + 1, hdu, static_cast<unsigned char>(card[k]), k + 1),
                                        "");
                // cfitsio looks a keyword up from the last one it read, not from the top: a
                // structural keyword given twice (ZTILE1 = 100, later ZTILE1 = 'BLOCKSIZE')
                // makes it take either, and one of them divided by zero (SIGFPE).
                const std::string_view name = trim(card.substr(0, 8));
                if (structural(name) && !seen.insert(std::string(name)).second)
                    throw FitsError(path, hdu, "", 0,
                                    fmt::format("cannot open as FITS: keyword {} appears twice in HDU {} (card {})",
                                                std::string(name), hdu, card_no + 1),
                                    "");
                if (card[8] == '=' && card[9] != ' ')
                    throw FitsError(path, hdu, "", 0,
                                    fmt::format("cannot open as FITS: card {} of HDU {} ('{}') has '=' in column 9 but "
                                                "no blank after it: not a FITS value card",
                                                card_no + 1, hdu, std::string(trim(card.substr(0, 8)))),
                                    "");
                const auto kv = parse_card(card);
                if (!kv) continue;
                long long v = 0;
                const auto& [k, text] = *kv;
                // A numeric keyword of the structure or of tile compression whose value is no
                // number: cfitsio's conversion (ffc2j) overran its message buffer quoting a long
                // one (abort: "buffer overflow detected").
                if (numeric(k)) {
                    double d = 0;
                    std::string t(text);
                    for (char& ch : t)
                        if (ch == 'D' || ch == 'd') ch = 'E';
                    const char* b = t.data() + (t.size() > 0 && t[0] == '+' ? 1 : 0);
                    const auto r = std::from_chars(b, t.data() + t.size(), d);
                    if (r.ec != std::errc() || r.ptr != t.data() + t.size())
                        throw FitsError(path, hdu, "", 0,
                                        fmt::format("cannot open as FITS: {} in HDU {} (card {}) is not a number",
                                                    k, hdu, card_no + 1),
                                        "");
                }
                // A tile size cfitsio reads as 0 ("0           16") it divides by (SIGFPE), and so
                // a compressed image's axis of length 0 when no ZTILE gives the tile (its default).
                const bool tile = k.rfind("ZTILE", 0) == 0, axis = k.size() > 6 && k.rfind("ZNAXIS", 0) == 0;
                if (tile || axis) {
                    const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
                    if (r.ec != std::errc() || r.ptr != text.data() + text.size() || v <= 0)
                        throw FitsError(path, hdu, "", 0,
                                        fmt::format("cannot open as FITS: {} = '{}' in HDU {} is not a positive {}", k,
                                                    text, hdu, tile ? "tile size" : "image axis length"),
                                        "");
                }
                const bool number = std::sscanf(text.c_str(), "%lld", &v) == 1;
                if (k == "BITPIX" && number) bitpix = v;
                if (k == "NAXIS" && number) naxis = v;
                if (k == "PCOUNT" && number) pcount = v;
                if (k == "GCOUNT" && number) gcount = v;
                if (k.size() > 5 && k.compare(0, 5, "NAXIS") == 0 && number) {
                    if (v < 0 || (v > 0 && cells > (1LL << 50) / v)) return;
                    cells *= v;
                }
            }
        }
        if (naxis == 0) cells = 0;
        if ((bitpix != 8 && bitpix != 16 && bitpix != 32 && bitpix != 64 && bitpix != -32 && bitpix != -64) ||
            pcount < 0 || gcount < 0 || pcount > (1LL << 50) || gcount > (1LL << 20))
            return;
        long long bytes = 0;
        if (__builtin_mul_overflow((bitpix < 0 ? -bitpix : bitpix) / 8 * gcount, pcount + cells, &bytes) ||
            bytes > (1LL << 60))
            return;
        const long long skip = (bytes + 2879) / 2880 * 2880;
        if (skip > 0 && gzseek(g, static_cast<z_off_t>(skip), SEEK_CUR) < 0) return;
    }
}

}  // namespace

std::string cfitsio_messages(int status) {
    std::string out;
    if (status != 0) {
        char text[FLEN_STATUS] = {0};
        fits_get_errstatus(status, text);
        out = text;
    }
    char msg[FLEN_ERRMSG] = {0};
    while (fits_read_errmsg(msg) != 0) {
        std::string m(msg);
        while (!m.empty() && (m.back() == ' ' || m.back() == '\n')) m.pop_back();
        if (m.empty()) continue;
        if (!out.empty()) out += "; ";
        out += m;
    }
    return out;
}

FitsFile FitsFile::open(const std::string& path, Mode mode) {
    check_gzip_size(path);
    check_header_cards(path);
    fitsfile* f = nullptr;
    int status = 0;
    fits_open_file(&f, path.c_str(), mode == Mode::read_only ? READONLY : READWRITE, &status);
    if (status != 0) {
        std::string lib = cfitsio_messages(status);
        if (f != nullptr) {
            int s2 = 0;
            fits_close_file(f, &s2);
        }
        throw FitsError(path, 0, "", status, "cannot open as FITS", lib);
    }
    return FitsFile(f, path);
}

FitsFile FitsFile::create(const std::string& path) {
    fitsfile* f = nullptr;
    int status = 0;
    std::string bang = "!" + path;  // '!' tells cfitsio to overwrite
    fits_create_file(&f, bang.c_str(), &status);
    if (status != 0) throw FitsError(path, 0, "", status, "cannot create", cfitsio_messages(status));
    return FitsFile(f, path);
}

FitsFile::FitsFile(FitsFile&& other) noexcept
    : fptr_(std::exchange(other.fptr_, nullptr)), path_(std::move(other.path_)) {}

FitsFile& FitsFile::operator=(FitsFile&& other) noexcept {
    if (this != &other) {
        if (fptr_ != nullptr) {
            int status = 0;
            fits_close_file(F(fptr_), &status);
        }
        fptr_ = std::exchange(other.fptr_, nullptr);
        path_ = std::move(other.path_);
    }
    return *this;
}

FitsFile::~FitsFile() {
    if (fptr_ != nullptr) {
        int status = 0;
        fits_close_file(F(fptr_), &status);  // errors are dropped: a destructor never throws
        fits_clear_errmsg();
    }
}

void FitsFile::close() {
    if (fptr_ == nullptr) return;
    int status = 0;
    fits_close_file(F(fptr_), &status);
    fptr_ = nullptr;
    if (status != 0) throw FitsError(path_, 0, "", status, "closing failed", cfitsio_messages(status));
}

int FitsFile::current_hdu() const {
    int hdu = 0;
    fits_get_hdu_num(F(fptr_), &hdu);
    return hdu;
}

int FitsFile::hdu_count() const {
    int n = 0, status = 0;
    fits_get_num_hdus(F(fptr_), &n, &status);
    check(status, "cannot count HDUs");
    return n;
}

int FitsFile::move_to(int hdu) {
    int type = 0, status = 0;
    fits_movabs_hdu(F(fptr_), hdu, &type, &status);
    if (status != 0)
        throw FitsError(path_, hdu, "", status, "cannot move to HDU", cfitsio_messages(status));
    return type;
}

void FitsFile::move_to_first_table() {
    int n = hdu_count();
    for (int hdu = 1; hdu <= n; ++hdu) {
        if (move_to(hdu) == BINARY_TBL) {
            int status = 0, compressed = fits_is_compressed_image(F(fptr_), &status);
            if (compressed == 0) return;
        }
    }
    throw FitsError(path_, 0, "", 0, "no binary table HDU in file", "");
}

void FitsFile::check(int status, const std::string& what, const std::string& column) const {
    if (status == 0) return;
    int hdu = 0;
    if (fptr_ != nullptr) fits_get_hdu_num(F(fptr_), &hdu);
    throw FitsError(path_, hdu, column, status, what, cfitsio_messages(status));
}

}  // namespace dhs::fits
