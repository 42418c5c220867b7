// UTF-8 checks for text that reaches JSON (nlohmann::json refuses invalid UTF-8 when dumping)
// or HDF5 strings tagged UTF-8: messages built from file contents (cfitsio's error stack quoting
// a header, a CSV field) may hold any bytes. Rank-local, no allocation unless repairing.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace dhs::util {

/// @brief The byte offset of the first byte of `s` that does not start or continue a valid
/// UTF-8 sequence (overlong forms, surrogates and code points above U+10FFFF are invalid);
/// std::string_view::npos when `s` is valid UTF-8 throughout.
std::size_t first_invalid_utf8(std::string_view s) noexcept;

/// @brief True when `s` is valid UTF-8 throughout.
inline bool is_valid_utf8(std::string_view s) noexcept { return first_invalid_utf8(s) == std::string_view::npos; }

/// @brief `s` with every invalid byte replaced by U+FFFD (the replacement character, as
/// Python's errors="replace" does per byte); `s` itself when it is already valid.
std::string to_valid_utf8(std::string_view s);

}  // namespace dhs::util
