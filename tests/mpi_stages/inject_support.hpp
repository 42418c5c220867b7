// Helpers shared by the injection stage's tests: a result file's datasets as bytes, to compare
// runs exactly (1 vs 2 vs 3 ranks, chains on the mock sky).
#pragma once

#include <map>
#include <string>
#include <variant>

#include "core/hdf5/result_file.hpp"
#include "core/table/table.hpp"

namespace dhs::test::inject {

/// @brief A column's values as bytes (strings NUL-terminated one after another).
inline std::string bytes(const Column& c) {
    if (c.dtype() == DType::string) {
        std::string s;
        for (const auto& v : c.strings()) s += v + '\0';
        return s;
    }
    return std::visit([](const auto& v) {
        return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(v[0]));
    }, c.storage());
}

/// @brief Every dataset of injections.h5's result groups, as bytes, by path.
inline std::map<std::string, std::string> contents(const std::string& path) {
    hdf5::ResultReader r(path);
    std::map<std::string, std::string> out;
    for (const std::string g : {"/injections", "/coverage", "/calibration"})
        for (const auto& d : r.datasets(g)) out[g + "/" + d] = bytes(r.read_column(g + "/" + d));
    return out;
}

/// @brief The /injections table of `path`.
inline Table injections(const std::string& path) { return hdf5::ResultReader(path).read_table("/injections"); }

}  // namespace dhs::test::inject
