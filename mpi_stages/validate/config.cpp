// The validation stage's `validate.*` config keys, their resolution, the comparisons and the
// names of the per-stamp feature columns.
#include <algorithm>
#include <filesystem>

#include "core/error.hpp"
#include "mpi_stages/common/stamp_geometry.hpp"
#include "mpi_stages/validate/validate.hpp"

namespace fs = std::filesystem;

namespace dhs::stages::validate {

void declare_config(config::Schema& s) {
    using config::ValueType;
    auto real = [&](const char* key, const char* desc, const char* def, double lo, double hi, const char* unit = "") {
        s.add({.key = key, .type = ValueType::real, .description = desc, .default_yaml = def, .min = lo, .max = hi,
               .unit = unit});
    };
    auto integer = [&](const char* key, const char* desc, const char* def, double lo, double hi,
                       const char* unit = "") {
        s.add({.key = key, .type = ValueType::integer, .description = desc, .default_yaml = def, .min = lo, .max = hi,
               .unit = unit});
    };
    s.add({.key = "validate.cutouts_file", .type = ValueType::string,
           .description = "cutouts to audit (group /stamps); '' = RUN_DIR/cutouts.h5; relative paths are under RUN_DIR; "
                          "a missing file skips the real comparison",
           .default_yaml = "''"});
    s.add({.key = "validate.injections_file", .type = ValueType::string,
           .description = "injections to audit (group /injections); '' = RUN_DIR/injections.h5; a missing file skips "
                          "the injection comparison",
           .default_yaml = "''"});
    s.add({.key = "validate.comparisons", .type = ValueType::string_list,
           .description = "what to audit: real (positives vs negatives), injection (injections vs controls)",
           .default_yaml = "[real, injection]", .choices = {"real", "injection"}});
    integer("validate.batch_size", "stamps per work unit (read as one row block)", "256", 1, 1e6, "stamps");
    real("validate.core_radius_px", "core: r < this (core brightness, core NaN and mask fractions)", "8", 0.5, 1000,
         "pixels");
    real("validate.annulus_inner_px", "annulus inner radius (brightness, max, std, asymmetry)", "4", 0, 1000, "pixels");
    real("validate.annulus_outer_px", "annulus outer radius (exclusive)", "16", 0.5, 1000, "pixels");
    real("validate.outer_inner_px", "outer ring inner radius (the radial gradient's denominator)", "16", 0, 1000,
         "pixels");
    real("validate.outer_outer_px", "outer ring outer radius (exclusive)", "28", 0.5, 1000, "pixels");
    integer("validate.azimuthal_sectors", "sectors of the annulus for the azimuthal asymmetry", "8", 2, 64);
    integer("validate.profile_bins", "radial profile bins of 1 px (the radial-profile classifier's input per band)",
            "20", 1, 1000);
    integer("validate.core_box_px", "side of the central box the core-only classifier sees", "16", 1, 1000, "pixels");
    real("validate.max_total_nan_frac", "a stamp with more NaN pixels (all bands) fails quality (nan_total)", "0.05", 0,
         1);
    real("validate.max_core_nan_frac", "a stamp with more NaN core pixels fails quality (nan_core)", "0", 0, 1);
    integer("validate.reject_maskbits",
            "DR10 maskbits that mark a core pixel unusable (default SATUR_G|SATUR_R|SATUR_Z|BAILOUT = 4+8+16+1024)",
            "1052", 0, 4294967295.0);
    real("validate.max_core_masked_frac", "a stamp with more masked core pixels fails quality (masked_core)", "0", 0,
         1);
    integer("validate.bootstrap_resamples", "bootstrap replicates of each AUC (0: no interval)", "1000", 0, 1e6);
    real("validate.ci_level", "confidence level of the bootstrap percentile interval", "0.95", 0.5, 0.999);
    real("validate.flag_yellow", "separation CI lower bound from which a feature is yellow", "0.60", 0.5, 1);
    real("validate.flag_red", "separation CI lower bound above which a feature is red (a shortcut)", "0.70", 0.5, 1);
    s.add({.key = "validate.expected_physics", .type = ValueType::string_list,
           .description = "feature stems that SHOULD separate lenses (flagged expected_physics, not shortcuts)",
           .default_yaml = "[annulus_brightness, annulus_max, annulus_std, azimuthal_asymmetry]"});
    real("validate.gate_core_lr_auc", "gate: core-only logistic regression test AUC must stay below", "0.55", 0.5, 1);
    real("validate.gate_radial_profile_auc", "gate: radial-profile logistic regression test AUC must stay below",
         "0.60", 0.5, 1);
    real("validate.gate_core_brightness_ratio",
         "gate: median r core brightness of positives / negatives must not exceed", "1.10", 1, 100);
    real("validate.gate_nan_rejection_rate", "gate: fraction of stamps rejected for NaNs must not exceed", "0.05", 0,
         1);
    real("validate.lr_l2", "L2 penalty of the shortcut classifiers (scikit-learn C = 1 / lr_l2) on standardised inputs",
         "1.0", 1e-8, 1e8);
    integer("validate.lr_max_iterations", "Newton iterations at most", "100", 1, 10000);
    integer("validate.lr_max_train_rows", "training rows at most (a deterministic hash subsample beyond)", "8192", 10,
            1e8, "stamps");
    integer("validate.lr_max_test_rows", "test rows at most (a deterministic hash subsample beyond)", "32768", 10, 1e8,
            "stamps");
    integer("validate.lr_min_per_class",
            "stamps of each class needed in train and in test; fewer in the split column's train/test "
            "falls back to a hashed split",
            "5", 1, 1e6, "stamps");
    real("validate.lr_fallback_test_fraction", "test fraction of the hashed fallback split", "0.3", 0.05, 0.95);
}

Params read_params(const config::Config& c, const std::string& run_dir) {
    Params p;
    auto path = [&](const std::string& key, const char* def) {
        std::string v = c.get_string(key);
        if (v.empty()) v = def;
        fs::path f(v);
        if (f.is_relative()) f = fs::path(run_dir) / f;
        return f.lexically_normal().string();
    };
    p.cutouts_file = path("validate.cutouts_file", "cutouts.h5");
    p.injections_file = path("validate.injections_file", "injections.h5");
    const auto which = c.get_strings("validate.comparisons");
    p.compare_real = std::find(which.begin(), which.end(), "real") != which.end();
    p.compare_injection = std::find(which.begin(), which.end(), "injection") != which.end();
    p.batch_size = c.get_int("validate.batch_size");
    // The expected stamp side is the cutouts' (only cutouts.stamp_size sets it): injections of
    // another size fail size_ok.
    for (const auto& f : {p.cutouts_file, p.injections_file})
        if (p.stamp_size == 0 && fs::exists(f))
            p.stamp_size = read_stamp_geometry(f, f == p.cutouts_file ? "/stamps/image" : "/injections/image").size;
    p.bands = c.get_strings("survey.bands");
    if (std::find(p.bands.begin(), p.bands.end(), "r") == p.bands.end())
        throw ConfigError("survey.bands", c.origin_of("survey.bands"), 0,
                          "the validation features and gates are defined in the r band: survey.bands must include r");
    if (p.bands.size() > kernels::kMaxStampBands)
        throw ConfigError("survey.bands", c.origin_of("survey.bands"), 0, "at most 4 bands");
    p.spec.core_radius = c.get_real("validate.core_radius_px");
    p.spec.annulus_inner = c.get_real("validate.annulus_inner_px");
    p.spec.annulus_outer = c.get_real("validate.annulus_outer_px");
    p.spec.outer_inner = c.get_real("validate.outer_inner_px");
    p.spec.outer_outer = c.get_real("validate.outer_outer_px");
    if (!(p.spec.annulus_inner < p.spec.annulus_outer))
        throw ConfigError("validate.annulus_inner_px", c.origin_of("validate.annulus_inner_px"), 0,
                          "must be smaller than validate.annulus_outer_px");
    if (!(p.spec.outer_inner < p.spec.outer_outer))
        throw ConfigError("validate.outer_inner_px", c.origin_of("validate.outer_inner_px"), 0,
                          "must be smaller than validate.outer_outer_px");
    p.spec.sectors = static_cast<int>(c.get_int("validate.azimuthal_sectors"));
    p.spec.profile_bins = static_cast<int>(c.get_int("validate.profile_bins"));
    p.spec.core_box = static_cast<int>(c.get_int("validate.core_box_px"));
    p.max_total_nan_frac = c.get_real("validate.max_total_nan_frac");
    p.max_core_nan_frac = c.get_real("validate.max_core_nan_frac");
    p.reject_maskbits = static_cast<std::uint32_t>(c.get_int("validate.reject_maskbits"));
    p.max_core_masked_frac = c.get_real("validate.max_core_masked_frac");
    p.bootstrap_resamples = static_cast<int>(c.get_int("validate.bootstrap_resamples"));
    p.ci_level = c.get_real("validate.ci_level");
    p.flag_yellow = c.get_real("validate.flag_yellow");
    p.flag_red = c.get_real("validate.flag_red");
    if (!(p.flag_yellow <= p.flag_red))
        throw ConfigError("validate.flag_yellow", c.origin_of("validate.flag_yellow"), 0,
                          "must not exceed validate.flag_red");
    p.expected_physics = c.get_strings("validate.expected_physics");
    p.gate_core_lr_auc = c.get_real("validate.gate_core_lr_auc");
    p.gate_radial_profile_auc = c.get_real("validate.gate_radial_profile_auc");
    p.gate_core_brightness_ratio = c.get_real("validate.gate_core_brightness_ratio");
    p.gate_nan_rejection_rate = c.get_real("validate.gate_nan_rejection_rate");
    p.lr_l2 = c.get_real("validate.lr_l2");
    p.lr_max_iterations = static_cast<int>(c.get_int("validate.lr_max_iterations"));
    p.lr_max_train_rows = c.get_int("validate.lr_max_train_rows");
    p.lr_max_test_rows = c.get_int("validate.lr_max_test_rows");
    p.lr_min_per_class = c.get_int("validate.lr_min_per_class");
    p.lr_fallback_test_fraction = c.get_real("validate.lr_fallback_test_fraction");
    p.seed = static_cast<std::uint64_t>(c.get_int("run.seed"));
    return p;
}

std::vector<Comparison> comparisons(const Params& p) {
    return {{"real", "cutouts", "/stamps", "positive", "negative", p.cutouts_file, p.compare_real},
            {"injection", "injections", "/injections", "injection", "control", p.injections_file, p.compare_injection}};
}

const std::vector<std::string>& band_feature_stems() {
    static const std::vector<std::string> stems = {"core_brightness",  "annulus_brightness", "outer_brightness",
                                                   "annulus_max",      "annulus_std",        "azimuthal_asymmetry",
                                                   "mad",              "radial_gradient"};
    return stems;
}

std::string band_feature_name(const std::string& stem, const std::string& band) {
    if (stem == "azimuthal_asymmetry" && band == "r") return stem;  // the seed's name
    return stem + "_" + band;
}

std::vector<std::string> feature_names(const std::vector<std::string>& bands) {
    std::vector<std::string> names = {"total_nan_frac", "core_nan_frac", "core_masked_frac"};
    for (const auto& stem : band_feature_stems())
        for (const auto& b : bands) names.push_back(band_feature_name(stem, b));
    return names;
}

bool is_expected_physics(const std::string& feature, const std::vector<std::string>& stems) {
    for (const auto& s : stems)
        if (feature.rfind(s, 0) == 0) return true;
    return false;
}

std::string separation_level(double lower, double upper, double yellow, double red) {
    if (!(lower == lower) || !(upper == upper)) return "not_evaluated";
    const double s = std::max(lower, 1.0 - upper);
    if (s > red) return "red";
    if (s >= yellow) return "yellow";
    return "green";
}

}  // namespace dhs::stages::validate
