// The search stage's `search.*` config keys. Free of libtorch, like score's: every build
// accepts a config with a search section.
#include "mpi_stages/search/config_keys.hpp"

namespace dhs::stages::search {

void declare_config(config::Schema& s) {
    using config::ValueType;
    s.add({.key = "search.target_sets", .type = ValueType::string_list,
           .description = "sample groups searched (sample.h5, cutouts.sample_file): pool (every galaxy that passed the "
                          "sample's cuts) and positives (the catalogued lenses, so that their ranks can be measured)",
           .default_yaml = "[pool, positives]"});
    s.add({.key = "search.max_mag_z", .type = ValueType::real,
           .description = "only targets brighter than this z magnitude (the sample's mag_z; Huang et al. searched "
                          "z < 20); 99 = no cut",
           .default_yaml = "99", .min = -100, .max = 100});
    s.add({.key = "search.types", .type = ValueType::string_list,
           .description = "only targets of these Tractor types (SER, DEV, REX, EXP...); [] = every type",
           .default_yaml = "[]"});
    s.add({.key = "search.lrg_variant", .type = ValueType::string,
           .description = "only targets flagged by this LRG selection of the sample (v1..v5, as lrg_v1..lrg_v5); "
                          "'' = no such cut",
           .default_yaml = "''", .choices = {"", "v1", "v2", "v3", "v4", "v5"}});
    s.add({.key = "search.healpix_64", .type = ValueType::integer_list,
           .description = "only targets in these NESTED HEALPix cells at nside 64 (the sample's healpix_64); [] = all",
           .default_yaml = "[]"});
    s.add({.key = "search.model", .type = ValueType::string,
           .description = "the model searched with: '' = the run's best (RUN_DIR/model), another run's model "
                          "directory, or a TorchScript file (as score.model)",
           .default_yaml = "''"});
    s.add({.key = "search.batch_size", .type = ValueType::integer, .description = "stamps per inference batch",
           .default_yaml = "256", .min = 1, .max = 65536});
    s.add({.key = "search.unit_targets", .type = ValueType::integer,
           .description = "targets per work unit (whole bricks are grouped up to it)", .default_yaml = "2000",
           .min = 1, .max = 1e8});
    s.add({.key = "search.device", .type = ValueType::string,
           .description = "inference device: auto (the rank's CUDA device when present), cpu or cuda",
           .default_yaml = "auto", .choices = {"auto", "cpu", "cuda"}});
    s.add({.key = "search.learners", .type = ValueType::string,
           .description = "learner ranks that infer for the data ranks, which cut and prepare the stamps: as "
                          "score.learners (0, auto = one per CUDA device of each node, or a count)",
           .default_yaml = "auto"});
    s.add({.key = "search.threads", .type = ValueType::integer,
           .description = "compute threads per rank (0: the node's cores over its ranks)", .default_yaml = "0",
           .min = 0, .max = 1024});
    s.add({.key = "search.top_fraction", .type = ValueType::real,
           .description = "candidates: this fraction of the targets with the highest p_lens (Huang et al. inspected "
                          "the top 0.01%)",
           .default_yaml = "1e-4", .min = 0, .max = 1});
    s.add({.key = "search.threshold", .type = ValueType::real,
           .description = "candidates also: every target with p_lens at or above this (negative = off)",
           .default_yaml = "-1", .min = -1, .max = 1});
    s.add({.key = "search.max_candidates", .type = ValueType::integer,
           .description = "at most this many candidates (highest p_lens first) get stamps in /candidates",
           .default_yaml = "10000", .min = 0, .max = 1e7});
    s.add({.key = "search.known_lens_radius_arcsec", .type = ValueType::real,
           .description = "a candidate within this of a catalogued lens (sample.h5:/lenses) is a known lens",
           .default_yaml = "5", .min = 0, .max = 3600});
    s.add({.key = "search.truth_lenses", .type = ValueType::string,
           .description = "a mock sky's truth table, for the true lenses' ranks among the targets; '' = "
                          "<survey.root>/truth/lenses.csv when it exists; none = no check",
           .default_yaml = "''"});
}

}  // namespace dhs::stages::search
