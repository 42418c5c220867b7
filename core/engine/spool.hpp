// The spool: each finished work unit's rows, written durably (temp file, fsync, rename,
// fsync of the directory) before the unit counts as done. The set of spool files IS the
// journal that `dhs run --resume` reads: a unit whose spool file exists and checks out is
// never run again. Files carry an xxHash64 checksum; a torn or corrupt one is ignored.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/engine/stage.hpp"

namespace dhs::engine {

/// @brief The header of a spool file: enough to plan the gather without reading the rows.
struct SpoolSummary {
    std::int64_t unit_index = -1;
    std::uint64_t file_bytes = 0;
    std::map<std::string, std::uint64_t> rows;  ///< per group
    std::map<std::string, std::uint64_t> max_string_bytes;  ///< per "group/column" (string columns)
};

/// @brief Path of unit `index`'s spool file in `dir`.
std::string spool_path(const std::string& dir, std::int64_t index);

/// @brief Writes a unit's output durably and atomically. Rank-local.
/// @throws Error naming the file on any I/O failure (disk full...).
void write_spool(const std::string& dir, std::int64_t index, const UnitOutput& out);

/// @brief Reads a whole spool file and verifies its checksum.
/// @throws DataError naming the file when it is torn or corrupt.
UnitOutput read_spool(const std::string& path);

/// @brief Reads the header only. @throws DataError when unreadable.
SpoolSummary read_spool_summary(const std::string& path);

/// @brief True when the file is complete and its checksum matches (reads it all). Never throws.
bool verify_spool(const std::string& path) noexcept;

/// @brief Unit indices with a spool file in `dir` (unverified), sorted.
std::vector<std::int64_t> list_spooled_units(const std::string& dir);

/// @brief fsync()s a directory so a rename inside it is durable. @throws Error.
void fsync_directory(const std::string& dir);

}  // namespace dhs::engine
