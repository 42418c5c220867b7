// Tests of dhs::fits::FitsTableWriter: a DR10 sweep (all 130 columns of
// dr10_sweep_columns.csv) written from random-but-known values reads back exactly through
// SweepReader with the CSV's names and TFORMs in order, plain and gzipped, and passes
// fitsverify; survey-bricks.fits.gz written for real bricks matches the real testcase files
// (schema and values); header keys; type conversions and their errors; temp-file + rename.
#include "core/fits/table_writer.hpp"

#include <fitsio.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <random>

#include "core/error.hpp"
#include "core/fits/sweep_reader.hpp"
#include "kernels/geometry/brick_geometry.hpp"
#include "tests/support/fits_support.hpp"
#include "tests/support/column_support.hpp"
#include "tests/support/test_support.hpp"

namespace dhs::fits {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

using dhs::test::shared_path;
using dhs::test::same_column;
using dhs::test::TempDir;
const std::string kSchemaCsv = dhs::test::reference_path("dr10_sweep_columns.csv");

// TTYPEn / TFORMn of the first table of `path`, in column order, as cfitsio reads them.
std::vector<std::pair<std::string, std::string>> ttype_tform(const std::string& path) {
    fitsfile* f = nullptr;
    int st = 0, ncols = 0, type = 0;
    fits_open_file(&f, path.c_str(), READONLY, &st);
    fits_movabs_hdu(f, 2, &type, &st);
    fits_get_num_cols(f, &ncols, &st);
    std::vector<std::pair<std::string, std::string>> out;
    for (int i = 1; i <= ncols && st == 0; ++i) {
        char ttype[FLEN_VALUE] = {0}, tform[FLEN_VALUE] = {0};
        fits_read_key(f, TSTRING, ("TTYPE" + std::to_string(i)).c_str(), ttype, nullptr, &st);
        fits_read_key(f, TSTRING, ("TFORM" + std::to_string(i)).c_str(), tform, nullptr, &st);
        out.emplace_back(ttype, tform);
    }
    int s2 = 0;
    fits_close_file(f, &s2);
    if (st != 0) throw std::runtime_error("cannot read the column keywords of " + path);
    return out;
}

// A header keyword of HDU `hdu` as text (strings still quoted, trimmed inside the quotes).
std::string raw_key(const std::string& path, int hdu, const std::string& key) {
    return dhs::test::raw_keyword(path, hdu, key);
}

// ---- random-but-known DR10 values

std::string random_string(std::mt19937_64& rng, std::size_t max_len) {
    std::uniform_int_distribution<std::size_t> len(0, max_len);
    std::uniform_int_distribution<int> ch(33, 126);  // no blanks: the reader drops trailing ones
    std::string s(len(rng), ' ');
    for (auto& c : s) c = static_cast<char>(ch(rng));
    if (s.size() > 2) s[1] = ' ';  // an inner blank is kept
    return s;
}

// One column for `spec` with `n` rows of random values of the TFORM's own type.
Column random_column(const FitsColumnSpec& spec, std::size_t n, std::mt19937_64& rng) {
    const char code = spec.tform.back();
    const std::size_t repeat = spec.tform.size() > 1 ? std::stoul(spec.tform) : 1;
    const std::vector<std::size_t> shape = (code != 'A' && repeat > 1) ? std::vector<std::size_t>{repeat}
                                                                       : std::vector<std::size_t>{};
    const std::size_t cells = code == 'A' ? n : n * repeat;
    auto ints = [&]<class T>(T) {
        std::uniform_int_distribution<long long> d(std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
        std::vector<T> v(cells);
        for (auto& x : v) x = static_cast<T>(d(rng));
        return v;
    };
    auto reals = [&]<class T>(T) {
        std::normal_distribution<double> d(0.0, 100.0);
        std::vector<T> v(cells);
        for (std::size_t i = 0; i < cells; ++i) {
            v[i] = static_cast<T>(d(rng));
            if (i % 101 == 7) v[i] = std::numeric_limits<T>::quiet_NaN();
            if (i % 211 == 5) v[i] = std::numeric_limits<T>::infinity();
            if (i % 307 == 3) v[i] = std::numeric_limits<T>::denorm_min();
            if (i % 401 == 9) v[i] = -0.0;
        }
        return v;
    };
    switch (code) {
        case 'A': {
            std::vector<std::string> v(n);
            for (auto& s : v) s = random_string(rng, repeat);
            return Column(spec.name, std::move(v));
        }
        case 'L': {
            std::vector<std::uint8_t> v(cells);
            for (auto& x : v) x = static_cast<std::uint8_t>(rng() & 1);
            return Column(spec.name, std::move(v), shape, DType::boolean);
        }
        case 'B': return Column(spec.name, ints(std::uint8_t{}), shape);
        case 'I': return Column(spec.name, ints(std::int16_t{}), shape);
        case 'J': return Column(spec.name, ints(std::int32_t{}), shape);
        case 'K': return Column(spec.name, ints(std::int64_t{}), shape);
        case 'E': return Column(spec.name, reals(float{}), shape);
        case 'D': return Column(spec.name, reals(double{}), shape);
        default: throw std::runtime_error("unexpected TFORM " + spec.tform);
    }
}

Table random_dr10_sweep(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    Table t;
    for (const auto& spec : dr10_sweep_schema(kSchemaCsv)) t.add(random_column(spec, n, rng));
    return t;
}


// ---- tests

TEST(TableWriter, Dr10SchemaParsesTheCsv) {
    const auto schema = dr10_sweep_schema(kSchemaCsv);
    ASSERT_EQ(schema.size(), 130u);
    EXPECT_EQ(schema.front().name, "RELEASE");
    EXPECT_EQ(schema.front().tform, "I");
    EXPECT_EQ(schema[2].name, "BRICKNAME");
    EXPECT_EQ(schema[2].tform, "8A");
    EXPECT_EQ(schema[9].name, "DCHISQ");
    EXPECT_EQ(schema[9].tform, "5E");
    EXPECT_EQ(schema.back().name, "SERSIC_IVAR");
    for (const auto& s : schema) EXPECT_EQ(s.name.rfind("LC_", 0), std::string::npos) << s.name;
    EXPECT_THROW(dr10_sweep_schema("/nonexistent/schema.csv"), DataError);
}

TEST(TableWriter, Dr10SweepRoundTripsThroughSweepReader) {
    TempDir tmp("dhs_twriter_");
    const auto schema = dr10_sweep_schema(kSchemaCsv);
    const std::size_t n = 20011;  // several 4 MiB row blocks and a partial one
    const Table t = random_dr10_sweep(n, 20240611);
    const std::string path = tmp.file("sweep-045m045-050m040.fits");
    {
        FitsTableWriter w(path, schema);
        w.add_key("RELEASE", 10000, "DR10");
        EXPECT_EQ(w.row_bytes(), 505);
        w.write(t.slice(0, 7000));  // appended in two calls
        EXPECT_FALSE(fs::exists(path)) << "only the temporary file exists before close()";
        EXPECT_TRUE(fs::exists(path + ".tmp"));
        w.write(t.slice(7000, n));
        EXPECT_EQ(w.rows_written(), static_cast<std::int64_t>(n));
        w.close();
    }
    EXPECT_FALSE(fs::exists(path + ".tmp"));

    // Names and TFORMs exactly as the CSV, in order.
    const auto cols = ttype_tform(path);
    ASSERT_EQ(cols.size(), schema.size());
    for (std::size_t i = 0; i < cols.size(); ++i) {
        EXPECT_EQ(cols[i].first, schema[i].name) << "column " << i + 1;
        EXPECT_EQ(cols[i].second, schema[i].tform) << "column " << i + 1;
    }
    EXPECT_EQ(raw_key(path, 1, "BITPIX"), "16");
    EXPECT_EQ(raw_key(path, 1, "NAXIS"), "0");
    EXPECT_EQ(raw_key(path, 2, "RELEASE"), "10000");

    SweepReader r(path);
    EXPECT_EQ(r.num_rows(), static_cast<std::int64_t>(n));
    EXPECT_EQ(r.row_bytes(), 505);
    const Table back = r.read_all(t.column_names());
    for (std::size_t i = 0; i < t.num_columns(); ++i) EXPECT_TRUE(same_column(t.column(i), back.column(i)));
    EXPECT_FITSVERIFY_OK(path);
}

TEST(TableWriter, GzipOutputRoundTrips) {
    TempDir tmp("dhs_twriter_");
    const auto schema = dr10_sweep_schema(kSchemaCsv);
    const Table t = random_dr10_sweep(3001, 7);
    const std::string path = tmp.file("sweep-000m005-005p000.fits.gz");
    std::ofstream(path + ".tmp") << "a stale half file of a killed writer";
    write_fits_table(path, t, schema, "SWEEP", {{"SURVEY", std::string("DECaLS+BASS+MzLS"), "The LegacySurveys"}});
    EXPECT_FALSE(fs::exists(path + ".tmp"));
    std::ifstream in(path, std::ios::binary);
    unsigned char magic[2] = {0, 0};
    in.read(reinterpret_cast<char*>(magic), 2);
    EXPECT_EQ(magic[0], 0x1f);
    EXPECT_EQ(magic[1], 0x8b) << "a .gz path is gzip-compressed";
    EXPECT_EQ(raw_key(path, 2, "EXTNAME"), "'SWEEP'");
    EXPECT_EQ(raw_key(path, 2, "SURVEY"), "'DECaLS+BASS+MzLS'");
    SweepReader r(path);
    const Table back = r.read_all(t.column_names());
    for (std::size_t i = 0; i < t.num_columns(); ++i) EXPECT_TRUE(same_column(t.column(i), back.column(i)));
    EXPECT_FITSVERIFY_OK(path);
}

TEST(TableWriter, SurveyBricksMatchTheRealFiles) {
    TempDir tmp("dhs_twriter_");
    const auto& wall = kernels::brick_wall();
    std::vector<kernels::Brick> bricks;
    std::vector<std::string> real_files = {shared_path("data/real/legacypipe/testcase3/survey-bricks.fits.gz"),
                                           shared_path("data/real/legacypipe/testcase12/survey-bricks.fits.gz")};
    std::vector<Table> real_tables;
    const auto schema = survey_bricks_schema();
    std::vector<std::string> names;
    for (const auto& s : schema) names.push_back(s.name);
    for (const auto& f : real_files) {
        real_tables.push_back(SweepReader(f).read_all(names));
        const auto b = wall.brick_by_name(real_tables.back().column("brickname").strings().at(0));
        ASSERT_TRUE(b.has_value());
        bricks.push_back(*b);
    }
    for (const char* extra : {"0489m442", "0001m002", "1800p900", "1800m900"}) bricks.push_back(wall.brick_by_name(extra).value());

    const std::string path = tmp.file("survey-bricks.fits.gz");
    write_fits_table(path, survey_bricks_table(bricks), schema);
    EXPECT_EQ(ttype_tform(path), ttype_tform(real_files[0])) << "names and TFORMs as the real file";
    SweepReader r(path);
    ASSERT_EQ(r.num_rows(), static_cast<std::int64_t>(bricks.size()));
    const Table back = r.read_all(names);
    for (std::size_t k = 0; k < real_tables.size(); ++k) {
        const Table mine = back.slice(k, k + 1);
        for (std::size_t i = 0; i < names.size(); ++i) {
            const Column& a = real_tables[k].column(i);
            const Column& b = mine.column(i);
            ASSERT_EQ(a.dtype(), b.dtype()) << names[i];
            if (a.dtype() == DType::float64)
                EXPECT_NEAR(a.values<double>()[0], b.values<double>()[0], 1e-12) << names[i];
            else
                EXPECT_TRUE(same_column(a, b)) << real_files[k];
        }
    }
    EXPECT_EQ(back.column("brickid").values<std::int32_t>()[2], 100048);
    EXPECT_EQ(back.column("brickname").strings()[2], "0489m442");
    EXPECT_FITSVERIFY_OK(path);
}

TEST(TableWriter, ConvertsTypesToTheTform) {
    TempDir tmp("dhs_twriter_");
    Table t;
    t.add(Column("A_I", std::vector<std::int64_t>{-32768, 0, 32767}));           // int64 -> I
    t.add(Column("A_J", std::vector<double>{-2147483648.0, 3.0, 2147483647.0}));  // integral doubles -> J
    t.add(Column("A_E", std::vector<double>{0.1, 1e30, -2.5}));                  // double -> E
    t.add(Column("A_D", std::vector<std::int32_t>{1, -7, 123456789}));           // int32 -> D
    t.add(Column("A_B", std::vector<std::int32_t>{0, 128, 255}));                // int32 -> B
    t.add(Column("A_L", std::vector<std::int16_t>{0, 1, 5}));                    // nonzero -> T
    t.add(Column("A_S", std::vector<std::string>{"", "ab", "abcd"}));
    t.add(Column("a_v", std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18},
                 std::vector<std::size_t>{2, 3}));
    t.add(Column("UNUSED", std::vector<double>{1, 2, 3}));
    const std::string path = tmp.file("conv.fits");
    FitsTableWriter w(path,
                      {{"A_I", "I", ""}, {"A_J", "J", ""}, {"A_E", "E", "nanomaggy"}, {"A_D", "D", ""},
                       {"A_B", "B", ""}, {"A_L", "L", ""}, {"a_s", "4A", ""}, {"A_V", "6E", ""}},
                      "CONV");
    w.add_key("STRKEY", "a string value", "a comment");
    w.add_key("REALKEY", 48.7427466150871, "deg");
    w.add_key("INTKEY", 100048);
    w.add_key("BOOLKEY", true);
    w.add_key("LONGKEY", std::string(100, 'x'));
    w.write(t);
    w.close();
    EXPECT_EQ(raw_key(path, 2, "STRKEY"), "'a string value'");
    EXPECT_EQ(raw_key(path, 2, "REALKEY"), "48.7427466150871");
    EXPECT_EQ(raw_key(path, 2, "INTKEY"), "100048");
    EXPECT_EQ(raw_key(path, 2, "BOOLKEY"), "T");
    EXPECT_EQ(raw_key(path, 2, "EXTNAME"), "'CONV'");
    EXPECT_EQ(raw_key(path, 2, "TDIM8"), "'(3,2)'");
    EXPECT_EQ(raw_key(path, 2, "TUNIT3"), "'nanomaggy'");

    SweepReader r(path);
    EXPECT_EQ(r.column_names(), (std::vector<std::string>{"A_I", "A_J", "A_E", "A_D", "A_B", "A_L", "a_s", "A_V"}));
    const Table b = r.read_all(r.column_names());
    EXPECT_EQ(b.column("A_I").values<std::int16_t>()[2], 32767);
    EXPECT_EQ(b.column("A_J").values<std::int32_t>()[0], std::numeric_limits<std::int32_t>::min());
    EXPECT_EQ(b.column("A_E").values<float>()[0], 0.1f);
    EXPECT_EQ(b.column("A_D").values<double>()[2], 123456789.0);
    EXPECT_EQ(b.column("A_B").values<std::uint8_t>()[1], 128);
    EXPECT_EQ(b.column("A_L").dtype(), DType::boolean);
    EXPECT_EQ(std::vector<std::uint8_t>(b.column("A_L").values<std::uint8_t>().begin(),
                                        b.column("A_L").values<std::uint8_t>().end()),
              (std::vector<std::uint8_t>{0, 1, 1}));
    EXPECT_EQ(b.column("a_s").strings(), (std::vector<std::string>{"", "ab", "abcd"}));
    EXPECT_EQ(b.column("A_V").shape(), (std::vector<std::size_t>{2, 3}));
    EXPECT_EQ(b.column("A_V").values<float>()[17], 18.f);
    EXPECT_FITSVERIFY_OK(path);
}

TEST(TableWriter, DefaultSchemaRoundTrips) {
    TempDir tmp("dhs_twriter_");
    Table t;
    t.add(Column("FLAG", std::vector<std::uint8_t>{1, 0}, {}, DType::boolean));
    t.add(Column("ID", std::vector<std::int64_t>{1LL << 40, -3}));
    t.add(Column("NAME", std::vector<std::string>{"x", "longer"}));
    t.add(Column("AP", std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
                 std::vector<std::size_t>{8}));
    const auto schema = default_schema(t);
    EXPECT_EQ(schema[0].tform, "L");
    EXPECT_EQ(schema[1].tform, "K");
    EXPECT_EQ(schema[2].tform, "6A");
    EXPECT_EQ(schema[3].tform, "8E");
    const std::string path = tmp.file("default.fits");
    write_fits_table(path, t, schema);
    const Table b = SweepReader(path).read_all(t.column_names());
    for (std::size_t i = 0; i < t.num_columns(); ++i) EXPECT_TRUE(same_column(t.column(i), b.column(i)));
    Table u;
    u.add(Column("U16", std::vector<std::uint16_t>{1}));
    EXPECT_THROW(default_schema(u), FitsError);
}

TEST(TableWriter, RefusesValuesTheTformCannotHold) {
    TempDir tmp("dhs_twriter_");
    const std::string path = tmp.file("bad.fits");
    auto attempt = [&](Column c, const std::string& tform) {
        Table t;
        const std::string name = c.name();
        t.add(std::move(c));
        FitsTableWriter w(path, {{name, tform, ""}});
        w.write(t);
        w.close();
    };
    try {
        attempt(Column("NOBS_G", std::vector<std::int32_t>{1, 2, 40000}), "I");
        FAIL() << "40000 does not fit I";
    } catch (const FitsError& e) {
        EXPECT_EQ(e.column(), "NOBS_G");
        EXPECT_THAT(e.what(), HasSubstr("row 2"));
        EXPECT_THAT(e.what(), HasSubstr("bad.fits"));
    }
    EXPECT_THROW(attempt(Column("X", std::vector<double>{1.5}), "J"), FitsError);
    EXPECT_THROW(attempt(Column("X", std::vector<double>{std::nan("")}), "K"), FitsError);
    EXPECT_THROW(attempt(Column("X", std::vector<double>{9.3e18}), "K"), FitsError);
    EXPECT_THROW(attempt(Column("X", std::vector<std::int32_t>{-1}), "B"), FitsError);
    EXPECT_THROW(attempt(Column("X", std::vector<float>{1.f}), "L"), FitsError);
    EXPECT_THROW(attempt(Column("X", std::vector<std::string>{"1"}), "J"), FitsError);
    EXPECT_THROW(attempt(Column("X", std::vector<std::int32_t>{1}), "3A"), FitsError);
    EXPECT_THROW(attempt(Column("X", std::vector<float>{1, 2}, {2}), "3E"), FitsError);
    EXPECT_THROW(attempt(Column("X", std::vector<float>{1}), "Q"), FitsError);
    EXPECT_THROW(attempt(Column("X", std::vector<float>{1}), "2X"), FitsError);
    try {
        attempt(Column("TYPE", std::vector<std::string>{"PSF", "DUPX"}), "3A");
        FAIL() << "a 4-character string does not fit 3A";
    } catch (const FitsError& e) {
        EXPECT_EQ(e.column(), "TYPE");
        EXPECT_THAT(e.what(), HasSubstr("row 1"));
    }
    EXPECT_THROW(attempt(Column("TYPE", std::vector<std::string>{"\xc3\xa9"}), "3A"), FitsError);
    {
        Table t;
        t.add(Column("RA", std::vector<double>{1}));
        FitsTableWriter w(path, {{"RA", "D", ""}, {"DEC", "D", ""}});
        EXPECT_THROW(w.write(t), MissingColumnError);
    }
    EXPECT_THROW(FitsTableWriter(path, {{"RA", "D", ""}, {"ra", "E", ""}}), FitsError);
    EXPECT_FALSE(fs::exists(path)) << "no failed write leaves a file under the final name";
    EXPECT_FALSE(fs::exists(path + ".tmp")) << "an abandoned writer removes its temporary file";
}

TEST(TableWriter, AbandonedWriterLeavesNothing) {
    TempDir tmp("dhs_twriter_");
    const std::string path = tmp.file("sub/dir/abandoned.fits.gz");
    {
        FitsTableWriter w(path, {{"X", "J", ""}});
        Table t;
        t.add(Column("X", std::vector<std::int32_t>{1, 2, 3}));
        w.write(t);
        FitsTableWriter moved = std::move(w);
        EXPECT_TRUE(fs::exists(path + ".tmp"));
    }
    EXPECT_FALSE(fs::exists(path));
    EXPECT_FALSE(fs::exists(path + ".tmp"));
    // A writer closed without rows gives a valid empty table.
    FitsTableWriter empty(path, {{"X", "J", ""}});
    empty.close();
    EXPECT_EQ(SweepReader(path).num_rows(), 0);
    EXPECT_FITSVERIFY_OK(path);
}

// Write speed of a full-size DR10 sweep: DHS_WRITER_BENCH_ROWS=1000000 to run it.
TEST(TableWriter, Dr10SweepWriteSpeed) {
    const char* env = std::getenv("DHS_WRITER_BENCH_ROWS");
    if (env == nullptr) GTEST_SKIP() << "set DHS_WRITER_BENCH_ROWS to time a large sweep write";
    const std::size_t n = std::stoul(env);
    TempDir tmp("dhs_twriter_");
    const auto schema = dr10_sweep_schema(kSchemaCsv);
    const Table t = random_dr10_sweep(n, 1);
    for (const std::string name : {"sweep-bench.fits", "sweep-bench.fits.gz"}) {
        const std::string path = tmp.file(name);
        const auto t0 = std::chrono::steady_clock::now();
        write_fits_table(path, t, schema);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::cout << name << ": " << n << " rows x 130 columns, " << fs::file_size(path) / 1e6 << " MB in " << s
                  << " s = " << n * 505 / s / 1e6 << " MB/s of table data\n";
        const auto t1 = std::chrono::steady_clock::now();
        SweepReader r(path);
        const Table back = r.read_all(t.column_names());
        std::cout << "  read back in "
                  << std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count() << " s\n";
        EXPECT_TRUE(same_column(t.column("RA"), back.column("RA")));
    }
}

}  // namespace
}  // namespace dhs::fits
