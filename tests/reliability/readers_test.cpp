// Unit-level checks behind the bad-input matrix (docs/reliability.md): UTF-8 validation and
// repair of messages.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "core/util/utf8.hpp"

namespace {

using dhs::util::first_invalid_utf8;
using dhs::util::is_valid_utf8;
using dhs::util::to_valid_utf8;

TEST(Utf8, ValidTextPassesUnchanged) {
    EXPECT_TRUE(is_valid_utf8(""));
    EXPECT_TRUE(is_valid_utf8("plain ASCII"));
    EXPECT_TRUE(is_valid_utf8("\xC5\xBD" "ab \xE2\x82\xAC \xF0\x9F\x94\xAD"));  // Ž, €, a 4-byte emoji
    EXPECT_EQ(to_valid_utf8("J0029-0055 \xC5\xBD"), "J0029-0055 \xC5\xBD");
}

TEST(Utf8, InvalidBytesAreFoundAndReplaced) {
    EXPECT_EQ(first_invalid_utf8("ab\xFF\xFE" "cd"), 2u);
    EXPECT_EQ(to_valid_utf8("ab\xFF\xFE" "cd"), "ab\xEF\xBF\xBD\xEF\xBF\xBD" "cd");
    EXPECT_EQ(first_invalid_utf8("\xC0\xAF"), 0u);           // overlong '/'
    EXPECT_EQ(first_invalid_utf8("\xED\xA0\x80"), 0u);       // a UTF-16 surrogate
    EXPECT_EQ(first_invalid_utf8("\xF4\x90\x80\x80"), 0u);   // above U+10FFFF
    EXPECT_EQ(first_invalid_utf8("x\xE2\x82"), 1u);          // cut short at the end
    EXPECT_EQ(to_valid_utf8("x\xE2\x82"), "x\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(Utf8, AnyBytesBecomeDumpableJson) {
    std::string junk;
    for (int i = 0; i < 256; ++i) junk += static_cast<char>(i);
    const std::string fixed = to_valid_utf8(junk);
    EXPECT_TRUE(is_valid_utf8(fixed));
    const auto dump = [](const std::string& m) {
        nlohmann::json j;
        j["message"] = m;
        return j.dump();
    };
    EXPECT_NO_THROW((void)dump(fixed));
    EXPECT_THROW((void)dump(junk), nlohmann::json::exception);  // what used to abort a run
}

}  // namespace
