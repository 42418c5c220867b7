// The testload stage (see testload_stage.hpp).
#include "mpi_stages/testload/testload_stage.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "core/engine/output_group.hpp"
#include "core/engine/units.hpp"
#include "core/error.hpp"
#include "kernels/injection/injection_design.hpp"

namespace dhs::stages {

namespace {

struct Params {
    std::int64_t units = 0, rows_per_unit = 0, work_per_row = 0, sleep_ms_per_unit = 0;
    std::size_t stamp_size = 0;
    bool uneven = false;
    std::vector<std::int64_t> fail_units, flaky_units;
};

Params read_params(const config::Config& c) {
    return {.units = c.get_int("testload.units"),
            .rows_per_unit = c.get_int("testload.rows_per_unit"),
            .work_per_row = c.get_int("testload.work_per_row"),
            .sleep_ms_per_unit = c.get_int("testload.sleep_ms_per_unit"),
            .stamp_size = static_cast<std::size_t>(c.get_int("testload.stamp_size")),
            .uneven = c.get_bool("testload.uneven"),
            .fail_units = c.get_ints("testload.fail_units"),
            .flaky_units = c.get_ints("testload.flaky_units")};
}

std::int64_t rows_of(const Params& p, std::int64_t unit) { return p.uneven ? p.rows_per_unit * (1 + unit % 4) : p.rows_per_unit; }

bool contains(const std::vector<std::int64_t>& v, std::int64_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

struct RowsGroup : engine::GroupSchema {
    engine::Col<std::int64_t> unit_index = add<std::int64_t>("unit_index", "", "index of the work unit that made the row");
    engine::Col<std::int64_t> row = add<std::int64_t>("row", "", "row number within the unit");
    engine::Col<double> value = add<double>("value", "", "deterministic pseudo-random value of (seed, unit, row)");
    engine::Col<std::string> label = add<std::string>("label", "", "text label u<unit>r<row>");
    engine::Col<bool> even = add<bool>("even", "", "row is even");
    engine::Col<float> stamp;  // only with testload.stamp_size > 0
    explicit RowsGroup(std::size_t s) : GroupSchema("rows", "one row per (unit, row): the engine's test payload") {
        if (s == 0) return;
        stamp = add<float>("stamp", "nanomaggy", "a stamp-shaped array: value + band + pixel", {3, s, s});
        set_column_attribute(stamp, "layout", "NCHW");
    }
};

struct UnitsGroup : engine::GroupSchema {
    engine::Col<std::int64_t> unit_index = add<std::int64_t>("unit_index", "", "");
    engine::Col<std::string> unit_id = add<std::string>("unit_id", "", "");
    engine::Col<std::int64_t> rows = add<std::int64_t>("rows", "", "");
    UnitsGroup() : GroupSchema("units", "one row per unit") {}
};

// Throws for the units configured to fail (always, or on their first attempt in this process).
void inject_faults(const Params& p, std::int64_t unit) {
    if (contains(p.fail_units, unit))
        throw Error(fmt::format("testload: unit {} is configured to fail (testload.fail_units)", unit));
    if (contains(p.flaky_units, unit)) {
        static std::mutex m;
        static std::set<std::int64_t> tried;
        std::lock_guard lock(m);
        if (tried.insert(unit).second) throw Error(fmt::format("testload: unit {} fails on its first attempt", unit));
    }
    if (p.sleep_ms_per_unit > 0) std::this_thread::sleep_for(std::chrono::milliseconds(p.sleep_ms_per_unit));
}

}  // namespace

void TestloadStage::declare_config(config::Schema& s) {
    using config::ValueType;
    s.add({.key = "testload.units", .type = ValueType::integer, .description = "number of batch units",
           .default_yaml = "32", .min = 0, .max = 1e8});
    s.add({.key = "testload.rows_per_unit", .type = ValueType::integer, .description = "rows each unit produces",
           .default_yaml = "100", .min = 0, .max = 1e8});
    s.add({.key = "testload.uneven", .type = ValueType::boolean,
           .description = "unit i produces rows_per_unit x (1 + i mod 4) rows (uneven costs)", .default_yaml = "false"});
    s.add({.key = "testload.work_per_row", .type = ValueType::integer,
           .description = "CPU iterations per row (a CPU-bound load for benchmarks)", .default_yaml = "0", .min = 0,
           .max = 1e9});
    s.add({.key = "testload.stamp_size", .type = ValueType::integer,
           .description = "side of a (3, s, s) float32 array column per row; 0: none", .default_yaml = "0", .min = 0,
           .max = 512, .unit = "pixels"});
    s.add({.key = "testload.sleep_ms_per_unit", .type = ValueType::integer,
           .description = "milliseconds each unit sleeps (for interruption tests)", .default_yaml = "0", .min = 0,
           .max = 600000, .unit = "ms"});
    s.add({.key = "testload.fail_units", .type = ValueType::integer_list,
           .description = "unit indices that always throw (quarantine tests)", .default_yaml = "[]", .min = 0});
    s.add({.key = "testload.flaky_units", .type = ValueType::integer_list,
           .description = "unit indices that throw on their first attempt in a process (retry tests)",
           .default_yaml = "[]", .min = 0});
}

std::vector<engine::OutputGroup> TestloadStage::output_groups(const engine::StageContext& ctx) const {
    const Params p = read_params(ctx.config);
    return {RowsGroup(p.stamp_size).group(), UnitsGroup().group()};
}

std::vector<engine::WorkUnit> TestloadStage::plan(const engine::StageContext& ctx) const {
    const Params p = read_params(ctx.config);
    auto units = engine::batch_units(p.units, 1, "testload");
    for (auto& u : units) {
        const auto rows = rows_of(p, u.index);
        u.cost = static_cast<double>(rows) * (1.0 + static_cast<double>(p.work_per_row));
        u.rows_out = rows + 1;
    }
    return units;
}

engine::UnitOutput TestloadStage::process(const engine::WorkUnit& unit, const engine::StageContext& ctx) const {
    const Params p = read_params(ctx.config);
    inject_faults(p, unit.index);
    const std::int64_t n = rows_of(p, unit.index);
    const auto seed = static_cast<std::uint64_t>(ctx.seed);
    const std::size_t s = p.stamp_size, cell = 3 * s * s;

    const RowsGroup g(s);
    engine::GroupRows rows(g, static_cast<std::size_t>(n));
    auto value = rows.values(g.value);
    for (std::size_t i = 0; i < value.size(); ++i) {
        double v = kernels::injection::uniform01(seed, unit.index, i);
        for (std::int64_t k = 0; k < p.work_per_row; ++k)
            v = std::fmod(v * 3.9 * (1.0 - v) + 1e-9 * static_cast<double>(k), 1.0);
        value[i] = v;
    }
    rows.fill(g.unit_index, [&](std::size_t) { return unit.index; });
    rows.fill(g.row, [](std::size_t i) { return static_cast<std::int64_t>(i); });
    rows.fill(g.label, [&](std::size_t i) { return fmt::format("u{}r{}", unit.index, i); });
    rows.fill(g.even, [](std::size_t i) { return i % 2 == 0; });
    if (g.stamp.declared()) {
        auto px = rows.values(g.stamp);
        for (std::size_t i = 0; i < value.size(); ++i)
            for (std::size_t k = 0; k < cell; ++k) px[i * cell + k] = static_cast<float>(value[i]) + static_cast<float>(k);
    }
    const UnitsGroup u;
    engine::GroupRows units(u, 1);
    units.set(u.unit_index, {unit.index});
    units.set(u.unit_id, {unit.id});
    units.set(u.rows, {n});
    return {{g.name(), std::move(rows).finish()}, {u.name(), std::move(units).finish()}};
}

}  // namespace dhs::stages
