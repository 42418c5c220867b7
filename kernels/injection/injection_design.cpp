// Task design of the injection stage (see injection_design.hpp): grids, host matching,
// controls and the hashed per-task draws.
#include "kernels/injection/injection_design.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <numbers>
#include <stdexcept>
#include <utility>

namespace dhs::kernels::injection {

namespace {

// Streams of uniform01(seed, task, stream): one per independent draw.
enum Stream : std::uint64_t {
    kHost = 1, kPartner = 2, kControlKind = 3, kPriorThetaE = 4,
    kLensQ = 10, kLensPhi, kShear, kShearAngle, kSrcMag, kMagnif, kSrcGr, kSrcRz, kSrcReff, kSrcE, kSrcPhi, kSrcN,
    kSrcRadius, kSrcAngle, kTemplate, kSourceKind, kSnrBin, kSnrMag,
    kAttemptStride = 64,
};

std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

double lerp(const Range& r, double u) { return r.lo + (r.hi - r.lo) * u; }

bool finite_range(const Range& r) { return std::isfinite(r.lo) && std::isfinite(r.hi) && r.lo <= r.hi; }

std::string fmt_bin(const SelectionGrid& g, int bin) {
    const int ip = bin / g.depth.count, id = bin % g.depth.count;
    char buf[160];
    std::snprintf(buf, sizeof buf, "PSF [%.4g, %.4g) arcsec x depth [%.4g, %.4g) mag", g.psf.centre(ip) - 0.5 * g.psf.step,
                  g.psf.centre(ip) + 0.5 * g.psf.step, g.depth.centre(id) - 0.5 * g.depth.step,
                  g.depth.centre(id) + 0.5 * g.depth.step);
    return buf;
}

std::int64_t pick(std::size_t n, double u) {
    return std::min(static_cast<std::int64_t>(n) - 1, static_cast<std::int64_t>(u * static_cast<double>(n)));
}

}  // namespace

const char* grid_name(GridKind kind) {
    switch (kind) {
        case GridKind::grid_small: return "grid_small";
        case GridKind::sota: return "sota";
        case GridKind::selection_function: return "selection_function";
        case GridKind::prior: return "prior";
    }
    return "?";
}

GridKind grid_kind_from_name(std::string_view name) {
    for (auto k : {GridKind::grid_small, GridKind::sota, GridKind::selection_function, GridKind::prior})
        if (name == grid_name(k)) return k;
    throw std::invalid_argument("unknown injection grid '" + std::string(name) +
                                "' (grid_small, sota, selection_function or prior)");
}

const char* empty_cells_name(EmptyCells e) {
    switch (e) {
        case EmptyCells::error: return "error";
        case EmptyCells::skip: return "skip";
        case EmptyCells::nearest: return "nearest";
    }
    return "?";
}

EmptyCells empty_cells_from_name(std::string_view name) {
    for (auto e : {EmptyCells::error, EmptyCells::skip, EmptyCells::nearest})
        if (name == empty_cells_name(e)) return e;
    throw std::invalid_argument("unknown empty-cell policy '" + std::string(name) + "' (error, skip or nearest)");
}

int AxisBins::bin_of(double v) const {
    if (!std::isfinite(v)) return -1;
    const double x = (v - first) / step + 0.5;
    if (x < 0.0) return -1;
    const auto i = static_cast<long long>(std::floor(x));
    return i < count ? static_cast<int>(i) : -1;
}

std::int64_t SelectionGrid::cell_id(int it, int ip, int id) const {
    if (it < 0 || ip < 0 || id < 0) return -1;
    return (static_cast<std::int64_t>(it) * psf.count + ip) * depth.count + id;
}

ParamGrid::Point ParamGrid::point(std::size_t k) const {
    Point p;
    p.shear = static_cast<int>(k % shear.size());
    k /= shear.size();
    p.e = static_cast<int>(k % e.size());
    k /= e.size();
    p.reff = static_cast<int>(k % reff.size());
    k /= reff.size();
    p.dmag = static_cast<int>(k % dmag.size());
    k /= dmag.size();
    p.theta_e = static_cast<int>(k);
    return p;
}

ParamGrid named_param_grid(GridKind kind) {
    switch (kind) {
        case GridKind::grid_small:
            return {{0.3, 0.6, 1.0}, {1.0, 2.0}, {0.08, 0.15}, {0.0, 0.3}, {0.0, 0.03}};
        case GridKind::sota: {
            ParamGrid g{{}, {0.5, 1.0, 1.5, 2.0}, {0.05, 0.10, 0.20}, {0.0, 0.2, 0.4}, {0.0, 0.03}};
            for (int i = 0; i < 9; ++i) g.theta_e.push_back(0.5 + 0.25 * i);
            return g;
        }
        default: break;
    }
    throw std::invalid_argument(std::string("grid '") + grid_name(kind) + "' has no parameter grid");
}

std::vector<std::string> validate(const DesignSpec& s) {
    std::vector<std::string> p;
    auto need = [&](bool ok, const std::string& what) {
        if (!ok) p.push_back(what);
    };
    const bool grid = s.grid == GridKind::grid_small || s.grid == GridKind::sota;
    need(s.per_cell >= 1, "per_cell must be >= 1");
    need(s.n_tasks >= 1, "n_tasks must be >= 1");
    need(s.control_fraction >= 0.0 && s.control_fraction <= 0.9, "control_fraction must be in [0, 0.9]");
    need(s.unpaired_fraction >= 0.0 && s.unpaired_fraction <= 1.0, "unpaired_fraction must be in [0, 1]");
    for (const auto* a : {&s.bins.theta_e, &s.bins.psf, &s.bins.depth})
        need(a->count >= 1 && a->step > 0.0 && std::isfinite(a->first), "selection-grid axes need count >= 1, step > 0");
    const Priors& r = s.priors;
    need(finite_range(r.src_mag_r) && r.src_mag_r.lo > 0.0, "src_mag_r range must be finite, lo <= hi, > 0");
    need(finite_range(r.magnification) && r.magnification.lo > 2.0,
         "magnification range must be finite, lo <= hi, lo > 2 (a point source inside the caustic)");
    need(std::isfinite(r.colour_jitter) && r.colour_jitter >= 0.0, "colour_jitter must be >= 0");
    need(finite_range(r.src_reff) && r.src_reff.lo > 0.0, "src_reff range must be finite, lo <= hi, lo > 0 arcsec");
    need(finite_range(r.src_n) && r.src_n.lo >= 0.2 && r.src_n.hi <= 10.0, "src_n range must lie in [0.2, 10]");
    need(finite_range(r.src_e) && r.src_e.lo >= 0.0 && r.src_e.hi < 1.0, "src_e range must lie in [0, 1)");
    need(finite_range(r.shear) && r.shear.lo >= 0.0 && r.shear.hi < 0.5, "shear range must lie in [0, 0.5)");
    need(finite_range(r.theta_e) && r.theta_e.lo > 0.0, "theta_e range must be finite, lo <= hi, lo > 0 arcsec");
    need(finite_range(r.lens_q) && r.lens_q.lo > 0.0 && r.lens_q.hi <= 1.0, "lens_q range must lie in (0, 1]");
    need(std::isfinite(r.src_offset_max) && r.src_offset_max >= 0.0, "src_offset_max must be >= 0");
    if (grid) {
        need(s.params.size() > 0, "the parameter grid is empty");
        for (double v : s.params.theta_e) need(v > 0.0 && std::isfinite(v), "grid theta_E values must be > 0");
        for (double v : s.params.reff) need(v > 0.0 && std::isfinite(v), "grid r_eff values must be > 0");
        for (double v : s.params.e) need(v >= 0.0 && v < 1.0, "grid e values must lie in [0, 1)");
        for (double v : s.params.shear) need(v >= 0.0 && v < 0.5, "grid shear values must lie in [0, 0.5)");
        for (double v : s.params.dmag) need(std::isfinite(v), "grid dmag values must be finite");
    }
    return p;
}

std::int64_t controls_per_cell(std::int64_t per_cell, double f) {
    return std::llround(static_cast<double>(per_cell) * f / (1.0 - f));
}

std::int64_t tasks_per_cell(const DesignSpec& spec) {
    if (spec.grid == GridKind::prior) return spec.n_tasks + controls_per_cell(spec.n_tasks, spec.control_fraction);
    return spec.per_cell + controls_per_cell(spec.per_cell, spec.control_fraction);
}

std::int64_t full_design_size(const DesignSpec& spec) {
    switch (spec.grid) {
        case GridKind::selection_function: return tasks_per_cell(spec) * spec.bins.cells();
        case GridKind::grid_small:
        case GridKind::sota: return tasks_per_cell(spec) * static_cast<std::int64_t>(spec.params.size());
        case GridKind::prior: return tasks_per_cell(spec);
    }
    return 0;
}

double uniform01(std::uint64_t seed, std::int64_t task_id, std::uint64_t stream) {
    std::uint64_t h = splitmix64(seed ^ splitmix64(static_cast<std::uint64_t>(task_id) + 0x632BE59BD9B4E019ull));
    h = splitmix64(h + splitmix64(stream * 0xD1B54A32D192ED03ull + 1));
    return static_cast<double>(h >> 11) * 0x1.0p-53;
}

double prior_theta_e(const DesignSpec& spec, std::int64_t task_id) {
    return lerp(spec.priors.theta_e, uniform01(spec.seed, task_id, kPriorThetaE));
}

TaskDesigner::TaskDesigner(const DesignSpec& spec, std::span<const HostKey> hosts)
    : spec_(spec), hosts_(hosts.begin(), hosts.end()) {
    if (auto p = validate(spec); !p.empty()) {
        std::string m = "invalid injection design:";
        for (const auto& x : p) m += " " + x + ";";
        throw std::invalid_argument(m);
    }
    if (hosts.empty()) throw std::invalid_argument("injection design: no hosts");
    const SelectionGrid& g = spec.bins;
    all_.resize(hosts.size());
    for (std::size_t i = 0; i < hosts.size(); ++i) {
        const auto h = static_cast<std::int64_t>(i);
        all_[i] = h;
        by_bin_[hosts[i].bin].push_back(h);  // ascending: pools are sorted
        by_bin_split_[{hosts[i].bin, hosts[i].split}].push_back(h);
    }
    per_ = injection::tasks_per_cell(spec);
    if (spec.grid != GridKind::selection_function) return;
    cell_source_bin_.assign(static_cast<std::size_t>(g.host_bins()), -1);
    for (int bin = 0; bin < g.host_bins(); ++bin) {
        if (by_bin_.count(bin)) {
            cell_source_bin_[static_cast<std::size_t>(bin)] = bin;
            continue;
        }
        empty_.push_back(fmt_bin(g, bin));
        if (spec.empty_cells != EmptyCells::nearest) continue;
        const int ip = bin / g.depth.count, id = bin % g.depth.count;
        int best = -1, best_dist = std::numeric_limits<int>::max();
        for (const auto& [b, list] : by_bin_) {
            if (b < 0) continue;
            const int dist = std::abs(b / g.depth.count - ip) + std::abs(b % g.depth.count - id);
            if (dist < best_dist) best = b, best_dist = dist;
        }
        cell_source_bin_[static_cast<std::size_t>(bin)] = best;
    }
    if (spec.empty_cells == EmptyCells::error && !empty_.empty()) {
        std::string m = "selection_function grid: " + std::to_string(empty_.size()) + " of " +
                        std::to_string(g.host_bins()) + " PSF/depth bins hold no host (" +
                        std::to_string(empty_.size() * static_cast<std::size_t>(g.theta_e.count)) + " of " +
                        std::to_string(g.cells()) + " cells): ";
        for (std::size_t i = 0; i < empty_.size(); ++i) m += (i ? "; " : "") + empty_[i];
        throw std::invalid_argument(m);
    }
}

std::int64_t TaskDesigner::id_limit() const { return full_design_size(spec_); }

bool TaskDesigner::assign(Task& t, const std::vector<std::int64_t>& cand) const {
    t.host = cand[static_cast<std::size_t>(pick(cand.size(), uniform01(spec_.seed, t.task_id, kHost)))];
    t.stamp_host = t.host;
    if (!t.is_control || uniform01(spec_.seed, t.task_id, kControlKind) >= spec_.unpaired_fraction) return true;
    const HostKey key = hosts_[static_cast<std::size_t>(t.host)];
    const std::vector<std::int64_t>* pool = &by_bin_split_.at({key.bin, key.split});
    if (pool->size() < 2) pool = &by_bin_.at(key.bin);
    if (pool->size() < 2) return false;  // no other host: a paired control
    const auto self = std::lower_bound(pool->begin(), pool->end(), t.host) - pool->begin();
    auto j = pick(pool->size() - 1, uniform01(spec_.seed, t.task_id, kPartner));
    if (j >= self) ++j;
    t.stamp_host = (*pool)[static_cast<std::size_t>(j)];
    t.unpaired = true;
    return true;
}

std::optional<Task> TaskDesigner::task(std::int64_t task_id) const {
    if (task_id < 0 || task_id >= id_limit()) return std::nullopt;
    const SelectionGrid& g = spec_.bins;
    Task t;
    t.task_id = task_id;
    const std::int64_t cell = task_id / per_, k = task_id % per_;
    auto host_bins = [&](std::int64_t h) {
        const int b = hosts_[static_cast<std::size_t>(h)].bin;
        t.cell_psf = b < 0 ? -1 : b / g.depth.count;
        t.cell_depth = b < 0 ? -1 : b % g.depth.count;
    };
    switch (spec_.grid) {
        case GridKind::selection_function: {
            t.cell_id = cell;
            t.cell_depth = static_cast<int>(cell % g.depth.count);
            t.cell_psf = static_cast<int>((cell / g.depth.count) % g.psf.count);
            t.cell_theta_e = static_cast<int>(cell / (static_cast<std::int64_t>(g.depth.count) * g.psf.count));
            t.is_control = k >= spec_.per_cell;
            const int bin = g.host_bin(t.cell_psf, t.cell_depth);
            const int source = cell_source_bin_[static_cast<std::size_t>(bin)];
            if (source < 0) return std::nullopt;
            t.borrowed = source != bin;
            assign(t, by_bin_.at(source));
            return t;
        }
        case GridKind::grid_small:
        case GridKind::sota: {
            t.cell_id = cell;
            t.grid_point = cell;
            t.cell_theta_e = spec_.params.point(static_cast<std::size_t>(cell)).theta_e;
            t.is_control = k >= spec_.per_cell;
            assign(t, all_);
            host_bins(t.stamp_host);
            return t;
        }
        case GridKind::prior: {
            t.is_control = task_id >= spec_.n_tasks;
            assign(t, all_);
            host_bins(t.stamp_host);
            if (!t.is_control) t.cell_theta_e = g.theta_e.bin_of(prior_theta_e(spec_, task_id));
            t.cell_id = g.cell_id(t.cell_theta_e, t.cell_psf, t.cell_depth);
            return t;
        }
    }
    return std::nullopt;
}

Design design_tasks(const DesignSpec& spec, std::span<const HostKey> hosts) {
    const TaskDesigner designer(spec, hosts);
    const SelectionGrid& g = spec.bins;
    Design d;
    d.empty = designer.empty_bins();
    std::map<std::int64_t, CellCoverage> cells;
    std::map<int, std::int64_t> bin_hosts;
    for (const auto& h : hosts) ++bin_hosts[h.bin];
    if (spec.grid == GridKind::selection_function) {  // every cell listed, empty ones too
        for (std::int64_t c = 0; c < g.cells(); ++c) {
            CellCoverage cov;
            cov.cell_id = c;
            cov.cell_depth = static_cast<int>(c % g.depth.count);
            cov.cell_psf = static_cast<int>((c / g.depth.count) % g.psf.count);
            cov.cell_theta_e = static_cast<int>(c / (static_cast<std::int64_t>(g.depth.count) * g.psf.count));
            const auto f = bin_hosts.find(g.host_bin(cov.cell_psf, cov.cell_depth));
            cov.hosts_available = f == bin_hosts.end() ? 0 : f->second;
            cells[c] = cov;
        }
    } else if (spec.grid != GridKind::prior) {
        for (std::size_t k = 0; k < spec.params.size(); ++k) {
            CellCoverage cov;
            cov.cell_id = static_cast<std::int64_t>(k);
            cov.cell_theta_e = spec.params.point(k).theta_e;
            cov.hosts_available = static_cast<std::int64_t>(hosts.size());
            cells[cov.cell_id] = cov;
        }
    }
    const std::int64_t limit = designer.id_limit();
    for (std::int64_t id = 0; id < limit; ++id) {
        auto t = designer.task(id);
        if (!t) continue;
        if (t->is_control && !t->unpaired && uniform01(spec.seed, id, kControlKind) < spec.unpaired_fraction)
            ++d.unpaired_fallbacks;
        auto [it, fresh] = cells.try_emplace(t->cell_id);
        if (fresh) {  // prior mode: cells as they are hit
            it->second.cell_id = t->cell_id;
            it->second.cell_theta_e = t->cell_id < 0 ? -1 : t->cell_theta_e;
            it->second.cell_psf = t->cell_id < 0 ? -1 : t->cell_psf;
            it->second.cell_depth = t->cell_id < 0 ? -1 : t->cell_depth;
            it->second.hosts_available = static_cast<std::int64_t>(hosts.size());
        }
        it->second.borrowed = it->second.borrowed || t->borrowed;
        (t->is_control ? it->second.controls : it->second.injections) += 1;
        d.tasks.push_back(*t);
    }
    for (auto& [id, c] : cells) d.coverage.push_back(c);
    return d;
}

TaskDraw draw_task(const DesignSpec& spec, const Task& task, const HostPhotometry& host, int attempt) {
    const std::uint64_t off = static_cast<std::uint64_t>(attempt) * kAttemptStride;
    auto u = [&](std::uint64_t stream) { return uniform01(spec.seed, task.task_id, stream + off); };
    const Priors& pr = spec.priors;
    constexpr double pi = std::numbers::pi;
    TaskDraw d;
    d.lens_q = lerp(pr.lens_q, u(kLensQ));
    d.lens_phi = pi * u(kLensPhi);
    d.shear_angle = pi * u(kShearAngle);
    d.src_phi = pi * u(kSrcPhi);
    d.src_n = lerp(pr.src_n, u(kSrcN));
    const double gr = host.mag_g - host.mag_r, rz = host.mag_r - host.mag_z;
    d.src_gr = (std::isfinite(gr) ? gr : 0.0) + pr.colour_jitter * (2.0 * u(kSrcGr) - 1.0);
    d.src_rz = (std::isfinite(rz) ? rz : 0.0) + pr.colour_jitter * (2.0 * u(kSrcRz) - 1.0);
    d.u_template = u(kTemplate);
    d.u_source_kind = u(kSourceKind);
    d.u_snr_bin = uniform01(spec.seed, task.task_id, kSnrBin);  // the target bin never changes with attempts
    d.u_snr_mag = u(kSnrMag);
    const double angle = 2.0 * pi * u(kSrcAngle);
    if (spec.grid == GridKind::grid_small || spec.grid == GridKind::sota) {
        const auto pt = spec.params.point(static_cast<std::size_t>(std::max<std::int64_t>(task.grid_point, 0)));
        d.theta_e = spec.params.theta_e[static_cast<std::size_t>(pt.theta_e)];
        d.src_dmag = spec.params.dmag[static_cast<std::size_t>(pt.dmag)];
        d.src_mag_r = host.mag_r + d.src_dmag;
        d.src_reff = spec.params.reff[static_cast<std::size_t>(pt.reff)];
        d.src_e = spec.params.e[static_cast<std::size_t>(pt.e)];
        d.shear = spec.params.shear[static_cast<std::size_t>(pt.shear)];
        const double r = pr.src_offset_max * d.theta_e * std::sqrt(u(kSrcRadius));
        d.src_x = r * std::cos(angle);
        d.src_y = r * std::sin(angle);
    } else {
        d.theta_e = spec.grid == GridKind::selection_function ? spec.bins.theta_e.centre(task.cell_theta_e)
                                                              : prior_theta_e(spec, task.task_id);
        d.src_mag_r = lerp(pr.src_mag_r, u(kSrcMag));
        d.src_mag_from_prior = true;
        d.src_dmag = d.src_mag_r - host.mag_r;
        d.src_reff = lerp(pr.src_reff, u(kSrcReff));
        d.src_e = lerp(pr.src_e, u(kSrcE));
        d.shear = lerp(pr.shear, u(kShear));
        // A point source at beta from an SIS has total magnification 2 theta_E / beta (beta < theta_E).
        d.target_magnification = lerp(pr.magnification, u(kMagnif));
        const double beta = 2.0 * d.theta_e / d.target_magnification;
        d.src_x = beta * std::cos(angle);
        d.src_y = beta * std::sin(angle);
    }
    return d;
}

std::optional<Range> mag_range_for_snr(double snr_unit, double snr_lo, double snr_hi, double mag_lo, double mag_hi) {
    if (!(snr_unit > 0.0) || !std::isfinite(snr_unit)) return std::nullopt;
    // snr(m) = snr_unit 10^((22.5 - m) / 2.5) decreases with m.
    auto mag_at = [&](double snr) { return 22.5 - 2.5 * std::log10(snr / snr_unit); };
    const double faint = snr_lo > 0.0 ? mag_at(snr_lo) : std::numeric_limits<double>::infinity();
    const double bright = std::isfinite(snr_hi) ? mag_at(snr_hi) : -std::numeric_limits<double>::infinity();
    Range r{std::max(mag_lo, bright), std::min(mag_hi, faint)};
    if (!(r.lo < r.hi)) return std::nullopt;
    return r;
}

}  // namespace dhs::kernels::injection
