// Tests of dhs::Column and dhs::Table: typed access, conversion, type-mismatch messages,
// shapes, append/slice and schema checks.
#include "core/table/table.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.hpp"

namespace dhs {
namespace {

using ::testing::HasSubstr;

Table sample() {
    Table t;
    t.add(Column("RA", std::vector<double>{10.0, 20.0, 30.0}));
    t.add(Column("NOBS_G", std::vector<std::int16_t>{1, 2, 3}));
    t.add(Column("APFLUX_G", std::vector<float>{1, 2, 3, 4, 5, 6}, {2}));
    t.add(Column("TYPE", std::vector<std::string>{"PSF", "DEV", "REX"}));
    t.add(Column("BRICK_PRIMARY", std::vector<std::uint8_t>{1, 0, 1}, {}, DType::boolean));
    return t;
}

TEST(Column, SizingConstructorZeroFills) {
    Column c("STAMP", DType::float32, 4, {3, 5, 5});
    EXPECT_EQ(c.num_rows(), 4u);
    EXPECT_EQ(c.cell_size(), 75u);
    EXPECT_EQ(c.size(), 300u);
    EXPECT_EQ(c.values<float>().size(), 300u);
    for (float v : c.values<float>()) EXPECT_EQ(v, 0.0f);
    Column s("TYPE", DType::string, 2);
    EXPECT_EQ(s.strings(), (std::vector<std::string>{"", ""}));
}

TEST(Column, TypedAccessAndMetadata) {
    Column c("FLUX_G", std::vector<float>{1.5f, 2.5f});
    c.set_unit("nanomaggy");
    c.set_description("g-band flux");
    EXPECT_EQ(c.dtype(), DType::float32);
    EXPECT_TRUE(c.shape().empty());
    EXPECT_EQ(c.num_rows(), 2u);
    EXPECT_EQ(c.values<float>()[1], 2.5f);
    c.mutable_values<float>()[1] = 7.0f;
    EXPECT_EQ(c.values<float>()[1], 7.0f);
    EXPECT_EQ(c.unit(), "nanomaggy");
    EXPECT_EQ(c.description(), "g-band flux");
}

TEST(Column, MismatchNamesColumnAndBothTypes) {
    Column c("FLUX_G", std::vector<float>{1.5f});
    try {
        (void)c.values<double>();
        FAIL() << "no throw";
    } catch (const Error& e) {
        EXPECT_THAT(e.what(), HasSubstr("FLUX_G"));
        EXPECT_THAT(e.what(), HasSubstr("float32"));
        EXPECT_THAT(e.what(), HasSubstr("float64"));
    }
    EXPECT_THROW((void)c.strings(), Error);
    Column s("TYPE", std::vector<std::string>{"PSF"});
    EXPECT_THROW((void)s.as<double>(), Error);
    EXPECT_THROW((void)s.values<float>(), Error);
}

TEST(Column, AsConvertsEveryNumericType) {
    EXPECT_EQ(Column("a", std::vector<std::int16_t>{-3, 4}).as<double>(), (std::vector<double>{-3.0, 4.0}));
    EXPECT_EQ(Column("b", std::vector<double>{1.75, -2.0}).as<float>(), (std::vector<float>{1.75f, -2.0f}));
    EXPECT_EQ(Column("c", std::vector<std::uint64_t>{1ull << 40}).as<std::int64_t>(),
              (std::vector<std::int64_t>{std::int64_t{1} << 40}));
    EXPECT_EQ(Column("d", std::vector<std::int8_t>{-128, 127}).as<int>(), (std::vector<int>{-128, 127}));
    Column flag("e", std::vector<std::uint8_t>{1, 0}, {}, DType::boolean);
    EXPECT_EQ(flag.dtype(), DType::boolean);
    EXPECT_EQ(flag.as<bool>(), (std::vector<bool>{true, false}));
    EXPECT_EQ(flag.values<std::uint8_t>()[0], 1);
}

TEST(Column, RejectsBadSizesAndDtypes) {
    EXPECT_THROW(Column("x", std::vector<float>{1, 2, 3}, {2}), Error);
    EXPECT_THROW(Column("x", std::vector<float>{1}, {}, DType::int32), Error);
    EXPECT_THROW(Column("x", std::vector<std::int8_t>{1}, {}, DType::boolean), Error);
}

TEST(Column, DtypeHelpers) {
    EXPECT_EQ(dtype_name(DType::uint16), "uint16");
    EXPECT_EQ(dtype_name(DType::boolean), "boolean");
    EXPECT_EQ(dtype_size(DType::float64), 8u);
    EXPECT_EQ(dtype_size(DType::boolean), 1u);
    EXPECT_EQ(dtype_size(DType::string), 0u);
    static_assert(dtype_of<std::uint32_t>() == DType::uint32);
    static_assert(dtype_of<std::string>() == DType::string);
}

TEST(Table, LookupAndOrder) {
    Table t = sample();
    EXPECT_EQ(t.num_rows(), 3u);
    EXPECT_EQ(t.num_columns(), 5u);
    EXPECT_EQ(t.column_names(), (std::vector<std::string>{"RA", "NOBS_G", "APFLUX_G", "TYPE", "BRICK_PRIMARY"}));
    EXPECT_TRUE(t.has("TYPE"));
    EXPECT_FALSE(t.has("type"));  // Table lookup is exact; SweepReader's is case-insensitive
    EXPECT_EQ(t.column("TYPE").strings()[1], "DEV");
    EXPECT_EQ(t.column(2).shape(), (std::vector<std::size_t>{2}));
    try {
        (void)t.column("DEC");
        FAIL() << "no throw";
    } catch (const Error& e) {
        EXPECT_THAT(e.what(), HasSubstr("'DEC'"));
    }
}

TEST(Table, AddRejectsDuplicatesAndRowMismatch) {
    Table t = sample();
    EXPECT_THROW(t.add(Column("RA", std::vector<double>{1, 2, 3})), Error);
    EXPECT_THROW(t.add(Column("DEC", std::vector<double>{1, 2})), Error);
    Column removed = t.remove("NOBS_G");
    EXPECT_EQ(removed.name(), "NOBS_G");
    EXPECT_FALSE(t.has("NOBS_G"));
}

TEST(Table, SliceAndAppendRoundTrip) {
    Table t = sample();
    Table head = t.slice(0, 1), tail = t.slice(1, 3);
    EXPECT_EQ(head.num_rows(), 1u);
    EXPECT_EQ(tail.num_rows(), 2u);
    EXPECT_EQ(tail.column("APFLUX_G").values<float>()[0], 3.0f);
    EXPECT_EQ(tail.column("TYPE").strings()[0], "DEV");
    Table joined;
    joined.append(head);
    joined.append(tail);
    EXPECT_EQ(joined, t);
    EXPECT_THROW((void)t.slice(2, 4), Error);
    EXPECT_THROW((void)t.slice(2, 1), Error);
    EXPECT_EQ(t.slice(1, 1).num_rows(), 0u);
}

TEST(Table, AppendRejectsOtherSchema) {
    Table t = sample();
    Table other;
    other.add(Column("RA", std::vector<float>{1, 2, 3}));
    try {
        t.append(other);
        FAIL() << "no throw";
    } catch (const Error& e) {
        EXPECT_THAT(e.what(), HasSubstr("RA:float32"));
    }
    EXPECT_EQ(t.num_rows(), 3u);
    Table reordered = sample();
    Column ra = reordered.remove("RA");
    reordered.add(std::move(ra));
    EXPECT_THROW(t.append(reordered), Error);
}

}  // namespace
}  // namespace dhs
