// The `validate` stage (see validate_stage.hpp): the engine's interface over validate.hpp.
#include "mpi_stages/validate/validate_stage.hpp"

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

}  // namespace dhs::stages
