// The `mock_sky` stage (see mock_sky_stage.hpp): plan, per-brick process, rank-0 reduce.
#include "mpi_stages/mock_sky/mock_sky_stage.hpp"

#include <nlohmann/json.hpp>

#include "core/engine/units.hpp"
#include "core/error.hpp"
#include "core/mpi/comm.hpp"
#include "mpi_stages/mock_sky/mock_sky.hpp"

namespace dhs::stages {

void MockSkyStage::declare_config(config::Schema& s) { mock_sky::declare_config(s); }

std::vector<engine::OutputGroup> MockSkyStage::output_groups(const engine::StageContext&) const {
    engine::OutputGroup g{.name = "objects", .description = "every object of the mock sky (truth), brick then objid order"};
    auto add = [&](Column c, const char* unit, const char* desc) {
        c.set_unit(unit);
        c.set_description(desc);
        g.schema.add(std::move(c));
    };
    add(Column("brickname", std::vector<std::string>{}), "", "BRICKNAME of the brick the object is primary in");
    add(Column("objid", std::vector<std::int32_t>{}), "", "OBJID within the brick (as in the sweeps)");
    add(Column("population", std::vector<std::string>{}), "", "star, bright_star, lrg, blue, lens_host, ring, spiral, edge_on, calibration_star");
    add(Column("type", std::vector<std::string>{}), "", "Tractor TYPE in the sweeps");
    add(Column("ra", std::vector<double>{}), "deg", "right ascension");
    add(Column("dec", std::vector<double>{}), "deg", "declination");
    add(Column("flux_g", std::vector<float>{}), "nanomaggy", "observed g flux (as rendered)");
    add(Column("flux_r", std::vector<float>{}), "nanomaggy", "observed r flux (as rendered)");
    add(Column("flux_z", std::vector<float>{}), "nanomaggy", "observed z flux (as rendered)");
    return {g};
}

std::vector<engine::WorkUnit> MockSkyStage::plan(const engine::StageContext& ctx) const {
    const auto p = mock_sky::read_params(ctx.config);
    if (p.root.empty()) throw ConfigError("survey.root", "", 0, "mock_sky needs survey.root (where the sky is written)");
    std::vector<std::string> names;
    for (const auto& b : mock_sky::footprint(p)) names.push_back(b.name);
    auto units = engine::brick_units(names);
    for (auto& u : units) {
        u.rows_out = p.n_stars + p.n_bright_stars + p.n_lrg + p.n_blue + p.n_lenses + p.n_rings + p.n_spirals + p.n_edge_on;
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
    const std::size_t n = draw.objects.size();
    std::vector<std::string> bn(n, name), pop(n), type(n);
    std::vector<std::int32_t> objid(n);
    std::vector<double> ra(n), dec(n);
    std::vector<float> fg(n), fr(n), fz(n);
    for (std::size_t i = 0; i < n; ++i) {
        const auto& o = draw.objects[i];
        objid[i] = o.objid;
        pop[i] = mock_sky::population_name(o.population);
        type[i] = o.type;
        ra[i] = o.ra;
        dec[i] = o.dec;
        fg[i] = static_cast<float>(o.flux[0]);
        fr[i] = static_cast<float>(o.flux[1]);
        fz[i] = static_cast<float>(o.flux[2]);
    }
    const Table schema = output_groups(ctx)[0].schema;
    Table t;
    auto take = [&](Column c) {
        const auto& s = schema.column(c.name());
        c.set_unit(s.unit());
        c.set_description(s.description());
        t.add(std::move(c));
    };
    take(Column("brickname", std::move(bn)));
    take(Column("objid", std::move(objid)));
    take(Column("population", std::move(pop)));
    take(Column("type", std::move(type)));
    take(Column("ra", std::move(ra)));
    take(Column("dec", std::move(dec)));
    take(Column("flux_g", std::move(fg)));
    take(Column("flux_r", std::move(fr)));
    take(Column("flux_z", std::move(fz)));
    return {{"objects", std::move(t)}};
}

void MockSkyStage::reduce(const engine::StageContext& ctx, const mpi::Comm& comm, const std::string&) const {
    if (comm.rank() == 0) mock_sky::write_catalog_files(mock_sky::read_params(ctx.config));
    comm.barrier();
}

}  // namespace dhs::stages
