// For `dhs plan`: the stamps an earlier stage of the run is expected to write, by the name
// the stamp-reading stages (validate, score) give their sources: "cutouts" (cutouts.h5:/stamps)
// or "injections" (injections.h5:/injections).
#pragma once

#include <optional>
#include <string_view>

#include "core/engine/stage.hpp"

namespace dhs::stages {

/// @brief Rows of the source's stamp group in the estimate of the stage that writes it;
/// nullopt when that stage is not in `earlier` (not in this run, or not estimated).
std::optional<double> planned_stamps(const engine::PlanEstimates& earlier, std::string_view source);

}  // namespace dhs::stages
