// The `inject` stage (SPEC Stage 3): lensed sources (SIE + shear, Sersic or template-bank
// sources) rendered into real host stamps of cutouts.h5 following a task design (grid_small,
// sota, the 385-cell selection-function grid or the prior mode) with paired and unpaired
// controls; one unit per batch of tasks in the hosts' brick order; rows in canonical order,
// the same for any rank count. Writes injections.h5 (/injections, /coverage, /calibration).
#pragma once

#include "core/config/config.hpp"
#include "core/engine/stage.hpp"

namespace dhs::stages {

class InjectStage final : public engine::Stage {
public:
    std::string name() const override { return "inject"; }
    std::string description() const override {
        return "injection-recovery tasks: lensed sources added to host stamps, controls, grids, selection function";
    }
    void check_config(const engine::StageContext& ctx) const override;
    std::string output_file() const override { return "injections.h5"; }
    std::vector<engine::OutputGroup> output_groups(const engine::StageContext& ctx) const override;
    std::vector<engine::WorkUnit> plan(const engine::StageContext& ctx) const override;
    engine::UnitOutput process(const engine::WorkUnit& unit, const engine::StageContext& ctx) const override;
    void reduce(const engine::StageContext& ctx, const mpi::Comm& comm, const std::string& path) const override;
    std::int64_t memory_per_unit(const engine::WorkUnit& unit, const engine::StageContext& ctx) const override;
    std::optional<engine::StageEstimate> estimate(const engine::StageContext& ctx, const engine::PlanEstimates& earlier,
                                                  const std::vector<engine::WorkUnit>* plan) const override;

    /// @brief Declares the `inject.*` config keys.
    static void declare_config(config::Schema& schema);
};

}  // namespace dhs::stages
