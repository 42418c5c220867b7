// The validation stage's parts (stage `validate`, SPEC Stage 4; seed 001 section 5, seed 002
// section 9): parameters from `validate.*`, the two comparisons it audits (real positives vs
// negatives from cutouts.h5, injections vs controls from injections.h5), the per-stamp rows a
// batch of stamps becomes, and the cross-set reduce (exact AUCs with bootstrap intervals,
// shortcut flags, the core-only and radial-profile logistic regressions, the gates, the
// summary JSON and the gate table).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config/config.hpp"
#include "core/engine/stage.hpp"
#include "kernels/stats/stamp_features.hpp"

namespace dhs::mpi {
class Comm;
}

namespace dhs::stages::validate {

/// @brief The `validate.*` keys (plus run.seed, survey.bands), resolved.
struct Params {
    std::string cutouts_file;     ///< absolute; RUN_DIR/cutouts.h5 unless validate.cutouts_file
    std::string injections_file;  ///< absolute; RUN_DIR/injections.h5 unless validate.injections_file
    bool compare_real = true, compare_injection = true;
    std::int64_t batch_size = 256;
    int stamp_size = 0;           ///< the cutouts' side (else the injections'): other sizes fail size_ok
    std::vector<std::string> bands;  ///< survey.bands, in stamp order
    kernels::StampFeatureSpec spec;
    double max_total_nan_frac = 0.05, max_core_nan_frac = 0.0, max_core_masked_frac = 0.0;
    std::uint32_t reject_maskbits = 0;
    int bootstrap_resamples = 1000;
    double ci_level = 0.95;
    double flag_yellow = 0.60, flag_red = 0.70;
    std::vector<std::string> expected_physics;  ///< feature stems that should separate (not shortcuts)
    double gate_core_lr_auc = 0.55, gate_radial_profile_auc = 0.60;
    double gate_core_brightness_ratio = 1.10, gate_nan_rejection_rate = 0.05;
    double lr_l2 = 1.0;
    int lr_max_iterations = 100;
    std::int64_t lr_max_train_rows = 8192, lr_max_test_rows = 32768, lr_min_per_class = 5;
    double lr_fallback_test_fraction = 0.3;
    std::uint64_t seed = 0;
};

/// @brief Declares the `validate.*` config keys.
void declare_config(config::Schema& schema);
/// @brief Reads and checks the parameters; relative input paths are taken under `run_dir`.
/// @throws ConfigError naming the key.
Params read_params(const config::Config& config, const std::string& run_dir);

/// @brief One audited comparison: which input, which group, which classes.
struct Comparison {
    std::string name;            ///< "real" or "injection"
    std::string source;          ///< "cutouts" or "injections" (the /metrics source column)
    std::string group;           ///< "/stamps" or "/injections"
    std::string positive_class;  ///< "positive" or "injection"
    std::string negative_class;  ///< "negative" or "control"
    std::string path;            ///< the input file
    bool requested = true;       ///< named in validate.comparisons
};
/// @brief The two comparisons, real first.
std::vector<Comparison> comparisons(const Params& p);

/// @brief The scalar per-stamp feature columns, in output order: total_nan_frac,
/// core_nan_frac, core_masked_frac, then per feature stem and band <stem>_<band> (the r-band
/// azimuthal asymmetry keeps the seed's name, azimuthal_asymmetry).
std::vector<std::string> feature_names(const std::vector<std::string>& bands);
/// @brief The column name of `stem` in `band`.
std::string band_feature_name(const std::string& stem, const std::string& band);
/// @brief The per-band feature stems, in output order.
const std::vector<std::string>& band_feature_stems();

/// @brief The stage's output groups: /metrics (one row per stamp) and /failed_stamps.
std::vector<engine::OutputGroup> output_groups(const Params& p);

/// @brief Work units: batches of `batch_size` rows of each requested, present input (real
/// first), with payload {"source", "path", "group", "begin", "end"}.
/// @throws Error when no input is present; DataError when an input lacks its group.
std::vector<engine::WorkUnit> plan_units(const Params& p);

/// @brief The rows of one unit: features and failure reasons for each stamp of the batch.
/// @throws DataError naming the file, dataset and row for malformed input.
engine::UnitOutput process_unit(const Params& p, const engine::WorkUnit& unit);

/// @brief The failure reasons of one stamp ("" when it passes), ';'-separated:
/// size, nan_total, nan_core, masked_core, no_data.
std::string failure_reasons(const Params& p, bool size_ok, const kernels::StampFeatures& f, std::size_t r_band);

/// @brief The flag of a feature from its AUC interval: "green", "yellow" or "red" on the lower
/// bound of the separation max(AUC, 1 - AUC) (that is max(lower, 1 - upper)); NaN gives
/// "not_evaluated".
std::string separation_level(double lower, double upper, double yellow, double red);
/// @brief True when `feature` starts with one of the expected-physics stems.
bool is_expected_physics(const std::string& feature, const std::vector<std::string>& stems);

/// @brief The cross-set analysis (collective over `comm`; see validate_stage.hpp): every rank
/// reads /metrics back from `path`, computes its share of the AUC and classifier tasks, and
/// rank 0 writes /shortcut_auc, /gates, /comparisons into `path`, RUN_DIR/validation_summary.json,
/// and logs the gate table.
void reduce(const Params& p, const engine::StageContext& ctx, const mpi::Comm& comm, const std::string& path);

}  // namespace dhs::stages::validate
