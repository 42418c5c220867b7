// The `inject.*` config keys (every one typed, ranged, described) and their cross-checks,
// made before any work starts.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "core/error.hpp"
#include "mpi_stages/inject/inject.hpp"

namespace dhs::stages::inject {

namespace inj = kernels::injection;

void declare_config(config::Schema& s) {
    using config::ValueType;
    auto add = [&](const char* key, ValueType t, const char* desc, const char* def, std::optional<double> lo,
                   std::optional<double> hi, const char* unit, std::vector<std::string> choices = {}) {
        s.add({.key = key, .type = t, .description = desc, .default_yaml = def, .min = lo, .max = hi,
               .choices = std::move(choices), .unit = unit});
    };
    const auto none = std::nullopt;
    add("inject.grid", ValueType::string,
        "task design: grid_small (48 configs), sota (648), selection_function (11 theta_E x 7 PSF x 5 depth = 385 "
        "cells, sources from the priors), prior (theta_E and sources from the priors)",
        "selection_function", none, none, "", {"grid_small", "sota", "selection_function", "prior"});
    add("inject.per_cell", ValueType::integer,
        "injections per cell (selection_function) or per configuration (grid_small, sota); controls come on top",
        "200", 1, 1e7, "");
    add("inject.n_tasks", ValueType::integer, "injections of the prior mode (controls come on top)", "1000", 1, 1e9,
        "");
    add("inject.control_fraction", ValueType::real,
        "share of each cell's tasks that are controls (no injection): round(per_cell f/(1-f)) controls per cell",
        "0.5", 0.0, 0.9, "");
    add("inject.unpaired_control_fraction", ValueType::real,
        "share of controls that are unpaired (another host of the same PSF/depth bin and split) rather than paired "
        "(the task's own host)",
        "0.5", 0.0, 1.0, "");
    add("inject.empty_cells", ValueType::string,
        "selection_function cells whose PSF/depth bin holds no host: error (stop before work), skip (no tasks, "
        "reported), nearest (hosts of the nearest non-empty bin, reported)",
        "error", none, none, "", {"error", "skip", "nearest"});
    add("inject.splits", ValueType::string_list, "use hosts of these splits only (empty: every split)", "[]", none,
        none, "");
    add("inject.source", ValueType::string,
        "source model: sersic, template (the bank's real galaxies) or mixed (template_fraction of them)", "sersic",
        none, none, "", {"sersic", "template", "mixed"});
    add("inject.template_bank", ValueType::string,
        "HDF5 template bank (unit-flux stamps with their pixel scale; dhs make-template-bank writes one); needed by "
        "source template/mixed",
        "''", none, none, "");
    add("inject.template_fraction", ValueType::real, "source mixed: share of template sources", "0.5", 0.0, 1.0, "");
    add("inject.psf_model", ValueType::string, "PSF per band from the host's psfsize (FWHM at the stamp centre)",
        "moffat", none, none, "", {"gaussian", "moffat"});
    add("inject.moffat_beta", ValueType::real, "Moffat beta", "3.5", 1.01, 20.0, "");
    add("inject.psf_half_size", ValueType::integer, "PSF kernel half size h: (2h+1)^2 pixels (16: 33x33)", "16", 1,
        200, "pixels");
    add("inject.oversample", ValueType::integer, "rays per pixel side over the whole stamp (SPEC: >= 4)", "4", 4, 64,
        "");
    add("inject.max_oversample", ValueType::integer,
        "rays per pixel side where the image lies when the source is smaller than 2 sub-pixels (adaptive); "
        "= oversample turns refinement off",
        "16", 4, 64, "");
    add("inject.src_offset_max", ValueType::real,
        "grid_small/sota: source centre area-uniform within this x theta_E of the lens", "0.5", 0.0, 3.0, "");
    add("inject.src_mag_r_range", ValueType::real_list, "prior: unlensed source r magnitude [min, max]", "[22.0, 26.0]",
        10.0, 35.0, "mag");
    add("inject.magnification_range", ValueType::real_list,
        "prior: target point-source magnification [min, max] (source offset beta = 2 theta_E / mu)", "[5.0, 30.0]",
        2.01, 1000.0, "");
    add("inject.colour_jitter", ValueType::real, "source g-r and r-z = the host's +- this (uniform)", "0.2", 0.0, 3.0,
        "mag");
    add("inject.src_reff_range", ValueType::real_list, "prior: source half-light radius (major axis) [min, max]",
        "[0.05, 0.4]", 0.005, 5.0, "arcsec");
    add("inject.src_e_range", ValueType::real_list, "prior: source ellipticity |e| = (1-q)/(1+q) [min, max]",
        "[0.0, 0.4]", 0.0, 0.95, "");
    add("inject.src_n_range", ValueType::real_list, "Sersic index of the source [min, max] (every grid)", "[1.0, 1.0]",
        0.2, 10.0, "");
    add("inject.shear_range", ValueType::real_list, "prior: external shear [min, max]", "[0.0, 0.05]", 0.0, 0.49, "");
    add("inject.theta_e_range", ValueType::real_list, "prior mode: Einstein radius [min, max]", "[0.5, 3.0]", 0.01,
        10.0, "arcsec");
    add("inject.lens_q_range", ValueType::real_list, "lens axis ratio [min, max] (every grid)", "[0.5, 1.0]", 0.05,
        1.0, "");
    add("inject.snr_rejection", ValueType::boolean,
        "draw each injection's arc_snr bin from snr_target_fractions and its source magnitude inside that bin "
        "(rejection sampling of the magnitude prior; selection_function and prior grids)",
        "false", none, none, "");
    add("inject.snr_bin_edges", ValueType::real_list,
        "lower edges of the arc_snr target bins (the last bin is open); seed 003 section 10", "[0.8, 2.0, 8.0, 20.0]",
        0.0, 1e6, "");
    add("inject.snr_target_fractions", ValueType::real_list, "target share of injections per arc_snr bin (sum 1)",
        "[0.4, 0.4, 0.15, 0.05]", 0.0, 1.0, "");
    add("inject.snr_rejection_mag_max", ValueType::real,
        "snr_rejection: faintest source r magnitude the step may draw (the prior's src_mag_r_range upper end if "
        "brighter): with the seed's magnitude and magnification priors DR10-depth arcs rarely reach arc_snr < 2",
        "28.5", 10.0, 35.0, "mag");
    add("inject.snr_max_attempts", ValueType::integer,
        "snr_rejection: geometry redraws when no magnitude of the prior reaches the bin", "8", 1, 1000, "");
    add("inject.resolved_ratio", ValueType::real, "resolved = theta_E / PSF FWHM (r) >= this", "0.5", 0.01, 10.0, "");
    add("inject.batch_size", ValueType::integer, "tasks per work unit (units follow the hosts' brick order; ~13 MB of rows per 32)", "32",
        1, 1e6, "");
    add("inject.sample_file", ValueType::string, "hosts file (default RUN_DIR/sample.h5, group /hosts)", "''", none,
        none, "");
    add("inject.cutouts_file", ValueType::string, "host stamps file (default RUN_DIR/cutouts.h5, group /stamps)", "''",
        none, none, "");
    add("inject.plant_core_shortcut", ValueType::real,
        "TEST ONLY: brighten the central 8-pixel core of injected (non-control) stamps by this fraction of the host, "
        "a planted shortcut for the validation gates to catch; 0 = off",
        "0", 0.0, 100.0, "");
}

namespace {

inj::Range range(const config::Config& c, const std::string& key) {
    const auto v = c.get_reals(key);
    if (v.size() != 2 || !(v[0] <= v[1])) throw ConfigError(key, c.origin_of(key), 0, "expected [min, max] with min <= max");
    return {v[0], v[1]};
}

std::string resolve(const std::string& value, const std::string& run_dir, const char* default_name) {
    if (value.empty()) return (std::filesystem::path(run_dir) / default_name).string();
    return std::filesystem::absolute(value).lexically_normal().string();
}

}  // namespace

Params read_params(const config::Config& c, const std::string& run_dir, std::int64_t seed) {
    Params p;
    auto& d = p.design;
    d.grid = inj::grid_kind_from_name(c.get_string("inject.grid"));
    if (d.grid == inj::GridKind::grid_small || d.grid == inj::GridKind::sota) d.params = inj::named_param_grid(d.grid);
    d.per_cell = c.get_int("inject.per_cell");
    d.n_tasks = c.get_int("inject.n_tasks");
    d.control_fraction = c.get_real("inject.control_fraction");
    d.unpaired_fraction = c.get_real("inject.unpaired_control_fraction");
    d.empty_cells = inj::empty_cells_from_name(c.get_string("inject.empty_cells"));
    d.seed = static_cast<std::uint64_t>(seed);
    auto& pr = d.priors;
    pr.src_mag_r = range(c, "inject.src_mag_r_range");
    pr.magnification = range(c, "inject.magnification_range");
    pr.colour_jitter = c.get_real("inject.colour_jitter");
    pr.src_reff = range(c, "inject.src_reff_range");
    pr.src_e = range(c, "inject.src_e_range");
    pr.src_n = range(c, "inject.src_n_range");
    pr.shear = range(c, "inject.shear_range");
    pr.theta_e = range(c, "inject.theta_e_range");
    pr.lens_q = range(c, "inject.lens_q_range");
    pr.src_offset_max = c.get_real("inject.src_offset_max");
    if (auto problems = inj::validate(d); !problems.empty())
        throw ConfigError("inject", c.source_name(), 0, "invalid injection design: " + problems.front());

    const std::string source = c.get_string("inject.source");
    p.source = source == "sersic" ? SourceMode::sersic : source == "template" ? SourceMode::template_bank : SourceMode::mixed;
    p.template_bank = c.get_string("inject.template_bank");
    p.template_fraction = c.get_real("inject.template_fraction");
    if (p.source != SourceMode::sersic && p.template_bank.empty())
        throw ConfigError("inject.template_bank", c.origin_of("inject.template_bank"), 0,
                          "inject.source '" + source + "' needs a template bank (dhs make-template-bank --out FILE)");
    if (!p.template_bank.empty()) p.template_bank = std::filesystem::absolute(p.template_bank).lexically_normal().string();
    p.moffat = c.get_string("inject.psf_model") == "moffat";
    p.moffat_beta = c.get_real("inject.moffat_beta");
    p.psf_half_size = static_cast<int>(c.get_int("inject.psf_half_size"));
    p.render.oversample = static_cast<int>(c.get_int("inject.oversample"));
    p.render.max_oversample = static_cast<int>(c.get_int("inject.max_oversample"));
    if (p.render.max_oversample < p.render.oversample)
        throw ConfigError("inject.max_oversample", c.origin_of("inject.max_oversample"), 0,
                          "must be >= inject.oversample (" + std::to_string(p.render.oversample) + ")");
    p.pixel_scale = c.get_real("survey.pixel_scale_arcsec");
    p.batch_size = static_cast<int>(c.get_int("inject.batch_size"));
    p.snr_rejection = c.get_bool("inject.snr_rejection");
    p.snr_edges = c.get_reals("inject.snr_bin_edges");
    p.snr_fractions = c.get_reals("inject.snr_target_fractions");
    if (p.snr_edges.empty() || !std::is_sorted(p.snr_edges.begin(), p.snr_edges.end()) ||
        std::adjacent_find(p.snr_edges.begin(), p.snr_edges.end()) != p.snr_edges.end())
        throw ConfigError("inject.snr_bin_edges", c.origin_of("inject.snr_bin_edges"), 0,
                          "expected at least one edge, strictly increasing");
    if (p.snr_fractions.size() != p.snr_edges.size())
        throw ConfigError("inject.snr_target_fractions", c.origin_of("inject.snr_target_fractions"), 0,
                          "needs one share per bin of inject.snr_bin_edges (" + std::to_string(p.snr_edges.size()) + ")");
    const double total = std::accumulate(p.snr_fractions.begin(), p.snr_fractions.end(), 0.0);
    if (std::abs(total - 1.0) > 1e-6)
        throw ConfigError("inject.snr_target_fractions", c.origin_of("inject.snr_target_fractions"), 0,
                          "shares must sum to 1 (they sum to " + std::to_string(total) + ")");
    if (p.snr_rejection && (d.grid == inj::GridKind::grid_small || d.grid == inj::GridKind::sota))
        throw ConfigError("inject.snr_rejection", c.origin_of("inject.snr_rejection"), 0,
                          "needs a magnitude prior: grid selection_function or prior (grid_small/sota fix src_dmag)");
    p.snr_max_attempts = static_cast<int>(c.get_int("inject.snr_max_attempts"));
    p.snr_mag_max = std::max(c.get_real("inject.snr_rejection_mag_max"), pr.src_mag_r.hi);
    p.resolved_ratio = c.get_real("inject.resolved_ratio");
    p.plant_core_shortcut = c.get_real("inject.plant_core_shortcut");
    p.splits = c.get_strings("inject.splits");
    p.sample_file = resolve(c.get_string("inject.sample_file"), run_dir, "sample.h5");
    p.cutouts_file = resolve(c.get_string("inject.cutouts_file"), run_dir, "cutouts.h5");
    return p;
}

}  // namespace dhs::stages::inject
