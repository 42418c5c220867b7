// The reports of the injection stage: coverage (tasks per cell, printed at plan time from the
// design and at the end from the rows written) and the arc_snr calibration against the seed's
// target shares (seed 003 section 10), written to `/coverage` and `/calibration`.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "core/hdf5/result_file.hpp"
#include "mpi_stages/inject/inject.hpp"
#include "mpi_stages/inject/reports.hpp"

namespace dhs::stages::inject {

namespace inj = kernels::injection;

std::string coverage_text(const Params& p, const std::vector<inj::CellCoverage>& cov) {
    const auto& g = p.design.bins;
    std::vector<std::int64_t> inj_counts;
    std::int64_t empty = 0, borrowed = 0, tasks = 0;
    for (const auto& c : cov) {
        tasks += c.injections + c.controls;
        if (c.injections + c.controls == 0) ++empty;
        else inj_counts.push_back(c.injections);
        borrowed += c.borrowed ? 1 : 0;
    }
    std::sort(inj_counts.begin(), inj_counts.end());
    std::string s = fmt::format("coverage of grid {}: {} cells, {} with tasks, {} empty, {} with borrowed hosts; {} tasks",
                                inj::grid_name(p.design.grid), cov.size(), inj_counts.size(), empty, borrowed, tasks);
    if (!inj_counts.empty())
        s += fmt::format("; injections per cell min {} median {} max {}", inj_counts.front(),
                         inj_counts[inj_counts.size() / 2], inj_counts.back());
    if (p.design.grid == inj::GridKind::selection_function) {
        // Injections per theta_E cell (minimum over theta_E) of each PSF x depth bin, and its hosts.
        std::map<std::pair<int, int>, std::pair<std::int64_t, std::int64_t>> bin;  // -> (min injections, hosts)
        for (const auto& c : cov) {
            auto [it, fresh] = bin.try_emplace({c.cell_psf, c.cell_depth}, c.injections, c.hosts_available);
            if (!fresh) it->second.first = std::min(it->second.first, c.injections);
        }
        s += "\n  injections per cell (hosts in bin) by PSF FWHM (rows, arcsec) x r depth (columns, mag):\n        ";
        for (int id = 0; id < g.depth.count; ++id) s += fmt::format("{:>13.2f}", g.depth.centre(id));
        for (int ip = 0; ip < g.psf.count; ++ip) {
            s += fmt::format("\n  {:6.2f}", g.psf.centre(ip));
            for (int id = 0; id < g.depth.count; ++id) {
                const auto& [n, h] = bin[{ip, id}];
                s += fmt::format("{:>13}", fmt::format("{} ({})", n, h));
            }
        }
    } else if (p.design.grid != inj::GridKind::prior) {
        s += fmt::format("\n  {} configurations x {} injections + {} controls", cov.size(), p.design.per_cell,
                         inj::controls_per_cell(p.design.per_cell, p.design.control_fraction));
    }
    return s;
}

namespace {

// The columns of the written injections the reports need.
struct WrittenRows {
    std::vector<int> is_control, cell_te, cell_psf, cell_depth, borrowed, met, valid;
    std::vector<std::int64_t> cell;
    std::vector<double> snr;
};

WrittenRows read_written(const std::string& path) {
    const hdf5::ResultReader r(path);
    const std::string grp = "/injections";
    WrittenRows w;
    w.is_control = r.read_column(grp + "/is_control").as<int>();
    w.cell = r.read_column(grp + "/cell_id").as<std::int64_t>();
    w.cell_te = r.read_column(grp + "/cell_theta_e").as<int>();
    w.cell_psf = r.read_column(grp + "/cell_psf").as<int>();
    w.cell_depth = r.read_column(grp + "/cell_depth").as<int>();
    w.borrowed = r.read_column(grp + "/host_borrowed").as<int>();
    w.snr = r.read_column(grp + "/arc_snr").as<double>();
    w.met = r.read_column(grp + "/snr_target_met").as<int>();
    w.valid = r.read_column(grp + "/physics_valid").as<int>();
    return w;
}

// Every cell of the design (selection_function: all 385; grid modes: every configuration;
// prior: the cells hit), with the rows actually written.
std::vector<inj::CellCoverage> coverage(const Context& c, const WrittenRows& w) {
    const Params& p = c.params;
    const auto& g = p.design.bins;
    std::map<int, std::int64_t> bin_hosts;
    for (const auto& k : c.hosts.keys) ++bin_hosts[k.bin];
    std::map<std::int64_t, inj::CellCoverage> cells;
    if (p.design.grid == inj::GridKind::selection_function) {
        for (std::int64_t id = 0; id < g.cells(); ++id) {
            inj::CellCoverage v;
            v.cell_id = id;
            v.cell_depth = static_cast<int>(id % g.depth.count);
            v.cell_psf = static_cast<int>((id / g.depth.count) % g.psf.count);
            v.cell_theta_e = static_cast<int>(id / (static_cast<std::int64_t>(g.depth.count) * g.psf.count));
            const auto f = bin_hosts.find(g.host_bin(v.cell_psf, v.cell_depth));
            v.hosts_available = f == bin_hosts.end() ? 0 : f->second;
            cells[id] = v;
        }
    } else if (p.design.grid != inj::GridKind::prior) {
        for (std::size_t k = 0; k < p.design.params.size(); ++k) {
            inj::CellCoverage v;
            v.cell_id = static_cast<std::int64_t>(k);
            v.cell_theta_e = p.design.params.point(k).theta_e;
            v.hosts_available = static_cast<std::int64_t>(c.hosts.keys.size());
            cells[v.cell_id] = v;
        }
    }
    for (std::size_t i = 0; i < w.cell.size(); ++i) {
        auto [it, fresh] = cells.try_emplace(w.cell[i]);
        if (fresh) {
            it->second.cell_id = w.cell[i];
            it->second.cell_theta_e = w.cell[i] < 0 ? -1 : w.cell_te[i];
            it->second.cell_psf = w.cell[i] < 0 ? -1 : w.cell_psf[i];
            it->second.cell_depth = w.cell[i] < 0 ? -1 : w.cell_depth[i];
            it->second.hosts_available = static_cast<std::int64_t>(c.hosts.keys.size());
        }
        (w.is_control[i] ? it->second.controls : it->second.injections) += 1;
        it->second.borrowed = it->second.borrowed || w.borrowed[i];
    }
    std::vector<inj::CellCoverage> cov;
    for (const auto& [id, v] : cells) cov.push_back(v);
    return cov;
}

void add(Table& t, Column col, const char* unit, const char* desc) {
    col.set_unit(unit);
    col.set_description(desc);
    t.add(std::move(col));
}

Table coverage_table(const Params& p, const std::vector<inj::CellCoverage>& cov) {
    const auto& g = p.design.bins;
    std::vector<std::int64_t> ids, hosts, ninj, nctrl;
    std::vector<std::int32_t> ite, ipsf, idep;
    std::vector<double> te, psf, depth;
    std::vector<std::uint8_t> borrow;
    const bool grid = p.design.grid == inj::GridKind::grid_small || p.design.grid == inj::GridKind::sota;
    for (const auto& v : cov) {
        ids.push_back(v.cell_id);
        ite.push_back(v.cell_theta_e);
        ipsf.push_back(v.cell_psf);
        idep.push_back(v.cell_depth);
        te.push_back(v.cell_theta_e < 0 ? NAN
                     : grid             ? p.design.params.theta_e[static_cast<std::size_t>(v.cell_theta_e)]
                                        : g.theta_e.centre(v.cell_theta_e));
        psf.push_back(v.cell_psf < 0 ? NAN : g.psf.centre(v.cell_psf));
        depth.push_back(v.cell_depth < 0 ? NAN : g.depth.centre(v.cell_depth));
        hosts.push_back(v.hosts_available);
        ninj.push_back(v.injections);
        nctrl.push_back(v.controls);
        borrow.push_back(v.borrowed ? 1 : 0);
    }
    Table ct;
    add(ct, Column("cell_id", std::move(ids)), "", "cell (selection_function) or configuration (grid modes); -1: outside the bins");
    add(ct, Column("cell_theta_e", std::move(ite)), "", "theta_E index");
    add(ct, Column("cell_psf", std::move(ipsf)), "", "PSF bin");
    add(ct, Column("cell_depth", std::move(idep)), "", "depth bin");
    add(ct, Column("theta_e_arcsec", std::move(te)), "arcsec", "theta_E of the cell");
    add(ct, Column("psf_fwhm_arcsec", std::move(psf)), "arcsec", "PSF bin centre");
    add(ct, Column("depth_r_mag", std::move(depth)), "mag", "depth bin centre");
    add(ct, Column("hosts_available", std::move(hosts)), "", "hosts in the cell's PSF/depth bin");
    add(ct, Column("injections", std::move(ninj)), "", "injection rows written");
    add(ct, Column("controls", std::move(nctrl)), "", "control rows written");
    add(ct, Column("borrowed", std::move(borrow), {}, DType::boolean), "", "hosts from the nearest non-empty bin");
    return ct;
}

// The achieved arc_snr shares of the injections against the targets (and the log's table).
struct SnrCalibration {
    Table table;
    std::int64_t injections = 0, target_met = 0;
};

SnrCalibration snr_calibration(const Params& p, const WrittenRows& w) {
    std::vector<double> lo = {0.0}, hi, target = {0.0};
    for (std::size_t k = 0; k < p.snr_edges.size(); ++k) {
        lo.push_back(p.snr_edges[k]);
        hi.push_back(p.snr_edges[k]);
        target.push_back(p.snr_fractions[k]);
    }
    hi.push_back(INFINITY);
    std::vector<std::int64_t> count(lo.size(), 0);
    std::int64_t n = 0, n_met = 0, n_valid = 0;
    for (std::size_t i = 0; i < w.snr.size(); ++i) {
        if (w.is_control[i]) continue;
        ++n;
        n_met += w.met[i] ? 1 : 0;
        n_valid += w.valid[i] ? 1 : 0;
        std::size_t k = 0;
        while (k + 1 < lo.size() && w.snr[i] >= lo[k + 1]) ++k;
        ++count[k];
    }
    std::vector<double> frac;
    std::string text = fmt::format("arc_snr calibration of {} injections (rejection step {}; {} in their target bin; "
                                   "{} physics_valid):",
                                   n, p.snr_rejection ? "on" : "off", n_met, n_valid);
    for (std::size_t k = 0; k < lo.size(); ++k) {
        frac.push_back(n > 0 ? static_cast<double>(count[k]) / static_cast<double>(n) : 0.0);
        text += fmt::format("\n  arc_snr [{:g}, {:g}): target {:5.1f}%  achieved {:5.1f}% ({})", lo[k], hi[k],
                            100 * target[k], 100 * frac.back(), count[k]);
    }
    spdlog::info("stage inject: {}", text);
    SnrCalibration out{{}, n, n_met};
    add(out.table, Column("snr_lo", lo), "", "lower edge of the arc_snr bin");
    add(out.table, Column("snr_hi", hi), "", "upper edge (inf: open)");
    add(out.table, Column("target_fraction", target), "", "target share of injections (seed 003 section 10)");
    add(out.table, Column("count", count), "", "injections in the bin");
    add(out.table, Column("achieved_fraction", frac), "", "share of the injections in the bin");
    return out;
}

}  // namespace

void write_reports(const Context& c, const std::string& path) {
    const Params& p = c.params;
    const WrittenRows w = read_written(path);  // closed before the appender opens the file
    const auto cov = coverage(c, w);
    spdlog::info("stage inject: {}", coverage_text(p, cov));
    const Table ct = coverage_table(p, cov);
    const SnrCalibration cal = snr_calibration(p, w);

    hdf5::ResultAppender out(path);
    out.write_table("/coverage", ct);
    out.set_attribute("/coverage", "description", std::string("tasks per cell of the injection design"));
    out.write_table("/calibration", cal.table);
    out.set_attribute("/calibration", "description",
                      std::string("achieved arc_snr distribution of the injections vs the target shares"));
    out.set_attribute("/calibration", "snr_rejection", static_cast<std::int64_t>(p.snr_rejection ? 1 : 0));
    out.set_attribute("/calibration", "injections", cal.injections);
    out.set_attribute("/calibration", "target_met", cal.target_met);
    out.close();
}

}  // namespace dhs::stages::inject
