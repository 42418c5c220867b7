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

namespace dhs::stages {

namespace {

TorchStageMaker torch_maker = nullptr;

// The libtorch stages, in pipeline order (after validate). Their config keys need no libtorch.
struct TorchStage {
    const char* name;
    const char* summary;
    void (*declare)(config::Schema&);
    bool in_default_run;
};
constexpr TorchStage torch_stages[] = {
    {"train", "lens-finder training on learner ranks fed by data ranks: history, checkpoints, weights (SPEC Stage 5)",
     train::declare_config, true},
    {"score", "logit and p_lens of every cutout and injection stamp by the trained or a given model (SPEC Stage 5)",
     score::declare_config, true},
    {"search", "every pool galaxy cut and scored on the fly by the trained model; candidates with stamps",
     search::declare_config, false},
};

}  // namespace

void link_torch_stages(TorchStageMaker make) { torch_maker = make; }

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
    for (const auto& t : torch_stages) {
#if DHS_HAVE_TORCH
        if (torch_maker != nullptr) {
            const std::string name = t.name;
            r.add(name, t.summary, [name] { return torch_maker(name); }, t.declare, t.in_default_run);
        } else {
            r.add_companion(t.name, t.summary, torch_executable, t.declare, t.in_default_run);
        }
#else
        r.add_unavailable(t.name, t.summary,
                          "this build has no libtorch: install libtorch-dev (scripts/setup.sh does) and configure with "
                          "-DDHS_WITH_TORCH=ON",
                          t.declare);
#endif
    }
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
