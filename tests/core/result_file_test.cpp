// ResultReader / ResultAppender: every column type round-trips (scalars, booleans, strings,
// stamps), row ranges and point selections read the right rows, attributes come back, and bad
// requests (missing file, missing column, out-of-range rows) name the file and object.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "core/hdf5/result_file.hpp"
#include "tests/support/test_support.hpp"

namespace {

using dhs::Column;
using dhs::DType;
using dhs::Table;

std::string empty_file(const dhs::test::TempDir& dir) {
    const std::string path = dir.file("result.h5");
    const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
    return path;
}

Table sample_table() {
    Table t;
    t.add(Column("galaxy_id", std::vector<std::string>{"0001m002_12", "", "0001m002_7_long_name"}));
    t.add(Column("ra", std::vector<double>{150.1, -0.0, 359.999999999}));
    t.add(Column("flux_r", std::vector<float>{1.5f, NAN, -2.25f}));
    t.add(Column("objid", std::vector<std::int32_t>{12, -1, 2147483647}));
    t.add(Column("healpix_128", std::vector<std::int64_t>{0, 196607, 1LL << 40}));
    t.add(Column("nobs", std::vector<std::int16_t>{1, 2, 3}));
    t.add(Column("maskbits", std::vector<std::uint16_t>{0, 2, 65535}));
    t.add(Column("is_lrg", std::vector<std::uint8_t>{1, 0, 1}, {}, DType::boolean));
    t.add(Column("byte", std::vector<std::int8_t>{-128, 0, 127}));
    std::vector<float> stamps(3 * 2 * 4 * 5);
    for (std::size_t i = 0; i < stamps.size(); ++i) stamps[i] = static_cast<float>(i) * 0.5f;
    t.add(Column("image", stamps, {2, 4, 5}));
    t.column("flux_r").set_unit("nanomaggy");
    t.column("flux_r").set_description("r-band flux");
    return t;
}

bool same(const Column& a, const Column& b) {
    if (a.name() != b.name() || a.dtype() != b.dtype() || a.shape() != b.shape() || a.num_rows() != b.num_rows())
        return false;
    if (a.dtype() == DType::string) return a.strings() == b.strings();
    const auto x = a.as<double>(), y = b.as<double>();
    for (std::size_t i = 0; i < x.size(); ++i)
        if (!(x[i] == y[i] || (std::isnan(x[i]) && std::isnan(y[i])))) return false;
    return true;
}

TEST(ResultFile, EveryColumnTypeRoundTrips) {
    dhs::test::TempDir dir("result_file_");
    const std::string path = empty_file(dir);
    const Table t = sample_table();
    {
        dhs::hdf5::ResultAppender app(path);
        app.write_table("/pool", t);
        app.set_attribute("/pool", "n_strata", std::int64_t{12});
        app.set_attribute("/pool", "matched_fraction", 0.938);
        app.set_attribute("/", "seed_text", std::string("42"));
        app.close();
    }
    dhs::hdf5::ResultReader r(path);
    EXPECT_TRUE(r.exists("/pool"));
    EXPECT_TRUE(r.exists("/pool/ra"));
    EXPECT_FALSE(r.exists("/nothing/here"));
    EXPECT_EQ(r.table_rows("/pool"), 3u);
    EXPECT_EQ(r.datasets("/pool").size(), t.num_columns());
    const Table back = r.read_table("/pool");
    for (const auto& c : t.columns()) EXPECT_TRUE(same(c, back.column(c.name()))) << c.name();
    EXPECT_EQ(back.column("flux_r").unit(), "nanomaggy");
    EXPECT_EQ(back.column("flux_r").description(), "r-band flux");
    EXPECT_EQ(back.column("is_lrg").dtype(), DType::boolean);
    EXPECT_EQ(r.int_attribute("/pool", "n_strata"), 12);
    EXPECT_DOUBLE_EQ(*r.real_attribute("/pool", "matched_fraction"), 0.938);
    EXPECT_EQ(r.string_attribute("/", "seed_text"), "42");
    EXPECT_EQ(r.string_attribute("/pool", "n_strata"), "12");
    EXPECT_FALSE(r.string_attribute("/pool", "absent").has_value());
    EXPECT_FALSE(r.int_attribute("/absent", "x").has_value());
}

TEST(ResultFile, RowRangesAndPointSelections) {
    dhs::test::TempDir dir("result_file_");
    const std::string path = empty_file(dir);
    const Table t = sample_table();
    {
        dhs::hdf5::ResultAppender app(path);
        app.write_table("/stamps", t);
    }
    dhs::hdf5::ResultReader r(path);
    const Table mid = r.read_table("/stamps", {"image", "galaxy_id"}, 1, 2);
    EXPECT_EQ(mid.num_rows(), 2u);
    EXPECT_EQ(mid.column_names(), (std::vector<std::string>{"image", "galaxy_id"}));
    EXPECT_TRUE(same(mid.column("image"), t.column("image").slice(1, 3)));
    const std::vector<std::uint64_t> pick{2, 0, 2};
    EXPECT_TRUE(same(r.read_rows("/stamps/image", pick), t.column("image").take(pick)));
    EXPECT_TRUE(same(r.read_rows("/stamps/galaxy_id", pick), t.column("galaxy_id").take(pick)));
    EXPECT_EQ(r.read_rows("/stamps/ra", {}).num_rows(), 0u);
    EXPECT_EQ(r.read_column("/stamps/ra", 3).num_rows(), 0u);
}

// read_rows reads nearby rows as spans and picks them: selections dense and sparse (gaps far
// beyond a span), unsorted, with repeats, at the ends, in numbers, strings and stamps.
TEST(ResultFile, ReadRowsOverSpansAndGaps) {
    dhs::test::TempDir dir("result_file_");
    const std::string path = empty_file(dir);
    constexpr std::size_t n = 300000;
    std::vector<std::int64_t> id(n);
    std::vector<std::string> name(n);
    std::vector<float> stamp(n * 4);
    for (std::size_t i = 0; i < n; ++i) {
        id[i] = static_cast<std::int64_t>(i * 7 + 3);
        name[i] = "g" + std::to_string(i);
        for (std::size_t k = 0; k < 4; ++k) stamp[i * 4 + k] = static_cast<float>(i) + 0.25f * static_cast<float>(k);
    }
    Table t;
    t.add(Column("id", id));
    t.add(Column("name", name));
    t.add(Column("stamp", stamp, {2, 2}));
    {
        dhs::hdf5::ResultAppender app(path);
        app.write_table("/t", t);
    }
    std::vector<std::uint64_t> pick{n - 1, 0, 5, 5, 6, 7, 299990, 150000, 1, 149999, 40000, 0};
    for (std::uint64_t r = 60000; r < 62000; r += 3) pick.push_back(r);  // a dense stretch
    dhs::hdf5::ResultReader rd(path);
    for (const char* c : {"id", "name", "stamp"})
        EXPECT_TRUE(same(rd.read_rows(std::string("/t/") + c, pick), t.column(c).take(pick))) << c;
    std::vector<std::uint64_t> all(n);
    for (std::size_t i = 0; i < n; ++i) all[i] = i;
    EXPECT_TRUE(same(rd.read_rows("/t/id", all), t.column("id")));
    EXPECT_THROW(rd.read_rows("/t/id", {n}), dhs::DataError);
}

// Wide string columns are written chunked and deflated, and read back unchanged.
TEST(ResultFile, WideStringColumnsAreDeflated) {
    dhs::test::TempDir dir("result_file_");
    const std::string path = empty_file(dir);
    std::vector<std::string> ref(40000), narrow(40000);
    for (std::size_t i = 0; i < ref.size(); ++i) {
        ref[i] = i % 1000 == 0 ? std::string(600, 'x') : "Jacobs+2019 | Huang+2020 #" + std::to_string(i);
        narrow[i] = std::to_string(i);
    }
    Table t;
    t.add(Column("lens_ref", ref));
    t.add(Column("id", narrow));
    {
        dhs::hdf5::ResultAppender app(path);
        app.write_table("/lenses", t);
    }
    EXPECT_LT(std::filesystem::file_size(path), 40000u * 600u / 10u);  // 24 MB undeflated
    auto filters = [&](const char* object) {
        const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
        const hid_t d = H5Dopen2(f, object, H5P_DEFAULT);
        const hid_t p = H5Dget_create_plist(d);
        const int k = H5Pget_nfilters(p);
        H5Pclose(p);
        H5Dclose(d);
        H5Fclose(f);
        return k;
    };
    EXPECT_EQ(filters("/lenses/lens_ref"), 1);
    EXPECT_EQ(filters("/lenses/id"), 0);  // narrow: stored as is
    dhs::hdf5::ResultReader r(path);
    EXPECT_TRUE(same(r.read_column("/lenses/lens_ref"), t.column("lens_ref")));
    const std::vector<std::uint64_t> pick{39999, 0, 1000, 20000};
    EXPECT_TRUE(same(r.read_rows("/lenses/lens_ref", pick), t.column("lens_ref").take(pick)));
}

TEST(ResultFile, EmptyTablesAndRewrites) {
    dhs::test::TempDir dir("result_file_");
    const std::string path = empty_file(dir);
    dhs::hdf5::ResultAppender app(path);
    app.write_table("/negatives", sample_table().slice(0, 0));
    app.write_table("/negatives", sample_table().slice(0, 0));  // replaced, not an error
    app.remove("/negatives/byte");
    app.close();
    dhs::hdf5::ResultReader r(path);
    EXPECT_EQ(r.table_rows("/negatives"), 0u);
    EXPECT_FALSE(r.exists("/negatives/byte"));
    EXPECT_EQ(r.read_table("/negatives").column("image").shape(), (std::vector<std::size_t>{2, 4, 5}));
}

TEST(ResultFile, BadRequestsNameFileAndObject) {
    dhs::test::TempDir dir("result_file_");
    EXPECT_THROW(dhs::hdf5::ResultReader(dir.file("missing.h5")), dhs::HdfError);
    const std::string path = empty_file(dir);
    {
        dhs::hdf5::ResultAppender app(path);
        app.write_table("/pool", sample_table());
        Table other;
        other.add(Column("ra", std::vector<double>{1.0}));
        app.write_table("/bad", other);
        app.write_table("/bad", sample_table().slice(0, 2).take(std::vector<std::uint64_t>{0, 1}));
        Table one;
        one.add(Column("extra", std::vector<double>{1.0}));
        app.write_table("/bad", one);
    }
    dhs::hdf5::ResultReader r(path);
    try {
        r.read_column("/pool/ra", 2, 5);
        FAIL() << "out-of-range rows accepted";
    } catch (const dhs::DataError& e) {
        EXPECT_NE(std::string(e.what()).find("result.h5"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("/pool/ra"), std::string::npos) << e.what();
    }
    EXPECT_THROW(r.read_table("/pool", {"no_such_column"}), dhs::DataError);
    EXPECT_THROW(r.read_rows("/pool/ra", {3}), dhs::DataError);
    EXPECT_THROW(r.table_rows("/bad"), dhs::DataError);  // 2 rows vs 1 row
    EXPECT_THROW(r.datasets("/nope"), dhs::HdfError);
}

}  // namespace
