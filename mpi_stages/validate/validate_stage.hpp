// The `validate` stage (SPEC Stage 4): audits the stamps before any training. Units are
// batches of stamps from RUN_DIR/cutouts.h5:/stamps (real positives, negatives, hosts) and
// RUN_DIR/injections.h5:/injections (injections and controls); each becomes one /metrics row
// per stamp (quality flags, failure reasons, per-band shortcut features, the radial profile and
// the central pixel box) plus /failed_stamps. The reduce (collective) computes, per comparison
// (real positives vs negatives; injections vs controls), the exact AUC of every feature with a
// bootstrap CI and its green/yellow/red/expected_physics flag, the core-only and radial-profile
// logistic-regression AUCs and the gates, writes /shortcut_auc, /gates and /comparisons into
// validation.h5 and RUN_DIR/validation_summary.json, and rank 0 logs the gate table. A missing
// input skips its comparison (and says so); the same config gives the same files for any rank count.
#pragma once

#include "core/config/config.hpp"
#include "core/engine/stage.hpp"

namespace dhs::stages {

class ValidateStage final : public engine::Stage {
public:
    std::string name() const override { return "validate"; }
    /// @brief The contract's name for the stage file: RUN_DIR/validation.h5.
    std::string output_file() const override { return "validation.h5"; }
    std::string description() const override {
        return "quality gates and shortcut detection: per-stamp features, AUCs with bootstrap CIs, classifier gates";
    }
    void check_config(const engine::StageContext& ctx) const override;
    std::vector<engine::OutputGroup> output_groups(const engine::StageContext& ctx) const override;
    std::vector<engine::WorkUnit> plan(const engine::StageContext& ctx) const override;
    engine::UnitOutput process(const engine::WorkUnit& unit, const engine::StageContext& ctx) const override;
    void reduce(const engine::StageContext& ctx, const mpi::Comm& comm, const std::string& path) const override;
    std::int64_t memory_per_unit(const engine::WorkUnit& unit, const engine::StageContext& ctx) const override;
    std::optional<engine::StageEstimate> estimate(const engine::StageContext& ctx, const engine::PlanEstimates& earlier,
                                                  const std::vector<engine::WorkUnit>* plan) const override;

    /// @brief Declares the `validate.*` config keys.
    static void declare_config(config::Schema& schema);
};

}  // namespace dhs::stages
