// The injection stage (stage `inject`, SPEC Stage 3), its parts: the `inject.*` config and its
// checks, the host catalog (sample.h5:/hosts matched to cutouts.h5:/stamps by galaxy_id), the
// template bank, the per-rank design context, the per-unit injection of tasks and the reports
// of the reduce (coverage per cell, arc_snr calibration against the seed's targets).
//
// Frames and units: a stamp's lens frame has +x along its columns and +y along its rows, the
// lens at the centre pixel; arcsec, radians, nanomaggies, AB mag throughout.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/config/config.hpp"
#include "core/engine/stage.hpp"
#include "core/table/table.hpp"
#include "kernels/injection/injection_design.hpp"
#include "kernels/injection/injection_render.hpp"

namespace dhs::stages::inject {

/// @brief Source models of the injections.
enum class SourceMode { sersic, template_bank, mixed };

/// @brief The `inject.*` keys (plus what the stage needs of `run` and `survey`).
struct Params {
    kernels::injection::DesignSpec design;
    SourceMode source = SourceMode::sersic;
    std::string template_bank;            ///< HDF5 bank (docs/injection.md "Template bank format"); '' = none
    double template_fraction = 0.5;       ///< mixed: share of template sources
    bool moffat = true;                   ///< PSF model: Moffat (else Gaussian)
    double moffat_beta = 3.5;
    int psf_half_size = 16;               ///< kernel (2h+1)^2 pixels
    kernels::injection::RenderSettings render;
    int stamp_size = 0;                   ///< the host stamps' side, read from cutouts.h5 (context())
    double pixel_scale = 0.262;           ///< survey.pixel_scale_arcsec
    int batch_size = 32;
    bool snr_rejection = false;
    std::vector<double> snr_edges;        ///< lower edges of the arc_snr target bins (last open)
    std::vector<double> snr_fractions;    ///< target share per bin
    int snr_max_attempts = 8;
    double snr_mag_max = 28.5;            ///< faintest source r mag the rejection step may draw
    double resolved_ratio = 0.5;
    double plant_core_shortcut = 0.0;     ///< TEST ONLY: core brightening of injected stamps
    std::vector<std::string> splits;      ///< hosts of these splits only (empty: all)
    std::string sample_file;              ///< resolved path of sample.h5
    std::string cutouts_file;             ///< resolved path of cutouts.h5
};

/// @brief Radius of the "core" the planted shortcut brightens, pixels (validation's core_brightness_r).
inline constexpr double kPlantCoreRadiusPx = 8.0;

/// @brief Declares the `inject.*` keys.
void declare_config(config::Schema& schema);
/// @brief Reads and cross-checks the parameters. @throws ConfigError naming the key.
Params read_params(const config::Config& config, const std::string& run_dir, std::int64_t seed);

/// @brief The injection hosts with a stamp, in sample.h5 order (index = host index of the design).
struct HostCatalog {
    std::vector<std::string> galaxy_id, brickname, split;
    std::vector<double> ra, dec, mag_g, mag_r, mag_z, depth_r;
    std::vector<std::array<double, 3>> psf_fwhm;  ///< g, r, z, arcsec (cutouts' psfsize at the centre, else the sample's)
    std::vector<std::uint64_t> stamp_row;         ///< row in cutouts.h5:/stamps
    std::vector<kernels::injection::HostKey> keys;
    std::vector<std::string> split_names;         ///< split code -> name
    std::int64_t hosts_in_sample = 0, without_stamp = 0, unusable = 0, other_split = 0;
};

/// @brief Reads sample.h5:/hosts and cutouts.h5:/stamps. @throws DataError / HdfError naming the
/// file and dataset (a missing column, stamps of the wrong size, no usable host).
HostCatalog load_hosts(const Params& p);

/// @brief Everything a rank needs to run tasks: parameters, hosts, the designer, the bank size.
struct Context {
    Params params;
    HostCatalog hosts;
    std::unique_ptr<kernels::injection::TaskDesigner> designer;
    std::int64_t templates = 0;  ///< templates in the bank (0: none)
};

/// @brief The context of this run, built once per rank and reused (keyed by run directory and
/// config SHA-256). @throws ConfigError for a design that cannot be built (empty bins...).
std::shared_ptr<const Context> context(const engine::StageContext& ctx);

/// @brief The `/injections` group (zero rows): columns, units, descriptions.
engine::OutputGroup injections_group(int stamp_size);

/// @brief Injects the tasks `task_ids` (rows in that order). @throws on bad input (the unit is
/// quarantined), naming the file, dataset and task.
Table run_tasks(const Context& c, const std::vector<std::int64_t>& task_ids);

/// @brief Rank 0 of the reduce: coverage per cell and the arc_snr calibration, logged and
/// written to `/coverage` and `/calibration` of the stage file.
void write_reports(const Context& c, const std::string& path);

}  // namespace dhs::stages::inject
