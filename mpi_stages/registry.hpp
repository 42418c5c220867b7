// The pipeline's stages in order, registered by the names configs use. Stages compiled out
// of this build (no libtorch) are registered as unavailable with the reason.
#pragma once

#include "core/engine/registry.hpp"

namespace dhs::stages {

/// @brief Registers every stage of the pipeline, in pipeline order.
void register_stages(engine::StageRegistry& registry);

/// @brief The registry, built once. Rank-local, thread-safe after first use.
const engine::StageRegistry& pipeline_registry();

}  // namespace dhs::stages
