// The `search` stage (see search_stage.hpp): plan (the cutout stage's brick units over the
// searched targets), process (cut, prepare, score; nothing of the stamps is kept), and the
// schema of /targets. The reduce is in reduce.cpp.
#include "mpi_stages/search/search_stage.hpp"

#include <fmt/format.h>

#include <filesystem>

#include "core/engine/output_group.hpp"
#include "core/error.hpp"
#include "mpi_stages/cutouts/schema.hpp"
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

namespace {

/// /targets: one row per searched target.
struct TargetsGroup : engine::GroupSchema {
    cutouts::TargetKeys key = cutouts::add_target_keys(*this);
    engine::Col<std::string> split = add<std::string>("split", "", "train / val / test from the sample");
    engine::Col<std::string> brickname =
        add<std::string>("brickname", "", "brick whose coadds the stamp was cut from (empty when none)");
    std::vector<engine::Col<float>> psfsize;  // one per band
    engine::Col<std::string> status;
    engine::Col<float> logit, p_lens;
    engine::Col<std::int32_t> flagged_bands;
    explicit TargetsGroup(const std::vector<std::string>& bands)
        : GroupSchema("targets", "one row per searched target: bricks in BRICKID order, then targets in sample order") {
        for (const auto& b : bands)
            psfsize.push_back(add<float>("psfsize_" + b, "arcsec", "PSF FWHM in " + b + " at the stamp centre"));
        status = add<std::string>("status", "", "the stamp's status as the cutout stage gives it: ok, partial, failed");
        logit = add<float>("logit", "", "the model's logit");
        p_lens = add<float>("p_lens", "", "sigmoid(logit)");
        flagged_bands = add<std::int32_t>("flagged_bands", "", "bands zeroed by raw_robust");
    }
};

}  // namespace

std::vector<engine::OutputGroup> SearchStage::output_groups(const engine::StageContext& ctx) const {
    return {TargetsGroup(read_params(ctx.config, ctx.run_dir).cut.bands).group()};
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

    const TargetsGroup g(p.cut.bands);
    engine::GroupRows t(g, n);
    cutouts::fill_target_keys(t, g.key, targets);
    t.fill(g.split, [&](std::size_t i) { return targets[i].split; });
    t.fill(g.brickname, [&](std::size_t i) { return stamps.info[i].source_brick; });
    for (std::size_t b = 0; b < g.psfsize.size(); ++b)
        t.fill(g.psfsize[b], [&](std::size_t i) { return stamps.info[i].psfsize[b]; });
    t.fill(g.status, [&](std::size_t i) { return stamps.info[i].status; });
    t.set(g.logit, std::move(logit));
    t.set(g.p_lens, std::move(p_lens));
    t.set(g.flagged_bands, std::move(flagged));
    engine::UnitOutput out;
    out.emplace(g.name(), std::move(t).finish());
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
