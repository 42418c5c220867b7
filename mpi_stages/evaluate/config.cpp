// The evaluation stage's `evaluate.*` config keys and their reading into Params.
#include <filesystem>

#include "core/error.hpp"
#include "mpi_stages/common/truth_lenses.hpp"
#include "mpi_stages/evaluate/evaluate.hpp"

namespace dhs::stages::evaluate {

void declare_config(config::Schema& s) {
    using config::ValueType;
    s.add({.key = "evaluate.split", .type = ValueType::string,
           .description = "the split evaluated (the sample stage's HEALPix split); all = every stamp",
           .default_yaml = "test", .choices = {"train", "val", "test", "all"}});
    s.add({.key = "evaluate.fpr_targets", .type = ValueType::real_list,
           .description = "false-positive rates the operating thresholds are chosen at (on the real negatives, "
                          "else the controls); one below 1/N_neg is reported as not resolvable",
           .default_yaml = "[1.0e-5, 1.0e-4, 1.0e-3, 1.0e-2]", .min = 0, .max = 1});
    s.add({.key = "evaluate.bootstrap_resamples", .type = ValueType::integer,
           .description = "bootstrap replicates of AUCs and recalls", .default_yaml = "1000", .min = 0, .max = 1e6});
    s.add({.key = "evaluate.ci_level", .type = ValueType::real,
           .description = "level of every interval (bootstrap and Clopper-Pearson)", .default_yaml = "0.95",
           .min = 0.5, .max = 0.9999});
    s.add({.key = "evaluate.calibration_bins", .type = ValueType::integer,
           .description = "bins of the reliability diagrams (uniform and quantile) and of the ECE",
           .default_yaml = "10", .min = 1, .max = 1000});
    s.add({.key = "evaluate.gallery_size", .type = ValueType::integer,
           .description = "top false positives and false negatives listed per comparison (failure modes)",
           .default_yaml = "16", .min = 0, .max = 100000});
    s.add({.key = "evaluate.temperature_scaling", .type = ValueType::boolean,
           .description = "fit a temperature T on the val split (min NLL of sigmoid(logit / T)) and report the "
                          "calibration of the evaluated split after it",
           .default_yaml = "true"});
    s.add({.key = "evaluate.truth_lenses", .type = ValueType::string,
           .description = "a mock sky's truth table of its lenses (name, brickname, objid, theta_e_arcsec, ...) for "
                          "the truth check; '' = <survey.root>/truth/lenses.csv when it exists; none = no check",
           .default_yaml = "''"});
    s.add({.key = "evaluate.scores_file", .type = ValueType::string,
           .description = "the scoring stage's output ('': RUN_DIR/scores.h5)", .default_yaml = "''"});
}

Params read_params(const config::Config& c, const std::string& run_dir) {
    namespace fs = std::filesystem;
    const auto run_file = [&](const char* name) { return (fs::path(run_dir) / name).string(); };
    Params p;
    p.run_dir = run_dir;
    p.scores_file = c.get_string("evaluate.scores_file");
    if (p.scores_file.empty()) p.scores_file = run_file("scores.h5");
    p.cutouts_file = c.get_string("score.cutouts_file");
    if (p.cutouts_file.empty()) p.cutouts_file = run_file("cutouts.h5");
    p.injections_file = c.get_string("score.injections_file");
    if (p.injections_file.empty()) p.injections_file = run_file("injections.h5");
    p.sample_file = run_file("sample.h5");
    p.truth_file = truth_lenses_file(c, "evaluate.truth_lenses");
    p.split = c.get_string("evaluate.split");
    p.fpr_targets = c.get_reals("evaluate.fpr_targets");
    p.bootstrap_resamples = static_cast<int>(c.get_int("evaluate.bootstrap_resamples"));
    p.ci_level = c.get_real("evaluate.ci_level");
    p.calibration_bins = static_cast<int>(c.get_int("evaluate.calibration_bins"));
    p.gallery_size = static_cast<int>(c.get_int("evaluate.gallery_size"));
    p.temperature_scaling = c.get_bool("evaluate.temperature_scaling");
    p.seed = static_cast<std::uint64_t>(c.get_int("run.seed"));
    if (p.fpr_targets.empty())
        throw ConfigError("evaluate.fpr_targets", c.origin_of("evaluate.fpr_targets"), 0, "names no false-positive rate");
    return p;
}

}  // namespace dhs::stages::evaluate
