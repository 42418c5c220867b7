// The communicator wrapper: the one-rank stand-in and real MPI at 1, 2 and 3 ranks.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/mpi/comm.hpp"

using dhs::mpi::Comm;

TEST(CommStandin, BehavesAsOneRank) {
    Comm c = Comm::self_standin();
    EXPECT_TRUE(c.is_standin());
    EXPECT_EQ(c.rank(), 0);
    EXPECT_EQ(c.size(), 1);
    EXPECT_EQ(c.allreduce_sum(std::int64_t{5}), 5);
    EXPECT_DOUBLE_EQ(c.allreduce_max(2.5), 2.5);
    EXPECT_EQ(c.exscan_sum(std::int64_t{9}), 0);
    EXPECT_EQ(c.gather("x"), std::vector<std::string>{"x"});
    c.send("hello", 0, 7);
    c.send("world", 0, 8);
    ASSERT_TRUE(c.iprobe(-1, 8).has_value());
    std::string got;
    auto [src, tag] = c.recv(got, -1, 8);
    EXPECT_EQ(got, "world");
    EXPECT_EQ(tag, 8);
    EXPECT_EQ(src, 0);
    c.recv(got);
    EXPECT_EQ(got, "hello");
    EXPECT_THROW(c.recv(got), dhs::Error);  // nothing queued: would deadlock
    EXPECT_THROW(c.as_mpi(), dhs::Error);
    EXPECT_FALSE(static_cast<bool>(c.split(-1, 0)));
    Comm moved = std::move(c);
    EXPECT_EQ(moved.size(), 1);
}

// Whether a launcher started the process decides between MPI and the stand-in: the variables
// of Open MPI's mpirun, PMIx/PMI (srun, MPICH, Intel MPI) and multi-task Slurm steps.
TEST(CommLaunch, DetectsLaunchersFromTheEnvironment) {
    const char* vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MPI_LOCALNRANKS",
                          "SLURM_STEP_NUM_TASKS"};
    std::vector<std::pair<std::string, std::optional<std::string>>> saved;
    for (const char* v : vars) {
        const char* x = std::getenv(v);
        saved.emplace_back(v, x ? std::optional<std::string>(x) : std::nullopt);
        unsetenv(v);
    }
    EXPECT_FALSE(dhs::mpi::launched_by_mpi_launcher());
    setenv("SLURM_STEP_NUM_TASKS", "1", 1);  // a batch script's own step, or srun -n 1
    EXPECT_FALSE(dhs::mpi::launched_by_mpi_launcher());
    setenv("SLURM_STEP_NUM_TASKS", "4", 1);
    EXPECT_TRUE(dhs::mpi::launched_by_mpi_launcher());
    unsetenv("SLURM_STEP_NUM_TASKS");
    for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MPI_LOCALNRANKS"}) {
        setenv(v, "0", 1);
        EXPECT_TRUE(dhs::mpi::launched_by_mpi_launcher()) << v;
        unsetenv(v);
    }
    for (const auto& [k, v] : saved)
        if (v) setenv(k.c_str(), v->c_str(), 1);
}

TEST(CommStandin, NullCommThrows) {
    Comm c;
    EXPECT_THROW(c.rank(), dhs::Error);
}

TEST(CommMpi, Collectives) {
    Comm w = Comm::world();
    const int r = w.rank(), n = w.size();
    EXPECT_EQ(w.allreduce_sum(std::int64_t{r + 1}), std::int64_t{n} * (n + 1) / 2);
    EXPECT_EQ(w.allreduce_max(std::int64_t{r}), n - 1);
    EXPECT_EQ(w.allreduce_min(std::int64_t{r}), 0);
    EXPECT_DOUBLE_EQ(w.allreduce_sum(0.5), 0.5 * n);
    EXPECT_EQ(w.exscan_sum(std::int64_t{10}), 10 * r);
    std::vector<std::int64_t> v{1, r};
    auto s = w.allreduce_sum(v);
    EXPECT_EQ(s[0], n);
    EXPECT_EQ(s[1], std::int64_t{n} * (n - 1) / 2);

    std::string msg = r == 0 ? "from root" : "";
    w.broadcast(msg);
    EXPECT_EQ(msg, "from root");
    auto all = w.allgather(std::string(static_cast<std::size_t>(r), 'a'));
    ASSERT_EQ(static_cast<int>(all.size()), n);
    for (int i = 0; i < n; ++i) EXPECT_EQ(all[i], std::string(static_cast<std::size_t>(i), 'a'));
    auto g = w.gather(std::to_string(r), 0);
    if (r == 0) {
        ASSERT_EQ(static_cast<int>(g.size()), n);
        EXPECT_EQ(g.back(), std::to_string(n - 1));
    } else {
        EXPECT_TRUE(g.empty());
    }
}

TEST(CommMpi, SplitAndPointToPoint) {
    Comm w = Comm::world();
    const int r = w.rank(), n = w.size();
    Comm half = w.split(r % 2, r);
    ASSERT_TRUE(static_cast<bool>(half));
    EXPECT_EQ(half.size(), (n + 1 - r % 2) / 2);
    EXPECT_EQ(half.allreduce_sum(std::int64_t{1}), half.size());
    Comm none = w.split(r == 0 ? 0 : -1, 0);
    EXPECT_EQ(static_cast<bool>(none), r == 0);
    Comm d = w.dup();
    EXPECT_EQ(d.size(), n);

    // A ring: each rank sends to the next and receives (politely) from the previous.
    if (n > 1) {
        w.send("token " + std::to_string(r), (r + 1) % n, 3);
        std::string got;
        auto [src, tag] = w.recv(got, -1, 3, /*polite=*/true);
        EXPECT_EQ(src, (r + n - 1) % n);
        EXPECT_EQ(tag, 3);
        EXPECT_EQ(got, "token " + std::to_string(src));
    }
    EXPECT_NE(w.as_mpi(), nullptr);
    w.barrier();
}
