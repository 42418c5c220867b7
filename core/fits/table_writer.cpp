// FitsTableWriter: binary tables written as packed big-endian row blocks (see table_writer.hpp).
#include "core/fits/table_writer.hpp"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/fits/cfitsio_handle.hpp"

namespace dhs::fits {

namespace fs = std::filesystem;

namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::toupper(static_cast<unsigned char>(x)) == std::toupper(static_cast<unsigned char>(y));
           });
}

bool ends_with(std::string_view s, std::string_view tail) {
    return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

std::int64_t element_bytes(char code) {
    switch (code) {
        case 'L': case 'B': case 'A': return 1;
        case 'I': return 2;
        case 'J': case 'E': return 4;
        case 'K': case 'D': return 8;
        default: return 0;
    }
}

/// Stores `v` big-endian at `p`.
template <class T>
inline void put_be(unsigned char* p, T v) {
    if constexpr (sizeof(T) == 1 || std::endian::native == std::endian::big) {
        std::memcpy(p, &v, sizeof(T));
    } else if constexpr (sizeof(T) == 2) {
        const auto u = __builtin_bswap16(std::bit_cast<std::uint16_t>(v));
        std::memcpy(p, &u, 2);
    } else if constexpr (sizeof(T) == 4) {
        const auto u = __builtin_bswap32(std::bit_cast<std::uint32_t>(v));
        std::memcpy(p, &u, 4);
    } else {
        const auto u = __builtin_bswap64(std::bit_cast<std::uint64_t>(v));
        std::memcpy(p, &u, 8);
    }
}

/// `s` converted to Dst; false when Dst cannot hold it exactly (integers) or at all.
template <class Dst, class Src>
inline bool convert(Src s, Dst& d) {
    if constexpr (std::is_floating_point_v<Dst>) {
        d = static_cast<Dst>(s);
        return true;
    } else if constexpr (std::is_integral_v<Src>) {
        if (!std::in_range<Dst>(s)) return false;
        d = static_cast<Dst>(s);
        return true;
    } else {
        const Src lo = static_cast<Src>(std::numeric_limits<Dst>::min());
        const Src hi = std::ldexp(Src(1), std::numeric_limits<Dst>::digits);  // max + 1, exact
        if (!(s >= lo && s < hi) || s != std::trunc(s)) return false;
        d = static_cast<Dst>(s);
        return true;
    }
}

std::string value_text(const auto& v) {
    if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string>) return "'" + v + "'";
    else if constexpr (std::is_floating_point_v<std::decay_t<decltype(v)>>) return fmt::format("{}", v);
    else return std::to_string(v);
}

}  // namespace

void write_card(FitsFile& file, const FitsCard& card) {
    fitsfile* f = fptr(file);
    int status = 0;
    const char* comment = card.comment.empty() ? nullptr : card.comment.c_str();
    std::visit(
        [&](const auto& v) {
            using V = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<V, std::string>) {
                if (v.size() > 68) {
                    int has = 0, s2 = 0;  // LONGSTRN announces the CONTINUE convention (fitsverify warns without)
                    char value[FLEN_VALUE];
                    if (fits_read_keyword(f, "LONGSTRN", value, nullptr, &s2) == 0) has = 1;
                    fits_clear_errmsg();
                    if (has == 0) fits_write_key_longwarn(f, &status);
                    fits_write_key_longstr(f, card.name.c_str(), v.c_str(), comment, &status);
                } else {
                    fits_write_key(f, TSTRING, card.name.c_str(), const_cast<char*>(v.c_str()), comment, &status);
                }
            } else if constexpr (std::is_same_v<V, double>) {
                if (!std::isfinite(v))
                    throw FitsError(file.path(), file.current_hdu(), "", 0,
                                    "keyword " + card.name + " has a non-finite value", "");
                double x = v;
                fits_write_key(f, TDOUBLE, card.name.c_str(), &x, comment, &status);
            } else if constexpr (std::is_same_v<V, bool>) {
                int x = v ? 1 : 0;
                fits_write_key(f, TLOGICAL, card.name.c_str(), &x, comment, &status);
            } else {
                LONGLONG x = v;
                fits_write_key(f, TLONGLONG, card.name.c_str(), &x, comment, &status);
            }
        },
        card.value);
    file.check(status, "cannot write keyword " + card.name);
}

