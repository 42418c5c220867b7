// The `search` stage (see search_stage.hpp): plan (the cutout stage's brick units over the
// searched targets), process (cut, prepare, score; nothing of the stamps is kept), and the
// schema of /targets. The reduce is in reduce.cpp.
#include "mpi_stages/search/search_stage.hpp"

#include <fmt/format.h>

#include <filesystem>

#include "core/error.hpp"
#include "mpi_stages/search/config_keys.hpp"
#include "mpi_stages/search/search.hpp"

namespace dhs::stages {

using namespace search;

namespace {

// The metadata a model may ask for that the search knows without a stamp file.
std::vector<double> meta_column(const std::string& name, const std::vector<cutouts::Target>& t,
                                const cutouts::StampBatch& b, const cutouts::Params& p) {
    std::vector<double> v(t.size());
    for (std::size_t i = 0; i < t.size(); ++i) {
        const auto& info = b.info[i];
        if (name == "nobs_z") v[i] = t[i].nobs_z;
        else if (name == "flux_r") v[i] = t[i].flux_r;
        else if (name == "nan_frac") v[i] = info.nan_frac;
        else if (name == "core_nan_frac") v[i] = info.core_nan_frac;
        else if (name == "outside_frac") v[i] = info.outside_frac;
        else {
            const auto band = std::find(p.bands.begin(), p.bands.end(), name.size() > 8 ? name.substr(8) : "");
            if (name.rfind("psfsize_", 0) != 0 || band == p.bands.end())
                throw Error(fmt::format("search: the model's metadata column '{}' is not known while searching (it "
                                        "knows psfsize_<band>, nobs_z, flux_r, nan_frac, core_nan_frac, outside_frac)",
                                        name));
            v[i] = info.psfsize[static_cast<std::size_t>(band - p.bands.begin())];
        }
    }
    return v;
}

}  // namespace

SearchStage::SearchStage() : inference_(std::make_unique<score::Inference>()) {}
SearchStage::~SearchStage() = default;

void SearchStage::declare_config(config::Schema& s) { search::declare_config(s); }

void SearchStage::check_config(const engine::StageContext& ctx) const { (void)read_params(ctx.config, ctx.run_dir); }

std::vector<engine::OutputGroup> SearchStage::output_groups(const engine::StageContext& ctx) const {
    const auto p = read_params(ctx.config, ctx.run_dir);
    engine::OutputGroup g{.name = "targets",
                          .description = "one row per searched target: bricks in BRICKID order, then targets in sample order"};
    auto add = [&](Column c, const char* unit, const std::string& desc) {
        c.set_unit(unit);
        c.set_description(desc);
        g.schema.add(std::move(c));
    };
    using VS = std::vector<std::string>;
    add(Column("target_set", VS{}), "", "sample group of the target (pool, positives...)");
    add(Column("sample_row", std::vector<std::int64_t>{}), "", "row of the target in its sample group");
    add(Column("galaxy_id", VS{}), "", "{brickname}_{objid} as in the sample");
    add(Column("ra", std::vector<double>{}), "deg", "right ascension");
    add(Column("dec", std::vector<double>{}), "deg", "declination");
    add(Column("type", VS{}), "", "Tractor TYPE");
    add(Column("split", VS{}), "", "train / val / test from the sample");
    add(Column("brickname", VS{}), "", "brick whose coadds the stamp was cut from (empty when none)");
    for (const auto& b : p.cut.bands)
        add(Column("psfsize_" + b, std::vector<float>{}), "arcsec", "PSF FWHM in " + b + " at the stamp centre");
    add(Column("status", VS{}), "", "the stamp's status as the cutout stage gives it: ok, partial, failed");
    add(Column("logit", std::vector<float>{}), "", "the model's logit");
    add(Column("p_lens", std::vector<float>{}), "", "sigmoid(logit)");
    add(Column("flagged_bands", std::vector<std::int32_t>{}), "", "bands zeroed by raw_robust");
    return {g};
}

std::vector<engine::WorkUnit> SearchStage::plan(const engine::StageContext& ctx) const {
    const auto p = read_params(ctx.config, ctx.run_dir);
    if (p.cut.root.empty())
        throw ConfigError("survey.root", ctx.config.origin_of("survey.root"), 0, "search needs survey.root (the coadds)");
    if (!std::filesystem::exists(score::model_file(p.inference.model)))
        throw Error(fmt::format("search.model: no model at '{}' (run the train stage first, or set search.model)",
                                score::model_file(p.inference.model)));
    return cutouts::brick_units(p.cut, searched_targets(p));
}

engine::UnitOutput SearchStage::process(const engine::WorkUnit& unit, const engine::StageContext& ctx) const {
    const auto p = read_params(ctx.config, ctx.run_dir);
    const auto targets = cutouts::read_targets(p.cut, cutouts::unit_targets(unit.payload));
    cutouts::StampBatch stamps;
    cutouts::cut_targets(p.cut, targets, stamps);

    const score::ModelCard& card = inference_->card(p.inference);
    std::vector<std::vector<double>> meta;
    for (const auto& m : card.meta_columns) meta.push_back(meta_column(m, targets, stamps, p.cut));
    const std::size_t n = targets.size();
    const int nb = static_cast<int>(p.cut.bands.size()), s = p.cut.stamp_size;
    const std::size_t cell = static_cast<std::size_t>(nb) * s * s;
    std::vector<float> logit, p_lens;
    std::vector<std::int32_t> flagged(n, 0);
    score::score_in_batches(
        n, p.inference.batch_size,
        [&](std::uint64_t a, std::uint64_t m) {
            return score::prepare_batch(std::span<const float>(stamps.image).subspan(a * cell, m * cell), m, nb, s, s,
                                        card, meta, a, std::span<std::int32_t>(flagged).subspan(a, m),
                                        p.cut.root, "coadd stamps of unit " + unit.id);
        },
        [&](const learn::Batch& b) { return inference_->logits(b, ctx.service, p.inference); }, logit, p_lens);

    const Table schema = output_groups(ctx)[0].schema;
    Table t;
    auto take = [&](Column c) {
        const auto& sc = schema.column(c.name());
        c.set_unit(sc.unit());
        c.set_description(sc.description());
        t.add(std::move(c));
    };
    auto each = [&](auto f) {
        using T = decltype(f(std::size_t{0}));
        std::vector<T> v(n);
        for (std::size_t i = 0; i < n; ++i) v[i] = f(i);
        return v;
    };
    take(Column("target_set", each([&](std::size_t i) { return targets[i].set; })));
    take(Column("sample_row", each([&](std::size_t i) { return targets[i].row; })));
    take(Column("galaxy_id", each([&](std::size_t i) { return targets[i].galaxy_id; })));
    take(Column("ra", each([&](std::size_t i) { return targets[i].ra; })));
    take(Column("dec", each([&](std::size_t i) { return targets[i].dec; })));
    take(Column("type", each([&](std::size_t i) { return targets[i].type; })));
    take(Column("split", each([&](std::size_t i) { return targets[i].split; })));
    take(Column("brickname", each([&](std::size_t i) { return stamps.info[i].source_brick; })));
    for (std::size_t b = 0; b < p.cut.bands.size(); ++b)
        take(Column("psfsize_" + p.cut.bands[b], each([&](std::size_t i) { return stamps.info[i].psfsize[b]; })));
    take(Column("status", each([&](std::size_t i) { return stamps.info[i].status; })));
    take(Column("logit", std::move(logit)));
    take(Column("p_lens", std::move(p_lens)));
    take(Column("flagged_bands", std::move(flagged)));
    engine::UnitOutput out;
    out.emplace("targets", std::move(t));
    return out;
}

std::int64_t SearchStage::memory_per_unit(const engine::WorkUnit& unit, const engine::StageContext& ctx) const {
    const auto p = read_params(ctx.config, ctx.run_dir);
    const auto n = static_cast<std::int64_t>(cutouts::unit_targets(unit.payload).size());
    const std::int64_t stamp = static_cast<std::int64_t>(p.cut.bands.size()) * p.cut.stamp_size * p.cut.stamp_size * 4;
    // The unit's stamps (image and invvar), two prepared batches, one coadd decoded whole, the model.
    return n * stamp * 2 + 2 * p.inference.batch_size * stamp + 3600LL * 3600LL * 4 + (64LL << 20);
}

std::vector<int> SearchStage::serving_ranks(const engine::StageContext& ctx, const mpi::Comm& comm) const {
    return inference_->serving_ranks(read_params(ctx.config, ctx.run_dir).inference, comm);
}

std::vector<float> SearchStage::serve(std::span<const std::int64_t> h, std::span<const float> x,
                                      const engine::StageContext& ctx) const {
    return inference_->serve(h, x, read_params(ctx.config, ctx.run_dir).inference);
}

}  // namespace dhs::stages
