// The evaluation stage's internals (SPEC Stage 6): its `evaluate.*` parameters, the scored
// stamps of one split joined with what evaluation needs about them (Tier of the real positives,
// the selection-function cell of the injections), and the tables computed from them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/config/config.hpp"
#include "core/engine/table_file.hpp"

namespace dhs::stages::evaluate {

struct Params {
    std::string scores_file, cutouts_file, injections_file, sample_file;
    std::string truth_file;              ///< a mock sky's truth/lenses.csv ('' = no truth check)
    std::string split;                   ///< train, val, test or all
    std::vector<double> fpr_targets;
    int bootstrap_resamples = 1000;
    double ci_level = 0.95;
    int calibration_bins = 10;
    int gallery_size = 16;               ///< top false positives / negatives listed
    bool temperature_scaling = true;     ///< fit T on the val split, report calibration after it
    std::uint64_t seed = 0;
    std::string run_dir;
};
void declare_config(config::Schema& s);
Params read_params(const config::Config& c, const std::string& run_dir);

/// @brief One labelled set of scores: real lenses vs negatives, or injections vs controls.
struct Comparison {
    std::string name;                    ///< "real" or "injection"
    std::vector<double> score;           ///< p_lens
    std::vector<double> logit;
    std::vector<std::int64_t> source_row;///< row in cutouts.h5:/stamps or injections.h5:/injections
    std::vector<std::string> galaxy;
    std::vector<std::uint8_t> label;     ///< 1 positive / injection, 0 negative / control
    std::vector<std::string> tier;       ///< real positives: A or B ('' otherwise)
    std::vector<int> cell;               ///< injections: selection-function cell id (-1 outside)
    std::vector<int> cell_theta_e, cell_psf, cell_depth;  ///< the cell's bin indices
    std::vector<double> arc_snr;
    /// @brief Stratum labels per row by kind (real: nobs_z_bin, type_bin, psfsize_z, psfdepth_z;
    /// injection: theta_e, theta_e_over_psf), e.g. strata["type_bin"][i] = "DEV".
    std::map<std::string, std::vector<std::string>> strata;
    std::vector<std::string> confuser;   ///< real negatives: the N2 confuser_category ('' for N1)
    /// Real positives: the true theta_E of a mock sky's lens (NaN when not in the truth table),
    /// the stamp's r PSF FWHM (arcsec) and the r 5-sigma depth (mag): the selection function's axes.
    std::vector<double> truth_theta_e, psf_fwhm_r, depth_r;
};

/// @brief "[lo, hi)" of the bin of `edges` holding v ("nan" when not finite, "out" outside).
std::string bin_label(double v, const std::vector<double>& edges);

/// @brief The scored stamps of the configured split, by comparison (a comparison without both
/// labels is left out and the reason returned in `skipped`). @throws Error naming the file.
std::vector<Comparison> load_comparisons(const Params& p, std::vector<std::string>& skipped);

/// @brief Everything evaluation writes: the tables of evaluation.h5 and the summary JSON.
struct Evaluation {
    std::vector<engine::TableGroup> groups;
    std::string summary_json;
    engine::TableGroup selection_function;  ///< also written as RUN_DIR/selection_function.ecsv
};
/// @brief `fit_on`: the val split's comparisons, for temperature scaling (may be empty).
Evaluation evaluate(const Params& p, const std::vector<Comparison>& comparisons, const std::vector<std::string>& skipped,
                    const std::vector<Comparison>& fit_on);

/// @brief Temperature scaling: T minimising the mean NLL of sigmoid(logit / T) (golden-section
/// search over log T), and the NLL before (T = 1) and after.
struct TemperatureFit {
    double temperature = 1, nll_before = 0, nll_after = 0;
};
TemperatureFit fit_temperature(const std::vector<double>& logit, const std::vector<std::uint8_t>& label);
std::vector<double> scaled_probabilities(const std::vector<double>& logit, double temperature);

/// @brief The selection-function table as ECSV 1.0 (astropy.table.Table.read loads it).
std::string to_ecsv(const engine::TableGroup& table, const std::vector<std::pair<std::string, std::string>>& meta);

}  // namespace dhs::stages::evaluate
