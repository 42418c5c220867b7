// Batches of the training stage: which examples make up each learner's step (from the epoch's
// permutation) and each validation batch, how a data rank turns them into model inputs (HDF5
// rows read in one selection, the shared preprocessing path), and the one flat float message
// a batch travels in from a data rank to its learner.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/hdf5/result_file.hpp"
#include "kernels/learn/learner.hpp"
#include "mpi_stages/train/train.hpp"

namespace dhs::stages::train {

/// @brief What one epoch asks of one learner, in the order it consumes it: `steps` training
/// batches (from `first_step`), then `val_batches` validation batches.
struct EpochPlan {
    std::int64_t epoch = 0, first_step = 0, steps = 0, val_batches = 0;
};

/// @brief Positions (in TrainingSet::examples) of learner `l`'s batch at step `step` of the
/// epoch whose permutation is `order` (of the train split).
std::vector<std::int64_t> train_batch_examples(const TrainingSet& set, const std::vector<std::int64_t>& order,
                                               std::int64_t step, int learner, int learners, std::int64_t batch);
/// @brief Learner `l`'s share of the val split (every L-th example) and its j-th batch of it.
std::int64_t val_batches(const TrainingSet& set, int learner, int learners, std::int64_t batch);
std::vector<std::int64_t> val_batch_examples(const TrainingSet& set, std::int64_t j, int learner, int learners,
                                             std::int64_t batch);

/// @brief Reads and prepares stamps into batches. One per data rank (or producer thread).
class BatchMaker {
public:
    BatchMaker(const Params& p, const TrainingSet& set);
    /// @brief Fills `out` with the examples at `positions`, augmented for `epoch` when `augment`.
    void make(std::span<const std::int64_t> positions, std::int64_t epoch, bool augment, learn::Batch& out);
    std::int64_t flagged_bands() const { return flagged_; }

private:
    const Params& p_;
    const TrainingSet& set_;
    hdf5::ResultReader reader_;
    std::vector<float> scratch_;
    std::int64_t flagged_ = 0;
};

/// @brief Floats of the largest message of a batch of up to `n` rows.
std::size_t message_floats(std::int64_t n, const TrainingSet& set, int crop);
/// @brief A batch as one float message ([n, x, meta, target, weight]), and back.
void pack(const learn::Batch& b, std::vector<float>& msg);
void unpack(std::span<const float> msg, const TrainingSet& set, int crop, learn::Batch& b);

}  // namespace dhs::stages::train
