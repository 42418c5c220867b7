// Lenscat CSV parsing, duplicate collapsing and position catalogs (see lens_catalog.hpp).
#include "mpi_stages/sample/lens_catalog.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>

#include "core/error.hpp"
#include "core/util/utf8.hpp"

namespace dhs::stages::sample {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// A whole field as a finite double (surrounding blanks allowed), or nullopt.
std::optional<double> to_number(std::string_view s) {
    s = trim(s);
    if (s.empty()) return std::nullopt;
    if (s.front() == '+') s.remove_prefix(1);
    double v = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
    return v;
}

// The index of the first header field whose lower-cased, trimmed text is one of `names`; -1.
int find_column(const std::vector<std::string>& header, std::initializer_list<const char*> names) {
    for (std::size_t i = 0; i < header.size(); ++i) {
        const std::string h = lower(trim(header[i]));
        for (const char* n : names)
            if (h == n) return static_cast<int>(i);
    }
    return -1;
}

// Lines of a text file; the first non-empty line is the header.
struct CsvFile {
    std::string path;
    std::vector<std::string> header;
    std::ifstream in;
    std::int64_t line_no = 0;

    explicit CsvFile(const std::string& p) : path(p), in(p, std::ios::binary) {
        if (!in) throw Error(fmt::format("cannot open '{}'", p));
        std::string line;
        while (std::getline(in, line)) {
            ++line_no;
            if (trim(line).empty()) continue;
            if (!split_csv_line(line, header))
                throw DataError(path, fmt::format("line {}", line_no), "unterminated quoted field in the header");
            require_utf8(header, true);
            return;
        }
        throw DataError(path, "line 1", "the file is empty (no header line)");
    }
    // The next non-empty row, split; false at the end. Throws on a wrong field count.
    bool next(std::vector<std::string>& fields) {
        std::string line;
        while (std::getline(in, line)) {
            ++line_no;
            if (trim(line).empty()) continue;
            if (!split_csv_line(line, fields))
                throw DataError(path, fmt::format("line {}", line_no), "unterminated quoted field");
            if (fields.size() != header.size())
                throw DataError(path, fmt::format("line {}", line_no),
                                fmt::format("{} fields where the header has {} (a comma too many or too few?)",
                                            fields.size(), header.size()));
            require_utf8(fields, false);
            return true;
        }
        if (in.bad()) throw Error(fmt::format("read error in '{}' after line {}", path, line_no));
        return false;
    }
    // Every field must be UTF-8: names and references go into HDF5 strings tagged UTF-8 (and
    // JSON), where other bytes make the file unreadable as text (h5py's .asstr() raises).
    void require_utf8(const std::vector<std::string>& fields, bool is_header) const {
        for (std::size_t i = 0; i < fields.size(); ++i) {
            const std::size_t at = util::first_invalid_utf8(fields[i]);
            if (at == std::string::npos) continue;
            const std::string where =
                is_header ? fmt::format("line {} (header), field {}", line_no, i + 1)
                          : fmt::format("line {}, column '{}'", line_no, util::to_valid_utf8(trim(header[i])));
            throw DataError(path, where,
                            fmt::format("byte 0x{:02X} at offset {} of the field is not valid UTF-8 (the field reads "
                                        "'{}'); the catalog must be UTF-8 text",
                                        static_cast<unsigned>(static_cast<unsigned char>(fields[i][at])), at,
                                        util::to_valid_utf8(fields[i])));
        }
    }
    [[noreturn]] void bad(const std::string& column, const std::string& what) const {
        throw DataError(path, fmt::format("line {}, column '{}'", line_no, column), what);
    }
    std::string column_name(int i) const { return std::string(trim(header[static_cast<std::size_t>(i)])); }
};

int require_column(const CsvFile& f, std::initializer_list<const char*> names, const char* what) {
    const int c = find_column(f.header, names);
    if (c < 0) throw DataError(f.path, "line 1 (header)", fmt::format("no {} column (looked for {})", what,
                                                                       fmt::join(names, ", ")));
    return c;
}

double coordinate(const CsvFile& f, const std::vector<std::string>& fields, int col, double lo, double hi) {
    const auto v = to_number(fields[static_cast<std::size_t>(col)]);
    if (!v) f.bad(f.column_name(col), fmt::format("'{}' is not a number", fields[static_cast<std::size_t>(col)]));
    if (*v < lo || *v > hi) f.bad(f.column_name(col), fmt::format("{} is outside [{}, {}]", *v, lo, hi));
    return *v;
}

}  // namespace

bool split_csv_line(std::string_view line, std::vector<std::string>& fields) {
    fields.clear();
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::size_t i = 0;
    for (;;) {
        std::string field;
        if (i < line.size() && line[i] == '"') {
            ++i;
            bool closed = false;
            while (i < line.size()) {
                if (line[i] == '"') {
                    if (i + 1 < line.size() && line[i + 1] == '"') {
                        field += '"';
                        i += 2;
                        continue;
                    }
                    ++i;
                    closed = true;
                    break;
                }
                field += line[i++];
            }
            if (!closed) return false;
            // Anything between the closing quote and the next comma is kept as written.
            while (i < line.size() && line[i] != ',') field += line[i++];
        } else {
            const std::size_t end = line.find(',', i);
            field.assign(line.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i));
            i = end == std::string_view::npos ? line.size() : end;
        }
        fields.push_back(std::move(field));
        if (i >= line.size()) break;
        ++i;  // the comma
        if (i == line.size()) {
            fields.emplace_back();  // a trailing comma: one more, empty field
            break;
        }
    }
    return true;
}

