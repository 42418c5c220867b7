// The configuration sections of the pipeline: `run` (from core) plus every stage's own.
// dhs programs build their schema here, so a config is validated in full before any work.
#pragma once

#include "core/config/config.hpp"

namespace dhs::stages {

/// @brief Declares every known section (run, survey, and each compiled-in stage's) in `schema`.
void declare_all_sections(config::Schema& schema);

/// @brief The full schema, built once. Rank-local, thread-safe after first use.
const config::Schema& pipeline_schema();

}  // namespace dhs::stages
