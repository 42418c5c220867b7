// The `evaluate` stage (SPEC Stage 6): turns scores.h5 into what the paper needs, on one split
// (test by default): ROC / PR curves and AUC with bootstrap intervals, TPR at FPR 1e-5..1e-2 with
// thresholds and N_neg (not resolvable below 1/N_neg), Bologna TPR0 / TPR10, reliability diagrams,
// ECE and Brier, Tier-A / Tier-B recall with Clopper-Pearson and bootstrap intervals, and the
// selection function C(theta_E, PSF, depth) per cell with marginals and C(arc_snr). Writes
// evaluation.h5, evaluation_summary.json and selection_function.ecsv. Rank 0 computes (it is a
// reduction over one file); the result does not depend on the rank count.
#pragma once

#include "core/config/config.hpp"
#include "core/engine/stage.hpp"

namespace dhs::stages {

class EvaluateStage final : public engine::CollectiveStage {
public:
    std::string name() const override { return "evaluate"; }
    std::string output_file() const override { return "evaluation.h5"; }
    std::string description() const override {
        return "ROC/PR, TPR at FPR, recall with intervals, calibration and the selection function from scores.h5";
    }
    void check_config(const engine::StageContext& ctx) const override;
    void run(const engine::StageContext& ctx, const mpi::Comm& comm, const engine::CollectiveRun& run) const override;
    std::string plan_text(const engine::StageContext& ctx, int ranks) const override;

    static void declare_config(config::Schema& schema);
};

}  // namespace dhs::stages
