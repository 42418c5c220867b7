// The `cutouts` stage (see cutouts_stage.hpp): plan bricks into units, cut each unit's targets,
// write their rows; reduce() adds status counts to /stamps.
#include "mpi_stages/cutouts/cutouts_stage.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/hdf5/result_file.hpp"
#include "core/mpi/comm.hpp"
#include "mpi_stages/common/stamp_geometry.hpp"
#include "mpi_stages/cutouts/cutouts.hpp"

namespace dhs::stages {

namespace ct = cutouts;


void CutoutsStage::declare_config(config::Schema& s) { ct::declare_config(s); }

void CutoutsStage::check_config(const engine::StageContext& ctx) const { (void)ct::read_params(ctx.config, ctx.run_dir); }

std::vector<engine::OutputGroup> CutoutsStage::output_groups(const engine::StageContext& ctx) const {
    const auto p = ct::read_params(ctx.config, ctx.run_dir);
    const auto nb = p.bands.size(), s = static_cast<std::size_t>(p.stamp_size);
    engine::OutputGroup g{.name = "stamps",
                          .description = "one stamp per target: bricks in BRICKID order, then targets in sample order"};
    auto add = [&](Column c, const char* unit, const std::string& desc) {
        c.set_unit(unit);
        c.set_description(desc);
        g.schema.add(std::move(c));
    };
    using VS = std::vector<std::string>;
    add(Column("target_set", VS{}), "", "sample group the target comes from (positives, negatives, hosts...)");
    add(Column("sample_row", std::vector<std::int64_t>{}), "", "row of the target in its sample group");
    add(Column("galaxy_id", VS{}), "", "{brickname}_{objid} as in the sample");
    add(Column("ra", std::vector<double>{}), "deg", "right ascension of the target");
    add(Column("dec", std::vector<double>{}), "deg", "declination of the target");
    add(Column("type", VS{}), "", "Tractor TYPE (empty when the sample has none)");
    add(Column("nobs_z", std::vector<std::int32_t>{}), "", "number of z exposures (-1 when the sample has none)");
    add(Column("flux_r", std::vector<float>{}), "nanomaggy", "r flux from the sample (NaN when absent)");
    add(Column("split", VS{}), "", "train / val / test from the sample (empty when absent)");
    add(Column("brickname", VS{}), "", "brick whose coadds the stamp is cut from (empty when none)");
    add(Column("pixel_x", std::vector<std::int32_t>{}), "pixel",
        "zero-based x of the stamp centre in the source coadd (the target's nearest pixel; -1 when unknown)");
    add(Column("pixel_y", std::vector<std::int32_t>{}), "pixel", "zero-based y of the stamp centre in the source coadd");
    add(Column("offset_x", std::vector<float>{}), "pixel",
        "target x (WCS) minus pixel_x, in [-0.5, 0.5): the target sits at stamp pixel (c + offset_x, c + offset_y), "
        "c = (stamp_size - 1) / 2");
    add(Column("offset_y", std::vector<float>{}), "pixel", "target y (WCS) minus pixel_y, in [-0.5, 0.5)");
    for (const auto& b : p.bands)
        add(Column("psfsize_" + b, std::vector<float>{}), "arcsec",
            "PSF FWHM in " + b + " from the psfsize map at the centre pixel (NaN when unavailable)");
    add(Column("size_ok", std::vector<std::uint8_t>{}, {}, DType::boolean), "",
        "the whole stamp lies in the source coadd and every band's image was read");
    add(Column("nan_frac", std::vector<float>{}), "", "fraction of NaN image pixels, all bands");
    add(Column("core_nan_frac", std::vector<float>{}), "",
        fmt::format("fraction of NaN image pixels within {} px of the centre, all bands", p.core_radius));
    add(Column("outside_frac", std::vector<float>{}), "", "fraction of stamp pixels beyond the source coadd");
    add(Column("status", VS{}), "",
        "ok (complete), partial (edge pixels, or a band or product missing or corrupt), failed (no pixels)");
    add(Column("reason", VS{}), "",
        "';'-separated notes: edge, missing:<kind>, corrupt:<kind>, home_missing, center_outside, no_coadd, "
        "no_projection (empty when none)");
    const std::string bands = join_bands(p.bands);
    add(Column("image", std::vector<float>{}, {nb, s, s}), "nanomaggy",
        "image stamps, bands " + bands + "; NaN beyond the coadd" +
            (p.nan_where_invvar_zero && p.with_invvar ? " and where invvar is 0" : ""));
    g.column_attributes["image"] = {{"layout", "NCHW"}, {"bands", bands}};
    if (p.with_invvar) {
        add(Column("invvar", std::vector<float>{}, {nb, s, s}), "1/nanomaggy^2",
            "inverse-variance stamps, bands " + bands + "; NaN beyond the coadd");
        g.column_attributes["invvar"] = {{"layout", "NCHW"}, {"bands", bands}};
    }
    if (p.with_maskbits) {
        add(Column("maskbits", std::vector<std::int32_t>{}, {s, s}), "",
            fmt::format("DR10 MASKBITS stamps; {} where there is no value", p.maskbits_fill));
        g.column_attributes["maskbits"] = {{"layout", "NHW"}, {"fill_value", std::to_string(p.maskbits_fill)}};
    }

    engine::OutputGroup br{.name = "bricks", .description = "one row per source brick cut: its decoding figures"};
    auto addb = [&](Column c, const char* desc) {
        c.set_description(desc);
        br.schema.add(std::move(c));
    };
    addb(Column("brickname", VS{}), "source brick");
    addb(Column("targets", std::vector<std::int32_t>{}), "stamps cut from it");
    addb(Column("files_missing", std::vector<std::int32_t>{}), "coadd files absent");
    addb(Column("tiles_decoded", std::vector<std::int64_t>{}), "compressed tiles decoded (each at most once)");
    addb(Column("tiles_partial", std::vector<std::int64_t>{}), "of which decoded only down to the last row needed");
    addb(Column("full_decodes", std::vector<std::int64_t>{}), "coadds decoded whole");
    addb(Column("pixels_decoded", std::vector<std::int64_t>{}), "pixels through an entropy decoder");
    addb(Column("bytes_read", std::vector<std::int64_t>{}), "compressed bytes read by the fast RICE path");
    return {g, br};
}

std::vector<engine::WorkUnit> CutoutsStage::plan(const engine::StageContext& ctx) const {
    const auto p = ct::read_params(ctx.config, ctx.run_dir);
    if (p.root.empty())
        throw ConfigError("survey.root", ctx.config.origin_of("survey.root"), 0, "cutouts needs survey.root (the coadds)");
    return ct::brick_units(p, ct::list_targets(p));
}

std::int64_t CutoutsStage::memory_per_unit(const engine::WorkUnit& unit, const engine::StageContext& ctx) const {
    const auto p = ct::read_params(ctx.config, ctx.run_dir);
    const auto n = static_cast<std::int64_t>(ct::unit_targets(unit.payload).size());
    const std::int64_t cell = static_cast<std::int64_t>(p.stamp_size) * p.stamp_size * 4;
    const std::int64_t nb = static_cast<std::int64_t>(p.bands.size());
    const std::int64_t per_stamp = cell * (nb * (p.with_invvar ? 2 : 1) + (p.with_maskbits ? 1 : 0)) + 1024;
    // Stamps twice (cut, then spooled) plus one coadd decoded whole (3600 x 3600 float32).
    return 2 * n * per_stamp + 3600LL * 3600LL * 4;
}

engine::UnitOutput CutoutsStage::process(const engine::WorkUnit& unit, const engine::StageContext& ctx) const {
    const auto p = ct::read_params(ctx.config, ctx.run_dir);
    const auto targets = ct::read_targets(p, ct::unit_targets(unit.payload));
    ct::StampBatch batch;
    ct::cut_targets(p, targets, batch);

    const auto groups = output_groups(ctx);
    const Table& schema = groups[0].schema;
    const std::size_t n = targets.size();
    const auto nb = p.bands.size(), s = static_cast<std::size_t>(p.stamp_size);
    Table t;
    auto take = [&](Column c) {
        const auto& sc = schema.column(c.name());
        c.set_unit(sc.unit());
        c.set_description(sc.description());
        t.add(std::move(c));
    };
    auto strings = [&](auto f) {
        std::vector<std::string> v(n);
        for (std::size_t i = 0; i < n; ++i) v[i] = f(i);
        return v;
    };
    auto values = [&](auto f) {
        using T = decltype(f(std::size_t{0}));
        std::vector<T> v(n);
        for (std::size_t i = 0; i < n; ++i) v[i] = f(i);
        return v;
    };
    const auto& info = batch.info;
    take(Column("target_set", strings([&](std::size_t i) { return targets[i].set; })));
    take(Column("sample_row", values([&](std::size_t i) { return targets[i].row; })));
    take(Column("galaxy_id", strings([&](std::size_t i) { return targets[i].galaxy_id; })));
    take(Column("ra", values([&](std::size_t i) { return targets[i].ra; })));
    take(Column("dec", values([&](std::size_t i) { return targets[i].dec; })));
    take(Column("type", strings([&](std::size_t i) { return targets[i].type; })));
    take(Column("nobs_z", values([&](std::size_t i) { return targets[i].nobs_z; })));
    take(Column("flux_r", values([&](std::size_t i) { return targets[i].flux_r; })));
    take(Column("split", strings([&](std::size_t i) { return targets[i].split; })));
    take(Column("brickname", strings([&](std::size_t i) { return info[i].source_brick; })));
    take(Column("pixel_x", values([&](std::size_t i) { return info[i].pixel_x; })));
    take(Column("pixel_y", values([&](std::size_t i) { return info[i].pixel_y; })));
    take(Column("offset_x", values([&](std::size_t i) { return info[i].offset_x; })));
    take(Column("offset_y", values([&](std::size_t i) { return info[i].offset_y; })));
    for (std::size_t b = 0; b < nb; ++b)
        take(Column("psfsize_" + p.bands[b], values([&](std::size_t i) { return info[i].psfsize[b]; })));
    take(Column("size_ok", values([&](std::size_t i) { return static_cast<std::uint8_t>(info[i].size_ok); }), {},
                DType::boolean));
    take(Column("nan_frac", values([&](std::size_t i) { return info[i].nan_frac; })));
    take(Column("core_nan_frac", values([&](std::size_t i) { return info[i].core_nan_frac; })));
    take(Column("outside_frac", values([&](std::size_t i) { return info[i].outside_frac; })));
    take(Column("status", strings([&](std::size_t i) { return info[i].status; })));
    take(Column("reason", strings([&](std::size_t i) { return info[i].reason; })));
    take(Column("image", std::move(batch.image), {nb, s, s}));
    if (p.with_invvar) take(Column("invvar", std::move(batch.invvar), {nb, s, s}));
    if (p.with_maskbits) take(Column("maskbits", std::move(batch.maskbits), {s, s}));

    const std::size_t m = batch.bricks.size();
    const auto& br = batch.bricks;
    auto bvalues = [&](auto f) {
        using T = decltype(f(std::size_t{0}));
        std::vector<T> v(m);
        for (std::size_t i = 0; i < m; ++i) v[i] = f(i);
        return v;
    };
    const Table& bschema = groups[1].schema;
    Table bt;
    auto takeb = [&](Column c) {
        c.set_description(bschema.column(c.name()).description());
        bt.add(std::move(c));
    };
    takeb(Column("brickname", bvalues([&](std::size_t i) { return br[i].brick; })));
    takeb(Column("targets", bvalues([&](std::size_t i) { return br[i].targets; })));
    takeb(Column("files_missing", bvalues([&](std::size_t i) { return br[i].files_missing; })));
    takeb(Column("tiles_decoded", bvalues([&](std::size_t i) { return br[i].tiles_decoded; })));
    takeb(Column("tiles_partial", bvalues([&](std::size_t i) { return br[i].tiles_partial; })));
    takeb(Column("full_decodes", bvalues([&](std::size_t i) { return br[i].full_decodes; })));
    takeb(Column("pixels_decoded", bvalues([&](std::size_t i) { return br[i].pixels_decoded; })));
    takeb(Column("bytes_read", bvalues([&](std::size_t i) { return br[i].bytes_read; })));
    engine::UnitOutput out;  // emplaced: an initializer list would copy the stamps
    out.emplace("stamps", std::move(t));
    out.emplace("bricks", std::move(bt));
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
