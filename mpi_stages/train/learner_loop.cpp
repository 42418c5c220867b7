// A learner's epochs (see learner_loop.hpp).
#include "mpi_stages/train/learner_loop.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <cstring>

#include "core/engine/progress.hpp"
#include "core/error.hpp"
#include "kernels/stats/roc_auc.hpp"
#include "mpi_stages/train/feed.hpp"

namespace dhs::stages::train {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void average_bn(const mpi::Comm& learners, learn::Learner& learner) {
    auto bn = learner.flat_bn_statistics();
    if (bn.empty() || learners.size() == 1) return;
    learners.allreduce_sum_inplace(std::span<float>(bn));
    for (auto& v : bn) v /= static_cast<float>(learners.size());
    learner.set_flat_bn_statistics(bn);
}

// All learners' (logit, target, weight) of the val split, in learner then batch order.
struct ValScores {
    std::vector<float> logit, target, weight;
};

ValScores gather_val(const mpi::Comm& learners, const ValScores& mine) {
    std::string bytes;
    for (const auto* v : {&mine.logit, &mine.target, &mine.weight})
        bytes.append(reinterpret_cast<const char*>(v->data()), v->size() * sizeof(float));
    ValScores all;
    for (const auto& b : learners.allgather(bytes)) {
        const std::size_t n = b.size() / (3 * sizeof(float));
        const auto* f = reinterpret_cast<const float*>(b.data());
        all.logit.insert(all.logit.end(), f, f + n);
        all.target.insert(all.target.end(), f + n, f + 2 * n);
        all.weight.insert(all.weight.end(), f + 2 * n, f + 3 * n);
    }
    return all;
}

// Weighted binary cross-entropy (the training loss without focal term) and AUC of the val split.
std::pair<double, double> val_metrics(const ValScores& v, std::int64_t epoch) {
    std::vector<double> pos, neg;
    double loss = 0;
    for (std::size_t i = 0; i < v.logit.size(); ++i) {
        const double x = v.logit[i], t = v.target[i];
        if (!std::isfinite(x))
            throw Error(fmt::format("training diverged: non-finite val logits at epoch {} (lower train.lr?)", epoch));
        loss += v.weight[i] * (std::max(x, 0.0) - x * t + std::log1p(std::exp(-std::abs(x))));
        (t >= 0.5 ? pos : neg).push_back(x);
    }
    return {v.logit.empty() ? 0.0 : loss / static_cast<double>(v.logit.size()), kernels::roc_auc(pos, neg)};
}

class StepProgress {
public:
    StepProgress(bool on, double interval, std::int64_t total_steps)
        : on_(on), interval_(interval), total_(total_steps), start_(Clock::now()), last_(start_) {}
    void update(std::int64_t epoch, std::int64_t epochs, std::int64_t step, std::int64_t steps, std::int64_t done,
                double images_per_s, double loss) {
        if (!on_ || since(last_) < interval_) return;
        last_ = Clock::now();
        const double rate = done / std::max(1e-9, since(start_));
        spdlog::info("train: epoch {}/{} step {}/{} | {:.0f} images/s | loss {:.4f} | ETA {} (at most, before early stopping)",
                     epoch + 1, epochs, step, steps, images_per_s, loss,
                     engine::format_duration(static_cast<double>(total_ - done) / std::max(rate, 1e-9)));
    }

private:
    bool on_;
    double interval_;
    std::int64_t total_;
    Clock::time_point start_, last_;
};

}  // namespace

learn::OptimSpec optim_spec(const Params& p, std::int64_t steps) {
    learn::OptimSpec o;
    o.lr = p.lr;
    o.weight_decay = p.weight_decay;
    o.warmup_steps = static_cast<std::int64_t>(std::llround(p.warmup_epochs * static_cast<double>(steps)));
    o.total_steps = std::max<std::int64_t>(1, p.epochs * steps);
    o.min_lr_fraction = p.min_lr_fraction;
    return o;
}

