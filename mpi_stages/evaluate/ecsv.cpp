// ECSV 1.0 (astropy's Enhanced Character Separated Values) of a table group: the YAML header
// names each column's datatype and carries the metadata; astropy.table.Table.read loads it.
#include <fmt/format.h>

#include <cmath>
#include <sstream>

#include "mpi_stages/evaluate/evaluate.hpp"

namespace dhs::stages::evaluate {

namespace {

const char* ecsv_type(DType t) {
    switch (t) {
        case DType::float32: return "float32";
        case DType::float64: return "float64";
        case DType::int64: return "int64";
        case DType::int32: return "int32";
        case DType::string: return "string";
        default: return "int64";
    }
}

std::string cell(const Column& c, std::size_t i) {
    if (c.dtype() == DType::string) {
        const std::string& s = c.strings()[i];
        return s.find_first_of(" \"") == std::string::npos && !s.empty() ? s : "\"" + s + "\"";
    }
    if (c.dtype() == DType::float64 || c.dtype() == DType::float32) {
        const double v = c.as<double>()[i];
        if (std::isnan(v)) return "nan";
        if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
        return fmt::format("{:.17g}", v);
    }
    return std::to_string(c.as<std::int64_t>()[i]);
}

// A YAML single-quoted scalar.
std::string yaml_quote(const std::string& v) {
    std::string out = "'";
    for (char ch : v) out += ch == '\'' ? std::string("''") : std::string(1, ch);
    return out + "'";
}

}  // namespace

std::string to_ecsv(const engine::TableGroup& g, const std::vector<std::pair<std::string, std::string>>& meta) {
    std::ostringstream out;
    out << "# %ECSV 1.0\n# ---\n# datatype:\n";
    for (const auto& c : g.table.columns()) out << "# - {name: " << c.name() << ", datatype: " << ecsv_type(c.dtype()) << "}\n";
    out << "# meta: !!omap\n";
    for (const auto& [k, v] : meta) out << "# - {" << k << ": " << yaml_quote(v) << "}\n";
    out << "# schema: astropy-2.0\n";
    std::string sep;
    for (const auto& c : g.table.columns()) out << sep << c.name(), sep = " ";
    out << "\n";
    for (std::size_t i = 0; i < g.table.num_rows(); ++i) {
        sep.clear();
        for (const auto& c : g.table.columns()) out << sep << cell(c, i), sep = " ";
        out << "\n";
    }
    return out.str();
}

}  // namespace dhs::stages::evaluate
