// Unit-level checks behind the bad-input matrix (docs/reliability.md): UTF-8 validation and
// repair of messages, and BrickWcs refusing a singular CD matrix (which wcslib's wcsfix would
// quietly turn into 1 degree per pixel) while accepting the ordinary TAN header.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <string>

#include "core/error.hpp"
#include "core/fits/brick_wcs.hpp"
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

std::string card(const std::string& text) {
    std::string c = text.substr(0, 80);
    c.resize(80, ' ');
    return c;
}

std::string tan_header(double cd11, double cd12, double cd21, double cd22) {
    return card("SIMPLE  =                    T") + card("NAXIS   =                    2") +
           card("NAXIS1  =                  600") + card("NAXIS2  =                  600") +
           card("CTYPE1  = 'RA---TAN'") + card("CTYPE2  = 'DEC--TAN'") + card("CRVAL1  =                150.1") +
           card("CRVAL2  =                  2.2") + card("CRPIX1  =                300.5") +
           card("CRPIX2  =                300.5") + card(fmt::format("CD1_1   = {:20.12E}", cd11)) +
           card(fmt::format("CD1_2   = {:20.12E}", cd12)) + card(fmt::format("CD2_1   = {:20.12E}", cd21)) +
           card(fmt::format("CD2_2   = {:20.12E}", cd22)) + card("END");
}

TEST(DegenerateWcs, ZeroCdMatrixIsRefusedNamingFileHduAndKeys) {
    try {
        (void)dhs::fits::BrickWcs::from_header(tan_header(0, 0, 0, 0), "coadd-image-r.fits.fz", 2);
        FAIL() << "a zero CD matrix was accepted";
    } catch (const dhs::DegenerateWcsError& e) {
        const std::string m = e.what();
        EXPECT_EQ(e.file(), "coadd-image-r.fits.fz");
        EXPECT_EQ(e.hdu(), 2);
        EXPECT_NE(m.find("coadd-image-r.fits.fz"), std::string::npos) << m;
        EXPECT_NE(m.find("HDU 2"), std::string::npos) << m;
        for (const char* k : {"CD1_1", "CD1_2", "CD2_1", "CD2_2"}) EXPECT_NE(m.find(k), std::string::npos) << m;
    }
    // Rank-deficient but not zero: refused too.
    EXPECT_THROW((void)dhs::fits::BrickWcs::from_header(tan_header(1e-4, 1e-4, 1e-4, 1e-4), "x", 1),
                 dhs::DegenerateWcsError);
}

TEST(DegenerateWcs, OrdinaryTanHeaderStillWorks) {
    const auto w = dhs::fits::BrickWcs::from_header(tan_header(-7.2777777777778e-05, 0, 0, 7.2777777777778e-05), "x", 1);
    EXPECT_NEAR(w.pixel_scale_arcsec(), 0.262, 1e-6);
    const auto px = w.sky_to_pixel(150.1, 2.2);
    EXPECT_NEAR(px.x, 299.5, 1e-6);
    EXPECT_NEAR(px.y, 299.5, 1e-6);
}

}  // namespace
