// The `mock_sky` stage (see mock_sky_stage.hpp): plan, per-brick process, rank-0 reduce.
#include "mpi_stages/mock_sky/mock_sky_stage.hpp"

#include <nlohmann/json.hpp>

#include "core/engine/units.hpp"
#include "core/error.hpp"
#include "core/mpi/comm.hpp"
#include "mpi_stages/mock_sky/mock_sky.hpp"

namespace dhs::stages {

void MockSkyStage::declare_config(config::Schema& s) { mock_sky::declare_config(s); }

void MockSkyStage::check_config(const engine::StageContext& ctx) const { (void)mock_sky::read_params(ctx.config); }

std::vector<engine::OutputGroup> MockSkyStage::output_groups(const engine::StageContext& ctx) const {
    engine::OutputGroup g{.name = "objects",
                          .description = "every object of the mock sky with all its truth, brick then objid order"};
    // The truth table of an empty brick: the columns with their types, units and descriptions.
    g.schema = mock_sky::truth_rows(mock_sky::read_params(ctx.config), mock_sky::BrickDraw{});
    return {g};
}

std::vector<engine::WorkUnit> MockSkyStage::plan(const engine::StageContext& ctx) const {
    const auto p = mock_sky::read_params(ctx.config);
    if (p.root.empty()) throw ConfigError("survey.root", "", 0, "mock_sky needs survey.root (where the sky is written)");
    std::vector<std::string> names;
    for (const auto& b : mock_sky::footprint(p)) names.push_back(b.name);
    auto units = engine::brick_units(names);
    for (auto& u : units) {
        u.rows_out = p.n_stars + p.n_bright_stars + p.n_lrg + p.n_blue + p.n_lenses + p.n_rings + p.n_spirals +
                     p.n_edge_on + 2 * p.n_mergers;
        u.bytes_in = 0;
    }
    return units;
}

engine::UnitOutput MockSkyStage::process(const engine::WorkUnit& unit, const engine::StageContext& ctx) const {
    const auto p = mock_sky::read_params(ctx.config);
    const auto name = nlohmann::json::parse(unit.payload).at("brick").get<std::string>();
    const auto brick = kernels::brick_wall().brick_by_name(name);
    if (!brick) throw Error("mock_sky: no brick called " + name);
    const auto draw = mock_sky::draw_brick(p, *brick);
    mock_sky::render_brick(p, draw);
    return {{"objects", mock_sky::truth_rows(p, draw)}};
}

void MockSkyStage::reduce(const engine::StageContext& ctx, const mpi::Comm& comm, const std::string&) const {
    if (comm.rank() == 0) mock_sky::write_catalog_files(mock_sky::read_params(ctx.config));
    comm.barrier();
}

}  // namespace dhs::stages
