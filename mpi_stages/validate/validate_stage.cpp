// The `validate` stage (see validate_stage.hpp): the engine's interface over validate.hpp.
#include "mpi_stages/validate/validate_stage.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "core/engine/plan_table.hpp"
#include "mpi_stages/common/planned_stamps.hpp"
#include "mpi_stages/validate/validate.hpp"

namespace dhs::stages {

void ValidateStage::declare_config(config::Schema& s) { validate::declare_config(s); }

void ValidateStage::check_config(const engine::StageContext& ctx) const {
    (void)validate::read_params(ctx.config, ctx.run_dir);
}

std::vector<engine::OutputGroup> ValidateStage::output_groups(const engine::StageContext& ctx) const {
    return validate::output_groups(validate::read_params(ctx.config, ctx.run_dir));
}

std::vector<engine::WorkUnit> ValidateStage::plan(const engine::StageContext& ctx) const {
    return validate::plan_units(validate::read_params(ctx.config, ctx.run_dir));
}

engine::UnitOutput ValidateStage::process(const engine::WorkUnit& unit, const engine::StageContext& ctx) const {
    const auto p = validate::read_params(ctx.config, ctx.run_dir);
    return validate::process_unit(p, unit);
}

void ValidateStage::reduce(const engine::StageContext& ctx, const mpi::Comm& comm, const std::string& path) const {
    validate::reduce(validate::read_params(ctx.config, ctx.run_dir), ctx, comm, path);
}

std::int64_t ValidateStage::memory_per_unit(const engine::WorkUnit& unit, const engine::StageContext&) const {
    // A 16-row block of stamps and maskbits (a third of a 3-band stamp) in flight, twice (the
    // reader's copy and the column), and the unit's output rows (~3.5 KiB each with the core box).
    const std::int64_t row_bytes = unit.rows_out > 0 ? unit.bytes_in / unit.rows_out : 0;
    return 2 * 16 * (row_bytes + row_bytes / 3) + unit.rows_out * 8 * 1024;
}

// Without its inputs: one row per stamp the cutouts and inject stages are expected to write.
std::optional<engine::StageEstimate> ValidateStage::estimate(const engine::StageContext& ctx,
                                                            const engine::PlanEstimates& earlier,
                                                            const std::vector<engine::WorkUnit>* plan) const {
    if (plan != nullptr) return Stage::estimate(ctx, earlier, plan);
    const auto p = validate::read_params(ctx.config, ctx.run_dir);
    const auto s = ctx.config.get_int("cutouts.stamp_size");
    const auto cell = static_cast<double>(3 * s * s * 4);  // a g, r, z float32 stamp
    engine::StageEstimate e;
    double rows = 0;
    std::vector<std::string> parts;
    for (const auto& c : validate::comparisons(p)) {
        const auto n = planned_stamps(earlier, c.source);
        if (!c.requested || !n) continue;
        e.units += std::ceil(*n / static_cast<double>(p.batch_size));
        e.bytes_in += *n * cell;
        rows += *n;
        parts.push_back(fmt::format("{} {}", c.source, engine::human_count(*n)));
    }
    if (parts.empty()) return std::nullopt;
    e.rows[validate::output_groups(p).front().name] = rows;
    engine::WorkUnit u;
    u.rows_out = static_cast<std::int64_t>(std::min<double>(rows, static_cast<double>(p.batch_size)));
    u.bytes_in = static_cast<std::int64_t>(static_cast<double>(u.rows_out) * cell);
    e.memory_per_unit = memory_per_unit(u, ctx);
    e.basis = fmt::format("a row per stamp of {}, {} a unit", fmt::join(parts, " and "), p.batch_size);
    return e;
}

}  // namespace dhs::stages
