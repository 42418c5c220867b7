// What training leaves behind: RUN_DIR/train.h5 (/history per epoch; the resolved training
// config and the class x split counts as attributes), model/model.json (how to rebuild and
// feed the model), model/weights-last.pt beside the best model/weights.pt; and the `dhs plan` text.
#pragma once

#include <string>

#include "core/engine/stage.hpp"
#include "kernels/learn/learner.hpp"
#include "mpi_stages/train/checkpoint.hpp"
#include "mpi_stages/train/train.hpp"

namespace dhs::stages::train {

/// @brief Writes train.h5 and the model files. Rank-local (learner 0).
void write_outputs(const engine::StageContext& ctx, const Params& p, const TrainingSet& set, const TrainState& state,
                   learn::Learner& learner, const engine::CollectiveRun& run);

/// @brief The rank groups, data counts, steps and memory per rank for `dhs plan`.
std::string plan_summary(const Params& p, const TrainingSet& set, int learners, int ranks, std::int64_t steps);

}  // namespace dhs::stages::train
