// The gather: every finished unit's spooled rows go into one HDF5 file per stage, written
// by all ranks at once with parallel HDF5. Rows land in canonical order (unit index, then
// row within the unit) whatever the rank count or schedule; each rank's offsets come from an
// exclusive scan of its row counts. Written under a temporary name; renamed when complete.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/engine/provenance.hpp"
#include "core/engine/stage.hpp"

namespace dhs::hdf5 {
class ParallelFile;
}

namespace dhs::mpi {
class Comm;
}

namespace dhs::engine {

/// @brief Checks a unit's output against the declared groups (names, column names, dtypes,
/// shapes, in order). @throws Error naming the group and column that differ.
void validate_unit_output(const UnitOutput& out, const std::vector<OutputGroup>& groups, const std::string& unit_id);

/// @brief Gathers the spool files of `done_units` (sorted unit indices, the same on every
/// rank) from `spool_dir` into `final_path` (written as final_path + ".partial", renamed at
/// the end; not fsynced here: the runner makes it durable, overlapped with the stage's reduce,
/// before the spool files go). Collective. @returns total rows per group.
/// @throws Error/DataError naming the spool file or dataset on failure (nothing is renamed).
std::map<std::string, std::uint64_t> gather_stage(const mpi::Comm& comm, const std::vector<OutputGroup>& groups,
                                                  const std::vector<std::int64_t>& done_units,
                                                  const std::string& spool_dir, const std::string& final_path,
                                                  const GatherMeta& meta);

/// @brief Writes the root provenance attributes (version, commit, config, seed, stage) and
/// `/provenance/run` of `meta` into an open stage file. Collective over the file's ranks.
void write_provenance(hdf5::ParallelFile& file, const GatherMeta& meta);

}  // namespace dhs::engine
