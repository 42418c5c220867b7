// SweepReader: header parsing, the big-endian field decoders (one tight loop per type) and
// the row-block read loop (see sweep_reader.hpp).
#include "core/fits/sweep_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstring>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <unordered_map>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "core/error.hpp"
#include "core/fits/cfitsio_handle.hpp"
#include "core/fits/header_text.hpp"

namespace dhs::fits {

namespace {

static_assert(std::endian::native == std::endian::little || std::endian::native == std::endian::big);

// ---- big-endian loads
template <class U>
inline U load_be(const unsigned char* p) noexcept {
    U v;
    std::memcpy(&v, p, sizeof(U));
    if constexpr (std::endian::native == std::endian::big || sizeof(U) == 1) {
        return v;
    } else if constexpr (sizeof(U) == 2) {
        return __builtin_bswap16(v);
    } else if constexpr (sizeof(U) == 4) {
        return __builtin_bswap32(v);
    } else {
        return __builtin_bswap64(v);
    }
}

// Decodes `cell` elements of ESize bytes per row from `nrows` rows `stride` bytes apart
// (starting at `first`, the field of row 0) into consecutive `dst` with `conv(p)`.
template <std::size_t ESize, class Out, class Convert>
void decode_cells(const unsigned char* first, std::int64_t stride, std::int64_t nrows, std::size_t cell, Out* dst,
                  Convert conv) {
    if (cell == 1) {
        for (std::int64_t r = 0; r < nrows; ++r, first += stride) dst[r] = conv(first);
        return;
    }
    for (std::int64_t r = 0; r < nrows; ++r, first += stride) {
        const unsigned char* p = first;
        for (std::size_t k = 0; k < cell; ++k, p += ESize) *dst++ = conv(p);
    }
}

// Raw FITS value of a numeric field as double, for TSCAL/TZERO scaling.
template <class Raw>
inline double raw_as_double(const unsigned char* p) noexcept {
    if constexpr (std::is_same_v<Raw, float>) {
        return std::bit_cast<float>(load_be<std::uint32_t>(p));
    } else if constexpr (std::is_same_v<Raw, double>) {
        return std::bit_cast<double>(load_be<std::uint64_t>(p));
    } else {
        return static_cast<double>(static_cast<Raw>(load_be<std::make_unsigned_t<Raw>>(p)));
    }
}

template <class Raw>
void decode_scaled(const unsigned char* first, std::int64_t stride, std::int64_t nrows, std::size_t cell, double* dst,
                   double tscal, double tzero) {
    decode_cells<sizeof(Raw)>(first, stride, nrows, cell, dst,
                              [=](const unsigned char* p) { return raw_as_double<Raw>(p) * tscal + tzero; });
}

// Appends n value-initialised elements to the vector<T> held by `s`; returns the first.
// Growing block by block (after one reserve) keeps the zero-fill cache-hot.
template <class T>
T* grow(Column::Storage& s, std::size_t n) {
    auto& v = std::get<std::vector<T>>(s);
    const std::size_t at = v.size();
    v.resize(at + n);
    return v.data() + at;
}

// A byte outside ASCII in a character column: FITS character data is ASCII, and what is not
// would reach UTF-8 datasets and JSON as invalid text.
struct NonAscii {
    std::int64_t row = -1;  ///< row within the block; -1: none
    unsigned char byte = 0;
};

// Appends the field `c` of `nrows` rows of `rows` (`stride` bytes apart) to `out`, which
// holds the storage of c.dtype. Returns the first non-ASCII byte of a character column.
NonAscii decode_field(const SweepColumnInfo& c, const unsigned char* rows, std::int64_t stride, std::int64_t nrows,
                      std::size_t cell, Column::Storage& out) {
    const unsigned char* first = rows + c.byte_offset;
    const std::size_t n = static_cast<std::size_t>(nrows) * cell;
    if (n == 0) return {};
    switch (c.dtype) {
        case DType::boolean:
            decode_cells<1>(first, stride, nrows, cell, grow<std::uint8_t>(out, n),
                            [](const unsigned char* p) { return static_cast<std::uint8_t>(*p == 'T'); });
            return {};
        case DType::uint8:
            decode_cells<1>(first, stride, nrows, cell, grow<std::uint8_t>(out, n),
                            [](const unsigned char* p) { return *p; });
            return {};
        case DType::int8:  // B with TZERO = -128: flipping the top bit subtracts 128
            decode_cells<1>(first, stride, nrows, cell, grow<std::int8_t>(out, n),
                            [](const unsigned char* p) { return static_cast<std::int8_t>(*p ^ 0x80u); });
            return {};
        case DType::int16:
            decode_cells<2>(first, stride, nrows, cell, grow<std::int16_t>(out, n), [](const unsigned char* p) {
                return static_cast<std::int16_t>(load_be<std::uint16_t>(p));
            });
            return {};
        case DType::uint16:  // I with TZERO = 32768
            decode_cells<2>(first, stride, nrows, cell, grow<std::uint16_t>(out, n), [](const unsigned char* p) {
                return static_cast<std::uint16_t>(load_be<std::uint16_t>(p) ^ 0x8000u);
            });
            return {};
        case DType::int32:
            decode_cells<4>(first, stride, nrows, cell, grow<std::int32_t>(out, n), [](const unsigned char* p) {
                return static_cast<std::int32_t>(load_be<std::uint32_t>(p));
            });
            return {};
        case DType::uint32:  // J with TZERO = 2^31
            decode_cells<4>(first, stride, nrows, cell, grow<std::uint32_t>(out, n),
                            [](const unsigned char* p) { return load_be<std::uint32_t>(p) ^ 0x80000000u; });
            return {};
        case DType::int64:
            decode_cells<8>(first, stride, nrows, cell, grow<std::int64_t>(out, n), [](const unsigned char* p) {
                return static_cast<std::int64_t>(load_be<std::uint64_t>(p));
            });
            return {};
        case DType::uint64:  // K with TZERO = 2^63
            decode_cells<8>(first, stride, nrows, cell, grow<std::uint64_t>(out, n), [](const unsigned char* p) {
                return load_be<std::uint64_t>(p) ^ (std::uint64_t{1} << 63);
            });
            return {};
        case DType::float32:
            decode_cells<4>(first, stride, nrows, cell, grow<float>(out, n), [](const unsigned char* p) {
                return std::bit_cast<float>(load_be<std::uint32_t>(p));
            });
            return {};
        case DType::float64: {
            double* dst = grow<double>(out, n);
            const bool scaled = c.tscal != 1.0 || c.tzero != 0.0;
            if (c.code == 'D' && !scaled) {
                decode_cells<8>(first, stride, nrows, cell, dst, [](const unsigned char* p) {
                    return std::bit_cast<double>(load_be<std::uint64_t>(p));
                });
                return {};
            }
            switch (c.code) {
                case 'B': decode_scaled<std::uint8_t>(first, stride, nrows, cell, dst, c.tscal, c.tzero); return {};
                case 'I': decode_scaled<std::int16_t>(first, stride, nrows, cell, dst, c.tscal, c.tzero); return {};
                case 'J': decode_scaled<std::int32_t>(first, stride, nrows, cell, dst, c.tscal, c.tzero); return {};
                case 'K': decode_scaled<std::int64_t>(first, stride, nrows, cell, dst, c.tscal, c.tzero); return {};
                case 'E': decode_scaled<float>(first, stride, nrows, cell, dst, c.tscal, c.tzero); return {};
                default: decode_scaled<double>(first, stride, nrows, cell, dst, c.tscal, c.tzero); return {};
            }
        }
        case DType::string: {
            // A row holds `cell` strings of c.width characters: cut at a NUL, drop trailing blanks.
            auto& s = std::get<std::vector<std::string>>(out);
            const auto w = static_cast<std::size_t>(c.width);
            for (std::int64_t r = 0; r < nrows; ++r, first += stride) {
                const char* p = reinterpret_cast<const char*>(first);
                for (std::size_t k = 0; k < cell; ++k, p += w) {
                    std::size_t len = strnlen(p, w);
                    while (len > 0 && p[len - 1] == ' ') --len;
                    unsigned char any = 0;
                    for (std::size_t j = 0; j < len; ++j) any |= static_cast<unsigned char>(p[j]);
                    if (any & 0x80u)
                        for (std::size_t j = 0; j < len; ++j)
                            if (static_cast<unsigned char>(p[j]) & 0x80u) return {r, static_cast<unsigned char>(p[j])};
                    s.emplace_back(p, len);
                }
            }
            return {};
        }
    }
    return {};
}

// Empty storage for `n` elements of `t`, reserved so that block appends never reallocate.
// Large reservations are offered transparent huge pages: first-touch page faults of fresh
// output memory otherwise cost more than decoding it (notably on virtual machines).
Column::Storage reserve_storage(DType t, std::size_t n) {
    Column::Storage s = Column(std::string(), t, 0).storage();
    std::visit(
        [n](auto& v) {
            v.reserve(n);
            const std::size_t bytes = n * sizeof(typename std::decay_t<decltype(v)>::value_type);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
            constexpr std::uintptr_t huge = std::uintptr_t{2} << 20;
            const auto begin = (reinterpret_cast<std::uintptr_t>(v.data()) + huge - 1) & ~(huge - 1);
            const auto end = (reinterpret_cast<std::uintptr_t>(v.data()) + bytes) & ~(huge - 1);
            if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);  // advice only
#else
            (void)bytes;
#endif
        },
        s);
    return s;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::toupper(static_cast<unsigned char>(x)) == std::toupper(static_cast<unsigned char>(y));
           });
}

