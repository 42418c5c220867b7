// Task design of the injection stage (SPEC Stage 3): the named parameter grids (grid_small,
// sota), the 385-cell selection-function grid (theta_E x PSF x depth) and the prior mode, the
// assignment of hosts to tasks (matched to a cell's PSF / depth bin), controls (paired: the
// host without an injection; unpaired: another host of the same bin and split) and every
// per-task draw of lens and source parameters. Every draw is a deterministic hash of
// (seed, task id, stream): the same design for any rank count, order or restart.
//
// Units: theta_E, r_eff, source offsets in arcsec; PSF FWHM in arcsec; depths and magnitudes
// AB mag; angles in radians; ellipticities |e| = (1 - q) / (1 + q) (Tractor / lenstronomy).
// Pure numerics: no I/O, no MPI, no logging.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dhs::kernels::injection {

/// @brief The task designs of the stage.
enum class GridKind {
    grid_small,          ///< 3 x 2 x 2 x 2 x 2 = 48 (theta_E, dmag, r_eff, e, shear) configurations
    sota,                ///< 9 x 4 x 3 x 3 x 2 = 648 configurations
    selection_function,  ///< 11 theta_E x 7 PSF x 5 depth = 385 cells, source from the priors
    prior,               ///< theta_E and source from the priors, hosts from the whole sample
};

/// @brief "grid_small", "sota", "selection_function", "prior".
const char* grid_name(GridKind kind);
/// @brief Inverse of grid_name. @throws std::invalid_argument naming the accepted names.
GridKind grid_kind_from_name(std::string_view name);

/// @brief Uniform bins of width `step` centred on first, first + step, ... (count of them):
/// bin i covers [first + (i - 1/2) step, first + (i + 1/2) step).
struct AxisBins {
    double first = 0.0;
    double step = 1.0;
    int count = 1;
    /// @brief Centre of bin i.
    double centre(int i) const { return first + step * i; }
    /// @brief The bin holding v, or -1 outside every bin (or v not finite).
    int bin_of(double v) const;
};

/// @brief The selection-function grid of SPEC (seed 001 section 6): theta_E 0.5..3.0 step 0.25,
/// PSF FWHM 0.9..1.8 step 0.15 (arcsec), 5-sigma depth 22.5..24.5 step 0.5 (AB mag).
struct SelectionGrid {
    AxisBins theta_e{0.5, 0.25, 11};
    AxisBins psf{0.9, 0.15, 7};
    AxisBins depth{22.5, 0.5, 5};
    /// @brief Number of cells, 385 for the SPEC grid.
    int cells() const { return theta_e.count * psf.count * depth.count; }
    /// @brief Cell id of (theta_E bin, PSF bin, depth bin): (it * npsf + ip) * ndepth + id;
    /// -1 when any index is -1.
    std::int64_t cell_id(int it, int ip, int id) const;
    /// @brief Number of (PSF, depth) bins, 35 for the SPEC grid; a host's bin key is
    /// ip * ndepth + id (-1 outside).
    int host_bins() const { return psf.count * depth.count; }
    int host_bin(int ip, int id) const { return ip < 0 || id < 0 ? -1 : ip * depth.count + id; }
};

/// @brief The axes of a named parameter grid; configurations are their cross product.
struct ParamGrid {
    std::vector<double> theta_e, dmag, reff, e, shear;
    /// @brief Number of configurations (product of the axis lengths).
    std::size_t size() const { return theta_e.size() * dmag.size() * reff.size() * e.size() * shear.size(); }
    /// @brief Configuration k's axis indices, theta_E slowest, shear fastest.
    struct Point {
        int theta_e = 0, dmag = 0, reff = 0, e = 0, shear = 0;
    };
    Point point(std::size_t k) const;
};

/// @brief grid_small or sota (SPEC; seed 003 section 3, seed 004 section 3).
/// @throws std::invalid_argument for selection_function or prior (they have no such grid).
ParamGrid named_param_grid(GridKind kind);

/// @brief A closed interval [lo, hi].
struct Range {
    double lo = 0.0, hi = 0.0;
};

/// @brief Distributions of the parameters a grid does not fix (uniform in each range).
struct Priors {
    Range src_mag_r{22.0, 26.0};       ///< unlensed source r magnitude (selection_function, prior)
    Range magnification{5.0, 30.0};    ///< target point-source magnification (selection_function, prior)
    double colour_jitter = 0.2;        ///< source g-r, r-z = host colours + U(-j, j), mag
    Range src_reff{0.05, 0.4};         ///< source half-light radius, arcsec (not in the grid)
    Range src_n{1.0, 1.0};             ///< source Sersic index (every mode)
    Range src_e{0.0, 0.4};             ///< source |e| (not in the grid)
    Range shear{0.0, 0.05};            ///< external shear (not in the grid)
    Range theta_e{0.5, 3.0};           ///< Einstein radius in prior mode, arcsec
    Range lens_q{0.5, 1.0};            ///< lens axis ratio (every mode)
    double src_offset_max = 0.5;       ///< grid modes: source offset <= this x theta_E (area-uniform)
};

