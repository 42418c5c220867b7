// Known-lens and confuser tables for the sampling stage. read_lenscat() parses lenscat's CSV
// format (name,RA [deg],DEC [deg],zlens,type,grading,ref): free-text zlens ("-", "0.32?",
// "0.6 | 0.64", "not measured"), " | " lists in name and ref, RFC 4180 quoting where present;
// collapse_duplicates() merges entries within a radius (cross-survey duplicates) and counts
// them. read_position_catalog() reads any CSV with RA/Dec columns and an optional category
// (the mock sky's truth/confusers.csv, a contaminant catalog). Errors name file, line, column.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/geometry/sky_index.hpp"

namespace dhs::stages::sample {

/// @brief One row of a lenscat file, as written (zlens parsed too).
struct LensRecord {
    std::string name;
    double ra = 0, dec = 0;   ///< deg
    double zlens = 0;         ///< first number in the zlens text; NaN when there is none
    std::string zlens_text;   ///< the zlens field as written
    std::string type;         ///< galaxy, group, cluster, ...
    std::string grading;      ///< confident, probable, ...
    std::string ref;
    std::int64_t line = 0;    ///< 1-based line in the file
};

/// @brief A parsed lenscat file.
struct LensCatalog {
    std::string path;
    std::vector<LensRecord> rows;
    std::int64_t confident = 0, probable = 0;  ///< rows by grading
};

/// @brief Reads a lenscat CSV. Columns are found by header name (case-insensitive; "RA [deg]"
/// or "ra", "DEC [deg]" or "dec", "name", "grading" required; zlens, type, ref optional).
/// @throws DataError naming the file, the line and the column of the first malformed row
/// (wrong field count, RA/Dec not a number or out of range, empty name); Error when the file
/// cannot be read.
LensCatalog read_lenscat(const std::string& path);

/// @brief The zlens of lenscat's free text: the first " | "-separated item that reads as a
/// finite number (a trailing '?' allowed); NaN when none does.
double parse_zlens(std::string_view text);

/// @brief A lens after duplicates are collapsed: the first row (file order) of a group of
/// rows within the duplicate radius of it, graded by the best grading in the group.
struct Lens {
    std::string name;          ///< the first row's name
    std::string all_names;     ///< every distinct name in the group, " | "-joined
    double ra = 0, dec = 0;    ///< the first row's position, deg
    double zlens = 0;          ///< the first finite zlens in the group (NaN if none)
    std::string zlens_text, type, grading, ref;
    std::string tier;          ///< "A" (confident), "B" (probable), "" otherwise
    std::int32_t duplicates = 0;  ///< rows merged into this one
    std::int64_t line = 0;     ///< line of the first row
};

/// @brief The lenses of a catalog with duplicates collapsed: rows are taken in file order; a
/// row not yet merged starts a group holding every later unmerged row within `radius_arcsec`.
/// The group's grading is confident if any row is, else probable if any row is.
std::vector<Lens> collapse_duplicates(const LensCatalog& catalog, double radius_arcsec);

/// @brief A point of a position catalog (confusers, contaminants).
struct CatalogPoint {
    double ra = 0, dec = 0;
    std::string category;  ///< the category column's value, or "" when there is none
};

/// @brief Reads a CSV with a header naming RA and Dec columns ("ra", "RA [deg]", "ra_deg",
/// case-insensitive) and optionally "category" (or "type"). @throws DataError naming file,
/// line and column of a malformed row.
std::vector<CatalogPoint> read_position_catalog(const std::string& path);

/// @brief Splits one CSV line into fields (RFC 4180: a field starting with '"' is quoted,
/// "" inside it is a quote; quotes elsewhere are literal). A trailing '\r' is dropped.
/// @returns false when a quoted field is not closed.
bool split_csv_line(std::string_view line, std::vector<std::string>& fields);

}  // namespace dhs::stages::sample
