// The scoring stage's `score.*` values read into Params (the keys: config_keys.cpp).
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
    if (p.sources.empty())
        throw ConfigError("score.sources", c.origin_of("score.sources"), 0, "names no stamp file to score");
    return p;
}

}  // namespace dhs::stages::score
