// Test support for files read with cfitsio directly (tests that link cfitsio): raw header
// keywords, independent of dhs's own readers.
#pragma once

#include <fitsio.h>

#include <string>

namespace dhs::test {

/// @brief Keyword `key` of HDU `hdu` (1-based; compression keywords included) as cfitsio's
/// fits_read_keyword gives it, with string values trimmed inside their quotes ('SWEEP   ' ->
/// 'SWEEP'); "<missing>" when the file, HDU or keyword cannot be read.
inline std::string raw_keyword(const std::string& path, int hdu, const std::string& key) {
    fitsfile* f = nullptr;
    int st = 0, type = 0;
    char value[FLEN_VALUE] = {0};
    fits_open_file(&f, path.c_str(), READONLY, &st);
    fits_movabs_hdu(f, hdu, &type, &st);
    fits_read_keyword(f, key.c_str(), value, nullptr, &st);
    int s2 = 0;
    if (f != nullptr) fits_close_file(f, &s2);
    if (st != 0) return "<missing>";
    std::string v = value;
    if (v.size() > 1 && v.front() == '\'') {
        v = v.substr(1, v.rfind('\'') - 1);
        v.erase(v.find_last_not_of(' ') + 1);
        v = "'" + v + "'";
    }
    return v;
}

/// @brief raw_keyword() with the quotes of a string value removed.
inline std::string raw_keyword_unquoted(const std::string& path, int hdu, const std::string& key) {
    std::string v = raw_keyword(path, hdu, key);
    if (v.size() > 1 && v.front() == '\'') v = v.substr(1, v.size() - 2);
    return v;
}

}  // namespace dhs::test
