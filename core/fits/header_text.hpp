// The one FITS header-card parser of the readers that scan header text themselves (BrickImage's
// keywords, TileReader's raw header of a compressed image): keyword names (HIERARCH included),
// value fields, quoted strings ('' escapes, trailing blanks dropped), '/' comments. Values keep
// their case; a caller that compares enumerated values (ZCMPTYPE, ZQUANTIZ...) upper-cases them.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

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

/// @brief `s` without leading and trailing blanks.
inline std::string_view trim(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
}

/// @brief The keyword name of an 80-character card ("HIERARCH A B = ..." -> "A B").
inline std::string_view card_name(std::string_view card) {
    if (card.substr(0, 9) == "HIERARCH ") {
        const auto eq = card.find('=');
        return trim(card.substr(9, eq == std::string_view::npos ? std::string_view::npos : eq - 9));
    }
    return trim(card.substr(0, 8));
}

/// @brief The raw value field of a card (after "= "), or nullopt for a card without one.
inline std::optional<std::string_view> card_value_field(std::string_view card) {
    if (card.substr(0, 9) == "HIERARCH ") {
        const auto eq = card.find('=');
        if (eq == std::string_view::npos) return std::nullopt;
        return card.substr(eq + 1);
    }
    if (card.size() < 10 || card.substr(8, 2) != "= ") return std::nullopt;
    return card.substr(10);
}

/// @brief The value token of a value field: a quoted string kept with its quotes, or the text
/// before any '/' comment, trimmed.
inline std::string_view value_token(std::string_view field) {
    field = trim(field);
    if (!field.empty() && field.front() == '\'') {
        std::size_t i = 1;
        for (; i < field.size(); ++i) {
            if (field[i] != '\'') continue;
            if (i + 1 < field.size() && field[i + 1] == '\'') {
                ++i;
                continue;
            }
            break;
        }
        return field.substr(0, std::min(i + 1, field.size()));
    }
    return trim(field.substr(0, field.find('/')));
}

/// @brief The keyword and value text of one 80-character card (a quoted string unquoted, a
/// number or logical as written before any comment), or nullopt for a card without a value.
inline std::optional<std::pair<std::string, std::string>> parse_card(std::string_view card) {
    const auto field = card_value_field(card);
    if (!field) return std::nullopt;
    const std::string_view token = value_token(*field);
    if (token.empty()) return std::nullopt;
    return std::pair{std::string(card_name(card)),
                     token.front() == '\'' ? unquote(token) : std::string(token)};
}

}  // namespace dhs::fits
