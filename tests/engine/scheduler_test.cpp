// The scheduler at 1 (stand-in and MPI), 2 and 3 ranks: every unit runs exactly once
// (twice when it fails once), failures are quarantined after one retry, and rank 0 works;
// serving ranks answer the units of the others.
#include <gtest/gtest.h>
#include <mpi.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <set>

#include "core/engine/scheduler.hpp"
#include "core/engine/service.hpp"
#include "core/mpi/comm.hpp"

using namespace dhs::engine;

namespace {
std::vector<WorkUnit> make_plan(int n) {
    std::vector<WorkUnit> plan(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        plan[static_cast<std::size_t>(i)].index = i;
        plan[static_cast<std::size_t>(i)].id = std::to_string(i);
        plan[static_cast<std::size_t>(i)].id.insert(0, 1, 'u');  // (GCC 12 -Wrestrict false positive on "u" + s)
        plan[static_cast<std::size_t>(i)].cost = 1 + i % 5;
    }
    return plan;
}

void check_schedule(const dhs::mpi::Comm& comm) {
    const int n = 57;
    auto plan = make_plan(n);
    std::vector<std::int64_t> todo;
    for (int i = 0; i < n; ++i)
        if (i != 10) todo.push_back(i);  // unit 10 "already done"
    std::atomic<int> calls{0};
    std::set<std::int64_t> flaky_seen;
    std::mutex m;
    auto work = [&](const WorkUnit& u) -> std::uint64_t {
        ++calls;
        if (u.index == 13) throw std::runtime_error("always broken");
        if (u.index == 21) {
            std::lock_guard lock(m);
            if (flaky_seen.insert(u.index).second) throw std::runtime_error("broken once");
        }
        return static_cast<std::uint64_t>(u.index);
    };
    auto reports = run_schedule(comm, plan, todo, work, {.in_flight = 3}, nullptr);
    std::int64_t my_calls = calls.load();
    std::int64_t all_calls = comm.allreduce_sum(my_calls);
    // 56 units once, unit 13 twice (quarantined), unit 21 twice (retried, then fine).
    EXPECT_EQ(all_calls, 56 + 1 + 1);
    if (comm.rank() == 0) {
        ASSERT_EQ(reports.size(), todo.size());
        std::set<std::int64_t> seen;
        std::set<int> ranks;
        for (const auto& r : reports) {
            EXPECT_TRUE(seen.insert(r.index).second) << "unit " << r.index << " reported twice";
            ranks.insert(r.rank);
            if (r.index == 13) {
                EXPECT_FALSE(r.ok);
                EXPECT_EQ(r.attempts, 2);
                EXPECT_EQ(r.message, "always broken");
            } else {
                EXPECT_TRUE(r.ok) << r.index << ": " << r.message;
                EXPECT_EQ(r.rows, static_cast<std::uint64_t>(r.index));
            }
            if (r.index == 21) {
                EXPECT_EQ(r.attempts, 2);
            }
        }
        EXPECT_EQ(seen.count(10), 0u);
        EXPECT_TRUE(ranks.count(0)) << "rank 0 did no work";
        EXPECT_EQ(static_cast<int>(ranks.size()), comm.size()) << "some rank did no work";
    } else {
        EXPECT_TRUE(reports.empty());
    }
}
}  // namespace

TEST(Scheduler, StandinRunsEverythingOnRankZero) { check_schedule(dhs::mpi::Comm::self_standin()); }

TEST(Scheduler, MpiRunsEveryUnitOnceAcrossRanks) { check_schedule(dhs::mpi::Comm::world()); }

TEST(Scheduler, EmptyTodoReturnsAtOnce) {
    auto comm = dhs::mpi::Comm::world();
    auto reports = run_schedule(comm, make_plan(3), {}, [](const WorkUnit&) -> std::uint64_t { return 0; }, {}, nullptr);
    EXPECT_TRUE(reports.empty());
}

// Serving ranks (service.hpp): the highest rank answers requests made from inside units, by
// rank 0's unit thread (the mailbox its main loop pumps) and by the other ranks directly; a
// request the server fails fails its unit (retried, then quarantined); no unit runs on it.
TEST(Scheduler, ServingRankAnswersTheUnitsOfEveryOtherRank) {
    auto comm = dhs::mpi::Comm::world();
    if (comm.size() < 2) GTEST_SKIP() << "needs 2 ranks";
    const int server = comm.size() - 1;
    Service service(comm, {server});
    ASSERT_EQ(service.is_server(), comm.rank() == server);
    const int n = 40;
    auto plan = make_plan(n);
    std::vector<std::int64_t> todo(n);
    for (int i = 0; i < n; ++i) todo[static_cast<std::size_t>(i)] = i;
    std::atomic<int> calls{0};
    auto work = [&](const WorkUnit& u) -> std::uint64_t {
        ++calls;
        const std::int64_t header[2] = {u.index, 7};
        const std::vector<float> payload(static_cast<std::size_t>(u.index) + 1, 0.5f);
        const auto answer = service.client()->call(header, payload);  // {sum(payload) * header[1]}
        return static_cast<std::uint64_t>(answer.at(0));
    };
    ScheduleOptions options{.in_flight = 2, .idle_ranks = {server}};
    options.idle = [&] {
        service.serve([](std::span<const std::int64_t> h, std::span<const float> x) {
            if (h[0] == 13) throw std::runtime_error("cannot answer 13");
            float sum = 0;
            for (float v : x) sum += v;
            return std::vector<float>{sum * static_cast<float>(h[1])};
        });
    };
    options.pump = [&] { return service.pump(); };
    options.units_done = [&] { service.stop_servers(); };
    auto reports = run_schedule(comm, plan, todo, work, options, nullptr);
    if (comm.rank() == server) {
        EXPECT_EQ(calls.load(), 0) << "the serving rank took a unit";
    }
    if (comm.rank() == 0) {
        ASSERT_EQ(reports.size(), static_cast<std::size_t>(n));
        for (const auto& r : reports) {
            EXPECT_NE(r.rank, server);
            if (r.index == 13) {
                EXPECT_FALSE(r.ok);
                EXPECT_NE(r.message.find("cannot answer 13"), std::string::npos) << r.message;
            } else {
                EXPECT_TRUE(r.ok) << r.message;
                EXPECT_EQ(r.rows, static_cast<std::uint64_t>(0.5 * (r.index + 1) * 7 + 0.001));
            }
        }
    }
}

TEST(Service, ProcessingRanksShareTheServersRoundRobin) {
    // 6 ranks, servers 4 and 5: processing ranks 0..3 go to 4, 5, 4, 5.
    EXPECT_EQ(Service::server_of(0, 6, {4, 5}), 4);
    EXPECT_EQ(Service::server_of(1, 6, {4, 5}), 5);
    EXPECT_EQ(Service::server_of(3, 6, {4, 5}), 5);
    // Servers in the middle are skipped when counting: 0 -> 2, 1 -> 2, 3 -> 2.
    EXPECT_EQ(Service::server_of(3, 4, {2}), 2);
}
