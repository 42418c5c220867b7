// Declares the search stage's `search.*` config keys (no libtorch needed).
#pragma once

#include "core/config/config.hpp"

namespace dhs::stages::search {

void declare_config(config::Schema& s);

}  // namespace dhs::stages::search
