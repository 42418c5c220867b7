// The validation stage's reports: the summary JSON (the seed 001 section 5 schema plus both
// comparisons in full; the JSON Schema is mpi_stages/validate/validation_summary.schema.json),
// the /shortcut_auc, /gates and /comparisons tables added to validation.h5, and the gate table
// rank 0 logs.
#include <fmt/format.h>

#include <cmath>

#include "core/hdf5/result_file.hpp"
#include "dhs/config.hpp"
#include "mpi_stages/validate/analysis.hpp"

namespace dhs::stages::validate {

namespace {

using ojson = nlohmann::ordered_json;

ojson num(double v) { return std::isfinite(v) ? ojson(v) : ojson(nullptr); }

ojson gate_json(const Gate& g) {
    ojson j;
    j["value"] = num(g.value);
    j["threshold"] = g.threshold;
    j["operator"] = g.op;
    j["passed"] = g.evaluated ? ojson(g.passed) : ojson(nullptr);
    if (std::isfinite(g.ci_lower) || std::isfinite(g.ci_upper)) {
        j["ci_lower"] = num(g.ci_lower);
        j["ci_upper"] = num(g.ci_upper);
    }
    if (g.n_train > 0 || g.n_test > 0) {
        j["n_train"] = g.n_train;
        j["n_test"] = g.n_test;
    }
    j["note"] = g.note;
    return j;
}

ojson features_json(const std::vector<FeatureAuc>& features) {
    ojson j = ojson::object();
    for (const auto& f : features)
        j[f.feature] = {{"auc", num(f.auc.auc)},
                        {"ci_lower", num(f.auc.lower)},
                        {"ci_upper", num(f.auc.upper)},
                        {"flag", f.flag},
                        {"level", f.level},
                        {"expected_physics", f.expected_physics},
                        {"n_positive", f.auc.n_positive},
                        {"n_negative", f.auc.n_negative}};
    return j;
}

ojson gates_json(const std::vector<Gate>& gates) {
    ojson j = ojson::object();
    for (const auto& g : gates) j[g.name] = gate_json(g);
    return j;
}

double rate(std::int64_t a, std::int64_t b) { return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : NAN; }

std::string fmt_num(double v) { return std::isfinite(v) ? fmt::format("{:.4f}", v) : "n/a"; }

}  // namespace

const ComparisonResult* primary_comparison(const std::vector<ComparisonResult>& results) {
    for (const auto& r : results)
        if (r.available && r.n_positive > 0 && r.n_negative > 0) return &r;
    for (const auto& r : results)
        if (r.available) return &r;
    return nullptr;
}

nlohmann::ordered_json summary_json(const Params& p, const engine::StageContext& ctx,
                                    const std::vector<ComparisonResult>& results, const Totals& totals,
                                    const std::string& timestamp) {
    const ComparisonResult* primary = primary_comparison(results);
    bool passed = true;
    for (const auto& r : results)
        if (r.available) passed = passed && r.passed;
    ojson j;
    j["pipeline_version"] = DHS_VERSION_STRING;
    j["git_commit"] = DHS_GIT_COMMIT;
    j["timestamp"] = timestamp;
    j["config_sha256"] = ctx.config.sha256();
    j["seed"] = static_cast<std::int64_t>(p.seed);
    j["primary_comparison"] = primary ? primary->def.name : "";
    j["total_cutouts"] = totals.cutouts;
    j["positives"] = totals.positives;
    j["negatives"] = totals.negatives;
    j["hosts"] = totals.hosts;
    j["total_injections"] = totals.injections_total;
    j["injections"] = totals.injections;
    j["controls"] = totals.controls;
    j["total_stamps"] = totals.stamps;
    j["quality_pass_rate"] = num(rate(totals.quality_ok, totals.stamps));
    j["failed_stamps"] = totals.stamps - totals.quality_ok;
    ojson reasons = ojson::object();
    for (const auto& [k, v] : totals.reasons) reasons[k] = v;
    j["failure_reasons"] = reasons;
    j["passed"] = passed;
    j["gates"] = primary ? gates_json(primary->gates) : ojson::object();
    j["shortcut_features"] = primary ? features_json(primary->features) : ojson::object();
    ojson comps = ojson::object();
    for (const auto& r : results) {
        ojson c;
        c["available"] = r.available;
        c["reason"] = r.reason;
        c["input"] = r.def.path;
        c["positive_class"] = r.def.positive_class;
        c["negative_class"] = r.def.negative_class;
        if (r.available) {
            c["n_positive"] = r.n_positive;
            c["n_negative"] = r.n_negative;
            c["n_positive_quality_ok"] = r.n_positive_ok;
            c["n_negative_quality_ok"] = r.n_negative_ok;
            c["quality_pass_rate"] = num(rate(r.n_stamps_ok, r.n_stamps));
            c["classifier_split"] = r.classifier_split;
            c["passed"] = r.passed;
            c["gates"] = gates_json(r.gates);
            c["shortcut_features"] = features_json(r.features);
        }
        comps[r.def.name] = c;
    }
    j["comparisons"] = comps;
    return j;
}

void write_result_tables(const std::string& path, const std::vector<ComparisonResult>& results, bool passed,
                         const std::string& primary) {
    std::vector<std::string> a_cmp, a_feat, a_level, a_flag;
    std::vector<double> a_auc, a_lo, a_hi, a_sep;
    std::vector<std::int64_t> a_np, a_nn;
    std::vector<std::uint8_t> a_exp;
    std::vector<std::string> g_cmp, g_name, g_op, g_note;
    std::vector<double> g_val, g_thr, g_lo, g_hi;
    std::vector<std::uint8_t> g_eval, g_pass;
    std::vector<std::string> c_name, c_reason, c_input, c_pos, c_neg, c_split;
    std::vector<std::uint8_t> c_avail, c_pass;
    std::vector<std::int64_t> c_np, c_nn, c_npok, c_nnok;
    std::vector<double> c_rate;
    for (const auto& r : results) {
        c_name.push_back(r.def.name);
        c_avail.push_back(r.available);
        c_reason.push_back(r.reason);
        c_input.push_back(r.def.path);
        c_pos.push_back(r.def.positive_class);
        c_neg.push_back(r.def.negative_class);
        c_np.push_back(r.n_positive);
        c_nn.push_back(r.n_negative);
        c_npok.push_back(r.n_positive_ok);
        c_nnok.push_back(r.n_negative_ok);
        c_rate.push_back(rate(r.n_stamps_ok, r.n_stamps));
        c_split.push_back(r.classifier_split);
        c_pass.push_back(r.passed);
        for (const auto& f : r.features) {
            a_cmp.push_back(r.def.name);
            a_feat.push_back(f.feature);
            a_auc.push_back(f.auc.auc);
            a_lo.push_back(f.auc.lower);
            a_hi.push_back(f.auc.upper);
            a_sep.push_back(std::isfinite(f.auc.lower) ? std::max(f.auc.lower, 1.0 - f.auc.upper) : NAN);
            a_np.push_back(static_cast<std::int64_t>(f.auc.n_positive));
            a_nn.push_back(static_cast<std::int64_t>(f.auc.n_negative));
            a_level.push_back(f.level);
            a_flag.push_back(f.flag);
            a_exp.push_back(f.expected_physics);
        }
        for (const auto& g : r.gates) {
            g_cmp.push_back(r.def.name);
            g_name.push_back(g.name);
            g_val.push_back(g.value);
            g_op.push_back(g.op);
            g_thr.push_back(g.threshold);
            g_eval.push_back(g.evaluated);
            g_pass.push_back(g.evaluated && g.passed);
            g_lo.push_back(g.ci_lower);
            g_hi.push_back(g.ci_upper);
            g_note.push_back(g.note);
        }
    }
    auto col = [](Column c, const char* desc) {
        c.set_description(desc);
        return c;
    };
    Table auc;
    auc.add(col(Column("comparison", a_cmp), "real (positives vs negatives) or injection (injections vs controls)"));
    auc.add(col(Column("feature", a_feat), "per-stamp feature (a /metrics column)"));
    auc.add(col(Column("auc", a_auc), "ROC AUC positives vs negatives (Mann-Whitney, ties count half); NaN: no data"));
    auc.add(col(Column("ci_lower", a_lo), "lower bootstrap percentile of the AUC"));
    auc.add(col(Column("ci_upper", a_hi), "upper bootstrap percentile of the AUC"));
    auc.add(col(Column("separation_ci_lower", a_sep), "max(ci_lower, 1 - ci_upper): what the flag is decided on"));
    auc.add(col(Column("n_positive", a_np), "quality-passed positives with a finite value"));
    auc.add(col(Column("n_negative", a_nn), "quality-passed negatives with a finite value"));
    auc.add(col(Column("level", a_level), "green, yellow, red or not_evaluated"));
    auc.add(col(Column("flag", a_flag), "the level, or expected_physics for features that should separate"));
    auc.add(col(Column("expected_physics", a_exp, {}, DType::boolean), "feature should separate lenses (not a shortcut)"));
    Table gates;
    gates.add(col(Column("comparison", g_cmp), "real or injection"));
    gates.add(col(Column("gate", g_name), "core_brightness_ratio, nan_rejection_rate, core_lr_auc, radial_profile_auc"));
    gates.add(col(Column("value", g_val), "the measured value (NaN when not evaluated)"));
    gates.add(col(Column("operator", g_op), "value must be <operator> threshold to pass"));
    gates.add(col(Column("threshold", g_thr), "the gate's threshold (validate.gate_*)"));
    gates.add(col(Column("evaluated", g_eval, {}, DType::boolean), "the value could be measured"));
    gates.add(col(Column("passed", g_pass, {}, DType::boolean), "evaluated and within the threshold"));
    gates.add(col(Column("ci_lower", g_lo), "classifier gates: lower bootstrap percentile of the test AUC"));
    gates.add(col(Column("ci_upper", g_hi), "classifier gates: upper bootstrap percentile of the test AUC"));
    gates.add(col(Column("note", g_note), "how it was measured, or why it was not"));
    Table comps;
    comps.add(col(Column("comparison", c_name), "real or injection"));
    comps.add(col(Column("available", c_avail, {}, DType::boolean), "requested and its input exists"));
    comps.add(col(Column("reason", c_reason), "why it is not available"));
    comps.add(col(Column("input", c_input), "the input file"));
    comps.add(col(Column("positive_class", c_pos), "the class scored as positive"));
    comps.add(col(Column("negative_class", c_neg), "the class scored as negative"));
    comps.add(col(Column("n_positive", c_np), "stamps of the positive class"));
    comps.add(col(Column("n_negative", c_nn), "stamps of the negative class"));
    comps.add(col(Column("n_positive_quality_ok", c_npok), "positive stamps that passed quality"));
    comps.add(col(Column("n_negative_quality_ok", c_nnok), "negative stamps that passed quality"));
    comps.add(col(Column("quality_pass_rate", c_rate), "quality-passed fraction of the input's stamps"));
    comps.add(col(Column("classifier_split", c_split), "split_column (the input's train/test), hashed or none"));
    comps.add(col(Column("passed", c_pass, {}, DType::boolean), "every gate evaluated and passed"));

    hdf5::ResultAppender app(path);
    for (const char* g : {"/shortcut_auc", "/gates", "/comparisons"}) app.remove(g);
    app.write_table("/shortcut_auc", auc);
    app.write_table("/gates", gates);
    app.write_table("/comparisons", comps);
    app.set_attribute("/shortcut_auc", "description", std::string("per comparison and feature: AUC, bootstrap CI, flag"));
    app.set_attribute("/gates", "description", std::string("the validation gates of SPEC Stage 4 per comparison"));
    app.set_attribute("/comparisons", "description", std::string("the audited comparisons and their counts"));
    app.set_attribute("/gates", "all_passed", std::int64_t{passed ? 1 : 0});
    app.set_attribute("/gates", "primary_comparison", primary);
    app.close();
}

std::vector<std::string> gate_table_lines(const std::vector<ComparisonResult>& results) {
    std::vector<std::string> out;
    for (const auto& r : results) {
        if (!r.available) {
            out.push_back(fmt::format("validate: {} comparison skipped: {}", r.def.name, r.reason));
            continue;
        }
        out.push_back(fmt::format("validate: {} comparison, {} vs {}: {} vs {} stamps ({} vs {} passed quality)", r.def.name,
                                  r.def.positive_class, r.def.negative_class, r.n_positive, r.n_negative, r.n_positive_ok,
                                  r.n_negative_ok));
        out.push_back(fmt::format("  {:<24} {:>10} {:>4} {:>9}  {:<6} {}", "gate", "value", "", "threshold", "result", "note"));
        for (const auto& g : r.gates)
            out.push_back(fmt::format("  {:<24} {:>10} {:>4} {:>9.4f}  {:<6} {}", g.name, fmt_num(g.value), g.op,
                                      g.threshold, !g.evaluated ? "n/a" : g.passed ? "PASS" : "FAIL", g.note));
        // Shortcuts (red/yellow, not expected physics) one per line; expected physics summarised.
        std::vector<std::string> physics;
        int shortcuts = 0;
        for (const auto& f : r.features) {
            if (f.level != "red" && f.level != "yellow") continue;
            if (f.expected_physics) {
                physics.push_back(fmt::format("{} {}", f.feature, f.level));
                continue;
            }
            if (shortcuts++ == 0) out.push_back("  shortcut features flagged (AUC, bootstrap CI):");
            out.push_back(fmt::format("    {:<24} {:<6} {} [{}, {}]", f.feature, f.level, fmt_num(f.auc.auc),
                                      fmt_num(f.auc.lower), fmt_num(f.auc.upper)));
        }
        if (shortcuts == 0) out.push_back("  shortcut features: none flagged (every non-physics feature green)");
        if (!physics.empty())
            out.push_back(fmt::format("  expected physics that separates: {}", fmt::join(physics, ", ")));
        out.push_back(fmt::format("  {} comparison: {}", r.def.name, r.passed ? "PASSED" : "FAILED"));
    }
    return out;
}

}  // namespace dhs::stages::validate