TrainState train_learner(const LearnerRun& run, learn::Learner& learner, TrainState state) {
    const Params& p = run.p;
    const int L = run.learners.size(), me = run.groups.learner;
    const bool lead = run.learners.rank() == 0;
    const std::int64_t S = steps_per_epoch(static_cast<std::int64_t>(run.set.index_of_split[0].size()), L, p.batch_size);
    const learn::OptimSpec optim = optim_spec(p, S);
    auto feed = run.groups.feeders.empty() ? local_feed(p, run.set, run.groups) : remote_feed(run.world, p, run.set, run.groups);
    // One learner has nothing to average (and skips the flat gradient copy altogether).
    const learn::AverageFn average = L == 1 ? learn::AverageFn{} : [&](std::span<float> g) {
        run.learners.allreduce_sum_inplace(g);
        for (auto& v : g) v /= static_cast<float>(L);
    };
    auto checkpoint = [&] {
        average_bn(run.learners, learner);
        if (lead) save_checkpoint(p.model_dir, state, learner.checkpoint_bytes());
    };
    StepProgress progress(lead && run.world.rank() == 0, run.progress_interval_s, (p.epochs - state.epoch) * S - state.step);
    std::int64_t done = 0;
    learn::Batch batch;
    while (!state.finished) {
        const std::int64_t epoch = state.epoch;
        const EpochPlan plan = epoch_plan(p, run.set, me, L, epoch, state.step);
        feed->begin_epoch(plan);
        const auto t0 = Clock::now();
        double wait = 0, loss_sum = 0;
        for (std::int64_t k = 0; k < plan.steps; ++k) {
            wait += feed->next(batch);
            loss_sum += learner.train_step(batch, average);
            ++state.global_step, ++done;
            state.step = plan.first_step + k + 1;
            progress.update(epoch, p.epochs, state.step, S, done,
                            static_cast<double>((k + 1) * p.batch_size * L) / since(t0), loss_sum / static_cast<double>(k + 1));
            if (p.checkpoint_every_steps > 0 && state.global_step % p.checkpoint_every_steps == 0 && state.step < S)
                checkpoint();
        }
        const double train_s = since(t0);
        // Validation with BatchNorm statistics averaged over the learners.
        average_bn(run.learners, learner);
        ValScores mine;
        for (std::int64_t j = 0; j < plan.val_batches; ++j) {
            wait += feed->next(batch);
            const auto logits = learner.predict(batch);
            mine.logit.insert(mine.logit.end(), logits.begin(), logits.end());
            mine.target.insert(mine.target.end(), batch.target.begin(), batch.target.end());
            mine.weight.insert(mine.weight.end(), batch.weight.begin(), batch.weight.end());
        }
        const auto [val_loss, val_auc] = val_metrics(gather_val(run.learners, mine), epoch);
        const double seconds = since(t0);
        std::vector<double> sums{loss_sum, static_cast<double>(plan.steps), wait, seconds};
        run.learners.allreduce_sum_inplace(std::span<double>(sums));
        HistoryRow row{epoch, plan.steps, sums[1] > 0 ? sums[0] / sums[1] : NAN, val_loss, val_auc,
                       learn::lr_at(optim, std::max<std::int64_t>(0, state.global_step - 1)),
                       static_cast<double>(plan.steps * p.batch_size * L) / std::max(train_s, 1e-9), sums[2] / sums[3],
                       seconds};
        state.history.push_back(row);
        const bool improved = val_auc > state.best_auc;
        if (improved) {
            state.best_auc = val_auc, state.best_epoch = epoch, state.bad_epochs = 0;
            if (lead) {
                const auto w = learner.weights_pt();
                write_file_atomically(p.model_dir, "weights.pt", w.data(), w.size());
                const std::string c = learner.checkpoint_bytes();
                write_file_atomically(p.model_dir, "checkpoint-best.pt", c.data(), c.size());
            }
        } else {
            ++state.bad_epochs;
        }
        state.epoch = epoch + 1, state.step = 0;
        if (state.bad_epochs >= p.patience) state.finished = true, state.stop_reason = "early stopping (patience)";
        if (state.epoch >= p.epochs) state.finished = true, state.stop_reason = state.stop_reason.empty() ? "last epoch" : state.stop_reason;
        if (lead) tell_data_ranks(run.world, run.groups, !state.finished);
        if (lead && run.world.rank() == 0)
            spdlog::info("train: epoch {}/{}: train loss {:.4f}, val loss {:.4f}, val AUC {:.4f}{} | {:.0f} images/s, "
                         "data wait {:.1f}%, {:.1f}s",
                         epoch + 1, p.epochs, row.train_loss, val_loss, val_auc, improved ? " (best)" : "",
                         row.images_per_s, 100 * row.data_wait_fraction, seconds);
        checkpoint();
    }
    return state;
}

}  // namespace dhs::stages::train