double parse_zlens(std::string_view text) {
    std::size_t pos = 0;
    while (pos <= text.size()) {
        const std::size_t bar = text.find('|', pos);
        std::string_view item = trim(text.substr(pos, bar == std::string_view::npos ? std::string_view::npos : bar - pos));
        while (!item.empty() && item.back() == '?') item.remove_suffix(1);
        if (const auto v = to_number(item)) return *v;
        if (bar == std::string_view::npos) break;
        pos = bar + 1;
    }
    return std::numeric_limits<double>::quiet_NaN();
}

LensCatalog read_lenscat(const std::string& path) {
    CsvFile f(path);
    const int c_name = require_column(f, {"name"}, "name");
    const int c_ra = require_column(f, {"ra [deg]", "ra", "ra_deg"}, "RA");
    const int c_dec = require_column(f, {"dec [deg]", "dec", "dec_deg"}, "Dec");
    const int c_grading = require_column(f, {"grading"}, "grading");
    const int c_z = find_column(f.header, {"zlens", "z_lens"});
    const int c_type = find_column(f.header, {"type"});
    const int c_ref = find_column(f.header, {"ref", "reference"});
    LensCatalog cat;
    cat.path = path;
    std::vector<std::string> x;
    auto field = [&](int c) { return c < 0 ? std::string() : std::string(trim(x[static_cast<std::size_t>(c)])); };
    while (f.next(x)) {
        LensRecord r;
        r.line = f.line_no;
        r.name = field(c_name);
        if (r.name.empty()) f.bad(f.column_name(c_name), "empty name");
        r.ra = coordinate(f, x, c_ra, 0.0, 360.0);
        r.dec = coordinate(f, x, c_dec, -90.0, 90.0);
        r.zlens_text = field(c_z);
        r.zlens = parse_zlens(r.zlens_text);
        r.type = field(c_type);
        r.grading = lower(field(c_grading));
        r.ref = field(c_ref);
        if (r.grading == "confident") ++cat.confident;
        if (r.grading == "probable") ++cat.probable;
        cat.rows.push_back(std::move(r));
    }
    return cat;
}

std::vector<Lens> collapse_duplicates(const LensCatalog& catalog, double radius_arcsec) {
    const auto& rows = catalog.rows;
    std::vector<kernels::UnitVector> v;
    v.reserve(rows.size());
    for (const auto& r : rows) v.push_back(kernels::unit_vector(r.ra, r.dec));
    const kernels::SkyIndex index(v);
    const double c2 = kernels::chord2_of_arcsec(radius_arcsec);
    std::vector<char> merged(rows.size(), 0);
    std::vector<std::pair<std::uint32_t, double>> near;
    std::vector<Lens> out;
    auto rank = [](const std::string& g) { return g == "confident" ? 2 : g == "probable" ? 1 : 0; };
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (merged[i]) continue;
        merged[i] = 1;
        const auto& r = rows[i];
        Lens l;
        l.name = r.name;
        l.ra = r.ra;
        l.dec = r.dec;
        l.zlens = r.zlens;
        l.zlens_text = r.zlens_text;
        l.type = r.type;
        l.grading = r.grading;
        l.ref = r.ref;
        l.line = r.line;
        std::set<std::string> seen{r.name};
        l.all_names = r.name;
        index.within(v[i], c2, near);
        for (const auto& [k, d2] : near) {
            if (k <= i || merged[k]) continue;
            merged[k] = 1;
            const auto& m = rows[k];
            ++l.duplicates;
            if (seen.insert(m.name).second) l.all_names += " | " + m.name;
            if (rank(m.grading) > rank(l.grading)) l.grading = m.grading;
            if (std::isnan(l.zlens) && !std::isnan(m.zlens)) {
                l.zlens = m.zlens;
                l.zlens_text = m.zlens_text;
            }
        }
        l.tier = l.grading == "confident" ? "A" : l.grading == "probable" ? "B" : "";
        out.push_back(std::move(l));
    }
    return out;
}

std::vector<CatalogPoint> read_position_catalog(const std::string& path) {
    CsvFile f(path);
    const int c_ra = require_column(f, {"ra", "ra [deg]", "ra_deg"}, "RA");
    const int c_dec = require_column(f, {"dec", "dec [deg]", "dec_deg"}, "Dec");
    int c_cat = find_column(f.header, {"category"});
    if (c_cat < 0) c_cat = find_column(f.header, {"type"});
    std::vector<CatalogPoint> out;
    std::vector<std::string> x;
    while (f.next(x)) {
        CatalogPoint p;
        p.ra = coordinate(f, x, c_ra, 0.0, 360.0);
        p.dec = coordinate(f, x, c_dec, -90.0, 90.0);
        if (c_cat >= 0) p.category = std::string(trim(x[static_cast<std::size_t>(c_cat)]));
        out.push_back(std::move(p));
    }
    return out;
}

}  // namespace dhs::stages::sample
