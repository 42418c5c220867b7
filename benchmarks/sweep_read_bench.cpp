// Google Benchmark of dhs::fits::SweepReader on the 1M-row synthetic sweep written by
// shared/bench/pyref/make_data.py: open + read of (a) the 15 columns stage_a_sweep.py's NEEDED
// list names and (b) every column, reported as rows/s (items_per_second). Each iteration opens
// the file afresh, as fitsio.read(path, columns=...) does. Warm page cache after the first.
//
//   bench_sweep_read --sweep=bench-out/data/sweep-synth.fits [--benchmark_* flags]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/fits/sweep_reader.hpp"

namespace {

// stage_a_sweep.py NEEDED, in its order.
const std::vector<std::string> kNeeded = {"RA",
                                          "DEC",
                                          "TYPE",
                                          "BRICK_PRIMARY",
                                          "MASKBITS",
                                          "FLUX_G",
                                          "FLUX_R",
                                          "FLUX_Z",
                                          "MW_TRANSMISSION_G",
                                          "MW_TRANSMISSION_R",
                                          "MW_TRANSMISSION_Z",
                                          "NOBS_G",
                                          "NOBS_R",
                                          "NOBS_Z",
                                          "SHAPE_R"};

void read_columns(benchmark::State& state, const std::string& path, bool all, std::int64_t block_rows) {
    std::int64_t rows = 0, bytes = 0;
    for (auto _ : state) {
        dhs::fits::SweepReader reader(path, block_rows);
        dhs::Table t = reader.read_all(all ? reader.column_names() : kNeeded);
        benchmark::DoNotOptimize(t.columns().front().storage());
        rows += reader.num_rows();
        bytes += reader.num_rows() * reader.row_bytes();
        state.counters["columns"] = static_cast<double>(t.num_columns());
        state.counters["block_rows"] = static_cast<double>(reader.block_rows());
    }
    state.SetItemsProcessed(rows);
    state.SetBytesProcessed(bytes);
}

}  // namespace

int main(int argc, char** argv) {
    std::string sweep;
    std::vector<char*> args;
    for (int i = 0; i < argc; ++i) {
        if (std::strncmp(argv[i], "--sweep=", 8) == 0)
            sweep = argv[i] + 8;
        else
            args.push_back(argv[i]);
    }
    if (sweep.empty() || !std::filesystem::exists(sweep)) {
        std::fprintf(stderr, "usage: %s --sweep=PATH/sweep-synth.fits [--benchmark_...]\n"
                             "(make it with /usr/bin/python3 shared/bench/pyref/make_data.py)\n", argv[0]);
        return 2;
    }
    int n = static_cast<int>(args.size());
    benchmark::Initialize(&n, args.data());
    if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;

    for (bool all : {false, true}) {
        const std::string what = all ? "all_columns" : "needed_15_columns";
        benchmark::RegisterBenchmark(("sweep_read/" + what).c_str(),
                                     [=](benchmark::State& s) { read_columns(s, sweep, all, 0); })
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
        for (std::int64_t block : {256, 1024, 8192, 32768})  // block-size sweep (rows per read)
            benchmark::RegisterBenchmark(("sweep_read/" + what + "/block_rows:" + std::to_string(block)).c_str(),
                                         [=](benchmark::State& s) { read_columns(s, sweep, all, block); })
                ->Unit(benchmark::kMillisecond)
                ->UseRealTime();
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
