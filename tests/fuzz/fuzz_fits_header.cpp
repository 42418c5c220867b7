// fuzz_fits_header: the FITS header-card parser (core/fits/header_text.hpp: parse_card,
// card_name, card_value_field, value_token, unquote) on any bytes. The input is cut into
// 80-character cards as a header block is (the last one blank-padded), and also handed over
// whole and in its first 9 bytes (cards shorter than 80 characters: HIERARCH, "= ").
// Nothing here may throw; the parsed value must lie within the card's bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/fits/header_text.hpp"

namespace {

void check_card(std::string_view card) {
    using namespace dhs::fits;
    const auto name = card_name(card);
    if (name.size() > card.size()) std::abort();
    if (const auto field = card_value_field(card)) {
        if (field->size() > card.size()) std::abort();
        const auto token = value_token(*field);
        if (token.size() > field->size()) std::abort();
        if (!token.empty() && token.front() == '\'' && unquote(token).size() > token.size()) std::abort();
    }
    if (const auto kv = parse_card(card)) {
        // An unquoted value never grows; a quoted one only shrinks ('' -> ').
        if (kv->first.size() > card.size() || kv->second.size() > card.size()) std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view all(reinterpret_cast<const char*>(data), size);
    for (std::size_t at = 0; at < size; at += 80) {
        std::string card(all.substr(at, 80));
        card.resize(80, ' ');
        check_card(card);
    }
    check_card(all);
    check_card(all.substr(0, 9));
    return 0;
}
