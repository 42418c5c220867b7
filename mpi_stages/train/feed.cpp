// Feeds of batches to a learner and the data ranks' serving loop (see feed.hpp).
#include "mpi_stages/train/feed.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "core/error.hpp"

namespace dhs::stages::train {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The examples of item `k` of the epoch (train steps first, then val batches).
std::vector<std::int64_t> item_examples(const Params& p, const TrainingSet& set, const std::vector<std::int64_t>& order,
                                        const EpochPlan& plan, std::int64_t k, int learner, int learners) {
    if (k < plan.steps)
        return train_batch_examples(set, order, plan.first_step + k, learner, learners, p.batch_size);
    return val_batch_examples(set, k - plan.steps, learner, learners, p.eval_batch_size);
}

class RemoteFeed final : public Feed {
public:
    RemoteFeed(const mpi::Comm& world, const Params& p, const TrainingSet& set, const RankGroups& g)
        : world_(world), p_(p), set_(set), g_(g) {
        const std::size_t n = message_floats(std::max(p.batch_size, p.eval_batch_size), set, p.pre.crop);
        for (auto& b : buf_) b.resize(n);
    }
    void begin_epoch(const EpochPlan& plan) override {
        plan_ = plan;
        k_ = 0;
        post(0);
    }
    double next(learn::Batch& out) override {
        if (k_ >= plan_.steps + plan_.val_batches) throw Error("training: a learner asked for more batches than planned");
        const auto t0 = Clock::now();
        const std::int64_t got = pending_.wait(true);
        const double waited = seconds_since(t0);
        auto& msg = buf_[static_cast<std::size_t>(k_ % 2)];
        post(++k_);  // the next receive goes out before this batch is trained on
        unpack(std::span<const float>(msg.data(), static_cast<std::size_t>(got)), set_, p_.pre.crop, out);
        return waited;
    }

private:
    void post(std::int64_t k) {
        if (k >= plan_.steps + plan_.val_batches) return;
        const bool train = k < plan_.steps;
        const std::int64_t idx = train ? plan_.first_step + k : k - plan_.steps;
        const int src = g_.feeders[static_cast<std::size_t>(idx % static_cast<std::int64_t>(g_.feeders.size()))];
        pending_ = world_.irecv(std::span<float>(buf_[static_cast<std::size_t>(k % 2)]), src, train ? kTrainBatch : kValBatch);
    }
    const mpi::Comm& world_;
    const Params& p_;
    const TrainingSet& set_;
    const RankGroups& g_;
    EpochPlan plan_;
    std::int64_t k_ = 0;
    std::vector<float> buf_[2];
    mpi::Request pending_;
};

class LocalFeed final : public Feed {
public:
    LocalFeed(const Params& p, const TrainingSet& set, const RankGroups& g)
        : p_(p), set_(set), g_(g), worker_([this] { produce(); }) {}
    ~LocalFeed() override {
        {
            std::lock_guard lock(mu_);
            stop_ = true;
        }
        cv_.notify_all();
        worker_.join();
    }
    void begin_epoch(const EpochPlan& plan) override {
        std::lock_guard lock(mu_);
        plans_.push_back(plan);
        cv_.notify_all();
    }
    double next(learn::Batch& out) override {
        const auto t0 = Clock::now();
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return !ready_.empty() || error_; });
        if (error_) std::rethrow_exception(error_);
        out = std::move(ready_.front());
        ready_.pop_front();
        cv_.notify_all();
        return seconds_since(t0);
    }

