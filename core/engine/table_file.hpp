// A whole stage file written by one rank: tables (a group of 1-D / fixed-shape columns each)
// plus the provenance every stage file carries, as `<path>.partial`, fsynced and renamed. For
// collective stages (training) whose output is small and made on one rank, not gathered.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/engine/gather.hpp"
#include "core/table/table.hpp"

namespace dhs::engine {

/// @brief One group of a table file: its columns and its attributes.
struct TableGroup {
    std::string name;                                  ///< "history" -> /history/<column>
    Table table;
    std::map<std::string, std::string> string_attrs;   ///< attributes of the group
    std::map<std::string, double> real_attrs;
};

/// @brief Writes `groups` and `meta`'s provenance to `final_path` (through `.partial`, fsync,
/// rename, fsync of the directory). Rank-local (serial HDF5 driver).
/// @throws Error / HdfError naming the file.
void write_table_file(const std::string& final_path, const std::vector<TableGroup>& groups, const GatherMeta& meta);

}  // namespace dhs::engine
