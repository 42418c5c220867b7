// Human-readable description of a FITS file: each HDU with its kind, image size and
// compression, or table rows and columns (name, TFORM, unit). Used by `dhs inspect`.
#pragma once

#include <string>

namespace dhs::fits {

/// @brief Describes every HDU of the FITS file at `path`. Rank-local.
/// @param max_columns columns listed per table before "... N more" (0: all).
/// @throws FitsError naming the file when it is not readable FITS.
std::string describe_file(const std::string& path, std::size_t max_columns = 0);

}  // namespace dhs::fits
