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

// Typed messages: spans of float / int64 / uint8 without packing bytes by hand.
TEST(CommStandin, TypedMessagesToSelf) {
    Comm c = Comm::self_standin();
    std::vector<float> out{1.5f, -2.f, 3.25f}, in(8, 0.f);
    auto r = c.irecv(std::span<float>(in), 0, 4);  // posted before the send
    EXPECT_FALSE(r.test());
    c.isend(std::span<const float>(out), 0, 4).wait();
    EXPECT_EQ(r.wait(), 3);
    EXPECT_EQ(in[2], 3.25f);
    std::vector<float> sum{1.f, 2.f};
    c.allreduce_sum_inplace(std::span<float>(sum));
    EXPECT_EQ(sum[1], 2.f);
    std::vector<std::uint8_t> small(1);
    c.send(std::span<const std::uint8_t>(std::vector<std::uint8_t>{1, 2, 3}), 0, 9);
    EXPECT_THROW(c.recv(std::span<std::uint8_t>(small), 0, 9), dhs::Error);  // buffer too short
    EXPECT_THROW(c.recv(std::span<std::uint8_t>(small), 0, 10), dhs::Error);  // nothing queued
}

TEST(CommMpi, TypedMessagesAndReductions) {
    Comm w = Comm::world();
    const int r = w.rank(), n = w.size();
    // Ring: every rank sends its rank as float, int64 and uint8 to the next one, non-blocking.
    const int next = (r + 1) % n, prev = (r + n - 1) % n;
    std::vector<float> f_out(5, static_cast<float>(r)), f_in(16, -1.f);
    std::vector<std::int64_t> i_out(3, std::int64_t{r} << 40), i_in(3);
    std::vector<std::uint8_t> u_out(2, static_cast<std::uint8_t>(r)), u_in(2);
    auto rf = w.irecv(std::span<float>(f_in), prev, 1);
    auto ri = w.irecv(std::span<std::int64_t>(i_in), prev, 2);
    auto ru = w.irecv(std::span<std::uint8_t>(u_in), prev, 3);
    auto sf = w.isend(std::span<const float>(f_out), next, 1);
    auto si = w.isend(std::span<const std::int64_t>(i_out), next, 2);
    auto su = w.isend(std::span<const std::uint8_t>(u_out), next, 3);
    EXPECT_EQ(rf.wait(), 5);
    EXPECT_EQ(ri.wait(false), 3);
    EXPECT_EQ(ru.wait(), 2);
    EXPECT_EQ(sf.wait(), 5);
    si.wait();
    su.wait();
    EXPECT_EQ(f_in[4], static_cast<float>(prev));
    EXPECT_EQ(f_in[5], -1.f);
    EXPECT_EQ(i_in[0], std::int64_t{prev} << 40);
    EXPECT_EQ(u_in[1], prev);
    // In-place sums and typed broadcast.
    std::vector<float> g{1.f, static_cast<float>(r)};
    w.allreduce_sum_inplace(std::span<float>(g));
    EXPECT_EQ(g[0], static_cast<float>(n));
    EXPECT_EQ(g[1], static_cast<float>(n * (n - 1) / 2));
    std::vector<double> d{0.25};
    w.allreduce_sum_inplace(std::span<double>(d));
    EXPECT_DOUBLE_EQ(d[0], 0.25 * n);
    std::vector<std::int64_t> b(4, r == n - 1 ? 77 : 0);
    w.broadcast(std::span<std::int64_t>(b), n - 1);
    EXPECT_EQ(b[3], 77);
    // Split by colour: even and odd ranks.
    Comm half = w.split(r % 2, r);
    std::vector<float> h{1.f};
    half.allreduce_sum_inplace(std::span<float>(h));
    EXPECT_EQ(h[0], static_cast<float>((n + 1 - r % 2) / 2));
}
