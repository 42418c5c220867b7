// The `train` stage (see train_stage.hpp): resolves the rank groups and the training set
// before any work, resumes from the checkpoints when asked, runs learners and data ranks, and
// writes train.h5 and model/ at the end.
#include "mpi_stages/train/train_stage.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include "core/engine/table_file.hpp"
#include "core/error.hpp"
#include "core/mpi/comm.hpp"
#include "core/util/huge_pages.hpp"
#include "mpi_stages/train/feed.hpp"
#include "mpi_stages/train/learner_loop.hpp"
#include "mpi_stages/train/outputs.hpp"

namespace fs = std::filesystem;

namespace dhs::stages {

using namespace train;

namespace {

// The device a learner trains on; a CUDA request without a GPU is a configuration error.
torch::Device learner_device(const Params& p, int local) {
    try {
        return learn::choose_device(p.device, local);
    } catch (const std::exception& e) {
        throw ConfigError("train.device", "config", 0, e.what());
    }
}

std::int64_t checked_steps(const Params& p, const TrainingSet& set, int learners) {
    const auto n = static_cast<std::int64_t>(set.index_of_split[0].size());
    const std::int64_t s = steps_per_epoch(n, learners, p.batch_size);
    if (s == 0)
        throw ConfigError("train.batch_size", "config", 0,
                          fmt::format("the train split of '{}' has {} stamps, fewer than {} learners x batch {}",
                                      set.stamps_file, n, learners, p.batch_size));
    return s;
}

struct Setup {
    Params p;
    TrainingSet set;
    RankGroups groups;
    std::int64_t steps = 0;
};

// Everything that can be known before any work: config, devices, inputs, groups. Every rank
// reads the same files and so fails alike.
Setup prepare(const engine::StageContext& ctx, const mpi::Comm& comm) {
    Setup s{read_params(ctx.config, ctx.run_dir), {}, {}, 0};
    const int has_device = s.p.device != "cpu" && learn::cuda_available() &&
                           mpi::node_local_rank(comm.rank()) < static_cast<int>(torch::cuda::device_count());
    if (s.p.device == "cuda" && !learn::cuda_available())
        throw ConfigError("train.device", ctx.config.origin_of("train.device"), 0,
                          "cuda requested, but this build's libtorch sees no CUDA device (use auto or cpu)");
    std::vector<int> devices;
    for (const auto& x : comm.allgather(std::to_string(has_device))) devices.push_back(std::stoi(x));
    s.groups = make_groups(comm.rank(), comm.size(), choose_learner_ranks(s.p, devices));
    s.set = build_training_set(s.p);
    s.steps = checked_steps(s.p, s.set, s.groups.learners());
    return s;
}

// The resume point, read by rank 0 and shared; a fresh run clears old checkpoints.
TrainState starting_state(const Params& p, const mpi::Comm& comm, bool resume) {
    std::string text;
    mpi::on_rank0(comm, [&] {
        fs::create_directories(p.model_dir);
        if (resume) {
            text = to_json(load_state(p.model_dir));
        } else {
            clear_checkpoints(p.model_dir);
            text = to_json(TrainState{});
        }
    });
    comm.broadcast(text);
    return state_from_json(text, p.model_dir + "/state.json");
}

}  // namespace

void TrainStage::declare_config(config::Schema& schema) { train::declare_config(schema); }

void TrainStage::check_config(const engine::StageContext& ctx) const { (void)read_params(ctx.config, ctx.run_dir); }

void TrainStage::run(const engine::StageContext& ctx, const mpi::Comm& comm, const engine::CollectiveRun& cr) const {
    const util::HugePagesOff huge_pages_off;  // libtorch's buffers pay for huge pages (huge_pages.hpp)
    Setup s = prepare(ctx, comm);
    const RankGroups& g = s.groups;
    TrainState state = starting_state(s.p, comm, cr.resume);
    if (comm.rank() == 0)
        spdlog::info("train: {} learners ({}), {} data ranks; {} train / {} val / {} test stamps of '{}' ({} dropped); "
                     "{} steps per epoch of {} per learner; {}",
                     g.learners(), s.p.device, comm.size() - g.learners(), s.set.index_of_split[0].size(),
                     s.set.index_of_split[1].size(), s.set.index_of_split[2].size(), s.set.stamps_file, s.set.dropped,
                     s.steps, s.p.batch_size,
                     state.global_step > 0 ? fmt::format("resuming at epoch {} step {}", state.epoch + 1, state.step)
                                           : std::string("from scratch"));
    mpi::Comm learners = comm.split(g.is_learner ? 0 : -1, comm.rank());
    if (!g.is_learner) {
        if (!state.finished) train::serve(comm, s.p, s.set, g, state.epoch, state.step);
    } else {
        torch::set_num_threads(mpi::threads_per_rank(s.p.threads, comm.size()));
        learn::Learner learner(s.p.model, optim_spec(s.p, s.steps), s.p.loss,
                               learner_device(s.p, mpi::node_local_rank(comm.rank())), s.p.seed);
        if (!state.checkpoint.empty()) {
            learner.load_checkpoint_bytes(read_file((fs::path(s.p.model_dir) / state.checkpoint).string()));
        } else {
            auto w = learner.flat_parameters();  // identical initial weights: learner 0's
            learners.broadcast(std::span<float>(w), 0);
            learner.set_flat_parameters(w);
        }
        const LearnerRun lr{comm, learners, s.p, s.set, g, ctx.config.get_real("run.progress_interval_s")};
        state = train_learner(lr, learner, std::move(state));
        if (learners.rank() == 0) write_outputs(ctx, s.p, s.set, state, learner, cr);
    }
    comm.barrier();
}

std::string TrainStage::plan_text(const engine::StageContext& ctx, int ranks) const {
    const Params p = read_params(ctx.config, ctx.run_dir);
    const TrainingSet set = build_training_set(p);
    std::vector<int> devices(static_cast<std::size_t>(ranks), 0);
    const auto learner_ranks = choose_learner_ranks(p, devices);
    const int L = static_cast<int>(learner_ranks.size());
    const std::int64_t steps = checked_steps(p, set, L);
    return plan_summary(p, set, L, ranks, steps);
}

// Before its inputs exist: a training set of the size the earlier stages are expected to write
// (the sample's positives and negatives, or the injections and controls), split by
// sample.split_fractions; nothing dropped.
std::string TrainStage::estimate_text(const engine::StageContext& ctx, int ranks,
                                      const engine::PlanEstimates& earlier) const {
    const Params p = read_params(ctx.config, ctx.run_dir);
    const bool real = p.dataset == "real";
    const auto it = earlier.find(real ? "sample" : "inject");
    if (it == earlier.end()) return "";
    const double n = real ? it->second.rows_of("positives") + it->second.rows_of("negatives")
                          : it->second.rows_of("injections");
    const auto f = ctx.config.get_reals("sample.split_fractions");
    TrainingSet set;
    set.stamps_file = real ? p.cutouts_file : p.injections_file;
    set.counts_json = "(estimated)";
    for (std::size_t k = 0; k < 3 && k < f.size(); ++k)
        set.index_of_split[k].resize(static_cast<std::size_t>(std::llround(n * f[k])));
    std::vector<int> devices(static_cast<std::size_t>(ranks), 0);
    const int L = static_cast<int>(choose_learner_ranks(p, devices).size());
    const std::int64_t steps = steps_per_epoch(static_cast<std::int64_t>(set.index_of_split[0].size()), L, p.batch_size);
    return plan_summary(p, set, L, ranks, steps);
}

}  // namespace dhs::stages
