// Every stage of the pipeline registry answers to the name configs use: name() equals its
// registry key (the output file's stem and the journal's folder depend on it), and its
// output_groups() are declared once (no column twice: GroupSchema refuses that). The libtorch
// stages belong to the companion `dhs-torch` until it links them in.
#include "mpi_stages/registry.hpp"

#include <gtest/gtest.h>

#include "core/engine/stage.hpp"
#include "core/error.hpp"
#include "dhs/config.hpp"
#if DHS_HAVE_TORCH
#include "mpi_stages/torch_stages.hpp"
#endif

namespace dhs::stages {
namespace {

TEST(Registry, TheLibtorchStagesRunInTheCompanionUntilLinked) {
    engine::StageRegistry r;
    register_stages(r);
    for (const char* s : {"train", "score", "search"}) {
        ASSERT_TRUE(r.has(s)) << s;
        EXPECT_THROW((void)r.create(s), Error) << s;
        EXPECT_EQ(r.companion_of(s), DHS_HAVE_TORCH ? torch_executable : "") << s;
        EXPECT_EQ(r.available(s), DHS_HAVE_TORCH == 1) << s;
    }
    EXPECT_EQ(r.companion_of("sample"), "");
    const auto run = r.default_run();
    EXPECT_EQ(std::find(run.begin(), run.end(), "train") != run.end(), DHS_HAVE_TORCH == 1);
}

TEST(Registry, EveryStageNameIsItsRegistryKey) {
#if DHS_HAVE_TORCH
    link_torch_stages(make_torch_stage);  // as dhs-torch does
#endif
    engine::StageRegistry r;
    register_stages(r);
    const auto names = r.names();
    ASSERT_FALSE(names.empty());
    for (const auto& key : names) {
        EXPECT_EQ(r.companion_of(key), "") << key;
        EXPECT_EQ(r.create(key)->name(), key) << "stage registered as " << key;
    }
}

TEST(Registry, TheTemplateAndTheTestLoadAreNotInTheDefaultRun) {
    const auto run = pipeline_registry().default_run();
    for (const char* s : {"skeleton", "testload", "mock_sky"})
        EXPECT_EQ(std::find(run.begin(), run.end(), s), run.end()) << s;
}

}  // namespace
}  // namespace dhs::stages
