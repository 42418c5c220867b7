// Messages of the dhs error hierarchy (see error.hpp).
#include "core/error.hpp"

#include <fmt/format.h>

#include <cerrno>

namespace dhs {
namespace {
std::string config_message(const std::string& key, const std::string& file, int line,
                           const std::string& reason) {
    if (key.empty()) return line > 0 ? fmt::format("config '{}' line {}: {}", file, line, reason)
                                     : fmt::format("config '{}': {}", file, reason);
    if (line > 0) return fmt::format("config key '{}' ({}:{}): {}", key, file, line, reason);
    return fmt::format("config key '{}' ({}): {}", key, file, reason);
}

std::string fits_message(const std::string& file, int hdu, const std::string& column, int status,
                         const std::string& what, const std::string& lib) {
    std::string m = fmt::format("FITS error in '{}'", file);
    if (hdu > 0) m += fmt::format(", HDU {}", hdu);
    if (!column.empty()) m += fmt::format(", column '{}'", column);
    m += ": " + what;
    if (status != 0) m += fmt::format(" (cfitsio status {})", status);
    if (!lib.empty()) m += ": " + lib;
    return m;
}
}  // namespace

ConfigError::ConfigError(std::string key, std::string file, int line, const std::string& reason)
    : Error(config_message(key, file, line, reason)),
      key_(std::move(key)),
      file_(std::move(file)),
      reason_(reason),
      line_(line) {}

FitsError::FitsError(std::string file, int hdu, std::string column, int status,
                     const std::string& what, std::string library_message)
    : Error(fits_message(file, hdu, column, status, what, library_message)),
      file_(std::move(file)),
      column_(std::move(column)),
      library_message_(std::move(library_message)),
      hdu_(hdu),
      status_(status) {}

MissingColumnError::MissingColumnError(std::string file, int hdu, std::string column)
    : FitsError(std::move(file), hdu, column, 0, "required column is missing", "") {}

HdfError::HdfError(std::string file, std::string object, const std::string& what,
                   std::string library_message)
    : Error(fmt::format("HDF5 error in '{}'{}: {}{}", file,
                        object.empty() ? "" : fmt::format(" at '{}'", object), what,
                        library_message.empty() ? "" : ": " + library_message)),
      file_(std::move(file)),
      object_(std::move(object)),
      library_message_(std::move(library_message)) {}

MpiError::MpiError(int code, const std::string& what)
    : Error(fmt::format("MPI error {}: {}", code, what)), code_(code) {}

DataError::DataError(std::string file, std::string where, const std::string& what)
    : Error(fmt::format("bad data in '{}' ({}): {}", file, where, what)),
      file_(std::move(file)),
      where_(std::move(where)) {}

void throw_config_error(const std::string& key, const std::string& file, int line,
                        const std::string& reason) {
    throw ConfigError(key, file, line, reason);
}

void throw_data_error(const std::string& file, const std::string& where, const std::string& what) {
    throw DataError(file, where, what);
}

bool ResourceError::is_resource_errno(int err) noexcept {
    return err == ENOSPC || err == EDQUOT || err == EROFS || err == EIO || err == EFBIG;
}

}  // namespace dhs
