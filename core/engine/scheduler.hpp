// The rank-0 scheduler: dynamic dispatch of work units, largest cost first, several units
// in flight per worker so no worker waits on rank 0. Rank 0 works too: a worker thread does
// its units while the main thread dispatches, waiting without spinning (probe + sleep), so
// no core is wasted on OpenMPI's busy-polling receives. A unit that throws is retried once
// on the same rank, then quarantined and reported.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/engine/stage.hpp"

namespace dhs::mpi {
class Comm;
}

namespace dhs::engine {

class Progress;

/// @brief The outcome of one unit.
struct UnitReport {
    std::int64_t index = 0;
    bool ok = false;
    int rank = 0;
    int attempts = 0;
    std::uint64_t rows = 0;
    double seconds = 0;
    std::string message;  ///< the error of the last attempt when !ok
    bool fatal = false;   ///< a ResourceError: the stage stops (no retry, no quarantine)
};

struct ScheduleOptions {
    int in_flight = 2;                ///< units queued per rank (>= 1)
    std::vector<int> idle_ranks;      ///< ranks that take no units (serving ranks; never 0)
    std::function<void()> idle;       ///< what an idle rank does meanwhile; returns when told to stop
    std::function<bool()> pump;       ///< rank 0's main loop calls it every turn (true: it did something)
    std::function<void()> units_done; ///< rank 0, once every unit has reported (stops the idle ranks)
};

/// @brief Runs `todo` (indices into `plan`) over the ranks of `comm` not in options.idle_ranks; `work(unit)` runs on
/// whichever rank gets the unit and returns the rows it produced (it must make them durable
/// itself). Collective. @returns every unit's report on rank 0 (in completion order), an
/// empty vector elsewhere. `progress` (rank 0, may be null) is updated as reports arrive.
std::vector<UnitReport> run_schedule(const mpi::Comm& comm, const std::vector<WorkUnit>& plan,
                                     const std::vector<std::int64_t>& todo,
                                     const std::function<std::uint64_t(const WorkUnit&)>& work,
                                     const ScheduleOptions& options, Progress* progress);

/// @brief The order rank 0 hands units out: cost descending, ties by index. Pure.
std::vector<std::int64_t> dispatch_order(const std::vector<WorkUnit>& plan, const std::vector<std::int64_t>& todo);

}  // namespace dhs::engine
