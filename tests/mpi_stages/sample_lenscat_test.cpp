// Tests of the sampling stage's lens tables (mpi_stages/sample/lens_catalog): the real lenscat
// file parses to 32,838 rows (2,309 confident, 30,529 probable); free-text zlens; CSV quoting;
// malformed rows name file, line and column; duplicates collapse into groups whose leaders are
// all farther apart than the radius (checked by brute force over a Dec-sorted sweep).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "core/error.hpp"
#include "mpi_stages/sample/lens_catalog.hpp"
#include "tests/support/test_support.hpp"

namespace s = dhs::stages::sample;

namespace {

const std::string kLenscat = dhs::test::shared_path("data/real/lens_catalogs/lenscat/catalog.csv");

double haversine_arcsec(double ra1, double dec1, double ra2, double dec2) {
    const double d = M_PI / 180;
    const double s1 = std::sin((dec2 - dec1) * d / 2), s2 = std::sin((ra2 - ra1) * d / 2);
    const double h = s1 * s1 + std::cos(dec1 * d) * std::cos(dec2 * d) * s2 * s2;
    return 2 * std::asin(std::min(1.0, std::sqrt(h))) / d * 3600;
}

TEST(Lenscat, RealFileParses) {
    const auto cat = s::read_lenscat(kLenscat);
    EXPECT_EQ(cat.rows.size(), 32838u);
    EXPECT_EQ(cat.confident, 2309);
    EXPECT_EQ(cat.probable, 30529);
    const auto& first = cat.rows.front();
    EXPECT_EQ(first.name, "J0011-0845");
    EXPECT_DOUBLE_EQ(first.ra, 2.83435);
    EXPECT_DOUBLE_EQ(first.dec, -8.7643);
    EXPECT_TRUE(std::isnan(first.zlens));
    EXPECT_EQ(first.zlens_text, "-");
    EXPECT_EQ(first.line, 2);
    // A " | " name list with backslash-escaped quotes in ref stays one field each.
    const auto it = std::find_if(cat.rows.begin(), cat.rows.end(),
                                 [](const auto& r) { return r.name.rfind("Abell 1835 | RXCJ1401.0+0252", 0) == 0; });
    ASSERT_NE(it, cat.rows.end());
    EXPECT_DOUBLE_EQ(it->ra, 210.25933);
    EXPECT_DOUBLE_EQ(it->zlens, 0.252);
    EXPECT_EQ(it->type, "cluster");
    int with_z = 0;
    for (const auto& r : cat.rows) with_z += !std::isnan(r.zlens);
    EXPECT_GT(with_z, 15000);
}

TEST(Lenscat, FreeTextZlens) {
    EXPECT_DOUBLE_EQ(s::parse_zlens("0.32?"), 0.32);
    EXPECT_DOUBLE_EQ(s::parse_zlens("0.6 | 0.64"), 0.6);
    EXPECT_DOUBLE_EQ(s::parse_zlens("nan | 0.253"), 0.253);
    EXPECT_DOUBLE_EQ(s::parse_zlens(" 1.2 "), 1.2);
    for (const char* t : {"-", "", "not measured", "measured", "nan", "inf"}) EXPECT_TRUE(std::isnan(s::parse_zlens(t))) << t;
}

TEST(Lenscat, CsvFields) {
    std::vector<std::string> f;
    ASSERT_TRUE(s::split_csv_line("a,\"b, c\",\"say \"\"hi\"\"\",,B\\\"ohringer\r", f));
    EXPECT_EQ(f, (std::vector<std::string>{"a", "b, c", "say \"hi\"", "", "B\\\"ohringer"}));
    ASSERT_TRUE(s::split_csv_line("x,", f));
    EXPECT_EQ(f, (std::vector<std::string>{"x", ""}));
    EXPECT_FALSE(s::split_csv_line("a,\"open", f));
}

TEST(Lenscat, MalformedRowsNameFileLineAndColumn) {
    dhs::test::TempDir tmp("dhs-lenscat-");
    auto write = [&](const std::string& body) {
        std::ofstream(tmp.file("l.csv")) << "name,RA [deg],DEC [deg],zlens,type,grading,ref\n" << body;
        return tmp.file("l.csv");
    };
    auto message = [](const std::string& path) -> std::string {
        try {
            s::read_lenscat(path);
        } catch (const dhs::DataError& e) {
            return e.what();
        }
        return "no error";
    };
    std::string m = message(write("A,1,2,-,galaxy,confident,r\n\nB,1,95,-,galaxy,probable,r\n"));
    EXPECT_NE(m.find("l.csv"), std::string::npos) << m;
    EXPECT_NE(m.find("line 4, column 'DEC [deg]'"), std::string::npos) << m;
    m = message(write("A,1,2,-,galaxy,confident\n"));
    EXPECT_NE(m.find("line 2"), std::string::npos) << m;
    EXPECT_NE(m.find("6 fields where the header has 7"), std::string::npos) << m;
    m = message(write(",1,2,-,galaxy,confident,r\n"));
    EXPECT_NE(m.find("column 'name'"), std::string::npos) << m;
    std::ofstream(tmp.file("h.csv")) << "name,ra,zlens\nA,1,2\n";
    try {
        s::read_lenscat(tmp.file("h.csv"));
        ADD_FAILURE() << "no error for a header without Dec";
    } catch (const dhs::DataError& e) {
        EXPECT_NE(std::string(e.what()).find("no Dec column"), std::string::npos) << e.what();
    }
    EXPECT_THROW(s::read_lenscat(tmp.file("missing.csv")), dhs::Error);
}

TEST(Lenscat, DuplicatesCollapse) {
    const auto cat = s::read_lenscat(kLenscat);
    const auto lenses = s::collapse_duplicates(cat, 1.0);
    std::int64_t dups = 0, a = 0;
    for (const auto& l : lenses) {
        dups += l.duplicates;
        a += l.tier == "A";
    }
    EXPECT_EQ(static_cast<std::int64_t>(lenses.size()) + dups, 32838);
    EXPECT_GT(dups, 0);
    EXPECT_GE(a, 2309 - dups);
    // No two kept lenses within 1" (brute force over a Dec-sorted list).
    std::vector<std::pair<double, double>> pos;
    for (const auto& l : lenses) pos.push_back({l.dec, l.ra});
    std::sort(pos.begin(), pos.end());
    for (std::size_t i = 0; i < pos.size(); ++i)
        for (std::size_t j = i + 1; j < pos.size() && pos[j].first - pos[i].first <= 1.0 / 3600; ++j)
            ASSERT_GT(haversine_arcsec(pos[i].second, pos[i].first, pos[j].second, pos[j].first), 1.0);
    // A confident duplicate upgrades a probable row; names are kept.
    s::LensCatalog small;
    small.rows = {{"P", 10.0, 5.0, NAN, "-", "galaxy", "probable", "r1", 2},
                  {"C", 10.0 + 0.5 / 3600, 5.0, 0.4, "0.4", "galaxy", "confident", "r2", 3},
                  {"F", 10.0 + 5.0 / 3600, 5.0, NAN, "-", "galaxy", "probable", "r3", 4}};
    const auto merged = s::collapse_duplicates(small, 1.0);
    ASSERT_EQ(merged.size(), 2u);
    EXPECT_EQ(merged[0].name, "P");
    EXPECT_EQ(merged[0].all_names, "P | C");
    EXPECT_EQ(merged[0].tier, "A");
    EXPECT_DOUBLE_EQ(merged[0].zlens, 0.4);
    EXPECT_EQ(merged[0].duplicates, 1);
    EXPECT_EQ(merged[1].tier, "B");
}

TEST(Lenscat, PositionCatalogs) {
    dhs::test::TempDir tmp("dhs-poscat-");
    std::ofstream(tmp.file("c.csv")) << "category,brickname,objid,ra,dec\nring,x,1,150.5,2.25\nspiral,x,2,150.6,-2.5\n";
    const auto pts = s::read_position_catalog(tmp.file("c.csv"));
    ASSERT_EQ(pts.size(), 2u);
    EXPECT_EQ(pts[1].category, "spiral");
    EXPECT_DOUBLE_EQ(pts[1].dec, -2.5);
}

}  // namespace
