// The `score` stage (see score_stage.hpp): plan (row ranges per stamp file), process (read and
// prepare the next batch of a unit on a second thread while the model infers this one), reduce (the model's identity as attributes
// and a per-class summary in the log).
#include "mpi_stages/score/score_stage.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <span>
#include <nlohmann/json.hpp>

#include "core/engine/output_group.hpp"
#include "core/engine/plan_table.hpp"
#include "core/error.hpp"
#include "core/hdf5/result_file.hpp"
#include "core/mpi/comm.hpp"
#include "mpi_stages/common/planned_stamps.hpp"
#include "mpi_stages/score/inference.hpp"
#include "mpi_stages/score/score.hpp"

namespace fs = std::filesystem;

namespace dhs::stages {

using namespace score;

namespace {

struct Source {
    std::string name, file, group;
};

std::vector<Source> sources_of(const Params& p) {
    std::vector<Source> out;
    for (const auto& s : p.sources)
        out.push_back(s == "cutouts" ? Source{s, p.cutouts_file, "/stamps"} : Source{s, p.injections_file, "/injections"});
    return out;
}

// The class of every row: positive / negative / host (cutouts' target sets) or injection /
// control; and the galaxy it is a stamp of.
void classes_of(const hdf5::ResultReader& in, const Source& s, std::uint64_t first, std::uint64_t n,
                std::vector<std::string>& klass, std::vector<std::string>& galaxy) {
    if (s.name == "cutouts") {
        klass = in.read_column(s.group + "/target_set", first, n).strings();
        for (auto& k : klass)
            if (!k.empty() && k.back() == 's') k.pop_back();  // positives -> positive
        galaxy = in.read_column(s.group + "/galaxy_id", first, n).strings();
    } else {
        const auto control = in.read_column(s.group + "/is_control", first, n).as<int>();
        klass.resize(control.size());
        for (std::size_t i = 0; i < control.size(); ++i) klass[i] = control[i] ? "control" : "injection";
        galaxy = in.read_column(s.group + "/host_galaxy_id", first, n).strings();
    }
}

// Rows [row, row + m) of the source read and prepared as training prepares them; `meta` holds
// the unit's metadata columns, `offset` the batch's start in the unit.
learn::Batch read_batch(const hdf5::ResultReader& in, const Source& s, std::uint64_t row, std::uint64_t m,
                        const ModelCard& card, const std::vector<std::vector<double>>& meta, std::uint64_t offset,
                        std::span<std::int32_t> flagged) {
    const Column image = in.read_column(s.group + "/image", row, m);
    const auto& shape = image.shape();
    return prepare_batch(image.values<float>(), m, static_cast<int>(shape.at(0)), static_cast<int>(shape.at(1)),
                         static_cast<int>(shape.at(2)), card, meta, offset, flagged, s.file, s.group + "/image");
}

InferenceParams inference_params(const Params& p) {
    return {.section = "score", .model = p.model, .device = p.device, .learners = p.learners, .threads = p.threads,
            .batch_size = p.batch_size};
}

/// /scores: one row per scored stamp.
struct ScoresGroup : engine::GroupSchema {
    engine::Col<std::string> source = add<std::string>("source", "", "stamp file: cutouts or injections");
    engine::Col<std::int64_t> source_row =
        add<std::int64_t>("source_row", "", "row in cutouts.h5:/stamps or injections.h5:/injections");
    engine::Col<std::string> galaxy_id =
        add<std::string>("galaxy_id", "", "the galaxy stamped (the host for injections and controls)");
    engine::Col<std::string> klass = add<std::string>("class", "", "positive, negative, host, injection or control");
    engine::Col<std::string> split = add<std::string>("split", "", "HEALPix split of the sample stage: train, val or test");
    engine::Col<float> logit = add<float>("logit", "", "the model's logit");
    engine::Col<float> p_lens = add<float>("p_lens", "", "sigmoid(logit)");
    engine::Col<std::int32_t> flagged_bands =
        add<std::int32_t>("flagged_bands", "", "bands zeroed by raw_robust (no finite outer pixel or MAD 0)");
    ScoresGroup() : GroupSchema("scores", "one row per scored stamp, in file then row order") {}
};

}  // namespace

ScoreStage::ScoreStage() : inference_(std::make_unique<Inference>()) {}
ScoreStage::~ScoreStage() = default;  // out of line: Inference is complete here

void ScoreStage::declare_config(config::Schema& s) { score::declare_config(s); }

void ScoreStage::check_config(const engine::StageContext& ctx) const { (void)read_params(ctx.config, ctx.run_dir); }

std::vector<engine::OutputGroup> ScoreStage::output_groups(const engine::StageContext&) const {
    return {ScoresGroup().group()};
}

std::vector<engine::WorkUnit> ScoreStage::plan(const engine::StageContext& ctx) const {
    const Params p = read_params(ctx.config, ctx.run_dir);
    if (!fs::exists(model_file(p.model)))
        throw Error(fmt::format("score.model: no model at '{}' (run the train stage first, or set score.model)",
                                model_file(p.model)));
    std::vector<engine::WorkUnit> units;
    for (const auto& s : sources_of(p)) {
        if (!fs::exists(s.file))
            throw Error(fmt::format("score.sources: '{}' does not exist (run the {} stage, or drop '{}' from "
                                    "score.sources)", s.file, s.name == "cutouts" ? "cutouts" : "inject", s.name));
        const hdf5::ResultReader in(s.file);
        const std::uint64_t rows = in.rows(s.group + "/image");
        for (std::uint64_t first = 0; first < rows; first += static_cast<std::uint64_t>(p.unit_stamps)) {
            const std::uint64_t n = std::min<std::uint64_t>(static_cast<std::uint64_t>(p.unit_stamps), rows - first);
            engine::WorkUnit u;
            u.index = static_cast<std::int64_t>(units.size());
            u.id = fmt::format("{}[{}:{}]", s.name, first, first + n);
            u.kind = "stamps";
            u.cost = static_cast<double>(n);
            u.payload = nlohmann::json{{"source", s.name}, {"file", s.file}, {"group", s.group}, {"first", first},
                                       {"count", n}}
                            .dump();
            u.bytes_in = static_cast<std::int64_t>(n) * 3 * 101 * 101 * 4;
            u.rows_out = static_cast<std::int64_t>(n);
            units.push_back(u);
        }
    }
    return units;
}

std::vector<int> ScoreStage::serving_ranks(const engine::StageContext& ctx, const mpi::Comm& comm) const {
    return inference_->serving_ranks(inference_params(read_params(ctx.config, ctx.run_dir)), comm);
}

std::vector<float> ScoreStage::serve(std::span<const std::int64_t> h, std::span<const float> x,
                                     const engine::StageContext& ctx) const {
    return inference_->serve(h, x, inference_params(read_params(ctx.config, ctx.run_dir)));
}

engine::UnitOutput ScoreStage::process(const engine::WorkUnit& unit, const engine::StageContext& ctx) const {
    const Params p = read_params(ctx.config, ctx.run_dir);
    const auto j = nlohmann::json::parse(unit.payload);
    const Source s{j.at("source"), j.at("file"), j.at("group")};
    const std::uint64_t first = j.at("first"), n = j.at("count");
    const InferenceParams ip = inference_params(p);
    const ModelCard& card = inference_->card(ip);
    const hdf5::ResultReader in(s.file);

    std::vector<std::string> klass, galaxy;
    classes_of(in, s, first, n, klass, galaxy);
    const auto split = in.read_column(s.group + "/split", first, n).strings();
    std::vector<std::vector<double>> meta;
    for (const auto& m : card.meta_columns) {
        if (!in.exists(s.group + "/" + m))
            throw DataError(s.file, s.group + "/" + m, "the model's metadata column is missing");
        meta.push_back(in.read_column(s.group + "/" + m, first, n).as<double>());
    }

    std::vector<float> logit, p_lens;
    std::vector<std::int32_t> flagged(n, 0);
    score_in_batches(
        n, p.batch_size,
        [&](std::uint64_t a, std::uint64_t m) {
            return read_batch(in, s, first + a, m, card, meta, a, std::span<std::int32_t>(flagged).subspan(a, m));
        },
        [&](const learn::Batch& b) { return inference_->logits(b, ctx.service, ip); }, logit, p_lens);
    const ScoresGroup g;
    engine::GroupRows out(g, n);
    out.set(g.source, std::vector<std::string>(n, s.name));
    out.fill(g.source_row, [&](std::size_t i) { return static_cast<std::int64_t>(first + i); });
    out.set(g.galaxy_id, std::move(galaxy));
    out.set(g.klass, std::move(klass));
    out.set(g.split, split);
    out.set(g.logit, std::move(logit));
    out.set(g.p_lens, std::move(p_lens));
    out.set(g.flagged_bands, std::move(flagged));
    return {{g.name(), std::move(out).finish()}};
}

void ScoreStage::reduce(const engine::StageContext& ctx, const mpi::Comm& comm, const std::string& path) const {
    mpi::on_rank0(comm, [&] {
        const Params p = read_params(ctx.config, ctx.run_dir);
        const std::string file = model_file(p.model);
        const std::string sha = inference_->sha256(inference_params(p));
        const ModelCard& card = inference_->card(inference_params(p));
        std::map<std::string, std::pair<std::int64_t, double>> per_class;
        {
            const hdf5::ResultReader in(path);
            const auto k = in.read_column("/scores/class").strings();
            const auto pl = in.read_column("/scores/p_lens").as<double>();
            for (std::size_t i = 0; i < k.size(); ++i) {
                auto& [count, sum] = per_class[k[i]];
                ++count, sum += pl[i];
            }
        }
        hdf5::ResultAppender out(path);
        out.set_attribute("/scores", "model", file);
        out.set_attribute("/scores", "model_sha256", sha);
        out.set_attribute("/scores", "model_card", card.text);
        out.close();
        std::string summary;
        for (const auto& [k, v] : per_class)
            summary += fmt::format(" {} {} (mean p_lens {:.3f});", k, v.first, v.second / static_cast<double>(v.first));
        spdlog::info("score: model {} (sha256 {}):{}", file, sha.substr(0, 12), summary);
    });
    inference_->release();
}

std::int64_t ScoreStage::memory_per_unit(const engine::WorkUnit& unit, const engine::StageContext& ctx) const {
    const Params p = read_params(ctx.config, ctx.run_dir);
    const std::int64_t batch = std::min<std::int64_t>(p.batch_size, unit.rows_out);
    // A batch of raw stamps and its prepared copy, the model (ResNet-18: ~45 MB) and the rows.
    return batch * 3 * 101 * 101 * 4 * 2 + (64 << 20) + unit.rows_out * 128;
}

// Without a model or its stamp files: a row per stamp the cutouts and inject stages are expected
// to write, score.unit_stamps a unit.
std::optional<engine::StageEstimate> ScoreStage::estimate(const engine::StageContext& ctx,
                                                         const engine::PlanEstimates& earlier,
                                                         const std::vector<engine::WorkUnit>* plan) const {
    if (plan != nullptr) return Stage::estimate(ctx, earlier, plan);
    const Params p = read_params(ctx.config, ctx.run_dir);
    engine::StageEstimate e;
    double rows = 0;
    std::vector<std::string> parts;
    for (const auto& s : sources_of(p)) {
        const auto n = planned_stamps(earlier, s.name);
        if (!n) continue;
        e.units += std::ceil(*n / static_cast<double>(p.unit_stamps));
        rows += *n;
        parts.push_back(fmt::format("{} {}", s.name, engine::human_count(*n)));
    }
    if (parts.empty()) return std::nullopt;
    e.rows["scores"] = rows;
    e.bytes_in = rows * 3 * 101 * 101 * 4;
    engine::WorkUnit u;
    u.rows_out = static_cast<std::int64_t>(std::min<double>(rows, static_cast<double>(p.unit_stamps)));
    e.memory_per_unit = memory_per_unit(u, ctx);
    e.basis = fmt::format("a row per stamp of {}, {} a unit", fmt::join(parts, " and "), p.unit_stamps);
    return e;
}

}  // namespace dhs::stages
