// Benchmarks of the validation stage's numerics on stamps like
// ../shared/bench/pyref/stage_d_features.py makes them (Gaussian noise sigma 0.006 plus a flat
// 0.05 box on pixels 45..55, 3 bands, 101 x 101): per-stamp features (stamps/s on one core, the
// stage's full set: NaN fractions, three annuli, annulus max/std, asymmetry, MAD, gradient,
// radial profile, core box), the exact AUC with its bootstrap, and the core-pixel logistic
// regression. With `--write-cutouts DIR N` it instead writes DIR/cutouts.h5 holding N such
// stamps (alternately positives and negatives) for benchmarks/run_validate.sh to run the stage on.
#include <benchmark/benchmark.h>
#include <hdf5.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/hdf5/result_file.hpp"
#include "kernels/stats/logistic_regression.hpp"
#include "kernels/stats/roc_auc.hpp"
#include "kernels/stats/stamp_features.hpp"

namespace {

constexpr int kSize = 101, kBands = 3;
constexpr std::size_t kCell = kBands * kSize * kSize;

// N stamps (NCHW) drawn as stage_d_features.py draws them.
std::vector<float> pyref_stamps(std::size_t n, unsigned seed = 7) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> g(0.0f, 0.006f);
    std::vector<float> s(n * kCell);
    for (auto& v : s) v = g(rng);
    for (std::size_t i = 0; i < n; ++i)
        for (int b = 0; b < kBands; ++b)
            for (int y = 45; y < 56; ++y)
                for (int x = 45; x < 56; ++x) s[i * kCell + (static_cast<std::size_t>(b) * kSize + y) * kSize + x] += 0.05f;
    return s;
}

void BM_StampFeatures(benchmark::State& state) {
    const std::size_t n = 256;
    const auto stamps = pyref_stamps(n);
    const dhs::kernels::FeatureRegions geometry(kSize, kSize, dhs::kernels::StampFeatureSpec{});
    dhs::kernels::StampFeatureScratch scratch;
    std::vector<float> profile(kBands * geometry.profile_size()), box(kBands * geometry.box_size());
    std::size_t i = 0;
    for (auto _ : state) {
        const auto f = dhs::kernels::compute_stamp_features(
            geometry, kBands, std::span<const float>(stamps).subspan((i++ % n) * kCell, kCell), {}, 0, profile, box,
            scratch);
        benchmark::DoNotOptimize(f.band[1].mad);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.SetLabel("stamps (3 bands, full feature set)");
}
BENCHMARK(BM_StampFeatures)->UseRealTime();  // wall clock, as the Python baseline times itself

void BM_BootstrapAuc(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    std::mt19937_64 rng(3);
    std::normal_distribution<double> g(0, 1);
    std::vector<double> pos(n), neg(n);
    for (auto& v : pos) v = g(rng) + 0.3;
    for (auto& v : neg) v = g(rng);
    for (auto _ : state) benchmark::DoNotOptimize(dhs::kernels::bootstrap_roc_auc(pos, neg, 1000, 0.95, 1).lower);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * 1000 * 2 * n));
    state.SetLabel("resampled scores (1000 replicates)");
}
BENCHMARK(BM_BootstrapAuc)->Arg(1000)->Arg(20000)->Unit(benchmark::kMillisecond);

void BM_CoreLogisticRegression(benchmark::State& state) {
    const auto rows = static_cast<std::size_t>(state.range(0)), cols = std::size_t{768};
    std::mt19937_64 rng(5);
    std::normal_distribution<double> g(0, 1);
    std::vector<double> x(rows * cols);
    std::vector<std::uint8_t> y(rows);
    for (std::size_t i = 0; i < rows; ++i) {
        y[i] = i % 2;
        for (std::size_t j = 0; j < cols; ++j) x[i * cols + j] = g(rng) + (y[i] && j < 8 ? 0.2 : 0.0);
    }
    for (auto _ : state) benchmark::DoNotOptimize(dhs::kernels::fit_logistic_regression(x, rows, cols, y).intercept);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * rows));
    state.SetLabel("training stamps, 768 core pixels");
}
BENCHMARK(BM_CoreLogisticRegression)->Arg(2000)->Unit(benchmark::kMillisecond);

// DIR/cutouts.h5 with N stamps in the cutouts stage's layout.
int write_cutouts(const std::string& dir, std::size_t n) {
    const auto stamps = pyref_stamps(n);
    std::vector<std::string> target(n), id(n), split(n);
    const char* splits[10] = {"train", "train", "train", "train", "train", "train", "train", "val", "test", "test"};
    for (std::size_t i = 0; i < n; ++i) {
        target[i] = i % 2 ? "negatives" : "positives";
        id[i] = "bench_" + std::to_string(i);
        split[i] = splits[i % 10];
    }
    dhs::Table t;
    t.add(dhs::Column("image", stamps, {kBands, kSize, kSize}));
    t.add(dhs::Column("target_set", target));
    t.add(dhs::Column("galaxy_id", id));
    t.add(dhs::Column("split", split));
    const std::string path = dir + "/cutouts.h5";
    H5Fclose(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    dhs::hdf5::ResultAppender app(path);
    app.write_table("/stamps", t);
    app.close();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 4 && std::strcmp(argv[1], "--write-cutouts") == 0)
        return write_cutouts(argv[2], static_cast<std::size_t>(std::stoul(argv[3])));
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