// The table header's keywords and value texts (first occurrence of each), read in one pass:
// cfitsio's per-keyword look-ups scan the whole header each time, which for a DR10 sweep's
// ~130 columns x 6 keywords was most of the cost of opening one (dhs plan opens 1,436).
class HeaderKeys {
public:
    explicit HeaderKeys(const FitsFile& file) {
        int status = 0, nkeys = 0;
        char* text = nullptr;
        fits_hdr2str(fptr(file), 0, nullptr, 0, &text, &nkeys, &status);
        file.check(status, "cannot read the table's header");
        const std::string_view all(text);
        for (std::size_t at = 0; at + 80 <= all.size(); at += 80)
            if (auto kv = parse_card(all.substr(at, 80))) keys_.emplace(std::move(kv->first), std::move(kv->second));
        fits_free_memory(text, &status);
    }
    /// The value text of `key`, or nullptr when absent.
    const std::string* find(const std::string& key) const {
        const auto it = keys_.find(key);
        return it == keys_.end() ? nullptr : &it->second;
    }
    /// A real keyword's value (FITS allows a 'D' exponent); `fallback` when absent.
    double real(const std::string& key, double fallback, const std::function<void(const std::string&)>& fail) const {
        const std::string* v = find(key);
        if (v == nullptr) return fallback;
        std::string t = *v;
        std::replace(t.begin(), t.end(), 'D', 'E');
        std::replace(t.begin(), t.end(), 'd', 'e');
        char* end = nullptr;
        const double x = std::strtod(t.c_str(), &end);
        if (t.empty() || end != t.c_str() + t.size()) fail(fmt::format("keyword {} = '{}' is not a number", key, *v));
        return x;
    }

private:
    std::unordered_map<std::string, std::string> keys_;
};

