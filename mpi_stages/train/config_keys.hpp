// Declares the training stage's `train.*` config keys (no libtorch needed).
#pragma once

#include "core/config/config.hpp"

namespace dhs::stages::train {

void declare_config(config::Schema& s);

}  // namespace dhs::stages::train
