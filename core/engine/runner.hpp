// The engine's top level: runs the configured stages in order into a run directory
// (config.yaml, logs/, journal/, one HDF5 file per stage), resuming from the journal when
// asked, and plans without processing for `dhs plan` / `dhs run --dry-run`.
#pragma once

#include <string>
#include <vector>

#include "core/config/config.hpp"
#include "core/engine/registry.hpp"

namespace dhs::mpi {
class Comm;
}

namespace dhs::engine {

struct RunOptions {
    std::string run_dir;               ///< RUN_DIR (created if missing)
    std::vector<std::string> stages;   ///< empty: run.stages, or every available stage
    bool resume = false;               ///< skip finished units and stages (the journal)
    std::string command_line;          ///< recorded under /provenance/run
    std::string log_level;             ///< overrides run.log_level when not empty
};

/// @brief Exit status of a run: 0 done, 3 done with quarantined units. Collective.
/// Checks every stage's parameters first (ConfigError), then rank 0 locks the run directory
/// for the job's life (RunDirLock) and checks it may be used.
/// @throws ConfigError, RunDirError (run_dir.hpp): nothing was done; Error: the run failed.
int run_pipeline(const mpi::Comm& comm, const StageRegistry& registry, const config::Config& config,
                 const RunOptions& options);

/// @brief The work plan of each stage (units, bytes in/out, rows per output group, memory per
/// rank), without processing anything: planned where the stage's inputs exist, else estimated
/// from the earlier stages' figures (Stage::estimate), and marked so.
struct PlanReport {
    std::string text;   ///< the table (plan_table.hpp)
    std::string json;   ///< the same as JSON (PlanTable::json)
};
/// @brief The plan report. Collective; the report is filled on rank 0 only.
PlanReport plan_report(const mpi::Comm& comm, const StageRegistry& registry, const config::Config& config,
                       const RunOptions& options);

/// @brief The stages a run executes: options.stages, else run.stages, else every available
/// stage in registry order. @throws Error for an unknown or unavailable stage name.
std::vector<std::string> stages_to_run(const StageRegistry& registry, const config::Config& config,
                                       const RunOptions& options);

}  // namespace dhs::engine