// An integer field's DType: its twin under the TZERO convention (signed byte for B,
// unsigned for I, J, K), float64 under any other TSCAL/TZERO, else the plain type.
DType integer_dtype(const SweepColumnInfo& c, double twin_tzero, DType twin, DType plain) {
    if (c.tscal == 1.0 && c.tzero == twin_tzero) return twin;
    return c.tscal != 1.0 || c.tzero != 0.0 ? DType::float64 : plain;
}

// The element type read() gives for a field, and whether read() can decode it at all.
void classify(SweepColumnInfo& c) {
    switch (c.code) {
        case 'L': c.dtype = DType::boolean; return;
        case 'A': c.dtype = DType::string; return;
        case 'B': c.dtype = integer_dtype(c, -128.0, DType::int8, DType::uint8); return;
        case 'I': c.dtype = integer_dtype(c, 32768.0, DType::uint16, DType::int16); return;
        case 'J': c.dtype = integer_dtype(c, 2147483648.0, DType::uint32, DType::int32); return;
        case 'K': c.dtype = integer_dtype(c, 9223372036854775808.0, DType::uint64, DType::int64); return;  // 2^63
        case 'E': c.dtype = c.tscal != 1.0 || c.tzero != 0.0 ? DType::float64 : DType::float32; return;
        case 'D': c.dtype = DType::float64; return;
        default: c.dtype = DType::uint8; c.readable = false; return;  // X, C, M, P, Q
    }
}

}  // namespace

