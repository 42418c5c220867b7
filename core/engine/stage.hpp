// The stage plug-in interface of the engine. A stage plans its work units from the config
// (and earlier outputs), turns one unit into rows (typed columns, fixed-shape array columns
// included) and may reduce across the gathered output at the end. Stages register by the
// names configs use (registry.hpp). Knows nothing of lenses: that lives in mpi_stages/.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/config/config.hpp"
#include "core/engine/provenance.hpp"
#include "core/table/table.hpp"

namespace dhs::mpi {
class Comm;
}

namespace dhs::engine {

class ServiceClient;

/// @brief One piece of a stage's work. Rows are gathered in `index` order, so results do
/// not depend on the rank count or the schedule.
struct WorkUnit {
    std::int64_t index = 0;    ///< canonical position (0-based, dense) in the stage's plan
    std::string id;            ///< stable, human-readable ("sweep-000m005-005p000.fits[0:500000]")
    std::string kind;          ///< "sweep-rows", "brick", "healpix", "batch", ...
    double cost = 1.0;         ///< relative cost; the scheduler dispatches the largest first
    std::string payload;       ///< stage-defined parameters (JSON text)
    std::int64_t bytes_in = 0; ///< estimated bytes read (for `dhs plan`)
    std::int64_t rows_out = 0; ///< estimated rows written over all groups (for `dhs plan`)
};

/// @brief One output group of a stage (`/pool`, `/stamps`, ...): its columns with zero rows
/// (dtype, per-row shape, unit, description) and attributes for the group and its datasets.
struct OutputGroup {
    std::string name;
    std::string description;
    Table schema;                                                       ///< zero-row columns
    std::map<std::string, std::map<std::string, std::string>> column_attributes;  ///< extra attrs per column
};

/// @brief What one unit produced: rows per output group (groups may be absent = no rows).
using UnitOutput = std::map<std::string, Table>;

/// @brief Everything a stage may look at. The config is validated; paths are absolute.
struct StageContext {
    const config::Config& config;
    std::string run_dir;        ///< RUN_DIR (earlier stages' outputs live here)
    std::int64_t seed = 0;      ///< run.seed
    /// In process(): this rank's link to its serving rank when the stage has serving ranks
    /// (Stage::serving_ranks), else null.
    ServiceClient* service = nullptr;
};

/// @brief What `dhs plan` expects a stage to produce: from its plan where it can plan, else
/// estimated from the config and the earlier stages' estimates (their inputs do not exist yet).
struct StageEstimate {
    double units = 0;                     ///< work units
    std::map<std::string, double> rows;   ///< expected rows per output group
    double bytes_in = 0;                  ///< bytes read
    double bytes_out = -1;                ///< bytes written; < 0: from the rows and the output groups
    std::int64_t memory_per_unit = 0;     ///< peak bytes of the largest unit
    std::map<std::string, double> quantities;  ///< other figures later stages use (e.g. footprint_bricks)
    bool estimated = false;               ///< true: not from a plan (inputs missing)
    std::string basis;                    ///< one line: what the figures rest on
    /// @brief Rows of `group`, or 0.
    double rows_of(const std::string& group) const {
        const auto it = rows.find(group);
        return it == rows.end() ? 0.0 : it->second;
    }
};
/// @brief The estimates of the stages before, by stage name.
using PlanEstimates = std::map<std::string, StageEstimate>;

class Stage {
public:
    virtual ~Stage() = default;
    /// @brief The name configs use (`run.stages`), also the output file's stem.
    virtual std::string name() const = 0;
    /// @brief One line for `dhs plan` and the provenance attributes.
    virtual std::string description() const = 0;
    /// @brief The output file name inside RUN_DIR.
    virtual std::string output_file() const { return name() + ".h5"; }
    /// @brief The output groups, fixed before any unit runs (so empty outputs still have a schema).
    virtual std::vector<OutputGroup> output_groups(const StageContext& ctx) const = 0;
    /// @brief Plans the work units. Runs on rank 0 only; must be deterministic.
    /// @throws dhs::Error (e.g. an input of an earlier stage is missing).
    virtual std::vector<WorkUnit> plan(const StageContext& ctx) const = 0;
    /// @brief Processes one unit. Rank-local and deterministic in (unit, config, seed): the
    /// same unit gives the same rows on any rank, in any order, after any restart.
    /// @throws anything: the unit is retried once, then quarantined.
    virtual UnitOutput process(const WorkUnit& unit, const StageContext& ctx) const = 0;
    /// @brief Optional reduction after the gather: collective over `comm`; may read the
    /// stage's gathered file at `path` and add to it (summaries, attributes) or write
    /// side files into the run directory. Default: nothing.
    virtual void reduce(const StageContext& ctx, const mpi::Comm& comm, const std::string& path) const;
    /// @brief Peak memory one unit needs, in bytes (for `dhs plan`). Default: 2x its output.
    virtual std::int64_t memory_per_unit(const WorkUnit& unit, const StageContext& ctx) const;
    /// @brief For `dhs plan`: what the stage will produce. `plan` is its plan when it could be
    /// made (null when an input of an earlier stage is missing); `earlier` holds the estimates of
    /// the stages before it in the run. Runs on rank 0. Default: from the plan alone (units, bytes
    /// in, memory per unit, all rows_out in the first output group), nothing without one.
    virtual std::optional<StageEstimate> estimate(const StageContext& ctx, const PlanEstimates& earlier,
                                                  const std::vector<WorkUnit>* plan) const;
    /// @brief Checks the stage's parameters (the config alone) before anything is created: the
    /// engine calls it for every stage of a run, on every rank, before it touches the run
    /// directory, so a bad value stops the run with exit code 2 and nothing written.
    /// @throws ConfigError for a value the stage would reject. Default: nothing to check.
    virtual void check_config(const StageContext& /*ctx*/) const {}
    /// @brief World ranks (never 0) that serve the others during the units instead of taking
    /// any (service.hpp): process() then reaches one through ctx.service, and the engine runs
    /// serve() on them. Collective over `comm` (a stage may allgather what ranks see, e.g.
    /// GPUs). Default: none.
    virtual std::vector<int> serving_ranks(const StageContext& /*ctx*/, const mpi::Comm& /*comm*/) const { return {}; }
    /// @brief On a serving rank: the answer to one request of a processing rank. Rank-local;
    /// a throw fails that request (and so the unit that made it), not the server.
    virtual std::vector<float> serve(std::span<const std::int64_t> header, std::span<const float> payload,
                                     const StageContext& ctx) const;
};

/// @brief What the engine hands a collective stage: where its file goes, whether to resume
/// (continue from the stage's own checkpoints), and the provenance every stage file carries.
struct CollectiveRun {
    bool resume = false;
    std::string output;          ///< RUN_DIR/<output_file()>
    GatherMeta meta;             ///< provenance attributes (no failures: a collective stage has no units)
};

/// @brief A stage that is one collective job over all ranks instead of independent units:
/// training, where the ranks split into groups (learners and data ranks) that talk to each
/// other. No plan of units, no spool, no gather: the stage writes its own output (its
/// checkpoints are its journal) and the engine marks it complete when run() returns.
class CollectiveStage : public Stage {
public:
    std::vector<OutputGroup> output_groups(const StageContext&) const override { return {}; }
    std::vector<WorkUnit> plan(const StageContext&) const override { return {}; }
    UnitOutput process(const WorkUnit&, const StageContext&) const override;
    /// @brief Runs the stage on every rank of `comm`. Collective. @throws dhs::Error (a
    /// ConfigError for what the configuration got wrong, before any work where it can know).
    virtual void run(const StageContext& ctx, const mpi::Comm& comm, const CollectiveRun& run) const = 0;
    /// @brief Lines for `dhs plan` (rank groups, steps, memory per rank) for `ranks` ranks. Rank 0.
    virtual std::string plan_text(const StageContext& ctx, int ranks) const = 0;
    /// @brief Lines for `dhs plan` when plan_text() cannot run yet (its inputs are earlier
    /// stages' outputs that do not exist): estimated from their figures. Rank 0. Default: none.
    virtual std::string estimate_text(const StageContext& /*ctx*/, int /*ranks*/, const PlanEstimates& /*earlier*/) const {
        return "";
    }
};

}  // namespace dhs::engine
