// A learner's side of training: epochs of data-parallel steps fed by its Feed, BatchNorm
// statistics averaged over the learners, validation (loss, AUC) on the val split, early
// stopping, checkpoints (every epoch and every N steps) and the best model so far.
#pragma once

#include "core/mpi/comm.hpp"
#include "kernels/learn/learner.hpp"
#include "mpi_stages/train/checkpoint.hpp"
#include "mpi_stages/train/train.hpp"

namespace dhs::stages::train {

struct LearnerRun {
    const mpi::Comm& world;
    const mpi::Comm& learners;       ///< the learners' communicator
    const Params& p;
    const TrainingSet& set;
    const RankGroups& groups;
    double progress_interval_s = 30;
};

/// @brief The optimiser settings for this set and learner count (warm-up and cosine in steps).
learn::OptimSpec optim_spec(const Params& p, std::int64_t steps_per_epoch);

/// @brief Trains from `state` until the last epoch or early stopping. Collective over the
/// learners (and talks to the data ranks). @returns the final state (finished).
TrainState train_learner(const LearnerRun& run, learn::Learner& learner, TrainState state);

}  // namespace dhs::stages::train
