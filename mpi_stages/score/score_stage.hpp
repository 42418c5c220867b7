// The `score` stage (SPEC Stage 5, scoring): every stamp of cutouts.h5 (every target set) and
// injections.h5 (injections and controls) scored by the run's best model, or by `score.model`
// (another run's model or a TorchScript file), with the preprocessing training used
// (learn::prepare_stamp with model.json's settings, no augmentation). Units are consecutive rows
// of one file, so scores.h5:/scores is in file order for any rank count. Without learner ranks
// each rank infers on its own device; with them (`score.learners`) the data ranks read and
// prepare batches and their learner rank infers (engine serving ranks, core/engine/service.hpp).
#pragma once

#include <memory>

#include "core/config/config.hpp"
#include "core/engine/stage.hpp"

namespace dhs::stages {

namespace score {
class Inference;
struct InferenceParams;
}
class ScoreStage final : public engine::Stage {
public:
    ScoreStage();
    ~ScoreStage() override;
    std::string name() const override { return "score"; }
    std::string output_file() const override { return "scores.h5"; }
    std::string description() const override {
        return "logit and p_lens of every cutout and injection stamp by the trained (or a given) model";
    }
    void check_config(const engine::StageContext& ctx) const override;
    std::vector<engine::OutputGroup> output_groups(const engine::StageContext& ctx) const override;
    std::vector<engine::WorkUnit> plan(const engine::StageContext& ctx) const override;
    engine::UnitOutput process(const engine::WorkUnit& unit, const engine::StageContext& ctx) const override;
    void reduce(const engine::StageContext& ctx, const mpi::Comm& comm, const std::string& path) const override;
    std::int64_t memory_per_unit(const engine::WorkUnit& unit, const engine::StageContext& ctx) const override;
    std::optional<engine::StageEstimate> estimate(const engine::StageContext& ctx, const engine::PlanEstimates& earlier,
                                                  const std::vector<engine::WorkUnit>* plan) const override;
    /// Learner ranks (`score.learners`) infer batches that the other ranks read and prepare.
    std::vector<int> serving_ranks(const engine::StageContext& ctx, const mpi::Comm& comm) const override;
    std::vector<float> serve(std::span<const std::int64_t> header, std::span<const float> payload,
                             const engine::StageContext& ctx) const override;

    static void declare_config(config::Schema& schema);

private:
    std::unique_ptr<score::Inference> inference_;  ///< the model, loaded once per process
};

}  // namespace dhs::stages
