// What a stage file carries besides its rows: provenance attributes and quarantined units.
// Shared by the gather (unit stages) and collective stages that write their own file.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dhs::engine {

/// @brief A quarantined unit, recorded under /failures.
struct Failure {
    std::int64_t unit_index = 0;
    std::string unit_id;
    int rank = 0;
    std::string message;
};

/// @brief What goes into a stage file besides the rows.
struct GatherMeta {
    std::string stage, stage_description;
    std::map<std::string, std::string> root_string_attrs;   ///< provenance: version, commit, config...
    std::map<std::string, std::int64_t> root_int_attrs;     ///< seed, unit counts
    std::map<std::string, std::string> run_string_attrs;    ///< /provenance/run: hosts, times...
    std::map<std::string, double> run_real_attrs;
    std::vector<Failure> failures;                          ///< same on every rank
    std::uint64_t buffer_bytes = 16ull << 20;               ///< rows held per rank between writes (reused)
};

}  // namespace dhs::engine
