// The evaluation tables (see evaluate.hpp): per comparison the ROC and PR curves, AUC with a
// bootstrap interval, TPR at the target FPRs, Bologna TPR0 / TPR10, reliability diagrams, ECE
// and Brier; at the operating thresholds (chosen on the real negatives, else the controls) the
// Tier-A / Tier-B recall with Clopper-Pearson and bootstrap intervals, the selection function
// C(theta_E, PSF, depth) per cell, its 1-D marginals and C(arc_snr).
#include <fmt/format.h>

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "kernels/evaluation_metrics.hpp"
#include "kernels/injection_design.hpp"
#include "kernels/roc_auc.hpp"
#include "mpi_stages/evaluate/evaluate.hpp"
#include "mpi_stages/evaluate/rows.hpp"

namespace dhs::stages::evaluate {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct OperatingPoint {
    double target_fpr = 0, threshold = kNaN, fpr = kNaN;
    std::string chosen_on;
    bool resolvable = false;
};

std::vector<double> where(const Comparison& c, std::uint8_t label) {
    std::vector<double> out;
    for (std::size_t i = 0; i < c.score.size(); ++i)
        if (c.label[i] == label) out.push_back(c.score[i]);
    return out;
}

void curves(const Comparison& c, std::vector<engine::TableGroup>& groups) {
    const auto roc = kernels::roc_curve(c.score, c.label);
    Rows r;
    for (std::size_t i = 0; i < roc.fpr.size(); ++i)
        r.add("fpr", roc.fpr[i]), r.add("tpr", roc.tpr[i]), r.add("threshold", roc.thresholds[i]);
    groups.push_back(r.group("roc_" + c.name, "ROC curve (sklearn.metrics.roc_curve of p_lens)"));
    const auto pr = kernels::precision_recall_curve(c.score, c.label);
    Rows q;
    for (std::size_t i = 0; i < pr.precision.size(); ++i)
        q.add("precision", pr.precision[i]), q.add("recall", pr.recall[i]),
            q.add("threshold", i < pr.thresholds.size() ? pr.thresholds[i] : kNaN);
    groups.push_back(q.group("pr_" + c.name, "precision-recall curve (sklearn.metrics.precision_recall_curve; last threshold NaN)"));
}

nlohmann::json scalar_metrics(const Params& p, const Comparison& c, Rows& tpr_rows, Rows& cal_rows) {
    const auto pos = where(c, 1), neg = where(c, 0);
    const auto auc = kernels::bootstrap_roc_auc(pos, neg, p.bootstrap_resamples, p.ci_level, p.seed);
    for (double t : p.fpr_targets) {
        const auto o = kernels::tpr_at_fpr(c.score, c.label, t);
        tpr_rows.add("comparison", c.name), tpr_rows.add("target_fpr", t);
        tpr_rows.add("resolvable", static_cast<std::int64_t>(o.resolvable)), tpr_rows.add("tpr", o.tpr);
        tpr_rows.add("threshold", o.threshold), tpr_rows.add("fpr", o.fpr);
        tpr_rows.add("true_positives", o.true_positives), tpr_rows.add("false_positives", o.false_positives);
        tpr_rows.add("n_positive", o.n_positive), tpr_rows.add("n_negative", o.n_negative);
    }
    for (auto strategy : {kernels::CalibrationStrategy::uniform, kernels::CalibrationStrategy::quantile}) {
        const auto cal = kernels::calibration_curve(c.score, c.label, p.calibration_bins, strategy);
        for (std::size_t b = 0; b < cal.prob_true.size(); ++b) {
            cal_rows.add("comparison", c.name);
            cal_rows.add("strategy", strategy == kernels::CalibrationStrategy::uniform ? "uniform" : "quantile");
            cal_rows.add("prob_true", cal.prob_true[b]), cal_rows.add("prob_pred", cal.prob_pred[b]);
            cal_rows.add("count", cal.counts[b]);
        }
    }
    const auto num = [](double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); };
    return {{"n_positive", pos.size()}, {"n_negative", neg.size()}, {"auc", num(auc.auc)},
            {"auc_interval", {num(auc.lower), num(auc.upper)}}, {"tpr0", num(kernels::tpr0(c.score, c.label))},
            {"tpr10", num(kernels::tpr10(c.score, c.label))},
            {"ece_uniform_positive_class", num(kernels::expected_calibration_error(c.score, c.label, p.calibration_bins))},
            {"brier", num(kernels::brier_score(c.score, c.label))}};
}

