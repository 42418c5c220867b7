// Serial, rank-local access to a finished dhs result file (`sample.h5`, `cutouts.h5`, ...):
// ResultReader reads groups of 1-D / fixed-shape datasets back into Tables (what a later stage
// does with an earlier stage's output), ResultAppender adds groups, datasets and attributes to a
// closed file (what a stage's reduce does on rank 0 after the gather). Types round-trip with
// ParallelFile's: booleans as the TRUE/FALSE int8 enum, strings as fixed-length UTF-8.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/table/table.hpp"

namespace dhs::hdf5 {

/// @brief A dhs HDF5 file opened read-only with the serial driver. Many ranks may hold readers
/// of the same file at once. Move-only.
class ResultReader {
public:
    /// @throws HdfError naming the file when it is missing or not HDF5.
    explicit ResultReader(const std::string& path);
    ~ResultReader();
    ResultReader(ResultReader&&) noexcept;
    ResultReader& operator=(ResultReader&&) noexcept;

    const std::string& path() const { return path_; }
    /// @brief True when `object` ("/pool", "/stamps/image") exists.
    bool exists(const std::string& object) const;
    /// @brief Names of the datasets directly in `group`, sorted. @throws HdfError when absent.
    std::vector<std::string> datasets(const std::string& group) const;
    /// @brief Rows (first dimension) of dataset `object`.
    std::uint64_t rows(const std::string& object) const;
    /// @brief Rows of a table group: the first dimension shared by its datasets (0 if none).
    /// @throws DataError when its datasets disagree.
    std::uint64_t table_rows(const std::string& group) const;

    /// @brief Rows [first, first+count) of dataset `object` as a Column named after the
    /// dataset (count = all rows from first when nullopt). Per-row shape from the dataset;
    /// strings have trailing NULs removed; the `units` / `description` attributes are restored.
    /// @throws HdfError naming file and dataset; DataError when the range is out of bounds.
    Column read_column(const std::string& object, std::uint64_t first = 0,
                       std::optional<std::uint64_t> count = std::nullopt) const;
    /// @brief `columns` of table group `group` (all datasets when empty), rows [first, first+count).
    Table read_table(const std::string& group, const std::vector<std::string>& columns = {}, std::uint64_t first = 0,
                     std::optional<std::uint64_t> count = std::nullopt) const;
    /// @brief Rows at ascending or arbitrary `indices` of `object` (duplicates allowed), in that
    /// order: nearby rows are read as one span and the wanted ones picked before strings are made.
    Column read_rows(const std::string& object, const std::vector<std::uint64_t>& indices) const;

    /// @brief Attribute values of `object` (nullopt when absent). Numeric attributes read as
    /// string give their decimal text.
    std::optional<std::string> string_attribute(const std::string& object, const std::string& name) const;
    std::optional<std::int64_t> int_attribute(const std::string& object, const std::string& name) const;
    std::optional<double> real_attribute(const std::string& object, const std::string& name) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::string path_;
};

/// @brief Opens an existing, closed dhs file read-write with the serial driver to add groups,
/// tables and attributes. One process at a time (rank 0 in a reduce). Move-only.
class ResultAppender {
public:
    /// @throws HdfError naming the file.
    explicit ResultAppender(const std::string& path);
    ~ResultAppender();  ///< closes; errors are dropped, call close() to see them
    ResultAppender(ResultAppender&&) noexcept;
    ResultAppender& operator=(ResultAppender&&) noexcept;

    /// @brief Creates `group` (and missing parents); an existing group is kept.
    void ensure_group(const std::string& group);
    /// @brief Removes `object` when present (to rewrite a reduce's output on --resume).
    void remove(const std::string& object);
    /// @brief Writes every column of `table` as a dataset `group/<column name>` (replacing
    /// existing ones), with `units` / `description` attributes as the gather writes them.
    /// Zero-row tables still create their datasets. String columns at least 32 bytes wide and
    /// 1 MiB in all are stored chunked and deflated (level 1); reading them is transparent.
    void write_table(const std::string& group, const Table& table);
    void set_attribute(const std::string& object, const std::string& name, const std::string& value);
    void set_attribute(const std::string& object, const std::string& name, std::int64_t value);
    void set_attribute(const std::string& object, const std::string& name, double value);
    /// @brief Flushes and closes, reporting failures.
    void close();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::string path_;
};

}  // namespace dhs::hdf5
