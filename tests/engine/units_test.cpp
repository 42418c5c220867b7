// Work-unit builders, dispatch order, progress text and the stage registry.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/engine/progress.hpp"
#include "core/engine/registry.hpp"
#include "core/engine/scheduler.hpp"
#include "core/engine/units.hpp"
#include "core/error.hpp"

using namespace dhs::engine;

TEST(Units, SweepFilesSplitIntoEvenRowRanges) {
    auto u = sweep_row_units({{"/a/sweep-000m005-005p000.fits", 10, 1000}, {"/b/big.fits", 25, 2500}, {"/c/empty.fits", 0, 10}}, 10);
    ASSERT_EQ(u.size(), 1u + 3u + 1u);
    EXPECT_EQ(u[0].id, "sweep-000m005-005p000.fits[0:10]");
    EXPECT_EQ(u[1].id, "big.fits[0:8]");
    EXPECT_EQ(u[2].id, "big.fits[8:16]");
    EXPECT_EQ(u[3].id, "big.fits[16:25]");
    EXPECT_EQ(u[4].id, "empty.fits[0:0]");
    std::int64_t rows = 0;
    for (std::size_t i = 0; i < u.size(); ++i) {
        EXPECT_EQ(u[i].index, static_cast<std::int64_t>(i));
        auto p = nlohmann::json::parse(u[i].payload);
        rows += p["end"].get<std::int64_t>() - p["begin"].get<std::int64_t>();
    }
    EXPECT_EQ(rows, 35);
    EXPECT_EQ(u[1].bytes_in, 800);
    EXPECT_THROW(sweep_row_units({}, 0), dhs::Error);
}

TEST(Units, HealpixCellsSplitAdaptivelyUnderABudget) {
    // nside_max = 4 (192 pixels); base nside 1 (12 cells). Cell 0 (pixels 0..15) is dense.
    std::map<std::int64_t, std::int64_t> counts;
    for (std::int64_t p = 0; p < 16; ++p) counts[p] = 10;  // 160 rows in base cell 0
    counts[20] = 5;                                        // base cell 1: 5 rows
    counts[191] = 7;                                       // base cell 11
    auto u = healpix_units(counts, 1, 4, 50);
    // Cell 0 splits into 4 nside-2 cells of 40 rows each; cells 1 and 11 stay whole.
    ASSERT_EQ(u.size(), 6u);
    EXPECT_EQ(u[0].id, "hpx2-0");
    EXPECT_EQ(u[3].id, "hpx2-3");
    EXPECT_EQ(u[4].id, "hpx1-1");
    EXPECT_EQ(u[5].id, "hpx1-11");
    std::int64_t total = 0;
    for (const auto& x : u) {
        EXPECT_LE(x.rows_out, 50);
        total += x.rows_out;
    }
    EXPECT_EQ(total, 160 + 5 + 7);
    // A budget below one pixel's count stops at nside_max.
    auto fine = healpix_units(counts, 1, 4, 1);
    EXPECT_EQ(fine.size(), 16u + 2u);
    EXPECT_THROW(healpix_units(counts, 3, 4, 10), dhs::Error);
    EXPECT_THROW(healpix_units(counts, 8, 4, 10), dhs::Error);
}

TEST(Units, BatchesAndBricks) {
    auto b = batch_units(10, 4, "inj");
    ASSERT_EQ(b.size(), 3u);
    EXPECT_EQ(b[2].id, "inj-2");
    EXPECT_EQ(b[2].rows_out, 2);
    auto k = brick_units({"0001m002", "0002m002"}, {{"0002m002", 5}});
    EXPECT_EQ(k[1].cost, 6.0);
    EXPECT_EQ(k[0].cost, 1.0);
}

TEST(Scheduler, DispatchesLargestCostFirstTiesByIndex) {
    std::vector<WorkUnit> plan(5);
    double costs[] = {1, 5, 3, 5, 2};
    for (int i = 0; i < 5; ++i) {
        plan[i].index = i;
        plan[i].cost = costs[i];
    }
    EXPECT_EQ(dispatch_order(plan, {0, 1, 2, 3, 4}), (std::vector<std::int64_t>{1, 3, 2, 4, 0}));
    EXPECT_EQ(dispatch_order(plan, {0, 4}), (std::vector<std::int64_t>{4, 0}));
}

TEST(Progress, LineSaysDoneTotalRateEtaAndFailures) {
    Progress p("stage x", 10, 1000, 0);
    p.update(5, 1, 500);
    std::string l = p.line();
    EXPECT_NE(l.find("5/10 units (50.0%)"), std::string::npos) << l;
    EXPECT_NE(l.find("rows/s"), std::string::npos) << l;
    EXPECT_NE(l.find("ETA"), std::string::npos) << l;
    EXPECT_NE(l.find("1 quarantined"), std::string::npos) << l;
    EXPECT_EQ(format_duration(3725), "1h02m05s");
    EXPECT_EQ(format_duration(125), "2m05s");
}

namespace {
class NullStage : public Stage {
public:
    std::string name() const override { return "null"; }
    std::string description() const override { return "nothing"; }
    std::vector<OutputGroup> output_groups(const StageContext&) const override { return {}; }
    std::vector<WorkUnit> plan(const StageContext&) const override { return {}; }
    UnitOutput process(const WorkUnit&, const StageContext&) const override { return {}; }
};
}  // namespace

TEST(Registry, UnknownAndCompiledOutStagesGiveClearErrors) {
    StageRegistry r;
    r.add("null", "a stage", [] { return std::make_unique<NullStage>(); });
    r.add_unavailable("train", "ResNet training", "dhs was built without libtorch (DHS_WITH_TORCH=OFF)");
    EXPECT_TRUE(r.available("null"));
    EXPECT_FALSE(r.available("train"));
    EXPECT_EQ(r.create("null")->name(), "null");
    try {
        r.create("train");
        FAIL();
    } catch (const dhs::Error& e) {
        EXPECT_NE(std::string(e.what()).find("without libtorch"), std::string::npos) << e.what();
    }
    try {
        r.create("nope");
        FAIL();
    } catch (const dhs::Error& e) {
        EXPECT_NE(std::string(e.what()).find("this build knows: null, train"), std::string::npos) << e.what();
    }
    EXPECT_THROW(r.add("null", "", {}), dhs::Error);
    EXPECT_EQ(r.default_run(), std::vector<std::string>{"null"});
}
