// Rank groups (learners and the data ranks that feed them) and the epoch schedule: one global
// permutation per (seed, epoch), cut into equal steps for every learner.
#include <fmt/format.h>

#include <numeric>

#include "core/error.hpp"
#include "kernels/stats/roc_auc.hpp"
#include "mpi_stages/train/train.hpp"

namespace dhs::stages::train {


std::vector<int> choose_learner_ranks(const Params& p, const std::vector<int>& has_device) {
    const int world = static_cast<int>(has_device.size());
    std::vector<int> ranks;
    if (p.learners == "auto") {
        for (int r = 0; r < world; ++r)
            if (has_device[static_cast<std::size_t>(r)]) ranks.push_back(r);
        if (ranks.empty()) ranks.push_back(0);
        return ranks;
    }
    const int n = std::stoi(p.learners);
    if (n > world)
        throw ConfigError("train.learners", "config", 0,
                          fmt::format("{} learners asked for, but the job has only {} ranks", n, world));
    for (int r = 0; r < n; ++r) ranks.push_back(r);
    return ranks;
}

RankGroups make_groups(int world_rank, int world_size, const std::vector<int>& learner_ranks) {
    RankGroups g;
    g.learner_ranks = learner_ranks;
    const int L = g.learners();
    std::vector<int> learner_of(static_cast<std::size_t>(world_size), -1);
    for (int l = 0; l < L; ++l) learner_of[static_cast<std::size_t>(learner_ranks[static_cast<std::size_t>(l)])] = l;
    g.is_learner = learner_of[static_cast<std::size_t>(world_rank)] >= 0;
    std::vector<std::vector<int>> feeders(static_cast<std::size_t>(L));
    int j = 0;
    for (int r = 0; r < world_size; ++r)
        if (learner_of[static_cast<std::size_t>(r)] < 0) {
            const int l = j++ % L;
            if (r == world_rank) {
                g.learner = l;
                g.feeder_index = static_cast<int>(feeders[static_cast<std::size_t>(l)].size());
            }
            feeders[static_cast<std::size_t>(l)].push_back(r);
        }
    if (g.is_learner) g.learner = learner_of[static_cast<std::size_t>(world_rank)];
    g.feeders = feeders[static_cast<std::size_t>(g.learner)];
    return g;
}

std::int64_t steps_per_epoch(std::int64_t n_train, int learners, std::int64_t batch) {
    return n_train / (static_cast<std::int64_t>(learners) * batch);
}

std::vector<std::int64_t> epoch_order(std::int64_t n, std::uint64_t seed, std::int64_t epoch) {
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), std::int64_t{0});
    std::uint64_t state = seed * 0x2545F4914F6CDD1Dull ^ (static_cast<std::uint64_t>(epoch) + 0x5851F42D4C957F2Dull);
    for (std::int64_t i = n - 1; i > 0; --i) {  // Fisher-Yates with an unbiased bounded draw
        const std::uint64_t bound = static_cast<std::uint64_t>(i) + 1;
        const std::uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
        std::uint64_t r;
        do r = kernels::splitmix64(state++);
        while (r >= limit);
        std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(r % bound)]);
    }
    return order;
}

}  // namespace dhs::stages::train
