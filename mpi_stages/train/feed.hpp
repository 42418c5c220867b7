// How batches reach a learner, epoch by epoch, in the order it consumes them (the epoch's
// training steps, then its validation batches): from its data ranks over MPI (double
// buffered: the next batch's receive is posted before the current one is trained on), or,
// with no data ranks, from a producer thread of its own. `serve` is the data ranks' side.
#pragma once

#include <memory>

#include "core/mpi/comm.hpp"
#include "mpi_stages/train/batches.hpp"

namespace dhs::stages::train {

/// @brief Message tags between learners and data ranks.
enum Tag : int { kTrainBatch = 101, kValBatch = 102, kControl = 103 };

/// @brief The epoch's plan for learner `learner` (same on the learner and its data ranks).
EpochPlan epoch_plan(const Params& p, const TrainingSet& set, int learner, int learners, std::int64_t epoch,
                     std::int64_t first_step);

class Feed {
public:
    virtual ~Feed() = default;
    /// @brief Starts an epoch: the batches of `plan` are made / received from now on.
    virtual void begin_epoch(const EpochPlan& plan) = 0;
    /// @brief The next batch of the epoch (blocks until it is there). @returns seconds waited.
    virtual double next(learn::Batch& out) = 0;
};

/// @brief A feed from this learner's data ranks (`groups.feeders`) over `world`.
std::unique_ptr<Feed> remote_feed(const mpi::Comm& world, const Params& p, const TrainingSet& set,
                                  const RankGroups& groups);
/// @brief A feed made here by a producer thread (no data ranks), two batches ahead.
std::unique_ptr<Feed> local_feed(const Params& p, const TrainingSet& set, const RankGroups& groups);

/// @brief A data rank's work: make its share of its learner's batches epoch by epoch, send
/// them (two in flight), and after each epoch wait for the learners' word to go on or stop.
void serve(const mpi::Comm& world, const Params& p, const TrainingSet& set, const RankGroups& groups,
           std::int64_t start_epoch, std::int64_t start_step);

/// @brief Learner 0's word to every data rank after an epoch: go on (true) or stop.
void tell_data_ranks(const mpi::Comm& world, const RankGroups& groups, bool go_on);

}  // namespace dhs::stages::train
