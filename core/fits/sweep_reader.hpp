// SweepReader: fast reads of FITS binary tables (Legacy Surveys sweep and Tractor catalogs,
// DR8 to DR10 schemas) into a dhs::Table. Reads contiguous blocks of raw rows with
// fits_read_tblbytes and decodes only the requested columns from big-endian, honouring
// TSCAL/TZERO, instead of cfitsio's column-by-column fits_read_col (several times slower).
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "core/fits/fits_file.hpp"
#include "core/table/table.hpp"

namespace dhs::fits {

/// @brief One column of the table as its header describes it.
struct SweepColumnInfo {
    std::string name;               ///< TTYPEn as written (upper case in Legacy Surveys files)
    int number = 0;                 ///< 1-based column number n
    char code = 0;                  ///< TFORM letter: L X B I J K E D A C M P Q
    std::int64_t repeat = 0;        ///< TFORM repeat count (bits for X, characters for A)
    std::int64_t width = 0;         ///< bytes per element (characters per string for A)
    std::int64_t byte_offset = 0;   ///< offset of the field within a row, bytes
    std::int64_t byte_width = 0;    ///< bytes the field takes in a row
    double tscal = 1.0;             ///< TSCALn (1 when absent)
    double tzero = 0.0;             ///< TZEROn (0 when absent)
    std::string unit;               ///< TUNITn, empty when absent
    std::vector<std::size_t> shape; ///< per-row shape read() gives (C order: reversed TDIM); {} for scalars
    DType dtype = DType::float64;   ///< element type read() gives
    bool readable = true;           ///< false for X, C, M, P and Q fields, which read() refuses
};

/// @brief One column asked of SweepReader::read. `name` matches case-insensitively.
/// A missing required column throws MissingColumnError; a missing optional one is left out
/// of the result (test with Table::has).
struct ColumnRequest {
    std::string name;
    bool required = true;
};

/// @brief Reader of the first binary-table HDU of a FITS file (plain or .gz). Result columns
/// carry the FITS names as written (TTYPE), the TUNIT as unit, and these types:
/// L -> boolean ('T' is 1, 'F' and unset 0); B -> uint8; I -> int16; J -> int32; K -> int64;
/// E -> float32; D -> float64; A -> string (cut at the first NUL, trailing blanks dropped, so
/// DR8's 4A 'DEV ' and DR10's 3A 'DEV' both give "DEV", and an all-blank field gives "" where
/// fits_read_col gives " "). The unsigned-integer conventions
/// TZERO = -128 on B (signed byte), 32768 on I, 2^31 on J and 2^63 on K (with TSCAL 1) give
/// int8, uint16, uint32 and uint64; any other TSCAL/TZERO gives float64 values v*TSCAL+TZERO.
/// A repeat r > 1 gives a per-row shape {r} (reversed TDIM when present). Bit (X), complex
/// (C, M) and variable-length (P, Q) columns throw FitsError when requested.
/// Not thread-safe: use one reader per thread. Rank-local.
class SweepReader {
public:
    /// @brief Opens `path` and moves to its first binary table. `block_rows` is the number of
    /// rows decoded per fits_read_tblbytes call; 0 picks about 1 MiB worth of rows.
    /// @throws FitsError naming the file when it cannot be opened, is not FITS, has no binary
    /// table or a malformed table header; DataError (file, HDU, NAXIS2) when the header claims
    /// more rows than the file holds bytes for (a corrupt NAXIS2 or a truncated file), before
    /// anything is allocated for them.
    explicit SweepReader(const std::string& path, std::int64_t block_rows = 0);

    /// @brief The file as opened.
    const std::string& path() const noexcept { return file_.path(); }
    /// @brief The HDU read (1-based, as cfitsio counts).
    int hdu() const noexcept { return hdu_; }
    /// @brief Rows in the table (NAXIS2).
    std::int64_t num_rows() const noexcept { return num_rows_; }
    /// @brief Bytes per row (NAXIS1).
    std::int64_t row_bytes() const noexcept { return row_bytes_; }
    /// @brief Rows decoded per block read.
    std::int64_t block_rows() const noexcept { return block_rows_; }
    /// @brief Sets the rows per block read (at least 1).
    void set_block_rows(std::int64_t rows);

    /// @brief Every column in file order.
    const std::vector<SweepColumnInfo>& columns() const noexcept { return columns_; }
    /// @brief Every column name in file order, as written.
    std::vector<std::string> column_names() const;
    /// @brief Whether a column called `name` exists (case-insensitive).
    bool has_column(std::string_view name) const noexcept;
    /// @brief The column called `name` (case-insensitive), or nullptr.
    const SweepColumnInfo* find_column(std::string_view name) const noexcept;

    /// @brief Rows [row_begin, row_end) (0-based) of the requested columns, in request order
    /// (a column asked twice appears once). Missing optional columns are left out.
    /// @throws MissingColumnError (file, HDU, column) for a missing required column;
    /// FitsError for an unreadable column type, a row range outside the table, or a failed
    /// read (a truncated file, say), always naming the file.
    Table read(const std::vector<ColumnRequest>& requests, std::int64_t row_begin, std::int64_t row_end);
    /// @brief As read(requests, ...) with every name required.
    Table read(const std::vector<std::string>& names, std::int64_t row_begin, std::int64_t row_end);
    /// @brief As above for a braced list of literals, read({"RA", "DEC"}, 0, n) (which would
    /// otherwise be ambiguous between the two vector overloads).
    Table read(std::initializer_list<const char*> names, std::int64_t row_begin, std::int64_t row_end);
    /// @brief Every row of the named columns (all required).
    Table read_all(const std::vector<std::string>& names);

    /// @brief Streams the table: calls `callback(block, first_row)` for consecutive blocks of
    /// at most `rows_per_block` rows of the named (required) columns; `first_row` is the
    /// 0-based table row of block row 0. Memory stays bounded by one block.
    void for_each_block(const std::vector<std::string>& names, std::int64_t rows_per_block,
                        const std::function<void(const Table&, std::int64_t)>& callback);

private:
    void parse_header();
    void check_data_size() const;
    [[noreturn]] void fail(const std::string& what, const std::string& column = "") const;

    FitsFile file_;
    int hdu_ = 0;
    std::int64_t num_rows_ = 0;
    std::int64_t row_bytes_ = 0;
    std::int64_t block_rows_ = 0;
    std::vector<SweepColumnInfo> columns_;
    std::vector<unsigned char> buffer_;
};

}  // namespace dhs::fits
