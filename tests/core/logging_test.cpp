// Logging: every line carries its rank; each rank writes its own file in the log directory.
#include <gtest/gtest.h>
#include <mpi.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "core/logging/log.hpp"

namespace {
std::string read_all(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}
}  // namespace

TEST(Logging, EveryLineSaysItsRankAndEachRankHasItsFile) {
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    // One directory for the whole job: rank 0 makes the name, everyone uses it.
    char dir[256] = {0};
    if (rank == 0) {
        std::string tmpl = ::testing::TempDir() + "/dhs_log_XXXXXX";
        std::snprintf(dir, sizeof dir, "%s", tmpl.c_str());
        ASSERT_NE(mkdtemp(dir), nullptr);
    }
    MPI_Bcast(dir, sizeof dir, MPI_CHAR, 0, MPI_COMM_WORLD);
    dhs::log::init({.rank = rank, .size = size, .level = "debug", .log_dir = dir, .console = false});
    spdlog::info("hello from the test");
    spdlog::debug("a debug line");
    spdlog::trace("a trace line that the level drops");
    dhs::log::flush();
    MPI_Barrier(MPI_COMM_WORLD);

    std::string text = read_all(dhs::log::rank_log_path(dir, rank));
    std::string tag = "[rank " + std::to_string(rank) + "/" + std::to_string(size) + "]";
    std::istringstream lines(text);
    int n = 0;
    for (std::string l; std::getline(lines, l); ++n) EXPECT_NE(l.find(tag), std::string::npos) << l;
    EXPECT_EQ(n, 2) << text;
    EXPECT_NE(text.find("hello from the test"), std::string::npos);
    EXPECT_EQ(text.find("trace line"), std::string::npos);
    if (rank == 0) {
        int files = 0;
        for (const auto& e : std::filesystem::directory_iterator(dir)) files += e.path().extension() == ".log";
        EXPECT_EQ(files, size);
    }
    // Back to a console-only logger so the directory can go.
    dhs::log::init({.rank = rank, .size = size, .level = "info", .log_dir = "", .console = true});
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) std::filesystem::remove_all(dir);
}

TEST(Logging, BadLevelIsAnError) {
    EXPECT_THROW(dhs::log::parse_level("loud"), dhs::Error);
    EXPECT_EQ(dhs::log::parse_level("warn"), spdlog::level::warn);
}