// ------------------------------------------------------------------------------ SweepReader

SweepReader::SweepReader(const std::string& path, std::int64_t block_rows) : file_(FitsFile::open(path)) {
    file_.move_to_first_table();
    hdu_ = file_.current_hdu();
    parse_header();
    // Default: about 1 MiB of rows, so that the buffer stays cache-resident while each
    // requested column is decoded from it in turn.
    set_block_rows(block_rows > 0 ? block_rows : (std::int64_t{1} << 20) / std::max<std::int64_t>(1, row_bytes_));
}

void SweepReader::fail(const std::string& what, const std::string& column) const {
    throw FitsError(path(), hdu_, column, 0, what, "");
}

void SweepReader::set_block_rows(std::int64_t rows) { block_rows_ = std::max<std::int64_t>(1, rows); }

void SweepReader::parse_header() {
    fitsfile* f = fptr(file_);
    int status = 0, ncols = 0;
    LONGLONG nrows = 0, naxis1 = 0;
    fits_get_num_rowsll(f, &nrows, &status);
    fits_get_num_cols(f, &ncols, &status);
    fits_read_key(f, TLONGLONG, "NAXIS1", &naxis1, nullptr, &status);
    file_.check(status, "cannot read the table's shape");
    num_rows_ = nrows;
    row_bytes_ = naxis1;
    check_data_size();

    const HeaderKeys keys(file_);
    std::int64_t offset = 0;
    columns_.reserve(static_cast<std::size_t>(ncols));
    for (int n = 1; n <= ncols; ++n) {
        SweepColumnInfo c;
        c.number = n;
        const std::string* ttype = keys.find(fmt::format("TTYPE{}", n));
        c.name = ttype != nullptr ? *ttype : fmt::format("COL{}", n);
        const std::string* tform_text = keys.find(fmt::format("TFORM{}", n));
        if (tform_text == nullptr) fail(fmt::format("TFORM{} is missing", n), c.name);
        char tform[FLEN_VALUE] = {0};
        std::strncpy(tform, tform_text->c_str(), FLEN_VALUE - 1);
        const char* p = tform;
        while (*p == ' ' || std::isdigit(static_cast<unsigned char>(*p))) ++p;
        c.code = static_cast<char>(std::toupper(static_cast<unsigned char>(*p)));
        if (std::strchr("LXBIJKAEDCMPQ", c.code) == nullptr || c.code == 0)
            fail(fmt::format("unknown TFORM{} '{}'", n, tform), c.name);
        int typecode = 0;
        LONGLONG repeat = 0;
        long width = 0;
        fits_binary_tformll(tform, &typecode, &repeat, &width, &status);
        file_.check(status, fmt::format("cannot parse TFORM{} '{}'", n, tform), c.name);
        c.repeat = repeat;
        c.width = width;
        switch (c.code) {
            case 'A': c.byte_width = repeat; break;
            case 'X': c.byte_width = (repeat + 7) / 8; break;
            case 'P': c.byte_width = 8; break;
            case 'Q': c.byte_width = 16; break;
            default: c.byte_width = repeat * width;
        }
        c.byte_offset = offset;
        offset += c.byte_width;
        if (const std::string* unit = keys.find(fmt::format("TUNIT{}", n))) c.unit = *unit;
        const auto bad = [&](const std::string& what) { fail(what, c.name); };
        c.tscal = keys.real(fmt::format("TSCAL{}", n), 1.0, bad);
        c.tzero = keys.real(fmt::format("TZERO{}", n), 0.0, bad);
        classify(c);

        // Per-row shape: reversed TDIM (C order); for strings TDIM's first axis is the length.
        std::vector<LONGLONG> dims;
        if (keys.find(fmt::format("TDIM{}", n)) != nullptr && c.readable) {
            int naxis = 0;
            LONGLONG naxes[16] = {0};
            fits_read_tdimll(f, n, 16, &naxis, naxes, &status);
            file_.check(status, fmt::format("bad TDIM{}", n), c.name);
            dims.assign(naxes, naxes + std::min(naxis, 16));
        }
        if (c.code == 'A') {
            if (!dims.empty()) c.width = dims.front();
            if (c.width <= 0 || c.width > repeat) c.width = repeat;
            if (dims.size() > 1) {
                for (auto it = dims.rbegin(); it + 1 != dims.rend(); ++it)
                    c.shape.push_back(static_cast<std::size_t>(*it));
            } else if (c.width > 0 && repeat / c.width > 1) {
                c.shape = {static_cast<std::size_t>(repeat / c.width)};
            }
        } else if (c.readable) {
            if (!dims.empty() && !(dims.size() == 1 && dims[0] == repeat && repeat == 1)) {
                for (auto it = dims.rbegin(); it != dims.rend(); ++it) c.shape.push_back(static_cast<std::size_t>(*it));
            } else if (repeat != 1) {
                c.shape = {static_cast<std::size_t>(repeat)};
            }
        }
        columns_.push_back(std::move(c));
    }
    if (offset != row_bytes_)
        fail(fmt::format("the fields add up to {} bytes per row but NAXIS1 is {}", offset, row_bytes_));
}

