// The search stage's `search.*` values read into Params (the keys: config_keys.cpp), on top of
// the cutout stage's parameters (stamp size, bands, edge policy: one cutting for both stages).
#include <filesystem>

#include "core/error.hpp"
#include "mpi_stages/common/truth_lenses.hpp"
#include "mpi_stages/search/search.hpp"

namespace dhs::stages::search {

Params read_params(const config::Config& c, const std::string& run_dir) {
    namespace fs = std::filesystem;
    Params p;
    p.cut = cutouts::read_params(c, run_dir);
    p.cut.target_sets = c.get_strings("search.target_sets");
    p.cut.unit_targets = c.get_int("search.unit_targets");
    p.cut.with_maskbits = false;  // only the candidates' stamps keep maskbits (cut again at the end)
    if (p.cut.target_sets.empty())
        throw ConfigError("search.target_sets", c.origin_of("search.target_sets"), 0, "names no sample group to search");
    p.cuts.max_mag_z = c.get_real("search.max_mag_z");
    p.cuts.types = c.get_strings("search.types");
    p.cuts.lrg_variant = c.get_string("search.lrg_variant");
    p.cuts.healpix_64 = c.get_ints("search.healpix_64");
    const std::string model = c.get_string("search.model");
    p.inference = {.section = "search",
                   .model = model.empty() ? (fs::path(run_dir) / "model").string() : model,
                   .device = c.get_string("search.device"),
                   .learners = c.get_string("search.learners"),
                   .threads = c.get_int("search.threads"),
                   .batch_size = c.get_int("search.batch_size")};
    const std::string& l = p.inference.learners;
    if (l != "auto" && (l.empty() || l.find_first_not_of("0123456789") != std::string::npos))
        throw ConfigError("search.learners", c.origin_of("search.learners"), 0,
                          "'" + l + "' is neither auto nor a count of ranks");
    p.top_fraction = c.get_real("search.top_fraction");
    p.threshold = c.get_real("search.threshold");
    p.max_candidates = c.get_int("search.max_candidates");
    p.known_lens_radius_arcsec = c.get_real("search.known_lens_radius_arcsec");
    p.truth_file = truth_lenses_file(c, "search.truth_lenses");
    return p;
}

}  // namespace dhs::stages::search
