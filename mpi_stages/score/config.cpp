// The scoring stage's `score.*` values read into Params (the keys: config_keys.cpp).
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "core/error.hpp"
#include "mpi_stages/score/score.hpp"

namespace dhs::stages::score {

Params read_params(const config::Config& c, const std::string& run_dir) {
    namespace fs = std::filesystem;
    const auto or_run = [&](const std::string& v, const char* name) {
        return v.empty() ? (fs::path(run_dir) / name).string() : v;
    };
    Params p;
    p.model = or_run(c.get_string("score.model"), "model");
    p.sources = c.get_strings("score.sources");
    p.cutouts_file = or_run(c.get_string("score.cutouts_file"), "cutouts.h5");
    p.injections_file = or_run(c.get_string("score.injections_file"), "injections.h5");
    p.batch_size = c.get_int("score.batch_size");
    p.unit_stamps = c.get_int("score.unit_stamps");
    p.device = c.get_string("score.device");
    p.threads = c.get_int("score.threads");
    p.learners = c.get_string("score.learners");
    if (p.learners != "auto" && (p.learners.empty() || p.learners.find_first_not_of("0123456789") != std::string::npos))
        throw ConfigError("score.learners", c.origin_of("score.learners"), 0,
                          "'" + p.learners + "' is neither auto nor a count of ranks");
    if (p.sources.empty())
        throw ConfigError("score.sources", c.origin_of("score.sources"), 0, "names no stamp file to score");
    return p;
}

std::vector<int> learner_ranks(const std::string& learners, const std::vector<RankView>& ranks, std::string& note) {
    const int world = static_cast<int>(ranks.size());
    std::vector<int> out;
    if (learners == "auto") {
        for (int r = 1; r < world; ++r) {
            const RankView& v = ranks[static_cast<std::size_t>(r)];
            if (v.devices > 0 && v.local_rank >= v.local_size - v.devices) out.push_back(r);
        }
        return out;
    }
    const int asked = std::stoi(learners), n = std::min(asked, world - 1);
    if (n < asked)
        note = fmt::format("score.learners {} needs {} ranks (rank 0 reads and schedules); this job has {}, so {} "
                           "learner rank(s) serve", asked, asked + 1, world, n);
    for (int r = world - n; r < world; ++r) out.push_back(r);
    return out;
}

}  // namespace dhs::stages::score