/// @brief What to do with a selection-function cell whose PSF / depth bin holds no host.
enum class EmptyCells {
    error,    ///< design fails, naming the bins
    skip,     ///< the cell gets no tasks (reported in the coverage)
    nearest,  ///< hosts of the nearest non-empty bin (city-block distance in bins; reported)
};
const char* empty_cells_name(EmptyCells e);
EmptyCells empty_cells_from_name(std::string_view name);

/// @brief Everything the design depends on.
struct DesignSpec {
    GridKind grid = GridKind::selection_function;
    ParamGrid params;                   ///< grid_small / sota axes (empty otherwise)
    SelectionGrid bins;                 ///< cell and host binning
    std::int64_t per_cell = 200;        ///< injections per cell (per configuration in grid modes)
    std::int64_t n_tasks = 1000;        ///< injections in prior mode
    double control_fraction = 0.5;      ///< share of a cell's tasks that are controls, [0, 0.9]
    double unpaired_fraction = 0.5;     ///< share of controls that are unpaired, [0, 1]
    EmptyCells empty_cells = EmptyCells::error;
    Priors priors;
    std::uint64_t seed = 0;
};

/// @brief Problems of a spec (empty when valid): each names the offending quantity.
std::vector<std::string> validate(const DesignSpec& spec);

/// @brief A host as the design sees it: its (PSF, depth) bin key (SelectionGrid::host_bin, -1
/// outside) and its split (any small integer code; unpaired controls keep the split).
struct HostKey {
    int bin = -1;
    int split = 0;
};

/// @brief One injection task (or control) of the design.
struct Task {
    std::int64_t task_id = 0;      ///< stable id: position in the design (cell-major)
    std::int64_t cell_id = -1;     ///< selection-function cell, grid configuration, or -1
    int cell_theta_e = -1;         ///< theta_E index of the cell (the grid's axis in grid modes)
    int cell_psf = -1;             ///< PSF bin (of the cell; of the host outside selection_function)
    int cell_depth = -1;           ///< depth bin (likewise)
    std::int64_t grid_point = -1;  ///< configuration index in grid modes, -1 otherwise
    std::int64_t host = -1;        ///< index of the task's host in the host list
    std::int64_t stamp_host = -1;  ///< index of the host whose stamp the row holds (== host unless unpaired)
    bool is_control = false;
    bool unpaired = false;         ///< unpaired control (stamp_host != host)
    bool borrowed = false;         ///< host from the nearest bin (EmptyCells::nearest)
};

/// @brief Tasks of one cell, for the coverage report.
struct CellCoverage {
    std::int64_t cell_id = 0;
    int cell_theta_e = -1, cell_psf = -1, cell_depth = -1;
    std::int64_t injections = 0, controls = 0;
    std::int64_t hosts_available = 0;  ///< hosts in the cell's bin (all hosts outside selection_function)
    bool borrowed = false;             ///< hosts taken from another bin
};

/// @brief The whole design.
struct Design {
    std::vector<Task> tasks;             ///< in task_id order
    std::vector<CellCoverage> coverage;  ///< one per cell / configuration (prior mode: per SF cell hit)
    std::int64_t unpaired_fallbacks = 0; ///< unpaired controls made paired (no other host in the bin)
    std::vector<std::string> empty;      ///< "PSF [a, b) arcsec x depth [c, d) mag" of bins with no host
};

/// @brief Tasks per cell: per_cell injections plus round(per_cell f / (1 - f)) controls.
std::int64_t controls_per_cell(std::int64_t per_cell, double control_fraction);

/// @brief Tasks per cell (per configuration in grid modes; all tasks in prior mode).
std::int64_t tasks_per_cell(const DesignSpec& spec);
/// @brief Tasks of the whole design when every cell has hosts (an upper bound with
/// EmptyCells::skip): tasks_per_cell times the cells or configurations.
std::int64_t full_design_size(const DesignSpec& spec);

/// @brief The design over a host list, able to rebuild any task from its id alone (so a worker
/// needs the hosts, not the materialised task list). Immutable after construction.
class TaskDesigner {
public:
    /// @brief Indexes `hosts` (their list order is their index; copied).
    /// @throws std::invalid_argument for an invalid spec, no hosts, or (EmptyCells::error) a
    /// selection-function cell whose bin has no host (the message lists the bins).
    TaskDesigner(const DesignSpec& spec, std::span<const HostKey> hosts);

