// The `train` stage (SPEC Stage 5): trains the lens finder on the run's stamps with a rank
// group: learner ranks (one per GPU, or N CPU ranks) train data-parallel (one gradient
// allreduce per step), the other ranks read, augment and batch stamps for them. Writes
// RUN_DIR/train.h5 (/history), RUN_DIR/model/ (checkpoints, weights.pt, model.json); its
// checkpoints are its journal, so `dhs run --resume` continues where a killed run stopped.
#pragma once

#include "core/config/config.hpp"
#include "core/engine/stage.hpp"

namespace dhs::stages {

class TrainStage final : public engine::CollectiveStage {
public:
    std::string name() const override { return "train"; }
    std::string description() const override {
        return "lens-finder training (ResNet-18 / CNN) on learner ranks fed by data ranks; history, checkpoints, weights";
    }
    void check_config(const engine::StageContext& ctx) const override;
    void run(const engine::StageContext& ctx, const mpi::Comm& comm, const engine::CollectiveRun& run) const override;
    std::string plan_text(const engine::StageContext& ctx, int ranks) const override;
    std::string estimate_text(const engine::StageContext& ctx, int ranks,
                              const engine::PlanEstimates& earlier) const override;

    /// @brief Declares the `train.*` config keys.
    static void declare_config(config::Schema& schema);
};

}  // namespace dhs::stages
