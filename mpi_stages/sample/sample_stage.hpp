// The `sample` stage (SPEC Stage 1): sweeps -> negative pool (/pool), injection hosts
// (/hosts), positives (/positives: the lens catalog crossmatched to the sweeps), stratified
// negatives (/negatives), the lens list (/lenses) and a per-stratum summary (/strata) in
// RUN_DIR/sample.h5. One unit per sweep file or row range of one; the reduce does the
// crossmatch's final pick and the stratified draw. Same datasets for any rank count.
#pragma once

#include "core/config/config.hpp"
#include "core/engine/stage.hpp"

namespace dhs::stages {

class SampleStage final : public engine::Stage {
public:
    std::string name() const override { return "sample"; }
    std::string description() const override {
        return "sweeps -> negative pool, LRG injection hosts, positives (lens crossmatch), stratified negatives";
    }
    void check_config(const engine::StageContext& ctx) const override;
    std::vector<engine::OutputGroup> output_groups(const engine::StageContext& ctx) const override;
    std::vector<engine::WorkUnit> plan(const engine::StageContext& ctx) const override;
    engine::UnitOutput process(const engine::WorkUnit& unit, const engine::StageContext& ctx) const override;
    void reduce(const engine::StageContext& ctx, const mpi::Comm& comm, const std::string& path) const override;
    std::int64_t memory_per_unit(const engine::WorkUnit& unit, const engine::StageContext& ctx) const override;
    std::optional<engine::StageEstimate> estimate(const engine::StageContext& ctx, const engine::PlanEstimates& earlier,
                                                  const std::vector<engine::WorkUnit>* plan) const override;

    /// @brief Declares the `sample.*` config keys.
    static void declare_config(config::Schema& schema);
};

}  // namespace dhs::stages
