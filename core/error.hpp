// The dhs error hierarchy: typed exceptions with structured fields (ConfigError: key, file,
// line; FitsError: file, HDU, column, cfitsio status; HdfError: file, object; DataError: file
// and the place inside it) so a failure says exactly where it happened; the engine adds the
// work unit and the rank when it quarantines a unit. After openPMD-api's Error.hpp. Knows
// nothing of lenses.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

namespace dhs {

/// @brief Base of every error dhs throws on purpose. what() is the full, human message.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

/// @brief A configuration value is unknown, of the wrong type or out of range.
/// Carries the dotted key (empty when the whole file is at fault: unreadable, not YAML),
/// the file (or "--set") and the 1-based line (0 when unknown).
class ConfigError : public Error {
public:
    ConfigError(std::string key, std::string file, int line, const std::string& reason);
    const std::string& key() const noexcept { return key_; }
    const std::string& file() const noexcept { return file_; }
    int line() const noexcept { return line_; }
    const std::string& reason() const noexcept { return reason_; }

private:
    std::string key_, file_, reason_;
    int line_;
};

/// @brief A FITS operation failed. Carries the file, the HDU (1-based as cfitsio counts,
/// 0 when not yet known), the column when one is involved, cfitsio's status code and its
/// own message stack.
class FitsError : public Error {
public:
    FitsError(std::string file, int hdu, std::string column, int status, const std::string& what,
              std::string library_message);
    const std::string& file() const noexcept { return file_; }
    int hdu() const noexcept { return hdu_; }
    const std::string& column() const noexcept { return column_; }
    int status() const noexcept { return status_; }
    const std::string& library_message() const noexcept { return library_message_; }

private:
    std::string file_, column_, library_message_;
    int hdu_, status_;
};

/// @brief A required FITS table column is absent (a FitsError with the column named).
class MissingColumnError : public FitsError {
public:
    MissingColumnError(std::string file, int hdu, std::string column);
};

/// @brief A header's WCS parses but cannot map pixels to the sky (a singular CD matrix, a
/// zero CDELT): a FitsError naming the file, the HDU and the keywords at fault.
class DegenerateWcsError : public FitsError {
public:
    using FitsError::FitsError;
};

/// @brief An HDF5 call failed; carries the file, the object path and HDF5's error stack.
class HdfError : public Error {
public:
    HdfError(std::string file, std::string object, const std::string& what, std::string library_message);
    const std::string& file() const noexcept { return file_; }
    const std::string& object() const noexcept { return object_; }
    const std::string& library_message() const noexcept { return library_message_; }

private:
    std::string file_, object_, library_message_;
};

/// @brief An error every rank raised alike at the same point, with nothing collective left
/// pending (a stage's plan failed on rank 0 and was broadcast): the command can end with exit
/// code 1 on every rank without MPI_Abort.
class CollectiveError : public Error {
public:
    explicit CollectiveError(const std::string& message) : Error(message) {}
};

/// @brief The machine, not the data, stopped the work: no space left on the device, a quota,
/// a read-only file system, an I/O error. A work unit that meets one is not quarantined (any
/// other unit would meet it too): the stage stops on every rank, keeping what is done for
/// `--resume` once the cause is fixed.
class ResourceError : public Error {
public:
    explicit ResourceError(const std::string& message) : Error(message) {}
    /// @brief errno values that mean the machine, not the data (ENOSPC, EDQUOT, EROFS, EIO, EFBIG).
    static bool is_resource_errno(int err) noexcept;
};

/// @brief An MPI call returned an error code.
class MpiError : public Error {
public:
    MpiError(int code, const std::string& what);
    int code() const noexcept { return code_; }

private:
    int code_;
};

/// @brief Input data are readable but wrong (NaN where none may be, a malformed CSV row...).
/// Carries the file and a location inside it (row, column, record) in words.
class DataError : public Error {
public:
    DataError(std::string file, std::string where, const std::string& what);
    const std::string& file() const noexcept { return file_; }
    const std::string& where() const noexcept { return where_; }

private:
    std::string file_, where_;
};

[[noreturn]] void throw_config_error(const std::string& key, const std::string& file, int line,
                                     const std::string& reason);
[[noreturn]] void throw_data_error(const std::string& file, const std::string& where,
                                   const std::string& what);

}  // namespace dhs