    const DesignSpec& spec() const { return spec_; }
    /// @brief Tasks per cell (per configuration in grid modes; all tasks in prior mode).
    std::int64_t tasks_per_cell() const { return per_; }
    /// @brief Ids one past the last possible task id.
    std::int64_t id_limit() const;
    /// @brief The task with this id; nullopt when the id is outside the design or its cell has no
    /// hosts (EmptyCells::skip). The unpaired fallback (no other host in the bin) gives a paired control.
    std::optional<Task> task(std::int64_t task_id) const;
    /// @brief "PSF [a, b) arcsec x depth [c, d) mag" of the bins with no host (selection_function).
    const std::vector<std::string>& empty_bins() const { return empty_; }

private:
    const std::vector<std::int64_t>* candidates(std::int64_t cell, bool& borrowed) const;
    bool assign(Task& t, const std::vector<std::int64_t>& candidates) const;

    DesignSpec spec_;
    std::vector<HostKey> hosts_;
    std::int64_t per_ = 0;
    std::vector<std::int64_t> all_;
    std::map<int, std::vector<std::int64_t>> by_bin_;
    std::map<std::pair<int, int>, std::vector<std::int64_t>> by_bin_split_;
    std::vector<int> cell_source_bin_;  // selection_function: host bin serving each (PSF, depth) bin, -1 none
    std::vector<std::string> empty_;
};

/// @brief Builds the whole design (every task of TaskDesigner in id order, and the coverage).
/// @throws as TaskDesigner.
Design design_tasks(const DesignSpec& spec, std::span<const HostKey> hosts);

/// @brief Uniform deviate in [0, 1) from (seed, task id, stream): splitmix64 hashing.
double uniform01(std::uint64_t seed, std::int64_t task_id, std::uint64_t stream);

/// @brief theta_E of a prior-mode injection task (needed by the design for its cell).
double prior_theta_e(const DesignSpec& spec, std::int64_t task_id);

/// @brief Host photometry the source draws use (NaN colours fall back to 0).
struct HostPhotometry {
    double mag_g = 0.0, mag_r = 0.0, mag_z = 0.0;
};

/// @brief The drawn lens and source of one injection task (attempt k of the S/N rejection uses
/// independent streams; attempt 0 is the plain draw).
struct TaskDraw {
    double theta_e = 0.0;       ///< arcsec
    double lens_q = 1.0;        ///< axis ratio
    double lens_phi = 0.0;      ///< major-axis angle, radians from +x
    double shear = 0.0;         ///< external shear magnitude
    double shear_angle = 0.0;   ///< radians
    double src_mag_r = 0.0;     ///< unlensed source r mag
    double src_dmag = 0.0;      ///< src_mag_r - host r mag
    double src_gr = 0.0;        ///< source g - r
    double src_rz = 0.0;        ///< source r - z
    double src_reff = 0.1;      ///< Sersic half-light radius (major axis), arcsec
    double src_e = 0.0;         ///< |e|
    double src_phi = 0.0;       ///< source major-axis angle (or template rotation), radians
    double src_n = 1.0;         ///< Sersic index
    double src_x = 0.0;         ///< source centre offset from the lens, arcsec
    double src_y = 0.0;
    double target_magnification = 0.0;  ///< prior modes: the drawn point-source magnification; else 0
    bool src_mag_from_prior = false;    ///< src_mag_r drawn from the prior (else host + dmag)
    double u_template = 0.0;            ///< uniform deviate picking a template
    double u_source_kind = 0.0;         ///< uniform deviate choosing template vs Sersic (mixed)
    double u_snr_bin = 0.0;             ///< uniform deviate picking the arc_snr target bin
    double u_snr_mag = 0.0;             ///< uniform deviate placing src_mag_r inside that bin
};

/// @brief The parameters of injection task `task` on a host with photometry `host`.
TaskDraw draw_task(const DesignSpec& spec, const Task& task, const HostPhotometry& host, int attempt = 0);

/// @brief Magnitudes in [lo, hi] a source needs for its S/N (snr_per_unit_flux x flux) to fall in
/// [snr_lo, snr_hi) (snr_hi may be +inf), intersected with [mag_lo, mag_hi]; nullopt if empty.
std::optional<Range> mag_range_for_snr(double snr_per_unit_flux, double snr_lo, double snr_hi, double mag_lo,
                                       double mag_hi);

}  // namespace dhs::kernels::injection
