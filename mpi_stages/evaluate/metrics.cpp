// The evaluation tables (see evaluate.hpp): per comparison the ROC and PR curves, AUC with a
// bootstrap interval, TPR at the target FPRs, Bologna TPR0 / TPR10, reliability diagrams, ECE
// and Brier; at the operating thresholds (chosen on the real negatives, else the controls) the
// Tier-A / Tier-B recall with Clopper-Pearson and bootstrap intervals; AUC, recall and the
// ROC / PR curves per stratum; the contaminant FPR (the selection function and the truth check
// are in selection.cpp).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "kernels/stats/evaluation_metrics.hpp"
#include "kernels/stats/roc_auc.hpp"
#include "mpi_stages/evaluate/evaluate.hpp"
#include "mpi_stages/evaluate/rows.hpp"

namespace dhs::stages::evaluate {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

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

void tier_recall(const Params& p, const Comparison& real, const std::vector<OperatingPoint>& ops, Rows& rows) {
    for (const std::string tier : {"A", "B", "all"}) {
        std::vector<double> s;
        for (std::size_t i = 0; i < real.score.size(); ++i)
            if (real.label[i] == 1 && (tier == "all" || real.tier[i] == tier)) s.push_back(real.score[i]);
        if (s.empty()) continue;
        detection_rows(p, s, ops, [&](Rows& r) { r.add("tier", tier); }, rows);
    }
}

// AUC (bootstrap interval) and recall at each operating threshold per stratum; strata with
// fewer than 10 objects of a class are flagged `few`.
// The ROC and precision-recall curves of one stratum value (both classes present).
void stratum_curves(const Comparison& c, const std::string& kind, const std::string& value,
                    const std::vector<std::size_t>& idx, Rows& roc_rows, Rows& pr_rows) {
    std::vector<double> s;
    std::vector<std::uint8_t> y;
    for (auto i : idx) s.push_back(c.score[i]), y.push_back(c.label[i]);
    const auto keys = [&](Rows& r) { r.add("comparison", c.name), r.add("stratum", kind), r.add("value", value); };
    const auto roc = kernels::roc_curve(s, y);
    for (std::size_t i = 0; i < roc.fpr.size(); ++i)
        keys(roc_rows), roc_rows.add("fpr", roc.fpr[i]), roc_rows.add("tpr", roc.tpr[i]),
            roc_rows.add("threshold", roc.thresholds[i]);
    const auto pr = kernels::precision_recall_curve(s, y);
    for (std::size_t i = 0; i < pr.precision.size(); ++i)
        keys(pr_rows), pr_rows.add("precision", pr.precision[i]), pr_rows.add("recall", pr.recall[i]),
            pr_rows.add("threshold", i < pr.thresholds.size() ? pr.thresholds[i] : kNaN);
}

struct StrataRows {
    Rows auc, recall, roc, pr;
};

void strata_tables(const Params& p, const Comparison& c, const std::vector<OperatingPoint>& ops, StrataRows& out) {
    Rows& auc_rows = out.auc;
    Rows& recall_rows = out.recall;
    for (const auto& [kind, labels] : c.strata) {
        // A stratum of the positives alone (theta_E of injections; every negative unlabelled):
        // each value's positives are compared with all the negatives.
        std::vector<std::size_t> unlabelled_negatives;
        bool positives_only = true;
        for (std::size_t i = 0; i < labels.size(); ++i)
            if (c.label[i] == 0) {
                if (labels[i].empty()) unlabelled_negatives.push_back(i);
                else positives_only = false;
            }
        std::map<std::string, std::vector<std::size_t>> groups;
        for (std::size_t i = 0; i < labels.size(); ++i)
            if (!(positives_only && labels[i].empty())) groups[labels[i]].push_back(i);
        if (positives_only)
            for (auto& [value, idx] : groups) {
                idx.insert(idx.end(), unlabelled_negatives.begin(), unlabelled_negatives.end());
                std::sort(idx.begin(), idx.end());
            }
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
            if (!neg.empty()) stratum_curves(c, kind, value, idx, out.roc, out.pr);
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

Evaluation evaluate(const Params& p, const std::vector<Comparison>& cs, const std::vector<std::string>& skipped,
                    const std::vector<Comparison>& fit_on) {
    Evaluation e;
    Rows tpr_rows, cal_rows, recall_rows, cell_rows, marginal_rows, marginal_2d_rows, snr_rows, fpr_rows, failure_rows,
        histogram_rows, truth_rows;
    StrataRows strata;
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
        strata_tables(p, c, ops, strata);
        if (c.name == "real") tier_recall(p, c, ops, recall_rows), contaminant_fpr(p, c, ops, fpr_rows);
        if (c.name == "injection") selection_function(p, c, ops, cell_rows, marginal_rows, marginal_2d_rows, snr_rows);
    }
    const auto named = [&](const char* name) {
        const auto it = std::find_if(cs.begin(), cs.end(), [&](const Comparison& c) { return c.name == name; });
        return it == cs.end() ? nullptr : &*it;
    };
    if (const Comparison *real = named("real"), *inj = named("injection"); real && inj)
        summary["truth_check"] = truth_check(p, *real, *inj, ops, truth_rows);
    else
        summary["truth_check"] = {{"done", false}, {"reason", "needs both the real lenses and the injections"}};
    const auto keep = [&](const Rows& r, const std::string& name, const std::string& what) {
        if (!r.order.empty()) e.groups.push_back(r.group(name, what));
    };
    keep(tpr_rows, "tpr_at_fpr", "TPR at each target FPR, threshold (stamp positive when p_lens >= it), N_pos, N_neg; "
                                 "not resolvable (NaN) when target < 1/N_neg");
    keep(cal_rows, "calibration", "reliability diagram: fraction of positives vs mean p_lens per non-empty bin");
    keep(recall_rows, "recall", "Tier-A / Tier-B / all real positives detected at each operating threshold");
    keep(strata.auc, "auc_by_stratum", "AUC with bootstrap interval per stratum (few: < 10 of a class)");
    keep(strata.recall, "recall_by_stratum", "positives detected per stratum at each operating threshold");
    keep(strata.roc, "roc_by_stratum", "ROC curve (sklearn.metrics.roc_curve) per stratum value with both classes");
    keep(strata.pr, "pr_by_stratum", "precision-recall curve (sklearn.metrics.precision_recall_curve; last "
                                     "threshold NaN) per stratum value with both classes");
    keep(fpr_rows, "contaminant_fpr", "false-positive rate of the real negatives per N2 contaminant category "
                                      "(fraction = k / n, Clopper-Pearson interval)");
    keep(failure_rows, "failure_modes", "the most confident false positives (highest p_lens of the negatives) and "
                                        "false negatives (lowest of the positives): rows into the stamp files");
    keep(histogram_rows, "score_histograms", "p_lens histograms (20 bins) per stratum value and label");
    keep(marginal_rows, "completeness_marginals", "1-D completeness over the grid's theta_E, PSF and depth bins");
    keep(marginal_2d_rows, "completeness_marginals_2d", "2-D completeness over pairs of the grid's axes "
                                                         "(theta_e-psf, theta_e-depth, psf-depth)");
    keep(truth_rows, "truth_check", "the mock sky's true lenses: measured recall per theta_E bin beside the recall "
                                    "the injections' selection function predicts for their cells");
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
