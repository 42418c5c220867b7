// Small helpers for FITS header card text shared by the readers that scan headers themselves
// (BrickImage's header text, TileReader's raw header): quoted string values.
#pragma once

#include <string>
#include <string_view>

namespace dhs::fits {

/// @brief The value of a FITS quoted string starting at s[0] == '\'' ('' is an escaped quote;
/// the text after the closing quote is ignored), without trailing blanks (not significant in FITS).
inline std::string unquote(std::string_view s) {
    std::string out;
    for (std::size_t i = 1; i < s.size(); ++i) {
        if (s[i] == '\'') {
            if (i + 1 < s.size() && s[i + 1] == '\'') {
                out += '\'';
                ++i;
                continue;
            }
            break;
        }
        out += s[i];
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

}  // namespace dhs::fits