private:
    void produce() {
        try {
            BatchMaker maker(p_, set_);
            for (;;) {
                EpochPlan plan;
                {
                    std::unique_lock lock(mu_);
                    cv_.wait(lock, [this] { return stop_ || !plans_.empty(); });
                    if (stop_) return;
                    plan = plans_.front();
                    plans_.pop_front();
                }
                const auto order = epoch_order(static_cast<std::int64_t>(set_.index_of_split[0].size()), p_.seed, plan.epoch);
                for (std::int64_t k = 0; k < plan.steps + plan.val_batches; ++k) {
                    const auto ex = item_examples(p_, set_, order, plan, k, g_.learner, g_.learners());
                    learn::Batch b;
                    maker.make(ex, plan.epoch, k < plan.steps, b);
                    std::unique_lock lock(mu_);
                    cv_.wait(lock, [this] { return stop_ || ready_.size() < 2; });
                    if (stop_) return;
                    ready_.push_back(std::move(b));
                    cv_.notify_all();
                }
            }
        } catch (...) {
            std::lock_guard lock(mu_);
            error_ = std::current_exception();
            cv_.notify_all();
        }
    }
    const Params& p_;
    const TrainingSet& set_;
    const RankGroups& g_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<EpochPlan> plans_;
    std::deque<learn::Batch> ready_;
    std::exception_ptr error_;
    bool stop_ = false;
    std::thread worker_;
};

}  // namespace

EpochPlan epoch_plan(const Params& p, const TrainingSet& set, int learner, int learners, std::int64_t epoch,
                     std::int64_t first_step) {
    EpochPlan e;
    e.epoch = epoch;
    e.first_step = first_step;
    e.steps = steps_per_epoch(static_cast<std::int64_t>(set.index_of_split[0].size()), learners, p.batch_size) - first_step;
    e.val_batches = val_batches(set, learner, learners, p.eval_batch_size);
    return e;
}

std::unique_ptr<Feed> remote_feed(const mpi::Comm& world, const Params& p, const TrainingSet& set, const RankGroups& g) {
    return std::make_unique<RemoteFeed>(world, p, set, g);
}

std::unique_ptr<Feed> local_feed(const Params& p, const TrainingSet& set, const RankGroups& g) {
    return std::make_unique<LocalFeed>(p, set, g);
}

void serve(const mpi::Comm& world, const Params& p, const TrainingSet& set, const RankGroups& g,
           std::int64_t start_epoch, std::int64_t start_step) {
    BatchMaker maker(p, set);
    const auto feeders = static_cast<std::int64_t>(g.feeders.size());
    const int dest = g.learner_ranks[static_cast<std::size_t>(g.learner)];
    std::vector<float> msg[2];
    mpi::Request sent[2];
    int slot = 0;
    for (std::int64_t epoch = start_epoch; epoch < p.epochs; ++epoch) {
        const EpochPlan plan = epoch_plan(p, set, g.learner, g.learners(), epoch, epoch == start_epoch ? start_step : 0);
        const auto order = epoch_order(static_cast<std::int64_t>(set.index_of_split[0].size()), p.seed, epoch);
        for (std::int64_t k = 0; k < plan.steps + plan.val_batches; ++k) {
            const bool train = k < plan.steps;
            const std::int64_t idx = train ? plan.first_step + k : k - plan.steps;
            if (idx % feeders != g.feeder_index) continue;
            learn::Batch b;
            maker.make(item_examples(p, set, order, plan, k, g.learner, g.learners()), epoch, train, b);
            sent[slot].wait(true);  // the buffer of two messages ago is free again
            pack(b, msg[slot]);
            sent[slot] = world.isend(std::span<const float>(msg[slot]), dest, train ? kTrainBatch : kValBatch);
            slot ^= 1;
        }
        sent[0].wait(true);
        sent[1].wait(true);
        std::vector<std::int64_t> word(1);
        world.recv(std::span<std::int64_t>(word), g.learner_ranks[0], kControl, true);
        if (word[0] == 0) return;
    }
}

void tell_data_ranks(const mpi::Comm& world, const RankGroups& g, bool go_on) {
    const std::vector<std::int64_t> word{go_on ? 1 : 0};
    std::vector<mpi::Request> sent;
    for (int r = 0; r < world.size(); ++r)
        if (std::find(g.learner_ranks.begin(), g.learner_ranks.end(), r) == g.learner_ranks.end())
            sent.push_back(world.isend(std::span<const std::int64_t>(word), r, kControl));
    for (auto& s : sent) s.wait(true);
}

}  // namespace dhs::stages::train
