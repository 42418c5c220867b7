// The skeleton stage (see skeleton_stage.hpp). To add a stage: copy this folder, rename,
// declare its config keys, its output groups (columns with units and descriptions), plan
// units from the config and earlier outputs, and make process() deterministic in
// (unit, config, seed); then register it in mpi_stages/registry.cpp.
#include "mpi_stages/skeleton/skeleton_stage.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <thread>

#include "core/engine/units.hpp"

namespace dhs::stages {

namespace {

std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

double uniform(std::uint64_t seed, std::uint64_t a, std::uint64_t b) {
    return static_cast<double>(splitmix64(splitmix64(seed ^ splitmix64(a)) + b) >> 11) * 0x1.0p-53;
}

std::int64_t rows_of(const config::Config& c, std::int64_t unit) {
    std::int64_t n = c.get_int("skeleton.rows_per_unit");
    return c.get_bool("skeleton.uneven") ? n * (1 + unit % 4) : n;
}

bool contains(const std::vector<std::int64_t>& v, std::int64_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

}  // namespace

void SkeletonStage::declare_config(config::Schema& s) {
    using config::ValueType;
    s.add({.key = "skeleton.units", .type = ValueType::integer, .description = "number of batch units",
           .default_yaml = "32", .min = 0, .max = 1e8});
    s.add({.key = "skeleton.rows_per_unit", .type = ValueType::integer, .description = "rows each unit produces",
           .default_yaml = "100", .min = 0, .max = 1e8});
    s.add({.key = "skeleton.uneven", .type = ValueType::boolean,
           .description = "unit i produces rows_per_unit x (1 + i mod 4) rows (uneven costs)", .default_yaml = "false"});
    s.add({.key = "skeleton.work_per_row", .type = ValueType::integer,
           .description = "CPU iterations per row (a CPU-bound load for benchmarks)", .default_yaml = "0", .min = 0,
           .max = 1e9});
    s.add({.key = "skeleton.stamp_size", .type = ValueType::integer,
           .description = "side of a (3, s, s) float32 array column per row; 0: none", .default_yaml = "0", .min = 0,
           .max = 512, .unit = "pixels"});
    s.add({.key = "skeleton.sleep_ms_per_unit", .type = ValueType::integer,
           .description = "milliseconds each unit sleeps (for interruption tests)", .default_yaml = "0", .min = 0,
           .max = 600000, .unit = "ms"});
    s.add({.key = "skeleton.fail_units", .type = ValueType::integer_list,
           .description = "unit indices that always throw (quarantine tests)", .default_yaml = "[]", .min = 0});
    s.add({.key = "skeleton.flaky_units", .type = ValueType::integer_list,
           .description = "unit indices that throw on their first attempt in a process (retry tests)",
           .default_yaml = "[]", .min = 0});
}

std::vector<engine::OutputGroup> SkeletonStage::output_groups(const engine::StageContext& ctx) const {
    engine::OutputGroup rows{.name = "rows", .description = "one row per (unit, row): the engine's test payload"};
    auto add = [&](Column c, const char* unit, const char* desc) {
        c.set_unit(unit);
        c.set_description(desc);
        rows.schema.add(std::move(c));
    };
    add(Column("unit_index", std::vector<std::int64_t>{}), "", "index of the work unit that made the row");
    add(Column("row", std::vector<std::int64_t>{}), "", "row number within the unit");
    add(Column("value", std::vector<double>{}), "", "deterministic pseudo-random value of (seed, unit, row)");
    add(Column("label", std::vector<std::string>{}), "", "text label u<unit>r<row>");
    add(Column("even", std::vector<std::uint8_t>{}, {}, DType::boolean), "", "row is even");
    const auto s = static_cast<std::size_t>(ctx.config.get_int("skeleton.stamp_size"));
    if (s > 0) {
        add(Column("stamp", std::vector<float>{}, {3, s, s}), "nanomaggy", "a stamp-shaped array: value + band + pixel");
        rows.column_attributes["stamp"]["layout"] = "NCHW";
    }
    engine::OutputGroup units{.name = "units", .description = "one row per unit"};
    units.schema.add(Column("unit_index", std::vector<std::int64_t>{}));
    units.schema.add(Column("unit_id", std::vector<std::string>{}));
    units.schema.add(Column("rows", std::vector<std::int64_t>{}));
    return {rows, units};
}

std::vector<engine::WorkUnit> SkeletonStage::plan(const engine::StageContext& ctx) const {
    const auto& c = ctx.config;
    const auto n = c.get_int("skeleton.units");
    auto units = engine::batch_units(n, 1, "skeleton");
    const double work = 1.0 + static_cast<double>(c.get_int("skeleton.work_per_row"));
    const auto s = c.get_int("skeleton.stamp_size");
    for (auto& u : units) {
        const auto rows = rows_of(c, u.index);
        u.cost = static_cast<double>(rows) * work;
        u.rows_out = rows + 1;
        (void)s;
    }
    return units;
}

engine::UnitOutput SkeletonStage::process(const engine::WorkUnit& unit, const engine::StageContext& ctx) const {
    const auto& c = ctx.config;
    if (contains(c.get_ints("skeleton.fail_units"), unit.index))
        throw std::runtime_error(fmt::format("skeleton: unit {} is configured to fail (skeleton.fail_units)", unit.index));
    if (contains(c.get_ints("skeleton.flaky_units"), unit.index)) {
        static std::mutex m;
        static std::set<std::int64_t> tried;
        std::lock_guard lock(m);
        if (tried.insert(unit.index).second)
            throw std::runtime_error(fmt::format("skeleton: unit {} fails on its first attempt", unit.index));
    }
    if (auto ms = c.get_int("skeleton.sleep_ms_per_unit"); ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));

