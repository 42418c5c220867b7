// The spool: each finished work unit's rows, written whole (temp file, then rename) before
// the unit counts as done. The set of spool files IS the journal that `dhs run --resume`
// reads: a unit whose spool file exists and checks out is never run again. Files carry an
// xxHash64 checksum; a torn or corrupt one (e.g. unsynced data a machine crash lost) is
// ignored and its unit runs again, so spool files need no fsync.
// SpoolReader streams a file's columns straight into the caller's buffers (the gather).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
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

/// @brief Streams one spool file: the header when constructed, then each column's values in
/// file order (group by group, column by column) straight into memory the caller provides,
/// hashing every byte on the way; finish() checks the checksum. Values land before they are
/// verified: a caller must not use them unless finish() returns. Rank-local, not copyable.
class SpoolReader {
public:
    /// @brief A column as the header declares it.
    struct ColumnInfo {
        std::string name, unit, description;
        DType dtype = DType::float64;
        std::vector<std::size_t> shape;       ///< per-row shape (empty: scalar)
        std::uint64_t max_string_bytes = 0;   ///< longest string (string columns)
        /// @brief Elements per row: the product of shape.
        std::size_t cell_size() const noexcept;
    };
    /// @brief A group (table) as the header declares it.
    struct GroupInfo {
        std::string name;
        std::uint64_t rows = 0;
        std::vector<ColumnInfo> columns;
    };

    /// @brief Opens `path` and reads its header. The sizes it declares are checked against the
    /// file's size, so they can be trusted to size buffers. @throws DataError naming the file.
    explicit SpoolReader(const std::string& path);
    ~SpoolReader();
    SpoolReader(const SpoolReader&) = delete;
    SpoolReader& operator=(const SpoolReader&) = delete;

    /// @brief The file's path, as given.
    const std::string& path() const noexcept { return path_; }
    /// @brief The unit index written in the header.
    std::int64_t unit_index() const noexcept { return unit_index_; }
    /// @brief Size of the file in bytes.
    std::uint64_t file_bytes() const noexcept { return file_bytes_; }
    /// @brief The groups and columns, in file order.
    const std::vector<GroupInfo>& groups() const noexcept { return groups_; }
    /// @brief True when every column has been read (or skipped); finish() comes next.
    bool at_end() const noexcept { return group_ >= groups_.size(); }
    /// @brief The group and the column whose values come next. Undefined when at_end().
    const GroupInfo& next_group() const { return groups_.at(group_); }
    const ColumnInfo& next_column() const { return groups_.at(group_).columns.at(column_); }

    /// @brief Reads the next (numeric or boolean) column's raw values, rows x cell_size
    /// elements in native byte order, into `dest`, which must hold `bytes` bytes: exactly the
    /// column's size (a mismatch is a caller bug: std::logic_error).
    /// @throws DataError naming the file when it is truncated.
    void read_raw(void* dest, std::size_t bytes);
    /// @brief Reads the next (string) column's rows x cell_size strings into dest[0..count),
    /// `count` being exactly that number. @throws DataError when truncated.
    void read_strings(std::string* dest, std::size_t count);
    /// @brief Reads the next (string) column into fixed-width slots of `width` bytes each,
    /// NUL-padded (as an HDF5 fixed-length string dataset stores them): dest must hold
    /// rows x cell_size x width bytes. @throws DataError when a string is longer than width.
    void read_strings_fixed(char* dest, std::size_t width);
    /// @brief Reads and hashes the next column without keeping its values.
    void skip();
    /// @brief After the last column: reads the stored checksum and compares. @throws DataError
    /// naming the file when it is corrupt, torn or has trailing bytes.
    void finish();

private:
    void fill();
    void take(void* dest, std::size_t n, bool hash = true);
    template <class T>
    T get();
    std::string get_str();
    void advance();
    std::size_t column_bytes(const ColumnInfo& c) const;
    [[noreturn]] void truncated() const;
    [[noreturn]] void read_failed(std::uint64_t at) const;

    std::string path_;
    int fd_ = -1;
    struct HashState;
    std::unique_ptr<HashState> hash_;
    std::unique_ptr<char[]> buf_;
    std::size_t buf_pos_ = 0, buf_len_ = 0;
    std::uint64_t consumed_ = 0;  ///< bytes of the file handed out (header, values, checksum)
    std::uint64_t file_bytes_ = 0;
    std::int64_t unit_index_ = -1;
    std::vector<GroupInfo> groups_;
    std::size_t group_ = 0, column_ = 0;
};

/// @brief fsync()s a directory so a rename inside it is durable. @throws Error.
void fsync_directory(const std::string& dir);

/// @brief fsync()s a file's data and metadata. @throws Error naming the file.
void fsync_file(const std::string& path);

}  // namespace dhs::engine
