// bench_gather: parallel-HDF5 gather throughput. Spools `units` units of `stamps` float32
// (3, 101, 101) stamps each (untimed), then times gather_stage (collective writes, close,
// rename) and the fsync that makes the file durable, and prints MB/s of dataset bytes and
// the busiest rank's CPU seconds. Run under mpirun -n N. DHS_BENCH_DEBUG=1 logs the gather's
// phases; DHS_BENCH_BUFFER_MB sets GatherMeta::buffer_bytes; DHS_BENCH_KEEP=1 keeps
// DIR/bench.h5 and the spool (to compare outputs, or to profile the gather alone: a valid
// spool file already there, from a run with the same arguments, is not rewritten).
//   bench_gather DIR [units=64] [stamps_per_unit=64]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "core/engine/gather.hpp"
#include "core/engine/spool.hpp"
#include "core/mpi/comm.hpp"

using namespace dhs;

int main(int argc, char** argv) {
    mpi::Runtime rt(argc, argv, /*always_mpi=*/true);
    auto world = mpi::Comm::world();
    spdlog::set_level(std::getenv("DHS_BENCH_DEBUG") ? spdlog::level::debug : spdlog::level::warn);
    if (argc < 2) {
        if (world.rank() == 0) std::fprintf(stderr, "usage: bench_gather DIR [units] [stamps_per_unit]\n");
        return 2;
    }
    const std::string dir = argv[1];
    const long units = argc > 2 ? std::atol(argv[2]) : 64;
    const long stamps = argc > 3 ? std::atol(argv[3]) : 64;
    const std::string spool = dir + "/spool";
    const bool keep = std::getenv("DHS_BENCH_KEEP") != nullptr;
    if (world.rank() == 0) std::filesystem::create_directories(spool);
    world.barrier();

    engine::OutputGroup g{.name = "stamps", .description = "benchmark stamps"};
    g.schema.add(Column("image", std::vector<float>{}, {3, 101, 101}));
    g.schema.add(Column("id", std::vector<std::int64_t>{}));
    std::vector<std::int64_t> done;
    for (long u = 0; u < units; ++u) {
        done.push_back(u);
        if (u % world.size() != world.rank()) continue;
        if (keep && engine::verify_spool(engine::spool_path(spool, u))) continue;
        std::vector<float> img(static_cast<std::size_t>(stamps) * 3 * 101 * 101);
        for (std::size_t i = 0; i < img.size(); ++i) img[i] = static_cast<float>((i * 2654435761u + static_cast<std::size_t>(u)) % 1000) * 1e-3f;
        std::vector<std::int64_t> id(static_cast<std::size_t>(stamps), u);
        Table t;
        t.add(Column("image", std::move(img), {3, 101, 101}));
        t.add(Column("id", std::move(id)));
        engine::write_spool(spool, u, {{"stamps", t}});
    }
    world.barrier();
    engine::GatherMeta meta;
    meta.stage = "bench";
    if (const char* mb = std::getenv("DHS_BENCH_BUFFER_MB")) meta.buffer_bytes = std::strtoull(mb, nullptr, 10) << 20;
    auto cpu = [] {
        rusage u{};
        ::getrusage(RUSAGE_SELF, &u);
        return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
               1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
    };
    const double c0 = cpu();
    auto t0 = std::chrono::steady_clock::now();
    auto rows = engine::gather_stage(world, {g}, done, spool, dir + "/bench.h5", meta);
    // Durable, as a stage's file is before its COMPLETE marker (the runner's fsync, timed here).
    if (world.rank() == 0) engine::fsync_file(dir + "/bench.h5");
    world.barrier();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // CPU seconds of the busiest rank: less sensitive than wall time to other work on the machine.
    const double cpu_max = world.allreduce_max(cpu() - c0);
    double mb = static_cast<double>(rows["stamps"]) * (3 * 101 * 101 * 4 + 8) / 1e6;
    if (world.rank() == 0) {
        std::printf("{\"bench\": \"gather\", \"ranks\": %d, \"rows\": %llu, \"MB\": %.1f, \"seconds\": %.3f, \"MB_per_s\": %.1f, "
                    "\"cpu_s_max_rank\": %.3f}\n",
                    world.size(), static_cast<unsigned long long>(rows["stamps"]), mb, s, mb / s, cpu_max);
        if (!keep) {
            std::filesystem::remove_all(spool);
            std::filesystem::remove(dir + "/bench.h5");
        }
    }
    return 0;
}