void SweepReader::check_data_size() const {
    // A header is trusted for nothing it cannot back with bytes: a NAXIS2 of 9e18 (or one a
    // truncated file no longer holds) would otherwise plan billions of units or size buffers.
    const std::string where = fmt::format("HDU {}, keyword NAXIS2", hdu_);
    if (num_rows_ < 0 || row_bytes_ < 0)
        throw DataError(path(), where, fmt::format("negative table shape: NAXIS1 = {}, NAXIS2 = {}", row_bytes_, num_rows_));
    LONGLONG head = 0, data = 0, end = 0;
    int status = 0;
    fits_get_hduaddrll(fptr(file_), &head, &data, &end, &status);
    file_.check(status, "cannot locate the table's data");
    // cfitsio's own size of the file it reads: the decompressed bytes of a .gz sweep (read into
    // memory), the disk file's size otherwise.
    const LONGLONG size = fptr(file_)->Fptr->logfilesize;
    // Rows of zero bytes take no room, so the file backs any count of them: a table without
    // bytes per row that claims rows is refused (9e18 of them would plan 9e18 rows of units).
    if (row_bytes_ == 0 && num_rows_ > 0)
        throw DataError(path(), where,
                        fmt::format("the header claims {} rows of 0 bytes (NAXIS1 = 0): a table whose rows hold no "
                                    "bytes has no rows to read (corrupt NAXIS1 / NAXIS2)",
                                    num_rows_));
    if (row_bytes_ == 0 || size <= 0) return;  // an empty zero-width table: nothing to compare
    const auto available = static_cast<std::uint64_t>(size) > static_cast<std::uint64_t>(data)
                               ? static_cast<std::uint64_t>(size) - static_cast<std::uint64_t>(data)
                               : std::uint64_t{0};
    const auto holds = available / static_cast<std::uint64_t>(row_bytes_);
    if (static_cast<std::uint64_t>(num_rows_) > holds)
        throw DataError(path(), where,
                        fmt::format("the header claims {} rows of {} bytes, but the file holds {} bytes after the "
                                    "header, room for {} rows (corrupt NAXIS2 or truncated file)",
                                    num_rows_, row_bytes_, available, holds));
}

std::vector<std::string> SweepReader::column_names() const {
    std::vector<std::string> names;
    names.reserve(columns_.size());
    for (const auto& c : columns_) names.push_back(c.name);
    return names;
}

const SweepColumnInfo* SweepReader::find_column(std::string_view name) const noexcept {
    for (const auto& c : columns_)
        if (c.name == name) return &c;
    for (const auto& c : columns_)
        if (iequals(c.name, name)) return &c;
    return nullptr;
}

