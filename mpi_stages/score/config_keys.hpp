// Declares the scoring stage's `score.*` config keys (no libtorch needed).
#pragma once

#include "core/config/config.hpp"

namespace dhs::stages::score {

void declare_config(config::Schema& s);

}  // namespace dhs::stages::score
