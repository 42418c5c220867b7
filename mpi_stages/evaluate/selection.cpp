// The selection function of the evaluation (see rows.hpp): completeness C(theta_E, PSF, depth)
// per cell of the SPEC grid at each operating threshold, its 1-D and 2-D marginals, C(arc_snr),
// and the truth check of a mock sky: the recall measured on its own true lenses per theta_E bin
// beside the recall the injections' cells predict for the same lenses.
#include <fmt/format.h>

#include <array>
#include <cmath>
#include <limits>
#include <map>

#include "kernels/stats/evaluation_metrics.hpp"
#include "kernels/injection/injection_design.hpp"
#include "mpi_stages/evaluate/evaluate.hpp"
#include "mpi_stages/evaluate/rows.hpp"

namespace dhs::stages::evaluate {

namespace {

using kernels::injection::AxisBins;
using kernels::injection::SelectionGrid;

double lower_edge(const AxisBins& a, int i) { return a.centre(i) - 0.5 * a.step; }

struct Axis {
    const char* name;
    const std::vector<int>* bin;
    const AxisBins* bins;
};

std::array<Axis, 3> axes_of(const Comparison& inj, const SelectionGrid& grid) {
    return {Axis{"theta_e", &inj.cell_theta_e, &grid.theta_e}, Axis{"psf", &inj.cell_psf, &grid.psf},
            Axis{"depth", &inj.cell_depth, &grid.depth}};
}

// Scores of the injections inside the grid for which `in` holds.
template <class Pred>
std::vector<double> injected_scores(const Comparison& inj, Pred in) {
    std::vector<double> s;
    for (std::size_t i = 0; i < inj.score.size(); ++i)
        if (inj.label[i] == 1 && inj.cell[i] >= 0 && in(i)) s.push_back(inj.score[i]);
    return s;
}

void per_cell(const Params& p, const Comparison& inj, const std::vector<OperatingPoint>& ops, const SelectionGrid& grid,
              Rows& cells) {
    std::map<int, std::vector<std::size_t>> by_cell;
    for (std::size_t i = 0; i < inj.score.size(); ++i)
        if (inj.label[i] == 1 && inj.cell[i] >= 0) by_cell[inj.cell[i]].push_back(i);
    for (const auto& [cell, idx] : by_cell) {
        std::vector<double> s;
        for (auto i : idx) s.push_back(inj.score[i]);
        const int it = inj.cell_theta_e[idx[0]], ip = inj.cell_psf[idx[0]], id = inj.cell_depth[idx[0]];
        detection_rows(p, s, ops, [&](Rows& r) {
            r.add("cell_id", static_cast<std::int64_t>(cell));
            r.add("theta_e_lo", lower_edge(grid.theta_e, it)), r.add("theta_e_hi", lower_edge(grid.theta_e, it) + grid.theta_e.step);
            r.add("psf_lo", lower_edge(grid.psf, ip)), r.add("psf_hi", lower_edge(grid.psf, ip) + grid.psf.step);
            r.add("depth_lo", lower_edge(grid.depth, id)), r.add("depth_hi", lower_edge(grid.depth, id) + grid.depth.step);
        }, cells);
    }
}

void marginals_1d(const Params& p, const Comparison& inj, const std::vector<OperatingPoint>& ops, const SelectionGrid& grid,
                  Rows& rows) {
    for (const Axis& a : axes_of(inj, grid))
        for (int b = 0; b < a.bins->count; ++b) {
            const auto s = injected_scores(inj, [&](std::size_t i) { return (*a.bin)[i] == b; });
            if (s.empty()) continue;
            detection_rows(p, s, ops, [&](Rows& r) {
                r.add("axis", a.name), r.add("lo", lower_edge(*a.bins, b)), r.add("hi", lower_edge(*a.bins, b) + a.bins->step);
            }, rows);
        }
}

void marginals_2d(const Params& p, const Comparison& inj, const std::vector<OperatingPoint>& ops, const SelectionGrid& grid,
                  Rows& rows) {
    const auto axes = axes_of(inj, grid);
    for (std::size_t u = 0; u < axes.size(); ++u)
        for (std::size_t v = u + 1; v < axes.size(); ++v) {
            const Axis &x = axes[u], &y = axes[v];
            for (int bx = 0; bx < x.bins->count; ++bx)
                for (int by = 0; by < y.bins->count; ++by) {
                    const auto s = injected_scores(inj, [&](std::size_t i) { return (*x.bin)[i] == bx && (*y.bin)[i] == by; });
                    if (s.empty()) continue;
                    detection_rows(p, s, ops, [&](Rows& r) {
                        r.add("plane", fmt::format("{}-{}", x.name, y.name));
                        r.add("x_lo", lower_edge(*x.bins, bx)), r.add("x_hi", lower_edge(*x.bins, bx) + x.bins->step);
                        r.add("y_lo", lower_edge(*y.bins, by)), r.add("y_hi", lower_edge(*y.bins, by) + y.bins->step);
                    }, rows);
                }
        }
}

// C(arc_snr) over every injection of the split, in the seed's target bins and beyond.
void by_arc_snr(const Params& p, const Comparison& inj, const std::vector<OperatingPoint>& ops, Rows& rows) {
    const std::vector<double> edges{0, 0.8, 2, 5, 8, 20, 50, std::numeric_limits<double>::infinity()};
    for (std::size_t b = 0; b + 1 < edges.size(); ++b) {
        std::vector<double> s;
        for (std::size_t i = 0; i < inj.score.size(); ++i)
            if (inj.label[i] == 1 && i < inj.arc_snr.size() && inj.arc_snr[i] >= edges[b] && inj.arc_snr[i] < edges[b + 1])
                s.push_back(inj.score[i]);
        if (s.empty()) continue;
        detection_rows(p, s, ops, [&](Rows& r) { r.add("arc_snr_lo", edges[b]), r.add("arc_snr_hi", edges[b + 1]); }, rows);
    }
}

// One true lens of the mock sky with its cell on the grid (-1 outside it).
struct TrueLens {
    double score = 0, theta_e = 0;
    int theta_bin = -1;
    std::int64_t cell = -1;
};

std::vector<TrueLens> true_lenses(const Comparison& real, const SelectionGrid& grid) {
    std::vector<TrueLens> out;
    for (std::size_t i = 0; i < real.score.size(); ++i) {
        if (real.label[i] != 1 || i >= real.truth_theta_e.size() || !std::isfinite(real.truth_theta_e[i])) continue;
        TrueLens l;
        l.score = real.score[i], l.theta_e = real.truth_theta_e[i];
        l.theta_bin = grid.theta_e.bin_of(l.theta_e);
        l.cell = grid.cell_id(l.theta_bin, grid.psf.bin_of(real.psf_fwhm_r[i]), grid.depth.bin_of(real.depth_r[i]));
        out.push_back(l);
    }
    return out;
}

// One row of the truth check: the lenses of one theta_E bin (or all) at one operating point.
void truth_row(const Params& p, const OperatingPoint& op, const std::string& bin, double lo, double hi,
               const std::vector<const TrueLens*>& lenses, const std::map<std::int64_t, std::array<std::int64_t, 2>>& cells,
               Rows& rows, nlohmann::json& verdicts) {
    std::map<std::int64_t, std::int64_t> lenses_per_cell;
    std::int64_t compared = 0, detected = 0;
    for (const TrueLens* l : lenses) {
        const auto c = cells.find(l->cell);
        if (c == cells.end()) continue;  // outside the grid, or no injection in its cell
        ++lenses_per_cell[l->cell], ++compared;
        detected += l->score >= op.threshold ? 1 : 0;
    }
    std::vector<kernels::CellCompleteness> weights;
    for (const auto& [cell, m] : lenses_per_cell) weights.push_back({m, cells.at(cell)[0], cells.at(cell)[1]});
    const auto observed = kernels::clopper_pearson(detected, compared, p.ci_level);
    const auto predicted = kernels::predicted_recall(weights, std::max(p.bootstrap_resamples, 200), p.ci_level, p.seed);
    const char* verdict = compared == 0                                                            ? "no prediction"
                          : observed.upper >= predicted.lower && predicted.upper >= observed.lower ? "consistent"
                                                                                                   : "inconsistent";
    rows.add("theta_e_bin", bin), rows.add("theta_e_lo", lo), rows.add("theta_e_hi", hi);
    rows.add("target_fpr", op.target_fpr), rows.add("threshold", op.threshold);
    rows.add("n_lenses", static_cast<std::int64_t>(lenses.size())), rows.add("n_compared", compared);
    rows.add("n_detected", detected), rows.add("recall", observed.estimate);
    rows.add("recall_lower", observed.lower), rows.add("recall_upper", observed.upper);
    rows.add("predicted", predicted.estimate), rows.add("predicted_lower", predicted.lower);
    rows.add("predicted_upper", predicted.upper), rows.add("verdict", verdict);
    if (bin == "all")
        verdicts.push_back({{"target_fpr", op.target_fpr}, {"n_compared", compared}, {"recall", observed.estimate},
                            {"predicted", compared ? nlohmann::json(predicted.estimate) : nlohmann::json(nullptr)},
                            {"verdict", verdict}});
}

}  // namespace

void selection_function(const Params& p, const Comparison& inj, const std::vector<OperatingPoint>& ops, Rows& cells,
                        Rows& marginals, Rows& marginals_2d_rows, Rows& snr_rows) {
    const SelectionGrid grid;
    per_cell(p, inj, ops, grid, cells);
    marginals_1d(p, inj, ops, grid, marginals);
    marginals_2d(p, inj, ops, grid, marginals_2d_rows);
    by_arc_snr(p, inj, ops, snr_rows);
}

nlohmann::json truth_check(const Params& p, const Comparison& real, const Comparison& inj,
                           const std::vector<OperatingPoint>& ops, Rows& rows) {
    const SelectionGrid grid;
    const auto lenses = true_lenses(real, grid);
    if (lenses.empty())
        return {{"done", false}, {"reason", p.truth_file.empty() ? "no truth table (evaluate.truth_lenses)"
                                                                 : "no true lens of " + p.truth_file + " in the split"}};
    nlohmann::json verdicts = nlohmann::json::array();
    for (const auto& op : ops) {
        if (!op.resolvable) continue;
        std::map<std::int64_t, std::array<std::int64_t, 2>> cells;  // cell -> (detected, injected)
        for (std::size_t i = 0; i < inj.score.size(); ++i)
            if (inj.label[i] == 1 && inj.cell[i] >= 0) {
                auto& c = cells[inj.cell[i]];
                c[0] += inj.score[i] >= op.threshold ? 1 : 0, ++c[1];
            }
        std::vector<const TrueLens*> all;
        for (const auto& l : lenses) all.push_back(&l);
        for (int b = 0; b < grid.theta_e.count; ++b) {
            std::vector<const TrueLens*> in;
            for (const auto& l : lenses)
                if (l.theta_bin == b) in.push_back(&l);
            if (in.empty()) continue;
            const double lo = lower_edge(grid.theta_e, b), hi = lo + grid.theta_e.step;
            truth_row(p, op, fmt::format("[{:g}, {:g})", lo, hi), lo, hi, in, cells, rows, verdicts);
        }
        truth_row(p, op, "all", lower_edge(grid.theta_e, 0), lower_edge(grid.theta_e, grid.theta_e.count), all, cells,
                  rows, verdicts);
    }
    std::int64_t on_grid = 0;
    for (const auto& l : lenses) on_grid += l.cell >= 0 ? 1 : 0;
    return {{"done", true}, {"truth_file", p.truth_file}, {"true_lenses_in_split", lenses.size()},
            {"on_grid", on_grid}, {"interval", "observed: Clopper-Pearson; predicted: Jeffreys posterior mean, Monte Carlo interval"},
            {"verdict_rule", "consistent when the two intervals overlap"}, {"by_operating_point", verdicts}};
}

}  // namespace dhs::stages::evaluate