bool SweepReader::has_column(std::string_view name) const noexcept { return find_column(name) != nullptr; }

Table SweepReader::read(const std::vector<ColumnRequest>& requests, std::int64_t row_begin, std::int64_t row_end) {
    if (row_begin < 0 || row_end < row_begin || row_end > num_rows_)
        fail(fmt::format("row range [{}, {}) outside the table's {} rows", row_begin, row_end, num_rows_));
    std::vector<const SweepColumnInfo*> fields;
    for (const auto& req : requests) {
        const SweepColumnInfo* c = find_column(req.name);
        if (c == nullptr) {
            if (req.required) throw MissingColumnError(path(), hdu_, req.name);
            continue;
        }
        if (!c->readable)
            fail(fmt::format("cannot read TFORM '{}' columns (bits, complex or variable-length)", c->code), c->name);
        if (std::find(fields.begin(), fields.end(), c) == fields.end()) fields.push_back(c);
    }

    const auto n = static_cast<std::size_t>(row_end - row_begin);
    std::vector<Column::Storage> data;
    std::vector<std::size_t> cells;
    for (const auto* c : fields) {
        cells.push_back(Column(c->name, c->dtype, 0, c->shape).cell_size());
        data.push_back(reserve_storage(c->dtype, n * cells.back()));
    }
    if (!fields.empty() && n > 0) {
        buffer_.resize(static_cast<std::size_t>(std::min<std::int64_t>(block_rows_, row_end - row_begin) * row_bytes_));
        for (std::int64_t r0 = row_begin; r0 < row_end; r0 += block_rows_) {
            const std::int64_t m = std::min(block_rows_, row_end - r0);
            int status = 0;
            fits_read_tblbytes(fptr(file_), r0 + 1, 1, m * row_bytes_, buffer_.data(), &status);
            file_.check(status, fmt::format("cannot read rows [{}, {}) of {}", r0, r0 + m, num_rows_));
            for (std::size_t i = 0; i < fields.size(); ++i)
                if (const NonAscii bad = decode_field(*fields[i], buffer_.data(), row_bytes_, m, cells[i], data[i]);
                    bad.row >= 0)
                    throw DataError(path(), fmt::format("HDU {} column {} row {}", hdu_, fields[i]->name, r0 + bad.row),
                                    fmt::format("byte 0x{:02X} is not ASCII (FITS character columns hold ASCII text)",
                                                static_cast<unsigned>(bad.byte)));
        }
    }
    Table table;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        const SweepColumnInfo& c = *fields[i];
        Column col = std::visit(
            [&](auto& v) {
                if (cells[i] > 0) return Column(c.name, std::move(v), c.shape, c.dtype);
                return Column(c.name, c.dtype, n, c.shape);  // zero-sized cells: keep the row count
            },
            data[i]);
        col.set_unit(c.unit);
        table.add(std::move(col));
    }
    return table;
}

Table SweepReader::read(const std::vector<std::string>& names, std::int64_t row_begin, std::int64_t row_end) {
    std::vector<ColumnRequest> requests;
    requests.reserve(names.size());
    for (const auto& name : names) requests.push_back({name, true});
    return read(requests, row_begin, row_end);
}

Table SweepReader::read(std::initializer_list<const char*> names, std::int64_t row_begin, std::int64_t row_end) {
    return read(std::vector<std::string>(names.begin(), names.end()), row_begin, row_end);
}

Table SweepReader::read_all(const std::vector<std::string>& names) { return read(names, 0, num_rows_); }

void SweepReader::for_each_block(const std::vector<std::string>& names, std::int64_t rows_per_block,
                                 const std::function<void(const Table&, std::int64_t)>& callback) {
    if (rows_per_block <= 0) fail(fmt::format("for_each_block needs rows_per_block >= 1, not {}", rows_per_block));
    if (num_rows_ == 0) (void)read(names, 0, 0);  // still report missing columns
    for (std::int64_t r0 = 0; r0 < num_rows_; r0 += rows_per_block)
        callback(read(names, r0, std::min(num_rows_, r0 + rows_per_block)), r0);
}

}  // namespace dhs::fits