    const std::int64_t n = rows_of(c, unit.index);
    const auto work = c.get_int("skeleton.work_per_row");
    const auto seed = static_cast<std::uint64_t>(ctx.seed);
    const auto s = static_cast<std::size_t>(c.get_int("skeleton.stamp_size"));
    auto groups = output_groups(ctx);
    Table rows = groups[0].schema;  // columns with units and descriptions, zero rows
    std::vector<std::int64_t> unit_col(static_cast<std::size_t>(n), unit.index), row_col(static_cast<std::size_t>(n));
    std::vector<double> value(static_cast<std::size_t>(n));
    std::vector<std::string> label(static_cast<std::size_t>(n));
    std::vector<std::uint8_t> even(static_cast<std::size_t>(n));
    std::vector<float> stamp(static_cast<std::size_t>(n) * 3 * s * s);
    for (std::int64_t r = 0; r < n; ++r) {
        double v = uniform(seed, static_cast<std::uint64_t>(unit.index), static_cast<std::uint64_t>(r));
        for (std::int64_t k = 0; k < work; ++k) v = std::fmod(v * 3.9 * (1.0 - v) + 1e-9 * static_cast<double>(k), 1.0);
        const auto i = static_cast<std::size_t>(r);
        row_col[i] = r;
        value[i] = v;
        label[i] = fmt::format("u{}r{}", unit.index, r);
        even[i] = r % 2 == 0;
        for (std::size_t p = 0; p < 3 * s * s; ++p) stamp[i * 3 * s * s + p] = static_cast<float>(v) + static_cast<float>(p);
    }
    Table out;
    auto take = [&](std::size_t col, Column c2) {
        c2.set_unit(rows.column(col).unit());
        c2.set_description(rows.column(col).description());
        out.add(std::move(c2));
    };
    take(0, Column("unit_index", std::move(unit_col)));
    take(1, Column("row", std::move(row_col)));
    take(2, Column("value", std::move(value)));
    take(3, Column("label", std::move(label)));
    take(4, Column("even", std::move(even), {}, DType::boolean));
    if (s > 0) take(5, Column("stamp", std::move(stamp), {3, s, s}));

    Table units;
    units.add(Column("unit_index", std::vector<std::int64_t>{unit.index}));
    units.add(Column("unit_id", std::vector<std::string>{unit.id}));
    units.add(Column("rows", std::vector<std::int64_t>{n}));
    return {{"rows", std::move(out)}, {"units", std::move(units)}};
}

}  // namespace dhs::stages
