// The skeleton stage (see skeleton_stage.hpp). To add a stage: copy this folder and rename it;
// declare the config keys and read them into Params (config.cpp); declare each output group once
// as a GroupSchema (skeleton.hpp); plan units from the config and earlier outputs; make process()
// a kernel call per item, deterministic in (unit, config, seed), filling rows through the
// group's handles; register the stage in mpi_stages/registry.cpp under its name().
#include "mpi_stages/skeleton/skeleton_stage.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <bit>
#include <nlohmann/json.hpp>

#include "core/engine/units.hpp"
#include "core/hdf5/result_file.hpp"
#include "core/mpi/comm.hpp"
#include "kernels/geometry/healpix_cells.hpp"
#include "kernels/geometry/sky_randoms.hpp"
#include "mpi_stages/skeleton/skeleton.hpp"

namespace dhs::stages {

using namespace skeleton;

namespace {

/// /base_cells, written by the reduce: the points per NESTED base cell (nside 1).
struct BaseCellsGroup : engine::GroupSchema {
    engine::Col<std::int64_t> cell = add<std::int64_t>("cell", "", "NESTED HEALPix cell at nside 1");
    engine::Col<std::int64_t> count = add<std::int64_t>("count", "", "random points in the cell");
    engine::Col<double> expected = add<double>("expected", "", "points expected: randoms / 12");
    BaseCellsGroup() : GroupSchema("base_cells", "random points per base cell (the reduce's uniformity check)") {}
};

}  // namespace

void SkeletonStage::declare_config(config::Schema& schema) { skeleton::declare_config(schema); }

void SkeletonStage::check_config(const engine::StageContext& ctx) const { (void)read_params(ctx.config); }

std::vector<engine::OutputGroup> SkeletonStage::output_groups(const engine::StageContext&) const {
    return {RandomsGroup().group()};
}

std::vector<engine::WorkUnit> SkeletonStage::plan(const engine::StageContext& ctx) const {
    const Params p = read_params(ctx.config);
    auto units = engine::batch_units(p.randoms, p.per_unit, "randoms");
    for (auto& u : units) u.rows_out = static_cast<std::int64_t>(u.cost);
    return units;
}

engine::UnitOutput SkeletonStage::process(const engine::WorkUnit& unit, const engine::StageContext& ctx) const {
    const Params p = read_params(ctx.config);
    const auto range = nlohmann::json::parse(unit.payload);
    const std::int64_t begin = range.at("begin"), end = range.at("end");
    const kernels::HealpixNest nest(p.nside);
    const auto seed = static_cast<std::uint64_t>(ctx.seed);

    const RandomsGroup g;
    engine::GroupRows rows(g, static_cast<std::size_t>(end - begin));
    auto id = rows.values(g.random_id);
    auto ra = rows.values(g.ra), dec = rows.values(g.dec);
    auto cell = rows.values(g.healpix);
    for (std::int64_t k = begin; k < end; ++k) {
        const auto i = static_cast<std::size_t>(k - begin);
        const kernels::SkyPoint pt = kernels::sky_random(seed, k);
        id[i] = k;
        ra[i] = pt.ra;
        dec[i] = pt.dec;
        cell[i] = nest.cell(pt.ra, pt.dec);
    }
    return {{g.name(), std::move(rows).finish()}};
}

void SkeletonStage::reduce(const engine::StageContext& ctx, const mpi::Comm& comm, const std::string& path) const {
    mpi::on_rank0(comm, [&] {
        const Params p = read_params(ctx.config);
        const int levels = std::countr_zero(static_cast<std::uint64_t>(p.nside));
        std::array<std::int64_t, 12> n{};
        {
            const hdf5::ResultReader in(path);
            // Held by name: a range-for over read_column(...).values() would walk a destroyed column.
            const Column cells = in.read_column("/randoms/healpix");
            for (const std::int64_t c : cells.values<std::int64_t>())
                ++n[static_cast<std::size_t>(kernels::nest_parent(c, levels))];
        }
        const double expected = static_cast<double>(p.randoms) / 12.0;
        double chi2 = 0.0;
        for (const std::int64_t k : n) chi2 += expected > 0 ? (k - expected) * (k - expected) / expected : 0.0;

        const BaseCellsGroup g;
        engine::GroupRows rows(g, n.size());
        rows.fill(g.cell, [](std::size_t i) { return static_cast<std::int64_t>(i); });
        rows.fill(g.count, [&](std::size_t i) { return n[i]; });
        rows.fill(g.expected, [&](std::size_t) { return expected; });
        hdf5::ResultAppender out(path);
        out.remove("/" + g.name());
        out.write_table("/" + g.name(), std::move(rows).finish());
        out.set_attribute("/" + g.name(), "chi2", chi2);
        out.set_attribute("/" + g.name(), "dof", std::int64_t{11});
        out.close();
        spdlog::info("skeleton: {} randoms; per base cell chi^2 = {:.1f} for 11 degrees of freedom", p.randoms, chi2);
    });
}

}  // namespace dhs::stages
