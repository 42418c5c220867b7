// Every stage of the pipeline registry answers to the name configs use: name() equals its
// registry key (the output file's stem and the journal's folder depend on it), and its
// output_groups() are declared once (no column twice: GroupSchema refuses that).
#include "mpi_stages/registry.hpp"

#include <gtest/gtest.h>

#include "core/engine/stage.hpp"

namespace dhs::stages {
namespace {

TEST(Registry, EveryStageNameIsItsRegistryKey) {
    const auto& r = pipeline_registry();
    const auto names = r.names();
    ASSERT_FALSE(names.empty());
    for (const auto& key : names) EXPECT_EQ(r.create(key)->name(), key) << "stage registered as " << key;
}

TEST(Registry, TheTemplateAndTheTestLoadAreNotInTheDefaultRun) {
    const auto run = pipeline_registry().default_run();
    for (const char* s : {"skeleton", "testload", "mock_sky"})
        EXPECT_EQ(std::find(run.begin(), run.end(), s), run.end()) << s;
}

}  // namespace
}  // namespace dhs::stages
