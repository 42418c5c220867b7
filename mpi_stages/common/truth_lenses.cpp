// A mock sky's truth table (see truth_lenses.hpp).
#include "mpi_stages/common/truth_lenses.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "core/error.hpp"

namespace dhs::stages {

std::string truth_lenses_file(const config::Config& c, const std::string& key) {
    const std::string truth = c.get_string(key);
    if (truth == "none") return "";
    if (!truth.empty()) return truth;
    const std::string root = c.get_string("survey.root");
    const std::filesystem::path mock = std::filesystem::path(root) / "truth" / "lenses.csv";
    return !root.empty() && std::filesystem::exists(mock) ? mock.string() : "";
}

std::map<std::string, double> read_truth_lenses(const std::string& path, const std::string& key) {
    std::ifstream in(path);
    if (!in) throw Error(fmt::format("{}: cannot read '{}'", key, path));
    const auto split = [](const std::string& line) {
        std::vector<std::string> out;
        std::stringstream ss(line);
        for (std::string f; std::getline(ss, f, ',');) out.push_back(f);
        return out;
    };
    std::string line;
    std::getline(in, line);
    const auto header = split(line);
    const auto column = [&](const char* name) {
        const auto it = std::find(header.begin(), header.end(), name);
        if (it == header.end()) throw DataError(path, name, "the truth table has no such column");
        return static_cast<std::size_t>(it - header.begin());
    };
    const std::size_t brick = column("brickname"), objid = column("objid"), theta = column("theta_e_arcsec");
    std::map<std::string, double> out;
    for (std::size_t row = 1; std::getline(in, line); ++row) {
        if (line.empty()) continue;
        const auto f = split(line);
        if (f.size() != header.size())
            throw DataError(path, fmt::format("row {}", row), fmt::format("{} fields, header has {}", f.size(), header.size()));
        try {
            out[f[brick] + "_" + f[objid]] = std::stod(f[theta]);
        } catch (const std::exception&) {
            throw DataError(path, "theta_e_arcsec", fmt::format("row {}: '{}' is not a number", row, f[theta]));
        }
    }
    return out;
}

}  // namespace dhs::stages
