// The pipeline's stages in order, registered by the names configs use. Stages compiled out
// of this build (no libtorch) are registered as unavailable with the reason. The libtorch
// stages (train, score, search) live in the companion executable `dhs-torch`: loading
// libtorch costs every process about a second, so `dhs` itself never links it and
// re-executes as `dhs-torch` only for a command that runs one of them.
#pragma once

#include <memory>
#include <string>

#include "core/engine/registry.hpp"

namespace dhs::stages {

/// @brief The companion executable (beside `dhs`) that holds the libtorch stages.
inline constexpr const char* torch_executable = "dhs-torch";

/// @brief Makes a libtorch stage by name (train, score, search); defined in torch_stages.cpp.
using TorchStageMaker = std::unique_ptr<engine::Stage> (*)(const std::string& name);

/// @brief Called by `dhs-torch` before the registry's first use: its libtorch stages are
/// built in rather than handed to the companion.
void link_torch_stages(TorchStageMaker make);

/// @brief Registers every stage of the pipeline, in pipeline order.
void register_stages(engine::StageRegistry& registry);

/// @brief The registry, built once. Rank-local, thread-safe after first use.
const engine::StageRegistry& pipeline_registry();

}  // namespace dhs::stages
