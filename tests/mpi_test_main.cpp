// Shared GoogleTest main for tests that need MPI: initialises MPI, lets only rank 0 print
// (other ranks print their failures, prefixed by rank), and fails the run on every rank
// when any rank failed. After openPMD-api's test/CatchRunner.cpp.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdio>

#include "core/mpi/comm.hpp"

namespace {
class RankFailurePrinter : public testing::EmptyTestEventListener {
public:
    explicit RankFailurePrinter(int rank) : rank_(rank) {}
    void OnTestPartResult(const testing::TestPartResult& r) override {
        if (r.failed())
            std::fprintf(stderr, "[rank %d] %s:%d: Failure\n%s\n", rank_, r.file_name() ? r.file_name() : "?",
                         r.line_number(), r.summary());
    }

private:
    int rank_;
};
}  // namespace

int main(int argc, char** argv) {
    dhs::mpi::Runtime mpi(argc, argv, /*always_mpi=*/true);
    testing::InitGoogleTest(&argc, argv);
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank != 0) {
        auto& listeners = testing::UnitTest::GetInstance()->listeners();
        delete listeners.Release(listeners.default_result_printer());
        listeners.Append(new RankFailurePrinter(rank));
    }
    int failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
    int any = 0;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return any;
}