// ---------------------------------------------------------------- FitsTableWriter

FitsTableWriter::FitsTableWriter(std::string path, std::vector<FitsColumnSpec> schema, std::string extname)
    : path_(std::move(path)), tmp_(path_ + ".tmp"), extname_(std::move(extname)) {
    for (auto& spec : schema) {
        Field fd;
        std::string t = spec.tform;
        t.erase(std::remove(t.begin(), t.end(), ' '), t.end());
        std::size_t i = 0;
        while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i;
        if (i + 1 != t.size() || element_bytes(t[i]) == 0 || i > 9)
            throw FitsError(path_, 0, spec.name, 0,
                            "unsupported TFORM '" + spec.tform + "' (use [r]L, B, I, J, K, E, D or nA)", "");
        fd.code = t[i];
        fd.repeat = i == 0 ? 1 : std::stoll(t.substr(0, i));
        if (fd.repeat < 1) throw FitsError(path_, 0, spec.name, 0, "TFORM repeat must be >= 1", "");
        fd.width = fd.repeat * element_bytes(fd.code);
        fd.offset = row_bytes_;
        row_bytes_ += fd.width;
        for (const auto& other : fields_)
            if (iequals(other.spec.name, spec.name))
                throw FitsError(path_, 0, spec.name, 0, "duplicate column name in schema", "");
        fd.spec = std::move(spec);
        fields_.push_back(std::move(fd));
    }
    if (fields_.empty()) throw FitsError(path_, 0, "", 0, "a table needs at least one column", "");
    const fs::path parent = fs::path(path_).parent_path();
    std::error_code ec;
    if (!parent.empty()) fs::create_directories(parent, ec);
    // A ".gz" name gets cfitsio's compress-on-close driver explicitly: the temporary name
    // does not end in ".gz", so cfitsio would not pick it by itself.
    file_ = FitsFile::create(ends_with(path_, ".gz") ? "compressoutfile://" + tmp_ : tmp_);
    open_ = true;
}

FitsTableWriter::FitsTableWriter(FitsTableWriter&& o) noexcept
    : path_(std::move(o.path_)), tmp_(std::move(o.tmp_)), extname_(std::move(o.extname_)),
      fields_(std::move(o.fields_)), pending_(std::move(o.pending_)), row_bytes_(o.row_bytes_), rows_(o.rows_),
      file_(std::move(o.file_)), hdu_created_(o.hdu_created_), open_(std::exchange(o.open_, false)),
      buffer_(std::move(o.buffer_)) {}

FitsTableWriter& FitsTableWriter::operator=(FitsTableWriter&& o) noexcept {
    if (this != &o) {
        if (open_) abandon();
        path_ = std::move(o.path_);
        tmp_ = std::move(o.tmp_);
        extname_ = std::move(o.extname_);
        fields_ = std::move(o.fields_);
        pending_ = std::move(o.pending_);
        row_bytes_ = o.row_bytes_;
        rows_ = o.rows_;
        file_ = std::move(o.file_);
        hdu_created_ = o.hdu_created_;
        open_ = std::exchange(o.open_, false);
        buffer_ = std::move(o.buffer_);
    }
    return *this;
}

FitsTableWriter::~FitsTableWriter() {
    if (open_) abandon();
}

void FitsTableWriter::abandon() noexcept {
    open_ = false;
    try {
        file_ = FitsFile();  // closes, dropping errors
    } catch (...) {
    }
    std::error_code ec;
    fs::remove(tmp_, ec);
}

void FitsTableWriter::add_key(const std::string& name, const std::string& value, const std::string& comment) {
    add_card({name, value, comment});
}
void FitsTableWriter::add_key(const std::string& name, const char* value, const std::string& comment) {
    add_card({name, std::string(value), comment});
}
void FitsTableWriter::add_key(const std::string& name, double value, const std::string& comment) {
    add_card({name, value, comment});
}
void FitsTableWriter::add_key(const std::string& name, bool value, const std::string& comment) {
    add_card({name, value, comment});
}

void FitsTableWriter::add_card(const FitsCard& card) {
    if (!open_) throw FitsError(path_, 0, "", 0, "add_key on a closed writer", "");
    if (hdu_created_) write_card(file_, card);
    else pending_.push_back(card);
}

