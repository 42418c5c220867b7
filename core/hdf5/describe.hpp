// Human-readable description of an HDF5 file: every group and dataset with its type, shape,
// chunking and filters, and every attribute with its value. Used by `dhs inspect`.
#pragma once

#include <string>

namespace dhs::hdf5 {

/// @brief Describes the HDF5 file at `path` as indented text. Rank-local, read-only, serial.
/// @param max_attr_chars attribute values longer than this are cut with "..." (0: no limit).
/// @throws HdfError naming the file when it cannot be opened.
std::string describe_file(const std::string& path, std::size_t max_attr_chars = 200);

/// @brief True when the file starts with the HDF5 signature.
bool is_hdf5(const std::string& path);

}  // namespace dhs::hdf5
