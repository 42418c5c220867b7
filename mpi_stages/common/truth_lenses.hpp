// A mock sky's truth table of its lenses (truth/lenses.csv, written by `dhs mock-sky`), as the
// stages that check against it read it: `evaluate` (recall of the true lenses beside the
// selection function's prediction) and `search` (the true lenses' ranks among all targets).
#pragma once

#include <map>
#include <string>

#include "core/config/config.hpp"

namespace dhs::stages {

/// @brief The truth table a config names under `key`: '' = <survey.root>/truth/lenses.csv when
/// it exists (else none), "none" = none, anything else = that file. @returns "" for none.
std::string truth_lenses_file(const config::Config& c, const std::string& key);

/// @brief galaxy_id (brickname_objid, as the sample stage writes it) -> theta_e_arcsec of every
/// lens of the table. @throws Error naming `key` when the file cannot be read; DataError naming
/// the file and the missing column or bad value.
std::map<std::string, double> read_truth_lenses(const std::string& path, const std::string& key);

}  // namespace dhs::stages
