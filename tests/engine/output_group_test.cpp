// Tests of the typed output groups (core/engine/output_group.hpp): a group declared once, rows
// filled through its handles, and a declared column left unfilled or set with the wrong size
// refused with the group and column named.
#include "core/engine/output_group.hpp"

#include <gtest/gtest.h>

#include <optional>

#include "core/error.hpp"

namespace dhs::engine {
namespace {

struct Targets : GroupSchema {
    Col<std::string> galaxy_id = add<std::string>("galaxy_id", "", "brickname_objid");
    Col<double> ra = add<double>("ra", "deg", "right ascension");
    Col<bool> ok = add<bool>("ok", "", "usable");
    Col<float> stamp = add<float>("stamp", "nanomaggy", "image", {2, 3, 3});
    Col<std::int32_t> extra;  // declared only when asked
    explicit Targets(bool with_extra) : GroupSchema("targets", "one row per target") {
        if (with_extra) extra = add<std::int32_t>("extra", "", "optional column");
        set_column_attribute(stamp, "layout", "NCHW");
    }
};

TEST(OutputGroup, DeclaresTheEngineGroupOnce) {
    const Targets s(true);
    const OutputGroup& g = s.group();
    EXPECT_EQ(g.name, "targets");
    ASSERT_EQ(g.schema.num_columns(), 5u);
    EXPECT_EQ(g.schema.num_rows(), 0u);
    EXPECT_EQ(g.schema.column("ra").unit(), "deg");
    EXPECT_EQ(g.schema.column("ok").dtype(), DType::boolean);
    EXPECT_EQ(g.schema.column("stamp").shape(), (std::vector<std::size_t>{2, 3, 3}));
    EXPECT_EQ(g.column_attributes.at("stamp").at("layout"), "NCHW");
    EXPECT_EQ(Targets(false).group().schema.num_columns(), 4u);
}

TEST(OutputGroup, FillsRowsThroughTheHandles) {
    const Targets s(false);
    GroupRows r(s, 2);
    r.fill(s.galaxy_id, [](std::size_t i) { return "b_" + std::to_string(i); });
    r.fill(s.ra, [](std::size_t i) { return 10.0 + static_cast<double>(i); });
    r.set(s.ok, {1, 0});
    auto px = r.values(s.stamp);
    ASSERT_EQ(px.size(), 36u);
    for (std::size_t k = 0; k < px.size(); ++k) px[k] = static_cast<float>(k);
    const Table t = std::move(r).finish();
    ASSERT_EQ(t.num_rows(), 2u);
    EXPECT_EQ(t.column("galaxy_id").strings()[1], "b_1");
    EXPECT_EQ(t.column("ra").values<double>()[1], 11.0);
    EXPECT_EQ(t.column("ra").unit(), "deg");
    EXPECT_EQ(t.column("ok").dtype(), DType::boolean);
    EXPECT_EQ(t.column("stamp").values<float>()[35], 35.0f);
    // The filled table has the declared schema: what the engine's gather checks.
    EXPECT_EQ(t.column_names(), s.group().schema.column_names());
}

TEST(OutputGroup, AColumnDeclaredButNeverFilledIsNamed) {
    const Targets s(true);
    GroupRows r(s, 1);
    r.fill(s.galaxy_id, [](std::size_t) { return std::string("x"); });
    r.fill(s.ra, [](std::size_t) { return 1.0; });
    r.fill(s.ok, [](std::size_t) { return true; });
    r.values(s.stamp);
    try {
        (void)std::move(r).finish();
        FAIL() << "finish() accepted an unfilled column";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("'targets': column 'extra'"), std::string::npos) << e.what();
    }
}

TEST(OutputGroup, WrongSizesAndUndeclaredHandlesAreRefused) {
    const Targets s(false);
    GroupRows r(s, 3);
    EXPECT_THROW(r.set(s.ra, {1.0, 2.0}), Error);
    EXPECT_THROW(r.fill(s.stamp, [](std::size_t) { return 0.0f; }), Error);
    EXPECT_THROW(r.values(s.extra), Error);  // declared only under a condition that was false
    EXPECT_THROW((Targets(false).add<double>("ra", "", "")), Error);
}

TEST(OutputGroup, ZeroRowsGiveTheEmptySchema) {
    const Targets s(false);
    GroupRows r(s, 0);
    r.set(s.galaxy_id, {});
    r.set(s.ra, {});
    r.set(s.ok, {});
    r.set(s.stamp, {});
    const Table t = std::move(r).finish();
    EXPECT_EQ(t.num_rows(), 0u);
    EXPECT_EQ(t.num_columns(), 4u);
}

}  // namespace
}  // namespace dhs::engine
