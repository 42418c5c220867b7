// The maker of the libtorch stages (train, score, search) that `dhs-torch` hands to
// link_torch_stages (registry.hpp). Part of dhs::stages_torch.
#pragma once

#include <memory>
#include <string>

#include "core/engine/stage.hpp"

namespace dhs::stages {

/// @brief A new train, score or search stage. @throws Error for another name.
std::unique_ptr<engine::Stage> make_torch_stage(const std::string& name);

}  // namespace dhs::stages
