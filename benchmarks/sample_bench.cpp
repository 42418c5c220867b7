// Google Benchmark of the sampling stage's per-unit work on the 1M-row synthetic sweep of
// shared/bench/pyref/make_data.py (benchmarks/run_sample.sh makes it and a lens list): one
// unit of every row, split into (a) the sweep read of the stage's columns, (b) read + per-row
// derivation (HEALPix, split, bins, lens exclusion), (c) the whole unit (b + magnitudes, pools,
// LRG flags, draw values and the output tables). rows/s = items_per_second; CPU time is
// reported too (the machine is shared). Warm page cache after the first iteration.
//
//   bench_sample --sweep=bench-out/sample-data/sweep-synth.fits --lenses=bench-out/sample-data/lenscat-synth.csv
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/fits/sweep_reader.hpp"
#include "mpi_stages/common/sections.hpp"
#include "mpi_stages/sample/sample.hpp"

namespace s = dhs::stages::sample;

namespace {

std::string g_sweep, g_lenses;

s::Params params() {
    const auto c = dhs::config::Config::load_string("run: {seed: 42}\n", "bench", dhs::stages::pipeline_schema(),
                                                    {"sample.lens_catalog=" + g_lenses, "sample.sweep_files=[" + g_sweep + "]"});
    return s::read_params(c);
}

void read_only(benchmark::State& state) {
    const auto req = s::sweep_requests();
    std::int64_t rows = 0;
    for (auto _ : state) {
        dhs::fits::SweepReader r(g_sweep);
        for (std::int64_t b = 0; b < r.num_rows(); b += 65536) {
            const auto t = r.read(req, b, std::min(r.num_rows(), b + 65536));
            benchmark::DoNotOptimize(t.columns().front().storage());
        }
        rows += r.num_rows();
    }
    state.SetItemsProcessed(rows);
}

void read_derive(benchmark::State& state) {
    const auto p = params();
    const auto in = s::load_inputs(p);
    const auto req = s::sweep_requests();
    std::int64_t rows = 0;
    for (auto _ : state) {
        dhs::fits::SweepReader r(g_sweep);
        std::vector<std::int8_t> cache(12 * 128 * 128, -1);
        for (std::int64_t b = 0; b < r.num_rows(); b += 65536) {
            const auto t = r.read(req, b, std::min(r.num_rows(), b + 65536));
            const auto d = s::derive_block(t, p, *in, cache, g_sweep, b);
            benchmark::DoNotOptimize(d.in_pool.data());
        }
        rows += r.num_rows();
    }
    state.SetItemsProcessed(rows);
}

void whole_unit(benchmark::State& state) {
    const auto p = params();
    (void)s::load_inputs(p);
    dhs::fits::SweepReader r(g_sweep);
    dhs::engine::WorkUnit u;
    u.payload = nlohmann::json{{"path", g_sweep}, {"begin", 0}, {"end", r.num_rows()}, {"file_index", 0}}.dump();
    std::int64_t rows = 0;
    for (auto _ : state) {
        auto out = s::process_unit(u, p);
        state.counters["pool_rows"] = static_cast<double>(out["pool"].num_rows());
        benchmark::DoNotOptimize(out);
        rows += r.num_rows();
    }
    state.SetItemsProcessed(rows);
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<char*> args;
    for (int i = 0; i < argc; ++i) {
        if (std::strncmp(argv[i], "--sweep=", 8) == 0) g_sweep = argv[i] + 8;
        else if (std::strncmp(argv[i], "--lenses=", 9) == 0) g_lenses = argv[i] + 9;
        else args.push_back(argv[i]);
    }
    if (!std::filesystem::exists(g_sweep) || !std::filesystem::exists(g_lenses)) {
        std::fprintf(stderr, "usage: %s --sweep=sweep-synth.fits --lenses=lenscat.csv [--benchmark_...]\n"
                             "(benchmarks/run_sample.sh makes both)\n", argv[0]);
        return 2;
    }
    g_sweep = std::filesystem::absolute(g_sweep).string();
    g_lenses = std::filesystem::absolute(g_lenses).string();
    int n = static_cast<int>(args.size());
    benchmark::Initialize(&n, args.data());
    if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;
    benchmark::RegisterBenchmark("sample/read", read_only)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("sample/read_derive", read_derive)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("sample/whole_unit", whole_unit)->Unit(benchmark::kMillisecond);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
