// read_stamp_geometry (see stamp_geometry.hpp).
#include "mpi_stages/common/stamp_geometry.hpp"

#include <fmt/format.h>

#include <sstream>

#include "core/error.hpp"
#include "core/hdf5/result_file.hpp"

namespace dhs::stages {

std::string join_bands(const std::vector<std::string>& bands) {
    std::string s;
    for (const auto& b : bands) s += (s.empty() ? "" : ",") + b;
    return s;
}

StampGeometry read_stamp_geometry(const std::string& file, const std::string& image) {
    const hdf5::ResultReader in(file);
    if (!in.exists(image)) throw DataError(file, image, "no stamp dataset");
    const auto shape = in.read_column(image, 0, 0).shape();
    if (shape.size() != 3 || shape[1] != shape[2] || shape[1] % 2 == 0)
        throw DataError(file, image, "stamps are not (N, bands, S, S) with S odd");
    StampGeometry g;
    g.size = static_cast<int>(shape[1]);
    const auto attr = in.string_attribute(image, "bands");
    if (!attr) {
        g.bands = {"g", "r", "z"};
    } else {
        std::stringstream ss(*attr);
        for (std::string b; std::getline(ss, b, ',');) g.bands.push_back(b);
    }
    if (g.bands.size() != shape[0])
        throw DataError(file, image + ":bands",
                        fmt::format("names {} bands ({}) for stamps of {}", g.bands.size(), join_bands(g.bands), shape[0]));
    return g;
}

}  // namespace dhs::stages
