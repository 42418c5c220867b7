// search_data_bench: the search stage's data path alone, as one data rank does it
// (mpi_stages/search): per brick unit of the plan, the targets read from the sample file, their
// stamps cut from the coadds (cutouts::cut_targets, image + invvar, the stage's settings) and
// prepared for the model (score::prepare_batch: crop, raw_robust), no inference. One thread.
// Prints one JSON line: stamps/s over the units done (wall and CPU seconds), so that the
// README can say how many data ranks keep one learner (GPU) busy.
//
//   search_data_bench CONFIG RUN_DIR [--set key=value]... [--units N]
// RUN_DIR holds sample.h5 and model/ (model.json: crop, preprocessing), as for `dhs run`.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/config/config.hpp"
#include "mpi_stages/common/sections.hpp"
#include "mpi_stages/search/search.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double cpu_now() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

}  // namespace

int main(int argc, char** argv) try {
    namespace se = dhs::stages::search;
    namespace sc = dhs::stages::score;
    if (argc < 3) {
        std::cerr << "usage: search_data_bench CONFIG RUN_DIR [--set key=value]... [--units N]\n";
        return 2;
    }
    std::vector<std::string> sets;
    std::size_t max_units = 1u << 30;
    for (int i = 3; i + 1 < argc; i += 2) {
        const std::string k = argv[i];
        if (k == "--set") sets.push_back(argv[i + 1]);
        else if (k == "--units") max_units = std::stoul(argv[i + 1]);
        else throw std::invalid_argument("unknown option " + k);
    }
    const auto cfg = dhs::config::Config::load_file(argv[1], dhs::stages::pipeline_schema(), sets);
    const se::Params p = se::read_params(cfg, argv[2]);
    const sc::ModelCard card = sc::read_model_card(p.inference.model);
    const auto units = dhs::stages::cutouts::brick_units(p.cut, se::searched_targets(p));
    const int nb = static_cast<int>(p.cut.bands.size()), s = p.cut.stamp_size;
    const std::size_t cell = static_cast<std::size_t>(nb) * s * s;
    std::size_t stamps = 0, done = 0, bricks = 0;
    double cut_s = 0, prepare_s = 0;
    const double cpu0 = cpu_now();
    const auto t0 = Clock::now();
    for (const auto& u : units) {
        if (done == max_units) break;
        ++done;
        auto t = Clock::now();
        bricks += static_cast<std::size_t>(std::count(u.payload.begin(), u.payload.end(), '{')) - 1;  // {"bricks": [{...}, ...]}
        const auto targets = dhs::stages::cutouts::read_targets(p.cut, dhs::stages::cutouts::unit_targets(u.payload));
        dhs::stages::cutouts::StampBatch batch;
        dhs::stages::cutouts::cut_targets(p.cut, targets, batch);
        cut_s += std::chrono::duration<double>(Clock::now() - t).count();
        t = Clock::now();
        std::vector<std::int32_t> flagged(targets.size());
        const auto step = static_cast<std::size_t>(p.inference.batch_size);
        for (std::size_t a = 0; a < targets.size(); a += step) {
            const std::size_t m = std::min(step, targets.size() - a);
            const auto b = sc::prepare_batch(std::span<const float>(batch.image).subspan(a * cell, m * cell), m, nb, s, s,
                                             card, std::vector<std::vector<double>>(card.meta_columns.size(),
                                                                                    std::vector<double>(targets.size())),
                                             a, std::span<std::int32_t>(flagged).subspan(a, m), "bench", "stamps");
            if (b.x.empty()) throw std::runtime_error("empty batch");
        }
        prepare_s += std::chrono::duration<double>(Clock::now() - t).count();
        stamps += targets.size();
    }
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count(), cpu = cpu_now() - cpu0;
    std::printf("{\"bench\": \"search_data\", \"units\": %zu, \"bricks\": %zu, \"stamps\": %zu, \"wall_s\": %.3f, \"cpu_s\": %.3f, "
                "\"stamps_per_s\": %.1f, \"stamps_per_cpu_s\": %.1f, \"cut_s\": %.3f, \"prepare_s\": %.3f, \"crop\": %d}\n",
                done, bricks, stamps, wall, cpu, static_cast<double>(stamps) / wall,
                static_cast<double>(stamps) / cpu, cut_s, prepare_s, card.pre.crop);
    return 0;
} catch (const std::exception& e) {
    std::cerr << "search_data_bench: " << e.what() << "\n";
    return 1;
}
