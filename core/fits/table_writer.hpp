// FitsTableWriter: writes a dhs::Table as a FITS binary table with an explicit TFORM per
// column (so DR10's exact sweep and survey-bricks schemas can be reproduced), packing
// big-endian rows and writing them in blocks with fits_write_tblbytes. The file is written
// under `path + ".tmp"` and renamed on close(); a path ending in ".gz" is gzip-compressed.
// Also: FITS header cards (shared with the coadd writer) and the DR10 schemas.
// Generic: knows nothing of lenses.
#pragma once

#include <concepts>
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "core/fits/fits_file.hpp"
#include "core/table/table.hpp"
#include "kernels/geometry/brick_geometry.hpp"

namespace dhs::fits {

/// @brief One column of a binary table to write: TTYPE, TFORM (e.g. "I", "J", "K", "E", "D",
/// "L", "B", "8A", "5E") and TUNIT (empty: the Table column's unit, if any).
struct FitsColumnSpec {
    std::string name;
    std::string tform;
    std::string unit;
};

/// @brief A header keyword value: string, real, integer or logical.
using FitsKeyValue = std::variant<std::string, double, std::int64_t, bool>;

/// @brief One header card to write: keyword (<= 8 characters, or longer as HIERARCH), value,
/// comment (may be empty).
struct FitsCard {
    std::string name;
    FitsKeyValue value;
    std::string comment;
};

/// @brief Writes `card` into the current HDU of `file` (strings longer than 68 characters
/// with the CONTINUE convention; reals as cfitsio's %.15G, like DR10's headers).
/// @throws FitsError naming the file and keyword; for a non-finite real too.
void write_card(FitsFile& file, const FitsCard& card);

/// @brief Writer of one binary-table HDU (after an empty primary HDU). Rows are appended by
/// write() in blocks of packed big-endian rows (fits_write_tblbytes); each Table column is
/// converted to its spec's TFORM type (integers range-checked, reals to integers only when
/// integral, strings padded with NULs like numpy/fitsio and too-long strings refused).
/// The file appears under its final name only after close() succeeds; a writer destroyed
/// without close() (an exception, say) deletes its temporary file. Move-only; not
/// thread-safe. Rank-local.
class FitsTableWriter {
public:
    /// @brief Prepares `path` (parent directories are created); the HDU itself is created
    /// on the first write() or close(), so add_key() before that costs nothing.
    /// @throws FitsError for a malformed TFORM or a duplicate column name; FitsError
    /// naming the file when it cannot be created.
    FitsTableWriter(std::string path, std::vector<FitsColumnSpec> schema, std::string extname = "");
    FitsTableWriter(FitsTableWriter&&) noexcept;
    FitsTableWriter& operator=(FitsTableWriter&&) noexcept;
    FitsTableWriter(const FitsTableWriter&) = delete;
    FitsTableWriter& operator=(const FitsTableWriter&) = delete;
    ~FitsTableWriter();

    /// @brief Adds a header keyword to the table HDU (in call order, after the column cards).
    /// Best called before the first write(): later cards may make cfitsio shift the data.
    void add_key(const std::string& name, const std::string& value, const std::string& comment = "");
    /// @brief As above for a C string (not a logical).
    void add_key(const std::string& name, const char* value, const std::string& comment = "");
    /// @brief A real keyword, written as %.15G.
    void add_key(const std::string& name, double value, const std::string& comment = "");
    /// @brief A logical keyword (T / F).
    void add_key(const std::string& name, bool value, const std::string& comment = "");
    /// @brief An integer keyword.
    template <std::integral T>
        requires(!std::same_as<T, bool>)
    void add_key(const std::string& name, T value, const std::string& comment = "") {
        add_card({name, static_cast<std::int64_t>(value), comment});
    }
    /// @brief Adds any card (see FitsCard).
    void add_card(const FitsCard& card);

    /// @brief Appends the rows of `table`. Every schema column must be present (matched by
    /// exact name, else case-insensitively); other columns are ignored. A column's cell
    /// size must equal the TFORM repeat (the width for strings, which must be scalar).
    /// @throws MissingColumnError, or FitsError naming file, column and row for a value the
    /// TFORM cannot hold (out of range, non-integral, too long, non-ASCII) or a failed write.
    /// Nothing of a failing block is written, but earlier blocks are.
    void write(const Table& table);

    /// @brief Rows written so far.
    std::int64_t rows_written() const noexcept { return rows_; }
    /// @brief Final path.
    const std::string& path() const noexcept { return path_; }
    /// @brief Row width in bytes (NAXIS1).
    std::int64_t row_bytes() const noexcept { return row_bytes_; }

    /// @brief Creates the HDU if no row was written, closes (for ".gz": compresses) and
    /// renames the temporary file to path(). @throws FitsError on failure (the temporary
    /// file is removed then).
    void close();

private:
    struct Field {
        FitsColumnSpec spec;
        char code = 0;
        std::int64_t repeat = 1, width = 1, offset = 0;
    };
    void ensure_hdu(const std::vector<const Column*>* cols = nullptr);
    void abandon() noexcept;

    std::string path_, tmp_, extname_;
    std::vector<Field> fields_;
    std::vector<FitsCard> pending_;
    std::int64_t row_bytes_ = 0, rows_ = 0;
    FitsFile file_;
    bool hdu_created_ = false, open_ = false;
    std::vector<unsigned char> buffer_;
};

/// @brief Writes `table` to `path` in one go (see FitsTableWriter), with `cards` in the
/// table header.
void write_fits_table(const std::string& path, const Table& table, const std::vector<FitsColumnSpec>& schema,
                      const std::string& extname = "", const std::vector<FitsCard>& cards = {});

/// @brief A spec per column of `table` from its dtype and shape: boolean L, uint8 B, int16 I,
/// int32 J, int64 K, float32 E, float64 D (repeat = cell size), string nA with n the longest
/// string (at least 1). @throws FitsError for int8 and unsigned 16/32/64-bit columns.
std::vector<FitsColumnSpec> default_schema(const Table& table);

/// @brief The DR10 sweep schema of `csv_path` (reference/dr10_sweep_columns.csv): the rows
/// whose `file` column is "main", in file order (130 columns), TFORM as given, no units.
/// Lines starting with '#' and the header line are skipped.
/// @throws DataError naming the file and line for an unreadable file or a malformed row.
std::vector<FitsColumnSpec> dr10_sweep_schema(const std::string& csv_path);

/// @brief The survey-bricks.fits.gz schema exactly as the real files have it (lower-case
/// names): brickname 8A, brickid J, brickq I, brickrow J, brickcol J, ra, dec, ra1, ra2, dec1,
/// dec2 D.
std::vector<FitsColumnSpec> survey_bricks_schema();

/// @brief A Table of `bricks` with the columns of survey_bricks_schema().
Table survey_bricks_table(std::span<const kernels::Brick> bricks);

}  // namespace dhs::fits