// Thresholds at the target FPRs, chosen on the real negatives when evaluated, else the controls.
std::vector<OperatingPoint> operating_points(const Params& p, const std::vector<Comparison>& cs) {
    const Comparison* on = nullptr;
    for (const auto& c : cs)
        if (on == nullptr || c.name == "real") on = &c;
    std::vector<OperatingPoint> out;
    if (on == nullptr) return out;
    for (double t : p.fpr_targets) {
        const auto o = kernels::tpr_at_fpr(on->score, on->label, t);
        out.push_back({t, o.threshold, o.fpr, on->name, o.resolvable});
    }
    return out;
}

// k of n detected at each resolvable operating point, with both intervals, into `rows`.
void detection_rows(const Params& p, const std::vector<double>& scores, const std::vector<OperatingPoint>& ops,
                    const std::function<void(Rows&)>& keys, Rows& rows) {
    for (const auto& op : ops) {
        if (!op.resolvable) continue;
        std::vector<std::uint8_t> hit;
        for (double s : scores) hit.push_back(s >= op.threshold ? 1 : 0);
        const auto cp = kernels::clopper_pearson(
            static_cast<std::int64_t>(std::count(hit.begin(), hit.end(), 1)), static_cast<std::int64_t>(hit.size()), p.ci_level);
        const auto bs = kernels::bootstrap_recall(hit, p.bootstrap_resamples, p.ci_level, p.seed);
        keys(rows);
        rows.add("target_fpr", op.target_fpr), rows.add("threshold", op.threshold);
        rows.add("n", static_cast<std::int64_t>(hit.size())), rows.add("k", bs.k), rows.add("fraction", cp.estimate);
        rows.add("cp_lower", cp.lower), rows.add("cp_upper", cp.upper);
        rows.add("bootstrap_lower", bs.lower), rows.add("bootstrap_upper", bs.upper);
    }
}

void tier_recall(const Params& p, const Comparison& real, const std::vector<OperatingPoint>& ops, Rows& rows) {
    for (const std::string tier : {"A", "B", "all"}) {
        std::vector<double> s;
        for (std::size_t i = 0; i < real.score.size(); ++i)
            if (real.label[i] == 1 && (tier == "all" || real.tier[i] == tier)) s.push_back(real.score[i]);
        if (s.empty()) continue;
        detection_rows(p, s, ops, [&](Rows& r) { r.add("tier", tier); }, rows);
    }
}

// C(theta_E, PSF, depth) per cell of the SPEC grid with the cell's edges.
void selection_function(const Params& p, const Comparison& inj, const std::vector<OperatingPoint>& ops, Rows& cells,
                        Rows& marginals, Rows& by_snr) {
    const kernels::injection::SelectionGrid grid;
    const auto lo = [](const kernels::injection::AxisBins& a, int i) { return a.centre(i) - 0.5 * a.step; };
    std::map<int, std::vector<std::size_t>> by_cell;
    for (std::size_t i = 0; i < inj.score.size(); ++i)
        if (inj.label[i] == 1 && inj.cell[i] >= 0) by_cell[inj.cell[i]].push_back(i);
    for (const auto& [cell, idx] : by_cell) {
        std::vector<double> s;
        for (auto i : idx) s.push_back(inj.score[i]);
        const int it = inj.cell_theta_e[idx[0]], ip = inj.cell_psf[idx[0]], id = inj.cell_depth[idx[0]];
        detection_rows(p, s, ops, [&](Rows& r) {
            r.add("cell_id", static_cast<std::int64_t>(cell));
            r.add("theta_e_lo", lo(grid.theta_e, it)), r.add("theta_e_hi", lo(grid.theta_e, it) + grid.theta_e.step);
            r.add("psf_lo", lo(grid.psf, ip)), r.add("psf_hi", lo(grid.psf, ip) + grid.psf.step);
            r.add("depth_lo", lo(grid.depth, id)), r.add("depth_hi", lo(grid.depth, id) + grid.depth.step);
        }, cells);
    }
    // 1-D marginals over the injections inside the grid.
    const std::vector<std::pair<std::string, std::pair<const std::vector<int>*, const kernels::injection::AxisBins*>>> axes{
        {"theta_e", {&inj.cell_theta_e, &grid.theta_e}}, {"psf", {&inj.cell_psf, &grid.psf}}, {"depth", {&inj.cell_depth, &grid.depth}}};
    for (const auto& [axis, what] : axes) {
        for (int b = 0; b < what.second->count; ++b) {
            std::vector<double> s;
            for (std::size_t i = 0; i < inj.score.size(); ++i)
                if (inj.label[i] == 1 && inj.cell[i] >= 0 && (*what.first)[i] == b) s.push_back(inj.score[i]);
            if (s.empty()) continue;
            detection_rows(p, s, ops, [&](Rows& r) {
                r.add("axis", axis), r.add("lo", lo(*what.second, b)), r.add("hi", lo(*what.second, b) + what.second->step);
            }, marginals);
        }
    }
    // C(arc_snr) over every injection of the split, in the seed's target bins and beyond.
    const std::vector<double> edges{0, 0.8, 2, 5, 8, 20, 50, std::numeric_limits<double>::infinity()};
    for (std::size_t b = 0; b + 1 < edges.size(); ++b) {
        std::vector<double> s;
        for (std::size_t i = 0; i < inj.score.size(); ++i)
            if (inj.label[i] == 1 && i < inj.arc_snr.size() && inj.arc_snr[i] >= edges[b] && inj.arc_snr[i] < edges[b + 1])
                s.push_back(inj.score[i]);
        if (s.empty()) continue;
        detection_rows(p, s, ops, [&](Rows& r) { r.add("arc_snr_lo", edges[b]), r.add("arc_snr_hi", edges[b + 1]); }, by_snr);
    }
}

