// The wall-clock time as the run directory records it (provenance, journal markers, locks).
#pragma once

#include <string>

namespace dhs::util {

/// @brief The current UTC time as ISO 8601 to the second, e.g. "2026-12-07T09:30:00Z".
std::string utc_timestamp();

}  // namespace dhs::util