void FitsTableWriter::ensure_hdu(const std::vector<const Column*>* cols) {
    if (hdu_created_) return;
    fitsfile* f = fptr(file_);
    int status = 0;
    fits_create_img(f, SHORT_IMG, 0, nullptr, &status);  // empty primary, BITPIX 16 as DR10's
    std::vector<char*> ttype, tform, tunit;
    for (auto& fd : fields_) {
        ttype.push_back(fd.spec.name.data());
        tform.push_back(fd.spec.tform.data());
        tunit.push_back(fd.spec.unit.data());
    }
    fits_create_tbl(f, BINARY_TBL, 0, static_cast<int>(fields_.size()), ttype.data(), tform.data(), tunit.data(),
                    extname_.empty() ? nullptr : extname_.c_str(), &status);
    file_.check(status, "cannot create the binary table HDU");
    hdu_created_ = true;
    for (std::size_t i = 0; cols != nullptr && i < fields_.size(); ++i) {  // TDIMn (FITS order) for n-d cells
        const auto& shape = (*cols)[i]->shape();
        if (shape.size() < 2 || fields_[i].code == 'A') continue;
        std::string tdim = "(";
        for (auto it = shape.rbegin(); it != shape.rend(); ++it)
            tdim += std::to_string(*it) + (std::next(it) == shape.rend() ? ")" : ",");
        write_card(file_, {"TDIM" + std::to_string(i + 1), tdim, "dimensions of field"});
    }
    for (const auto& c : pending_) write_card(file_, c);
    pending_.clear();
}

namespace {

/// Encodes rows [r0, r0 + n) of `col` into the row buffer at the field's offset.
struct Encoder {
    const Column& col;
    char code;
    std::int64_t repeat, width;
    unsigned char* base;
    std::int64_t stride;
    std::size_t r0, n;
    std::string bad;  // set on failure: what went wrong
    std::size_t bad_row = 0;

    template <class Dst, class Src>
    bool numeric(std::span<const Src> v) {
        const std::size_t k = static_cast<std::size_t>(repeat);
        for (std::size_t r = 0; r < n; ++r) {
            unsigned char* p = base + static_cast<std::int64_t>(r) * stride;
            const Src* s = v.data() + (r0 + r) * k;
            for (std::size_t j = 0; j < k; ++j) {
                Dst d{};
                if (!convert<Dst>(s[j], d)) {
                    bad = "value " + value_text(s[j]) + " does not fit TFORM " + std::string(1, code);
                    bad_row = r0 + r;
                    return false;
                }
                put_be<Dst>(p + j * sizeof(Dst), d);
            }
        }
        return true;
    }

    template <class Src>
    bool logical(std::span<const Src> v) {
        const std::size_t k = static_cast<std::size_t>(repeat);
        for (std::size_t r = 0; r < n; ++r) {
            unsigned char* p = base + static_cast<std::int64_t>(r) * stride;
            for (std::size_t j = 0; j < k; ++j) p[j] = v[(r0 + r) * k + j] != 0 ? 'T' : 'F';
        }
        return true;
    }

    bool strings(const std::vector<std::string>& v) {
        const std::size_t w = static_cast<std::size_t>(width);
        for (std::size_t r = 0; r < n; ++r) {
            const std::string& s = v[r0 + r];
            if (s.size() > w) {
                bad = fmt::format("string '{}' is longer than TFORM {}A", s, w);
                bad_row = r0 + r;
                return false;
            }
            for (char c : s)
                if (static_cast<unsigned char>(c) < 32 || static_cast<unsigned char>(c) > 126) {
                    bad = "string holds a character that is not printable ASCII";
                    bad_row = r0 + r;
                    return false;
                }
            unsigned char* p = base + static_cast<std::int64_t>(r) * stride;
            std::memcpy(p, s.data(), s.size());
            std::memset(p + s.size(), 0, w - s.size());  // NUL padding, as numpy / fitsio
        }
        return true;
    }

    bool run() {
        return std::visit(
            [this](const auto& vec) -> bool {
                using E = typename std::decay_t<decltype(vec)>::value_type;
                if constexpr (std::is_same_v<E, std::string>) {
                    if (code != 'A') return type_error();
                    return strings(vec);
                } else {
                    std::span<const E> v(vec.data(), vec.size());
                    switch (code) {
                        case 'B': return numeric<std::uint8_t>(v);
                        case 'I': return numeric<std::int16_t>(v);
                        case 'J': return numeric<std::int32_t>(v);
                        case 'K': return numeric<std::int64_t>(v);
                        case 'E': return numeric<float>(v);
                        case 'D': return numeric<double>(v);
                        case 'L':
                            if constexpr (std::is_integral_v<E>) return logical(v);
                            else return type_error();
                        default: return type_error();
                    }
                }
            },
            col.storage());
    }

