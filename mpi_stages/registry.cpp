// The stage registry of the pipeline (see registry.hpp). Add new stages here, in order.
#include "mpi_stages/registry.hpp"

#include "dhs/config.hpp"

#include "mpi_stages/cutouts/cutouts_stage.hpp"
#include "mpi_stages/evaluate/evaluate_stage.hpp"
#include "mpi_stages/inject/inject_stage.hpp"
#include "mpi_stages/mock_sky/mock_sky_stage.hpp"
#include "mpi_stages/sample/sample_stage.hpp"
#include "mpi_stages/skeleton/skeleton_stage.hpp"
#include "mpi_stages/testload/testload_stage.hpp"
#include "mpi_stages/validate/validate_stage.hpp"
#include "mpi_stages/score/config_keys.hpp"
#include "mpi_stages/search/config_keys.hpp"
#include "mpi_stages/train/config_keys.hpp"
#if DHS_HAVE_TORCH
#include "mpi_stages/score/score_stage.hpp"
#include "mpi_stages/search/search_stage.hpp"
#include "mpi_stages/train/train_stage.hpp"
#endif

namespace dhs::stages {

void register_stages(engine::StageRegistry& r) {
    r.add("skeleton", "the template stage a new stage copies: a random catalogue (not part of the science pipeline)",
          [] { return std::make_unique<SkeletonStage>(); }, SkeletonStage::declare_config,
          /*in_default_run=*/false);
    r.add("testload", "the engine's test and benchmark load (not part of the science pipeline)",
          [] { return std::make_unique<TestloadStage>(); }, TestloadStage::declare_config,
          /*in_default_run=*/false);
    r.add("mock_sky", "mock DR10 sky with truth (dhs mock-sky)", [] { return std::make_unique<MockSkyStage>(); },
          MockSkyStage::declare_config, /*in_default_run=*/false);
    // The science pipeline, in order.
    r.add("sample", "sweeps -> negative pool, injection hosts, positives, stratified negatives (SPEC Stage 1)",
          [] { return std::make_unique<SampleStage>(); }, SampleStage::declare_config);
    r.add("cutouts", "targets -> image/invvar/maskbits stamps (cutouts.stamp_size, 101 by default) cut brick by brick from the coadds (SPEC Stage 2)",
          [] { return std::make_unique<CutoutsStage>(); }, CutoutsStage::declare_config);
    r.add("inject", "lensed sources injected into host stamps: grids, controls, selection function (SPEC Stage 3)",
          [] { return std::make_unique<InjectStage>(); }, InjectStage::declare_config);
    r.add("validate", "quality gates and shortcut detection on cutouts and injections (SPEC Stage 4)",
          [] { return std::make_unique<ValidateStage>(); }, ValidateStage::declare_config);
#if DHS_HAVE_TORCH
    r.add("train", "lens-finder training on learner ranks fed by data ranks: history, checkpoints, weights (SPEC Stage 5)",
          [] { return std::make_unique<TrainStage>(); }, TrainStage::declare_config);
    r.add("score", "logit and p_lens of every cutout and injection stamp by the trained or a given model (SPEC Stage 5)",
          [] { return std::make_unique<ScoreStage>(); }, ScoreStage::declare_config);
    r.add("search", "every pool galaxy cut and scored on the fly by the trained model; candidates with stamps",
          [] { return std::make_unique<SearchStage>(); }, SearchStage::declare_config, /*in_default_run=*/false);
#else
    r.add_unavailable("train", "lens-finder training (SPEC Stage 5)",
                      "this build has no libtorch: install libtorch-dev (scripts/setup.sh does) and configure with "
                      "-DDHS_WITH_TORCH=ON",
                      train::declare_config);
    r.add_unavailable("score", "stamp scoring (SPEC Stage 5)",
                      "this build has no libtorch: install libtorch-dev (scripts/setup.sh does) and configure with "
                      "-DDHS_WITH_TORCH=ON",
                      score::declare_config);
    r.add_unavailable("search", "the search of the whole pool",
                      "this build has no libtorch: install libtorch-dev (scripts/setup.sh does) and configure with "
                      "-DDHS_WITH_TORCH=ON",
                      search::declare_config);
#endif
    r.add("evaluate", "TPR at FPR, ROC/PR, recall with intervals, calibration, the selection function (SPEC Stage 6)",
          [] { return std::make_unique<EvaluateStage>(); }, EvaluateStage::declare_config,
          /*in_default_run=*/DHS_HAVE_TORCH == 1);  // it evaluates the scores only torch builds make
}

const engine::StageRegistry& pipeline_registry() {
    static const engine::StageRegistry registry = [] {
        engine::StageRegistry r;
        register_stages(r);
        return r;
    }();
    return registry;
}

}  // namespace dhs::stages
