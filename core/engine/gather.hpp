// The gather: every finished unit's spooled rows go into one HDF5 file per stage, written
// by all ranks at once with parallel HDF5. Rows land in canonical order (unit index, then
// row within the unit) whatever the rank count or schedule; each rank's offsets come from an
// exclusive scan of its row counts. Written under a temporary name; renamed when complete.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/engine/stage.hpp"

namespace dhs::mpi {
class Comm;
}

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

/// @brief Checks a unit's output against the declared groups (names, column names, dtypes,
/// shapes, in order). @throws Error naming the group and column that differ.
void validate_unit_output(const UnitOutput& out, const std::vector<OutputGroup>& groups, const std::string& unit_id);

/// @brief Gathers the spool files of `done_units` (sorted unit indices, the same on every
/// rank) from `spool_dir` into `final_path` (written as final_path + ".partial", renamed at
/// the end). Collective. @returns total rows per group.
/// @throws Error/DataError naming the spool file or dataset on failure (nothing is renamed).
std::map<std::string, std::uint64_t> gather_stage(const mpi::Comm& comm, const std::vector<OutputGroup>& groups,
                                                  const std::vector<std::int64_t>& done_units,
                                                  const std::string& spool_dir, const std::string& final_path,
                                                  const GatherMeta& meta);

}  // namespace dhs::engine
