// The sampling stage's `sample.*` config keys, their resolution into Params (paths relative
// to survey.root, defaults from the survey layout) and the discovery of the sweep files.
#include <fmt/format.h>
#include <glob.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/error.hpp"
#include "kernels/sampling/sampling_strata.hpp"
#include "mpi_stages/sample/sample.hpp"

namespace fs = std::filesystem;

namespace dhs::stages::sample {

void declare_config(config::Schema& s) {
    using config::ValueType;
    auto real = [&](const char* key, const char* desc, const char* def, double lo, double hi, const char* unit) {
        s.add({.key = key, .type = ValueType::real, .description = desc, .default_yaml = def, .min = lo, .max = hi,
               .unit = unit});
    };
    auto integer = [&](const char* key, const char* desc, const char* def, double lo, double hi, const char* unit) {
        s.add({.key = key, .type = ValueType::integer, .description = desc, .default_yaml = def, .min = lo, .max = hi,
               .unit = unit});
    };
    auto boolean = [&](const char* key, const char* desc, const char* def) {
        s.add({.key = key, .type = ValueType::boolean, .description = desc, .default_yaml = def});
    };
    auto string = [&](const char* key, const char* desc, const char* def, std::vector<std::string> choices = {}) {
        s.add({.key = key, .type = ValueType::string, .description = desc, .default_yaml = def,
               .choices = std::move(choices)});
    };
    auto strings = [&](const char* key, const char* desc, const char* def, std::vector<std::string> choices = {}) {
        s.add({.key = key, .type = ValueType::string_list, .description = desc, .default_yaml = def,
               .choices = std::move(choices)});
    };
    string("sample.lens_catalog",
           "known lenses in lenscat's CSV format; '' = <survey.root>/lenses/lenscat.csv; relative paths are under "
           "survey.root",
           "''");
    strings("sample.sweep_files",
            "sweep (or Tractor) FITS files or globs to read; relative ones are under survey.root; [] = "
            "<survey.root>/sweep/<survey.sweep_version>/sweep-*.fits[.gz]",
            "[]");
    integer("sample.rows_per_unit", "a sweep file with more rows is split into units of at most this many rows",
            "500000", 1, 1e9, "rows");
    integer("sample.read_block_rows", "sweep rows decoded per block read inside a unit", "65536", 1, 1e7, "rows");
    real("sample.exclusion_radius_arcsec",
         "no pool object within this distance of a known lens (5\" + 2 x theta_E max of 3\")", "11", 0, 600, "arcsec");
    real("sample.match_radius_arcsec", "lens crossmatch: the nearest sweep object within this distance is the positive",
         "1", 0.01, 60, "arcsec");
    real("sample.duplicate_radius_arcsec", "lens catalog rows closer than this are one lens (duplicates collapsed)", "1",
         0, 60, "arcsec");
    s.add({.key = "sample.split_fractions", .type = ValueType::real_list,
           .description = "proportions of [train, val, test], assigned per healpix_128 cell by SHA-256 of "
                          "'{healpix_128}_{seed}'",
           .default_yaml = "[0.70, 0.15, 0.15]", .min = 0, .max = 1});
    integer("sample.split_seed", "seed of the split hash; -1 = run.seed", "-1", -1, 4294967295.0, "");
    integer("sample.negatives_per_positive", "negatives drawn per positive in each (nobs_z_bin x type_bin) stratum",
            "100", 0, 1e6, "");
    real("sample.n1_fraction", "fraction of a stratum's negatives drawn from pool N1 (the rest from N2)", "0.85", 0, 1,
         "");
    boolean("sample.n2_shortfall_from_n1",
            "when a stratum's N2 pool is too small, draw the missing negatives from N1 (the total stays at the ratio)",
            "true");
    strings("sample.exclude_types", "Tractor TYPEs never in the pool (not galaxies)", "[PSF, DUP]");
    strings("sample.n1_types", "Tractor TYPEs of pool N1 (EXP is excluded for Paper IV parity)", "[SER, DEV, REX]");
    integer("sample.min_nobs", "pool objects have at least this many exposures in each of g, r, z", "1", 0, 1000, "");
    real("sample.pool_max_mag_z",
         "pool objects are brighter than this observed z magnitude (99: no cut; e.g. 20 for a magnitude-limited "
         "search sample)",
         "99", 10, 99, "mag");
    s.add({.key = "sample.bad_maskbits", .type = ValueType::integer_list,
           .description = "MASKBITS bits (0-based) that keep an object out of the pool (default BRIGHT, ALLMASK_G/R/Z, "
                          "MEDIUM, GALAXY, CLUSTER)",
           .default_yaml = "[1, 5, 6, 7, 11, 12, 13]", .min = 0, .max = 30});
    boolean("sample.require_brick_primary", "use only BRICK_PRIMARY objects (when the column exists)", "true");
    strings("sample.n2_selection",
            "how hard confusers (pool N2) are chosen: catalog (crossmatch of sample.n2_catalog), edge_on (high "
            "ellipticity), large_blue (large, blue: spirals, rings)",
            "[catalog, edge_on, large_blue]", {"catalog", "edge_on", "large_blue"});
    string("sample.n2_catalog",
           "CSV of known confusers/contaminants (ra, dec, optional category); '' = none; relative paths are under "
           "survey.root (the mock sky's is truth/confusers.csv)",
           "''");
    real("sample.n2_match_radius_arcsec", "an object within this distance of an n2_catalog entry is N2", "1", 0.01, 60,
         "arcsec");
    real("sample.n2_max_mag_r", "edge_on and large_blue confusers are brighter than this r magnitude", "21", 10, 30,
         "mag");
    real("sample.n2_edge_on_min_e", "edge_on: ellipticity |e| = sqrt(e1^2 + e2^2) at least this (b/a <= (1-e)/(1+e))",
         "0.6", 0, 1, "");
    real("sample.n2_large_blue_min_shape_r", "large_blue: half-light radius SHAPE_R at least this", "2", 0, 60,
         "arcsec");
    real("sample.n2_large_blue_max_g_minus_r", "large_blue: g - r at most this", "0.8", -5, 5, "mag");
    string("sample.lrg_variant", "LRG parent-sample variant of the injection hosts (/hosts)", "v3",
           {"v1", "v2", "v3", "v4", "v5", "v1_pure_massive", "v2_baseline_dr10", "v3_color_relaxed", "v4_mag_relaxed",
            "v5_very_relaxed"});
    boolean("sample.lrg_dereddened",
            "LRG cuts on extinction-corrected magnitudes (A_X = R_X E(B-V), DR10 R_X) rather than observed ones",
            "true");
    real("sample.host_max_ebv", "LRG hosts have E(B-V) below this", "0.1", 0, 10, "mag");
}

namespace {

std::string under_root(const std::string& root, const std::string& path) {
    if (path.empty() || fs::path(path).is_absolute() || root.empty()) return path;
    return (fs::path(root) / path).lexically_normal().string();
}

[[noreturn]] void bad_key(const config::Config& c, const std::string& key, const std::string& why) {
    throw ConfigError(key, c.origin_of(key), 0, why);
}

}  // namespace

Params read_params(const config::Config& c) {
    Params p;
    p.root = c.get_string("survey.root");
    p.sweep_version = c.get_string("survey.sweep_version");
    p.sweep_patterns = c.get_strings("sample.sweep_files");
    const std::string lens = c.get_string("sample.lens_catalog");
    if (lens.empty() && p.root.empty())
        bad_key(c, "sample.lens_catalog", "no lens catalog: set sample.lens_catalog or survey.root");
    p.lens_catalog = lens.empty() ? (fs::path(p.root) / "lenses" / "lenscat.csv").string() : under_root(p.root, lens);
    p.n2_catalog = under_root(p.root, c.get_string("sample.n2_catalog"));
    p.rows_per_unit = c.get_int("sample.rows_per_unit");
    p.read_block_rows = c.get_int("sample.read_block_rows");
    p.exclusion_radius_arcsec = c.get_real("sample.exclusion_radius_arcsec");
    p.match_radius_arcsec = c.get_real("sample.match_radius_arcsec");
    p.duplicate_radius_arcsec = c.get_real("sample.duplicate_radius_arcsec");
    const auto f = c.get_reals("sample.split_fractions");
    if (f.size() != 3) bad_key(c, "sample.split_fractions", "expected three proportions [train, val, test]");
    if (std::abs(f[0] + f[1] + f[2] - 1.0) > 1e-9)
        bad_key(c, "sample.split_fractions", fmt::format("the proportions add up to {}, not 1", f[0] + f[1] + f[2]));
    p.split_fractions = {f[0], f[1], f[2]};
    const auto seed = c.get_int("run.seed");
    p.split_seed = c.get_int("sample.split_seed") < 0 ? seed : c.get_int("sample.split_seed");
    p.draw_seed = seed;
    p.negatives_per_positive = c.get_int("sample.negatives_per_positive");
    p.n1_fraction = c.get_real("sample.n1_fraction");
    p.n2_shortfall_from_n1 = c.get_bool("sample.n2_shortfall_from_n1");
    p.exclude_types = c.get_strings("sample.exclude_types");
    p.n1_types = c.get_strings("sample.n1_types");
    p.min_nobs = c.get_int("sample.min_nobs");
    p.pool_max_mag_z = c.get_real("sample.pool_max_mag_z");
    p.bad_mask = 0;
    for (auto b : c.get_ints("sample.bad_maskbits")) p.bad_mask |= static_cast<std::int32_t>(1u << b);
    p.require_brick_primary = c.get_bool("sample.require_brick_primary");
    for (const auto& s : c.get_strings("sample.n2_selection")) {
        if (s == "catalog") p.n2_by_catalog = true;
        if (s == "edge_on") p.n2_edge_on = true;
        if (s == "large_blue") p.n2_large_blue = true;
    }
    if (p.n2_by_catalog && p.n2_catalog.empty()) p.n2_by_catalog = false;  // nothing to match against
    p.n2_match_radius_arcsec = c.get_real("sample.n2_match_radius_arcsec");
    p.n2_max_mag_r = c.get_real("sample.n2_max_mag_r");
    p.n2_edge_on_min_e = c.get_real("sample.n2_edge_on_min_e");
    p.n2_large_blue_min_shape_r = c.get_real("sample.n2_large_blue_min_shape_r");
    p.n2_large_blue_max_g_minus_r = c.get_real("sample.n2_large_blue_max_g_minus_r");
    p.lrg_variant = kernels::lrg_variant_index(c.get_string("sample.lrg_variant"));
    if (p.lrg_variant < 0) bad_key(c, "sample.lrg_variant", "unknown variant");
    p.lrg_dereddened = c.get_bool("sample.lrg_dereddened");
    p.host_max_ebv = c.get_real("sample.host_max_ebv");
    return p;
}

std::vector<std::string> find_sweep_files(const Params& p) {
    std::vector<std::string> patterns;
    if (p.sweep_patterns.empty()) {
        if (p.root.empty())
            throw ConfigError("survey.root", "", 0, "sample: no sweep files: set survey.root or sample.sweep_files");
        const auto dir = fs::path(p.root) / "sweep" / p.sweep_version;
        patterns = {(dir / "sweep-*.fits").string(), (dir / "sweep-*.fits.gz").string()};
    } else {
        for (const auto& s : p.sweep_patterns) patterns.push_back(under_root(p.root, s));
    }
    std::vector<std::string> files;
    for (const auto& pat : patterns) {
        glob_t g{};
        const int rc = ::glob(pat.c_str(), 0, nullptr, &g);
        if (rc == 0)
            for (std::size_t i = 0; i < g.gl_pathc; ++i) files.emplace_back(g.gl_pathv[i]);
        ::globfree(&g);
        if (rc != 0 && !p.sweep_patterns.empty() && pat.find_first_of("*?[") == std::string::npos)
            throw ConfigError("sample.sweep_files", "", 0, fmt::format("sample: no such file '{}'", pat));
    }
    // Canonical order: by file name, then path; each file once.
    std::sort(files.begin(), files.end(), [](const std::string& a, const std::string& b) {
        const auto na = fs::path(a).filename().string(), nb = fs::path(b).filename().string();
        return na != nb ? na < nb : a < b;
    });
    files.erase(std::unique(files.begin(), files.end()), files.end());
    if (files.empty())
        throw ConfigError(p.sweep_patterns.empty() ? "survey.root" : "sample.sweep_files", "", 0,
                          fmt::format("sample: no sweep files match {}", fmt::join(patterns, " or ")));
    for (auto& f : files) f = fs::absolute(f).lexically_normal().string();
    return files;
}

}  // namespace dhs::stages::sample