    bool type_error() {
        bad = fmt::format("a {} column cannot be written as TFORM {}", dtype_name(col.dtype()), code);
        bad_row = r0;
        return false;
    }
};

const Column& find_column(const Table& t, const std::string& name, const std::string& path) {
    if (t.has(name)) return t.column(name);
    const Column* hit = nullptr;
    for (const auto& c : t.columns())
        if (iequals(c.name(), name)) {
            if (hit != nullptr) throw FitsError(path, 2, name, 0, "column name matches several table columns", "");
            hit = &c;
        }
    if (hit == nullptr) throw MissingColumnError(path, 2, name);
    return *hit;
}

}  // namespace

void FitsTableWriter::write(const Table& table) {
    if (!open_) throw FitsError(path_, 0, "", 0, "write on a closed writer", "");
    std::vector<const Column*> cols;
    for (const auto& fd : fields_) {
        const Column& c = find_column(table, fd.spec.name, path_);
        const std::int64_t cell = static_cast<std::int64_t>(c.cell_size());
        const bool ok = fd.code == 'A' ? (c.dtype() != DType::string || cell == 1) : cell == fd.repeat;
        if (!ok)
            throw FitsError(path_, 2, fd.spec.name, 0,
                            fmt::format("cell size {} does not match TFORM {}", cell, fd.spec.tform), "");
        cols.push_back(&c);
    }
    if (!hdu_created_)
        for (std::size_t i = 0; i < fields_.size(); ++i)
            if (fields_[i].spec.unit.empty()) fields_[i].spec.unit = cols[i]->unit();
    ensure_hdu(&cols);
    const std::size_t total = table.num_rows();
    const std::size_t block = std::max<std::size_t>(1, (std::size_t{4} << 20) / static_cast<std::size_t>(row_bytes_));
    for (std::size_t r0 = 0; r0 < total; r0 += block) {
        const std::size_t n = std::min(block, total - r0);
        buffer_.resize(n * static_cast<std::size_t>(row_bytes_));
        for (std::size_t i = 0; i < fields_.size(); ++i) {
            const Field& fd = fields_[i];
            Encoder e{*cols[i], fd.code, fd.repeat, fd.width, buffer_.data() + fd.offset, row_bytes_, r0, n, {}, 0};
            if (!e.run())
                throw FitsError(path_, 2, fd.spec.name, 0, fmt::format("row {}: {}", e.bad_row, e.bad), "");
        }
        int status = 0;
        fits_write_tblbytes(fptr(file_), static_cast<LONGLONG>(rows_) + 1, 1, static_cast<LONGLONG>(buffer_.size()),
                            buffer_.data(), &status);
        if (status != 0)
            throw FitsError(path_, 2, "", status, fmt::format("cannot write rows from {}", rows_),
                            cfitsio_messages(status));
        rows_ += static_cast<std::int64_t>(n);
    }
}

void FitsTableWriter::close() {
    if (!open_) return;
    try {
        ensure_hdu();
        file_.close();
        fs::rename(tmp_, path_);
    } catch (const FitsError&) {
        abandon();
        throw;
    } catch (const std::exception& e) {
        abandon();
        throw FitsError(path_, 0, "", 0, std::string("cannot finish the file: ") + e.what(), "");
    }
    open_ = false;
}

// ---------------------------------------------------------------- helpers and schemas

void write_fits_table(const std::string& path, const Table& table, const std::vector<FitsColumnSpec>& schema,
                      const std::string& extname, const std::vector<FitsCard>& cards) {
    FitsTableWriter w(path, schema, extname);
    for (const auto& c : cards) w.add_card(c);
    w.write(table);
    w.close();
}