// AUC (bootstrap interval) and recall at each operating threshold per stratum; strata with
// fewer than 10 objects of a class are flagged `few`.
void strata_tables(const Params& p, const Comparison& c, const std::vector<OperatingPoint>& ops, Rows& auc_rows,
                   Rows& recall_rows) {
    for (const auto& [kind, labels] : c.strata) {
        std::map<std::string, std::vector<std::size_t>> groups;
        for (std::size_t i = 0; i < labels.size(); ++i) groups[labels[i]].push_back(i);
        for (const auto& [value, idx] : groups) {
            std::vector<double> pos, neg;
            for (auto i : idx) (c.label[i] ? pos : neg).push_back(c.score[i]);
            const auto auc = pos.empty() || neg.empty()
                                 ? kernels::AucInterval{kNaN, kNaN, kNaN, pos.size(), neg.size(), 0}
                                 : kernels::bootstrap_roc_auc(pos, neg, p.bootstrap_resamples, p.ci_level, p.seed);
            auc_rows.add("comparison", c.name), auc_rows.add("stratum", kind), auc_rows.add("value", value);
            auc_rows.add("n_positive", static_cast<std::int64_t>(pos.size()));
            auc_rows.add("n_negative", static_cast<std::int64_t>(neg.size()));
            auc_rows.add("auc", auc.auc), auc_rows.add("auc_lower", auc.lower), auc_rows.add("auc_upper", auc.upper);
            auc_rows.add("few", static_cast<std::int64_t>(pos.size() < 10 || neg.size() < 10));
            if (pos.empty()) continue;
            detection_rows(p, pos, ops, [&](Rows& r) {
                r.add("comparison", c.name), r.add("stratum", kind), r.add("value", value);
            }, recall_rows);
        }
    }
}

// The false-positive rate of the real negatives per N2 contaminant category (and over all).
void contaminant_fpr(const Params& p, const Comparison& real, const std::vector<OperatingPoint>& ops, Rows& rows) {
    std::map<std::string, std::vector<double>> by;
    for (std::size_t i = 0; i < real.score.size(); ++i) {
        if (real.label[i] != 0) continue;
        by["all"].push_back(real.score[i]);
        if (i < real.confuser.size() && !real.confuser[i].empty()) by[real.confuser[i]].push_back(real.score[i]);
    }
    for (const auto& [category, scores] : by)
        detection_rows(p, scores, ops, [&](Rows& r) { r.add("category", category); }, rows);
}

// Calibration after temperature scaling fitted on the val split's comparison of the same name.
nlohmann::json temperature_scaling(const Params& p, const Comparison& c, const std::vector<Comparison>& fit_on,
                                   Rows& cal_rows) {
    const auto it = std::find_if(fit_on.begin(), fit_on.end(), [&](const Comparison& f) { return f.name == c.name; });
    if (it == fit_on.end()) return {{"fitted", false}, {"reason", "the val split lacks this comparison"}};
    const TemperatureFit fit = fit_temperature(it->logit, it->label);
    const auto scaled = scaled_probabilities(c.logit, fit.temperature);
    const auto cal = kernels::calibration_curve(scaled, c.label, p.calibration_bins, kernels::CalibrationStrategy::uniform);
    for (std::size_t b = 0; b < cal.prob_true.size(); ++b) {
        cal_rows.add("comparison", c.name), cal_rows.add("strategy", "uniform_temperature_scaled");
        cal_rows.add("prob_true", cal.prob_true[b]), cal_rows.add("prob_pred", cal.prob_pred[b]);
        cal_rows.add("count", cal.counts[b]);
    }
    return {{"fitted", true}, {"fitted_on", "val"}, {"temperature", fit.temperature},
            {"val_nll_before", fit.nll_before}, {"val_nll_after", fit.nll_after},
            {"ece_after", kernels::expected_calibration_error(scaled, c.label, p.calibration_bins)},
            {"brier_after", kernels::brier_score(scaled, c.label)}};
}

}  // namespace

