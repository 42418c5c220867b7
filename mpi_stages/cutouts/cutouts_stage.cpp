// The `cutouts` stage (see cutouts_stage.hpp): plan bricks into units, cut each unit's targets,
// write their rows; reduce() adds status counts to /stamps.
#include "mpi_stages/cutouts/cutouts_stage.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/engine/plan_table.hpp"
#include "core/error.hpp"
#include "core/hdf5/result_file.hpp"
#include "core/mpi/comm.hpp"
#include "mpi_stages/cutouts/cutouts.hpp"
#include "mpi_stages/cutouts/schema.hpp"

namespace dhs::stages {

namespace ct = cutouts;

void CutoutsStage::declare_config(config::Schema& s) { ct::declare_config(s); }

void CutoutsStage::check_config(const engine::StageContext& ctx) const { (void)ct::read_params(ctx.config, ctx.run_dir); }

std::vector<engine::OutputGroup> CutoutsStage::output_groups(const engine::StageContext& ctx) const {
    const auto p = ct::read_params(ctx.config, ctx.run_dir);
    return {ct::StampsGroup(p).group(), ct::BricksGroup().group()};
}

std::vector<engine::WorkUnit> CutoutsStage::plan(const engine::StageContext& ctx) const {
    const auto p = ct::read_params(ctx.config, ctx.run_dir);
    if (p.root.empty())
        throw ConfigError("survey.root", ctx.config.origin_of("survey.root"), 0, "cutouts needs survey.root (the coadds)");
    return ct::brick_units(p, ct::list_targets(p));
}

namespace {
// Peak bytes of a unit of `n` targets: its stamps twice (cut, then spooled) plus one coadd decoded
// whole (3600 x 3600 float32).
std::int64_t unit_memory(const ct::Params& p, std::int64_t n) {
    const std::int64_t cell = static_cast<std::int64_t>(p.stamp_size) * p.stamp_size * 4;
    const std::int64_t nb = static_cast<std::int64_t>(p.bands.size());
    const std::int64_t per_stamp = cell * (nb * (p.with_invvar ? 2 : 1) + (p.with_maskbits ? 1 : 0)) + 1024;
    return 2 * n * per_stamp + 3600LL * 3600LL * 4;
}
}  // namespace

std::int64_t CutoutsStage::memory_per_unit(const engine::WorkUnit& unit, const engine::StageContext& ctx) const {
    return unit_memory(ct::read_params(ctx.config, ctx.run_dir), static_cast<std::int64_t>(ct::unit_targets(unit.payload).size()));
}

// Without sample.h5: its target sets' expected rows (the sample stage's estimate), grouped into
// units of cutouts.unit_targets; the bricks they fall on by occupancy of the footprint's bricks.
std::optional<engine::StageEstimate> CutoutsStage::estimate(const engine::StageContext& ctx,
                                                           const engine::PlanEstimates& earlier,
                                                           const std::vector<engine::WorkUnit>* plan) const {
    if (plan != nullptr) {
        auto e = Stage::estimate(ctx, earlier, plan);
        double bricks = 0;
        for (const auto& u : *plan) bricks += static_cast<double>(u.rows_out);  // targets + bricks
        e->rows = {{"stamps", 0.0}};
        for (const auto& u : *plan) e->rows["stamps"] += static_cast<double>(ct::unit_targets(u.payload).size());
        e->rows["bricks"] = bricks - e->rows["stamps"];
        return e;
    }
    const auto it = earlier.find("sample");
    if (it == earlier.end()) return std::nullopt;
    const auto p = ct::read_params(ctx.config, ctx.run_dir);
    engine::StageEstimate e;
    double targets = 0;
    for (const auto& set : p.target_sets) targets += it->second.rows_of(set);
    const double per_unit = static_cast<double>(p.unit_targets);
    e.units = std::ceil(targets / per_unit);
    e.rows["stamps"] = targets;
    const auto fp = it->second.quantities.find("footprint_bricks");
    const bool known = fp != it->second.quantities.end() && fp->second > 0;
    e.rows["bricks"] = known ? fp->second * (1.0 - std::exp(-targets / fp->second)) : std::min(targets, e.units);
    const double files = 3.0 * static_cast<double>(p.bands.size()) + 1.0;
    e.bytes_in = targets * files * 4 * 10000;  // as brick_units: ~2x2 tiles per stamp and file
    e.memory_per_unit = unit_memory(p, static_cast<std::int64_t>(std::min(targets, per_unit)));
    e.basis = fmt::format("the sample's {} ({}), {} targets a unit; bricks {}", fmt::join(p.target_sets, " + "),
                          engine::human_count(targets), p.unit_targets,
                          known ? fmt::format("by occupancy of the footprint's {} bricks",
                                              engine::human_count(fp->second))
                                : "unknown (sweep files not named as DR10 blocks)");
    return e;
}

engine::UnitOutput CutoutsStage::process(const engine::WorkUnit& unit, const engine::StageContext& ctx) const {
    const auto p = ct::read_params(ctx.config, ctx.run_dir);
    const auto targets = ct::read_targets(p, ct::unit_targets(unit.payload));
    ct::StampBatch batch;
    ct::cut_targets(p, targets, batch);

    const ct::StampsGroup g(p);
    engine::GroupRows t(g, targets.size());
    const auto& info = batch.info;
    ct::fill_target_keys(t, g.key, targets);
    t.fill(g.nobs_z, [&](std::size_t i) { return targets[i].nobs_z; });
    t.fill(g.flux_r, [&](std::size_t i) { return targets[i].flux_r; });
    t.fill(g.split, [&](std::size_t i) { return targets[i].split; });
    t.fill(g.brickname, [&](std::size_t i) { return info[i].source_brick; });
    t.fill(g.pixel_x, [&](std::size_t i) { return info[i].pixel_x; });
    t.fill(g.pixel_y, [&](std::size_t i) { return info[i].pixel_y; });
    t.fill(g.offset_x, [&](std::size_t i) { return info[i].offset_x; });
    t.fill(g.offset_y, [&](std::size_t i) { return info[i].offset_y; });
    for (std::size_t b = 0; b < g.psfsize.size(); ++b)
        t.fill(g.psfsize[b], [&](std::size_t i) { return info[i].psfsize[b]; });
    t.fill(g.size_ok, [&](std::size_t i) { return info[i].size_ok; });
    t.fill(g.nan_frac, [&](std::size_t i) { return info[i].nan_frac; });
    t.fill(g.core_nan_frac, [&](std::size_t i) { return info[i].core_nan_frac; });
    t.fill(g.outside_frac, [&](std::size_t i) { return info[i].outside_frac; });
    t.fill(g.status, [&](std::size_t i) { return info[i].status; });
    t.fill(g.reason, [&](std::size_t i) { return info[i].reason; });
    t.set(g.image, std::move(batch.image));
    if (g.invvar.declared()) t.set(g.invvar, std::move(batch.invvar));
    if (g.maskbits.declared()) t.set(g.maskbits, std::move(batch.maskbits));

    const ct::BricksGroup bg;
    const auto& br = batch.bricks;
    engine::GroupRows bt(bg, br.size());
    bt.fill(bg.brickname, [&](std::size_t i) { return br[i].brick; });
    bt.fill(bg.targets, [&](std::size_t i) { return br[i].targets; });
    bt.fill(bg.files_missing, [&](std::size_t i) { return br[i].files_missing; });
    bt.fill(bg.tiles_decoded, [&](std::size_t i) { return br[i].tiles_decoded; });
    bt.fill(bg.tiles_partial, [&](std::size_t i) { return br[i].tiles_partial; });
    bt.fill(bg.full_decodes, [&](std::size_t i) { return br[i].full_decodes; });
    bt.fill(bg.pixels_decoded, [&](std::size_t i) { return br[i].pixels_decoded; });
    bt.fill(bg.bytes_read, [&](std::size_t i) { return br[i].bytes_read; });
    engine::UnitOutput out;  // emplaced: an initializer list would copy the stamps
    out.emplace(g.name(), std::move(t).finish());
    out.emplace(bg.name(), std::move(bt).finish());
    return out;
}

void CutoutsStage::reduce(const engine::StageContext&, const mpi::Comm& comm, const std::string& path) const {
    if (comm.rank() == 0) {
        std::int64_t ok = 0, partial = 0, failed = 0;
        {
            hdf5::ResultReader r(path);
            if (r.exists("/stamps/status")) {
                const Column status = r.read_column("/stamps/status");  // kept: strings() refers into it
                for (const auto& s : status.strings()) {
                    ok += s == "ok";
                    partial += s == "partial";
                    failed += s == "failed";
                }
            }
        }
        hdf5::ResultAppender a(path);
        a.set_attribute("/stamps", "n_ok", ok);
        a.set_attribute("/stamps", "n_partial", partial);
        a.set_attribute("/stamps", "n_failed", failed);
        a.close();
    }
    comm.barrier();
}

}  // namespace dhs::stages
