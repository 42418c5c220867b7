// The `score` stage (see score_stage.hpp): plan (row ranges per stamp file), process (read and
// prepare the next batch of a unit on a second thread while the model infers this one), reduce (the model's identity as attributes
// and a per-class summary in the log).
#include "mpi_stages/score/score_stage.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <span>
#include <nlohmann/json.hpp>

#include "core/engine/service.hpp"
#include "core/error.hpp"
#include "core/hdf5/result_file.hpp"
#include "core/mpi/comm.hpp"
#include "core/util/huge_pages.hpp"
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

// Rows [row, row + m) of the source read and prepared as training prepares them (crop,
// raw_robust; metadata standardised with the model's mean and std); `flagged` gets each stamp's
// zeroed bands. `meta` holds the unit's metadata columns, `offset` the batch's start in the unit.
learn::Batch prepare_batch(const hdf5::ResultReader& in, const Source& s, std::uint64_t row, std::uint64_t m,
                           const ModelCard& card, const std::vector<std::vector<double>>& meta, std::uint64_t offset,
                           std::span<std::int32_t> flagged) {
    const Column image = in.read_column(s.group + "/image", row, m);
    const auto& shape = image.shape();
    const int c = static_cast<int>(shape.at(0)), h = static_cast<int>(shape.at(1)), w = static_cast<int>(shape.at(2));
    if (c != card.spec.in_channels || h < card.pre.crop)
        throw DataError(s.file, s.group + "/image",
                        fmt::format("stamps ({}, {}, {}) do not fit the model ({} bands, crop {})", c, h, w,
                                    card.spec.in_channels, card.pre.crop));
    const std::size_t cell = static_cast<std::size_t>(c) * h * w,
                      out_cell = static_cast<std::size_t>(c) * card.pre.crop * card.pre.crop;
    learn::Batch b;
    b.n = static_cast<std::int64_t>(m), b.c = c, b.h = card.pre.crop, b.w = card.pre.crop;
    b.n_meta = static_cast<int>(meta.size());
    b.x.resize(m * out_cell);
    b.meta.resize(m * meta.size());
    const auto px = image.values<float>();
    std::vector<float> scratch;
    const learn::AugmentSpec none;
    for (std::uint64_t i = 0; i < m; ++i) {
        flagged[i] = learn::prepare_stamp(px.subspan(i * cell, cell), {}, c, h, w, card.pre, none, {},
                                          std::span<float>(b.x).subspan(i * out_cell, out_cell), scratch);
        for (std::size_t k = 0; k < meta.size(); ++k) {
            const double v = meta[k][offset + i];
            b.meta[i * meta.size() + k] = std::isfinite(v) ? static_cast<float>((v - card.meta_mean[k]) / card.meta_std[k]) : 0.f;
        }
    }
    return b;
}

Table empty_schema() {
    Table t;
    auto add = [&t](Column c, const char* what) {
        c.set_description(what);
        t.add(std::move(c));
    };
    add(Column("source", std::vector<std::string>{}), "stamp file: cutouts or injections");
    add(Column("source_row", std::vector<std::int64_t>{}), "row in cutouts.h5:/stamps or injections.h5:/injections");
    add(Column("galaxy_id", std::vector<std::string>{}), "the galaxy stamped (the host for injections and controls)");
    add(Column("class", std::vector<std::string>{}), "positive, negative, host, injection or control");
    add(Column("split", std::vector<std::string>{}), "HEALPix split of the sample stage: train, val or test");
    add(Column("logit", std::vector<float>{}), "the model's logit");
    add(Column("p_lens", std::vector<float>{}), "sigmoid(logit)");
    add(Column("flagged_bands", std::vector<std::int32_t>{}), "bands zeroed by raw_robust (no finite outer pixel or MAD 0)");
    return t;
}

}  // namespace

ScoreStage::ScoreStage() = default;
ScoreStage::~ScoreStage() = default;  // out of line: Scorer and HugePagesOff are complete here

void ScoreStage::declare_config(config::Schema& s) { score::declare_config(s); }