Evaluation evaluate(const Params& p, const std::vector<Comparison>& cs, const std::vector<std::string>& skipped,
                    const std::vector<Comparison>& fit_on) {
    Evaluation e;
    Rows tpr_rows, cal_rows, recall_rows, cell_rows, marginal_rows, snr_rows, auc_strata, recall_strata, fpr_rows,
        failure_rows, histogram_rows;
    nlohmann::json summary{{"split", p.split}, {"ci_level", p.ci_level}, {"skipped", skipped},
                           {"comparisons", nlohmann::json::object()}};
    for (const auto& c : cs) {
        curves(c, e.groups);
        summary["comparisons"][c.name] = scalar_metrics(p, c, tpr_rows, cal_rows);
        if (p.temperature_scaling)
            summary["comparisons"][c.name]["temperature_scaling"] = temperature_scaling(p, c, fit_on, cal_rows);
        failure_modes(p, c, failure_rows);
        score_histograms(c, histogram_rows);
    }
    const auto ops = operating_points(p, cs);
    for (const auto& op : ops)
        summary["operating_points"].push_back({{"target_fpr", op.target_fpr}, {"resolvable", op.resolvable},
                                               {"threshold", op.resolvable ? nlohmann::json(op.threshold) : nlohmann::json(nullptr)},
                                               {"chosen_on", op.chosen_on}});
    for (const auto& c : cs) {
        strata_tables(p, c, ops, auc_strata, recall_strata);
        if (c.name == "real") tier_recall(p, c, ops, recall_rows), contaminant_fpr(p, c, ops, fpr_rows);
        if (c.name == "injection") selection_function(p, c, ops, cell_rows, marginal_rows, snr_rows);
    }
    const auto keep = [&](const Rows& r, const std::string& name, const std::string& what) {
        if (!r.order.empty()) e.groups.push_back(r.group(name, what));
    };
    keep(tpr_rows, "tpr_at_fpr", "TPR at each target FPR, threshold (stamp positive when p_lens >= it), N_pos, N_neg; "
                                 "not resolvable (NaN) when target < 1/N_neg");
    keep(cal_rows, "calibration", "reliability diagram: fraction of positives vs mean p_lens per non-empty bin");
    keep(recall_rows, "recall", "Tier-A / Tier-B / all real positives detected at each operating threshold");
    keep(auc_strata, "auc_by_stratum", "AUC with bootstrap interval per stratum (few: < 10 of a class)");
    keep(recall_strata, "recall_by_stratum", "positives detected per stratum at each operating threshold");
    keep(fpr_rows, "contaminant_fpr", "false-positive rate of the real negatives per N2 contaminant category "
                                      "(fraction = k / n, Clopper-Pearson interval)");
    keep(failure_rows, "failure_modes", "the most confident false positives (highest p_lens of the negatives) and "
                                        "false negatives (lowest of the positives): rows into the stamp files");
    keep(histogram_rows, "score_histograms", "p_lens histograms (20 bins) per stratum value and label");
    keep(marginal_rows, "completeness_marginals", "1-D completeness over the grid's theta_E, PSF and depth bins");
    keep(snr_rows, "completeness_arc_snr", "completeness of the injections by arc_snr");
    e.selection_function = cell_rows.group("selection_function",
                                           "completeness C(theta_E, PSF, depth) per cell at each operating threshold");
    if (!cell_rows.order.empty()) e.groups.push_back(e.selection_function);
    std::int64_t injected = 0, detected = 0;
    if (!ops.empty() && cell_rows.integer.count("n")) {
        for (std::size_t i = 0; i < cell_rows.integer.at("n").size(); ++i)
            if (cell_rows.real.at("target_fpr")[i] == ops.back().target_fpr)
                injected += cell_rows.integer.at("n")[i], detected += cell_rows.integer.at("k")[i];
    }
    summary["selection_function"] = {{"cells", cell_rows.integer.count("cell_id") ? cell_rows.integer.at("cell_id").size() : 0},
                                     {"injected_in_cells_at_loosest_threshold", injected},
                                     {"detected_at_loosest_threshold", detected}};
    e.summary_json = summary.dump(1);
    return e;
}

}  // namespace dhs::stages::evaluate