std::vector<FitsColumnSpec> default_schema(const Table& table) {
    std::vector<FitsColumnSpec> out;
    for (const auto& c : table.columns()) {
        const std::string r = c.cell_size() == 1 ? "" : std::to_string(c.cell_size());
        std::string tform;
        switch (c.dtype()) {
            case DType::boolean: tform = r + "L"; break;
            case DType::uint8: tform = r + "B"; break;
            case DType::int16: tform = r + "I"; break;
            case DType::int32: tform = r + "J"; break;
            case DType::int64: tform = r + "K"; break;
            case DType::float32: tform = r + "E"; break;
            case DType::float64: tform = r + "D"; break;
            case DType::string: {
                std::size_t w = 1;
                for (const auto& s : c.strings()) w = std::max(w, s.size());
                tform = std::to_string(w) + "A";
                break;
            }
            default:
                throw FitsError("", 0, c.name(), 0,
                                fmt::format("no default TFORM for a {} column", dtype_name(c.dtype())), "");
        }
        out.push_back({c.name(), tform, c.unit()});
    }
    return out;
}

std::vector<FitsColumnSpec> dr10_sweep_schema(const std::string& csv_path) {
    std::ifstream in(csv_path);
    if (!in) throw_data_error(csv_path, "", "cannot open the schema CSV");
    std::vector<FitsColumnSpec> out;
    std::string line;
    int lineno = 0, i_name = -1, i_tform = -1, i_file = -1;
    auto split = [](const std::string& s) {
        std::vector<std::string> f;
        std::stringstream ss(s);
        std::string x;
        while (std::getline(ss, x, ',')) f.push_back(x);
        if (!s.empty() && s.back() == ',') f.emplace_back();
        return f;
    };
    while (std::getline(in, line)) {
        ++lineno;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line[0] == '#') continue;
        const auto f = split(line);
        if (i_name < 0) {  // the header line
            for (int i = 0; i < static_cast<int>(f.size()); ++i) {
                if (f[i] == "name") i_name = i;
                if (f[i] == "fits_tform") i_tform = i;
                if (f[i] == "file") i_file = i;
            }
            if (i_name < 0 || i_tform < 0 || i_file < 0)
                throw_data_error(csv_path, fmt::format("line {}", lineno),
                                 "header lacks the name, fits_tform or file column");
            continue;
        }
        const int need = std::max({i_name, i_tform, i_file});
        if (static_cast<int>(f.size()) <= need || f[i_name].empty() || f[i_tform].empty())
            throw_data_error(csv_path, fmt::format("line {}", lineno), "malformed schema row");
        if (f[i_file] == "main") out.push_back({f[i_name], f[i_tform], ""});
    }
    if (out.empty()) throw_data_error(csv_path, "", "no 'main' columns in the schema CSV");
    return out;
}

std::vector<FitsColumnSpec> survey_bricks_schema() {
    return {{"brickname", "8A", ""}, {"brickid", "J", ""}, {"brickq", "I", ""}, {"brickrow", "J", ""},
            {"brickcol", "J", ""},   {"ra", "D", ""},      {"dec", "D", ""},    {"ra1", "D", ""},
            {"ra2", "D", ""},        {"dec1", "D", ""},    {"dec2", "D", ""}};
}

Table survey_bricks_table(std::span<const kernels::Brick> bricks) {
    std::vector<std::string> name;
    std::vector<std::int32_t> id, row, col;
    std::vector<std::int16_t> q;
    std::vector<double> ra, dec, ra1, ra2, dec1, dec2;
    for (const auto& b : bricks) {
        name.push_back(b.name);
        id.push_back(static_cast<std::int32_t>(b.brickid));
        q.push_back(static_cast<std::int16_t>(b.brickq));
        row.push_back(b.row);
        col.push_back(b.col);
        ra.push_back(b.ra);
        dec.push_back(b.dec);
        ra1.push_back(b.ra1);
        ra2.push_back(b.ra2);
        dec1.push_back(b.dec1);
        dec2.push_back(b.dec2);
    }
    Table t;
    t.add(Column("brickname", std::move(name)));
    t.add(Column("brickid", std::move(id)));
    t.add(Column("brickq", std::move(q)));
    t.add(Column("brickrow", std::move(row)));
    t.add(Column("brickcol", std::move(col)));
    t.add(Column("ra", std::move(ra)));
    t.add(Column("dec", std::move(dec)));
    t.add(Column("ra1", std::move(ra1)));
    t.add(Column("ra2", std::move(ra2)));
    t.add(Column("dec1", std::move(dec1)));
    t.add(Column("dec2", std::move(dec2)));
    return t;
}

}  // namespace dhs::fits