void ScoreStage::check_config(const engine::StageContext& ctx) const { (void)read_params(ctx.config, ctx.run_dir); }

std::vector<engine::OutputGroup> ScoreStage::output_groups(const engine::StageContext&) const {
    return {{"scores", "one row per scored stamp, in file then row order", empty_schema(), {}}};
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

Scorer& ScoreStage::scorer(const engine::StageContext& ctx) const {
    std::lock_guard lock(mu_);
    if (!scorer_) {
        huge_pages_off_ = std::make_unique<util::HugePagesOff>();  // until the stage ends (see huge_pages.hpp)
        const Params p = read_params(ctx.config, ctx.run_dir);
        torch::set_num_threads(mpi::threads_per_rank(p.threads, 1));  // no launcher: one rank on the node
        torch::Device device = torch::kCPU;
        try {
            device = learn::choose_device(p.device, mpi::node_local_rank(mpi::world_rank_or_zero()));
        } catch (const std::exception& e) {
            throw ConfigError("score.device", ctx.config.origin_of("score.device"), 0, e.what());
        }
        scorer_ = load_scorer(p.model, device);
    }
    return *scorer_;
}

const ModelCard& ScoreStage::card(const engine::StageContext& ctx) const {
    {
        std::lock_guard lock(mu_);
        if (scorer_) return scorer_->card();
        if (card_) return *card_;
    }
    auto c = std::make_unique<ModelCard>(read_model_card(read_params(ctx.config, ctx.run_dir).model));
    std::lock_guard lock(mu_);
    if (!card_) card_ = std::move(c);
    return *card_;
}

std::vector<int> ScoreStage::serving_ranks(const engine::StageContext& ctx, const mpi::Comm& comm) const {
    const Params p = read_params(ctx.config, ctx.run_dir);
    const int me = comm.rank();
    const RankView mine{mpi::node_local_rank(me), mpi::node_local_size(comm.size()),
                        p.device == "cpu" || !learn::cuda_available() ? 0 : static_cast<int>(torch::cuda::device_count())};
    std::vector<RankView> all;
    for (const auto& x : comm.allgather(fmt::format("{} {} {}", mine.local_rank, mine.local_size, mine.devices))) {
        RankView v;
        std::sscanf(x.c_str(), "%d %d %d", &v.local_rank, &v.local_size, &v.devices);
        all.push_back(v);
    }
    std::string note;
    auto ranks = learner_ranks(p.learners, all, note);
    if (me == 0 && !note.empty()) spdlog::warn("score: {}", note);
    return ranks;
}

std::vector<float> ScoreStage::serve(std::span<const std::int64_t> h, std::span<const float> x,
                                     const engine::StageContext& ctx) const {
    if (h.size() != 5) throw Error(fmt::format("score: a request of {} header values (5 expected)", h.size()));
    learn::Batch b;
    b.n = h[0], b.c = static_cast<int>(h[1]), b.h = static_cast<int>(h[2]), b.w = static_cast<int>(h[3]);
    b.n_meta = static_cast<int>(h[4]);
    const std::size_t pixels = static_cast<std::size_t>(b.n) * b.c * b.h * b.w;
    if (x.size() != pixels + static_cast<std::size_t>(b.n) * b.n_meta)
        throw Error(fmt::format("score: a request of {} values for {} stamps", x.size(), b.n));
    b.x.assign(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(pixels));
    b.meta.assign(x.begin() + static_cast<std::ptrdiff_t>(pixels), x.end());
    return scorer(ctx).logits(b);
}

namespace {

// The logits of a prepared batch: from this rank's model, or asked of its learner rank.
std::vector<float> infer(const learn::Batch& b, engine::ServiceClient* service, const std::function<Scorer&()>& model) {
    if (!service) return model().logits(b);
    const std::int64_t header[5] = {b.n, b.c, b.h, b.w, b.n_meta};
    std::vector<float> payload;
    payload.reserve(b.x.size() + b.meta.size());
    payload.insert(payload.end(), b.x.begin(), b.x.end());
    payload.insert(payload.end(), b.meta.begin(), b.meta.end());
    auto z = service->call(header, payload);
    if (static_cast<std::int64_t>(z.size()) != b.n)
        throw Error(fmt::format("score: learner rank {} returned {} logits for {} stamps", service->server(), z.size(), b.n));
    return z;
}

}  // namespace

engine::UnitOutput ScoreStage::process(const engine::WorkUnit& unit, const engine::StageContext& ctx) const {
    const Params p = read_params(ctx.config, ctx.run_dir);
    const auto j = nlohmann::json::parse(unit.payload);
    const Source s{j.at("source"), j.at("file"), j.at("group")};
    const std::uint64_t first = j.at("first"), n = j.at("count");
    const ModelCard& card = ctx.service ? this->card(ctx) : scorer(ctx).card();
    const std::function<Scorer&()> model = [&]() -> Scorer& { return scorer(ctx); };
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

    // The next batch is read and prepared on a second thread while the model infers this one
    // (the producer alone touches HDF5 while it runs; the future is joined before the next read).
    std::vector<float> logit(n), p_lens(n);
    std::vector<std::int32_t> flagged(n, 0);
    const auto batch_at = [&](std::uint64_t a) {
        return std::async(std::launch::async, [&, a] {
            const std::uint64_t m = std::min<std::uint64_t>(static_cast<std::uint64_t>(p.batch_size), n - a);
            return prepare_batch(in, s, first + a, m, card, meta, a, std::span<std::int32_t>(flagged).subspan(a, m));
        });
    };
    auto next = batch_at(0);
    for (std::uint64_t a = 0; a < n; a += static_cast<std::uint64_t>(p.batch_size)) {
        const learn::Batch b = next.get();
        if (a + static_cast<std::uint64_t>(p.batch_size) < n) next = batch_at(a + static_cast<std::uint64_t>(p.batch_size));
        const auto z = infer(b, ctx.service, model);
        for (std::int64_t i = 0; i < b.n; ++i) {
            logit[a + i] = z[i];
            p_lens[a + i] = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(z[i]))));
        }
    }
    Table t = empty_schema();
    std::vector<std::int64_t> rows(n);
    for (std::uint64_t i = 0; i < n; ++i) rows[i] = static_cast<std::int64_t>(first + i);
    Table out;
    for (const auto& col : t.columns()) {
        const std::string& name = col.name();
        Column v = name == "source"       ? Column(name, std::vector<std::string>(n, s.name))
                   : name == "source_row" ? Column(name, rows)
                   : name == "galaxy_id"  ? Column(name, galaxy)
                   : name == "class"      ? Column(name, klass)
                   : name == "split"      ? Column(name, split)
                   : name == "logit"      ? Column(name, logit)
                   : name == "p_lens"     ? Column(name, p_lens)
                                          : Column(name, flagged);
        v.set_description(col.description());
        out.add(std::move(v));
    }
    return {{"scores", std::move(out)}};
}

void ScoreStage::reduce(const engine::StageContext& ctx, const mpi::Comm& comm, const std::string& path) const {
    mpi::on_rank0(comm, [&] {
        const Params p = read_params(ctx.config, ctx.run_dir);
        const std::string file = model_file(p.model);
        const std::string sha = model_sha256(p.model);
        const ModelCard& card = this->card(ctx);
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
    std::lock_guard lock(mu_);
    huge_pages_off_.reset();
}

std::int64_t ScoreStage::memory_per_unit(const engine::WorkUnit& unit, const engine::StageContext& ctx) const {
    const Params p = read_params(ctx.config, ctx.run_dir);
    const std::int64_t batch = std::min<std::int64_t>(p.batch_size, unit.rows_out);
    // A batch of raw stamps and its prepared copy, the model (ResNet-18: ~45 MB) and the rows.
    return batch * 3 * 101 * 101 * 4 * 2 + (64 << 20) + unit.rows_out * 128;
}

}  // namespace dhs::stages
