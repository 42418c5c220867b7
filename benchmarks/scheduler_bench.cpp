// bench_scheduler: how many empty work units per second the rank-0 scheduler dispatches
// (no processing, no spooling: the engine's own overhead). Run under mpirun -n N.
//   bench_scheduler [units=200000] [in_flight=2]   -> prints one JSON line on rank 0
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "core/engine/scheduler.hpp"
#include "core/mpi/comm.hpp"

int main(int argc, char** argv) {
    dhs::mpi::Runtime rt(argc, argv, /*always_mpi=*/true);
    auto world = dhs::mpi::Comm::world();
    const long n = argc > 1 ? std::atol(argv[1]) : 200000;
    const int in_flight = argc > 2 ? std::atoi(argv[2]) : 2;
    std::vector<dhs::engine::WorkUnit> plan(static_cast<std::size_t>(n));
    std::vector<std::int64_t> todo(static_cast<std::size_t>(n));
    for (long i = 0; i < n; ++i) {
        plan[static_cast<std::size_t>(i)].index = i;
        todo[static_cast<std::size_t>(i)] = i;
    }
    auto work = [](const dhs::engine::WorkUnit&) -> std::uint64_t { return 0; };
    world.barrier();
    auto t0 = std::chrono::steady_clock::now();
    auto reports = dhs::engine::run_schedule(world, plan, todo, work, {.in_flight = in_flight}, nullptr);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (world.rank() == 0)
        std::printf("{\"bench\": \"scheduler\", \"ranks\": %d, \"units\": %ld, \"in_flight\": %d, \"seconds\": %.4f, "
                    "\"units_per_s\": %.1f, \"reports\": %zu}\n",
                    world.size(), n, in_flight, s, static_cast<double>(n) / s, reports.size());
    return 0;
}
