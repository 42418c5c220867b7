// The validation stage's reduce: reads the gathered per-stamp rows back, shares the per-feature
// AUC tasks and the two shortcut classifiers of each comparison out over the ranks
// (round-robin; each task is a pure function of the rows, the config and the seed, so the
// result does not depend on the rank count), gathers them on rank 0, evaluates the gates and
// writes the tables, the summary JSON and the gate table.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>

#include "core/error.hpp"
#include "core/hdf5/result_file.hpp"
#include "core/mpi/comm.hpp"
#include "kernels/stats/logistic_regression.hpp"
#include "kernels/stats/roc_auc.hpp"
#include "mpi_stages/validate/analysis.hpp"

namespace fs = std::filesystem;

namespace dhs::stages::validate {

namespace {

// Runs `step` on rank 0; its failure is an Error on every rank.
void reduce_on_rank0(const mpi::Comm& comm, const std::function<void()>& step) {
    mpi::on_rank0(comm, step, "validate reduce");
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// What the reduce needs of /metrics (the classifier inputs are streamed separately).
struct Metrics {
    std::vector<std::string> source, cls, split, reasons;
    std::vector<std::int64_t> source_row;
    std::vector<std::uint8_t> quality_ok;
    std::vector<std::string> names;
    std::vector<std::vector<double>> features;  // per name
    std::size_t rows = 0;
};

Metrics read_metrics(const std::string& path, const Params& p) {
    hdf5::ResultReader r(path);
    Metrics m;
    m.rows = r.table_rows("/metrics");
    m.source = r.read_column("/metrics/source").strings();
    m.cls = r.read_column("/metrics/class").strings();
    m.split = r.read_column("/metrics/split").strings();
    m.reasons = r.read_column("/metrics/failure_reasons").strings();
    m.source_row = r.read_column("/metrics/source_row").as<std::int64_t>();
    m.quality_ok = r.read_column("/metrics/quality_ok").as<std::uint8_t>();
    m.names = feature_names(p.bands);
    for (const auto& n : m.names) m.features.push_back(r.read_column("/metrics/" + n).as<double>());
    return m;
}

std::uint64_t fnv1a(const std::string& s) {
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return h;
}

// A uniform [0, 1) number of (seed, salt, text, row): deterministic, rank-independent.
double hash01(std::uint64_t seed, const std::string& salt, const std::string& text, std::int64_t row) {
    using kernels::splitmix64;
    const std::uint64_t h =
        splitmix64(seed ^ splitmix64(fnv1a(salt) ^ splitmix64(fnv1a(text) + static_cast<std::uint64_t>(row))));
    return static_cast<double>(h >> 11) * 0x1.0p-53;
}

std::uint64_t task_seed(std::uint64_t seed, const std::string& comparison, const std::string& what) {
    return kernels::splitmix64(seed ^ fnv1a(comparison + "/" + what));
}

// The rows of a comparison: all, and those that passed quality, per class.
struct Rows {
    std::vector<std::size_t> pos, neg, pos_ok, neg_ok;
    std::int64_t stamps = 0, stamps_ok = 0;
};

Rows comparison_rows(const Metrics& m, const Comparison& c) {
    Rows r;
    for (std::size_t i = 0; i < m.rows; ++i) {
        if (m.source[i] != c.source) continue;
        ++r.stamps;
        r.stamps_ok += m.quality_ok[i];
        if (m.cls[i] == c.positive_class) {
            r.pos.push_back(i);
            if (m.quality_ok[i]) r.pos_ok.push_back(i);
        } else if (m.cls[i] == c.negative_class) {
            r.neg.push_back(i);
            if (m.quality_ok[i]) r.neg_ok.push_back(i);
        }
    }
    return r;
}

double median(std::vector<double> v) {
    if (v.empty()) return kNaN;
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::vector<double> finite_values(const std::vector<double>& col, const std::vector<std::size_t>& rows) {
    std::vector<double> out;
    out.reserve(rows.size());
    for (auto i : rows)
        if (std::isfinite(col[i])) out.push_back(col[i]);
    return out;
}

// ---- tasks ------------------------------------------------------------------------------------
struct Task {
    std::size_t comparison = 0;
    std::string kind;     // "feature", "core_lr", "radial_profile_lr"
    std::size_t feature = 0;
};

nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
double num(const nlohmann::json& j) { return j.is_null() ? kNaN : j.get<double>(); }

nlohmann::json run_feature_task(const Params& p, const Metrics& m, const Comparison& c, const Rows& rows,
                                std::size_t k) {
    const auto pos = finite_values(m.features[k], rows.pos_ok), neg = finite_values(m.features[k], rows.neg_ok);
    const auto a = kernels::bootstrap_roc_auc(pos, neg, p.bootstrap_resamples, p.ci_level,
                                              task_seed(p.seed, c.name, m.names[k]));
    return {{"auc", num(a.auc)}, {"lower", num(a.lower)}, {"upper", num(a.upper)},
            {"n_pos", a.n_positive}, {"n_neg", a.n_negative}};
}

// Streams the rows `want` (ascending) of an array column of /metrics, row-major doubles.
std::vector<double> read_rows(const std::string& path, const std::string& column, const std::vector<std::size_t>& want,
                              std::size_t& cols) {
    hdf5::ResultReader r(path);
    const std::string ds = "/metrics/" + column;
    const std::size_t total = r.rows(ds);
    std::vector<double> out;
    cols = 0;
    constexpr std::size_t kBlock = 4096;
    std::size_t w = 0;
    for (std::size_t first = 0; first < total && w < want.size(); first += kBlock) {
        if (want[w] >= first + kBlock) continue;
        const std::size_t count = std::min(kBlock, total - first);
        const Column block = r.read_column(ds, first, count);
        cols = block.cell_size();
        const auto v = block.values<float>();
        for (; w < want.size() && want[w] < first + count; ++w) {
            const std::size_t i = want[w] - first;
            out.insert(out.end(), v.begin() + static_cast<std::ptrdiff_t>(i * cols),
                       v.begin() + static_cast<std::ptrdiff_t>((i + 1) * cols));
        }
    }
    return out;
}

// A shortcut classifier: L2 logistic regression on `column` (core_pixels or radial_profile) of
// the quality-passed stamps, fitted on the train split and scored on the test split.
nlohmann::json run_classifier_task(const Params& p, const Metrics& m, const Comparison& c, const Rows& rows,
                                   const std::string& column, const std::string& path, const std::string& name) {
    std::vector<std::size_t> all = rows.pos_ok;
    all.insert(all.end(), rows.neg_ok.begin(), rows.neg_ok.end());
    std::sort(all.begin(), all.end());
    std::vector<std::uint8_t> is_pos(m.rows, 0);
    for (auto i : rows.pos_ok) is_pos[i] = 1;

    auto counts = [&](const std::vector<std::size_t>& v) {
        std::int64_t np = 0;
        for (auto i : v) np += is_pos[i];
        return std::pair<std::int64_t, std::int64_t>{np, static_cast<std::int64_t>(v.size()) - np};
    };
    auto enough = [&](const std::vector<std::size_t>& tr, const std::vector<std::size_t>& te) {
        const auto a = counts(tr), b = counts(te);
        return std::min({a.first, a.second, b.first, b.second}) >= p.lr_min_per_class;
    };
    std::vector<std::size_t> train, test;
    for (auto i : all) {
        if (m.split[i] == "train") train.push_back(i);
        else if (m.split[i] == "test") test.push_back(i);
    }
    std::string split = "split_column";
    if (!enough(train, test)) {
        train.clear();
        test.clear();
        for (auto i : all)
            (hash01(p.seed, "validate-split", m.source[i], m.source_row[i]) < p.lr_fallback_test_fraction ? test : train)
                .push_back(i);
        split = "hashed";
    }
    nlohmann::json out = {{"auc", nullptr}, {"lower", nullptr}, {"upper", nullptr}, {"split", split}};
    if (!enough(train, test)) {
        const auto a = counts(train), b = counts(test);
        out["split"] = "none";
        out["note"] = fmt::format("too few quality-passed stamps: train {}+{}, test {}+{} (positive+negative), need {} "
                                  "of each class in each",
                                  a.first, a.second, b.first, b.second, p.lr_min_per_class);
        return out;
    }
    // Deterministic subsamples beyond the row caps (the rows with the smallest hashes).
    auto cap = [&](std::vector<std::size_t>& v, std::int64_t max_rows, const char* salt) {
        if (static_cast<std::int64_t>(v.size()) <= max_rows) return;
        std::sort(v.begin(), v.end(), [&](std::size_t a, std::size_t b) {
            const double ha = hash01(p.seed, salt, m.source[a], m.source_row[a]);
            const double hb = hash01(p.seed, salt, m.source[b], m.source_row[b]);
            return ha < hb || (ha == hb && a < b);
        });
        v.resize(static_cast<std::size_t>(max_rows));
        std::sort(v.begin(), v.end());
    };
    cap(train, p.lr_max_train_rows, "validate-train-cap");
    cap(test, p.lr_max_test_rows, "validate-test-cap");

    std::size_t cols = 0;
    std::vector<double> xtr = read_rows(path, column, train, cols);
    std::vector<double> xte = read_rows(path, column, test, cols);
    const auto scaler = kernels::FeatureScaler::fit(xtr, train.size(), cols);
    scaler.apply(xtr);
    scaler.apply(xte);
    std::vector<std::uint8_t> ytr(train.size());
    for (std::size_t i = 0; i < train.size(); ++i) ytr[i] = is_pos[train[i]];
    kernels::LogisticRegressionOptions opt;
    opt.l2 = p.lr_l2;
    opt.max_iterations = p.lr_max_iterations;
    const auto fit = kernels::fit_logistic_regression(xtr, train.size(), cols, ytr, opt);
    const auto z = kernels::logistic_decision_function(fit, xte, test.size());
    std::vector<double> zp, zn;
    for (std::size_t i = 0; i < test.size(); ++i) (is_pos[test[i]] ? zp : zn).push_back(z[i]);
    const auto a = kernels::bootstrap_roc_auc(zp, zn, p.bootstrap_resamples, p.ci_level, task_seed(p.seed, c.name, name));
    out["auc"] = num(a.auc);
    out["lower"] = num(a.lower);
    out["upper"] = num(a.upper);
    out["n_train"] = train.size();
    out["n_test"] = test.size();
    out["iterations"] = fit.iterations;
    out["converged"] = fit.converged;
    out["note"] = fmt::format("L2 logistic regression (l2 {}) on {} standardised inputs, {} split; {} train, {} test "
                              "stamps; {} Newton steps{}",
                              p.lr_l2, cols, split, train.size(), test.size(), fit.iterations,
                              fit.converged ? "" : " (NOT converged)");
    return out;
}


std::string iso_timestamp() {
    const std::time_t t = std::time(nullptr);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S+00:00", std::gmtime(&t));
    return buf;
}

void write_text_atomically(const std::string& path, const std::string& text) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << text;
        out.flush();
        if (!out) throw Error("cannot write '" + tmp + "'");
    }
    fs::rename(tmp, path);
}

// Every rank reads the per-stamp rows (serial HDF5 readers may share a file).
Metrics read_metrics_on_every_rank(const Params& p, const mpi::Comm& comm, const std::string& path) {
    Metrics m;
    std::string err;
    try {
        m = read_metrics(path, p);
    } catch (const std::exception& e) {
        err = e.what();
    }
    if (comm.allreduce_max(static_cast<std::int64_t>(err.empty() ? 0 : 1)) != 0)
        throw Error("validate reduce: reading " + path + " failed" + (err.empty() ? " on another rank" : ": " + err));
    return m;
}

// Each comparison's availability, stamp rows and counts.
void select_rows(const Metrics& m, const std::vector<Comparison>& defs, std::vector<ComparisonResult>& results,
                 std::vector<Rows>& rows) {
    for (std::size_t c = 0; c < defs.size(); ++c) {
        auto& res = results[c];
        res.def = defs[c];
        if (!defs[c].requested) {
            res.reason = "not requested (validate.comparisons)";
            continue;
        }
        if (!fs::exists(defs[c].path)) {
            res.reason = defs[c].path + " not found";
            continue;
        }
        res.available = true;
        rows[c] = comparison_rows(m, defs[c]);
        res.n_positive = static_cast<std::int64_t>(rows[c].pos.size());
        res.n_negative = static_cast<std::int64_t>(rows[c].neg.size());
        res.n_positive_ok = static_cast<std::int64_t>(rows[c].pos_ok.size());
        res.n_negative_ok = static_cast<std::int64_t>(rows[c].neg_ok.size());
        res.n_stamps = rows[c].stamps;
        res.n_stamps_ok = rows[c].stamps_ok;
    }
}

// Classifiers first, then every feature (the order of the results).
std::vector<Task> analysis_tasks(const Metrics& m, const std::vector<ComparisonResult>& results) {
    std::vector<Task> tasks;
    for (const char* kind : {"core_lr", "radial_profile_lr"})
        for (std::size_t c = 0; c < results.size(); ++c)
            if (results[c].available) tasks.push_back({c, kind, 0});
    for (std::size_t c = 0; c < results.size(); ++c)
        if (results[c].available)
            for (std::size_t k = 0; k < m.names.size(); ++k) tasks.push_back({c, "feature", k});
    return tasks;
}

// A task's expected seconds on one core, for sharing the tasks out (the figures only need to be
// right relative to each other; measured on the project's VM): a classifier's Newton steps
// cost ~5 x rows x inputs^2 / 2 multiply-adds at ~0.1 ns, a feature's bootstrap ~2 ns per draw.
double task_cost(const Params& p, const Rows& rows, const Task& t) {
    const auto n = static_cast<double>(rows.pos_ok.size() + rows.neg_ok.size());
    if (t.kind == "feature") return 2e-9 * static_cast<double>(p.bootstrap_resamples) * n;
    // The classifiers' inputs per stamp, as the stage stores them (core_pixels, radial_profile).
    const auto bands = static_cast<double>(p.bands.size()), side = static_cast<double>(p.spec.core_box);
    const double inputs = t.kind == "core_lr" ? bands * side * side : bands * p.spec.profile_bins;
    return 0.25e-9 * std::min(n, static_cast<double>(p.lr_max_train_rows)) * inputs * inputs;
}

// The rank that runs each task: longest first, each to the least loaded rank so far (ties to
// the lower rank). Deterministic; every rank computes the same. The results do not depend on
// it: each task has its own seed.
std::vector<int> assign_tasks(const Params& p, const std::vector<Rows>& rows, const std::vector<Task>& tasks, int ranks) {
    std::vector<std::size_t> order(tasks.size());
    std::vector<double> cost(tasks.size());
    for (std::size_t t = 0; t < tasks.size(); ++t) {
        order[t] = t;
        cost[t] = task_cost(p, rows[tasks[t].comparison], tasks[t]);
    }
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return cost[a] > cost[b]; });
    std::vector<double> load(static_cast<std::size_t>(ranks), 0.0);
    std::vector<int> owner(tasks.size(), 0);
    for (auto t : order) {
        const auto r = static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
        owner[t] = static_cast<int>(r);
        load[r] += cost[t];
    }
    return owner;
}

// This rank's share of the tasks (assign_tasks), as JSON text, or "E" + the error.
std::string run_my_tasks(const Params& p, const Metrics& m, const std::vector<Comparison>& defs,
                         const std::vector<Rows>& rows, const std::vector<Task>& tasks, const mpi::Comm& comm,
                         const std::string& path) {
    nlohmann::json mine = nlohmann::json::array();
    try {
        const auto owner = assign_tasks(p, rows, tasks, comm.size());
        for (std::size_t t = 0; t < tasks.size(); ++t) {
            if (owner[t] != comm.rank()) continue;
            const Task& task = tasks[t];
            const auto& def = defs[task.comparison];
            nlohmann::json r;
            if (task.kind == "feature")
                r = run_feature_task(p, m, def, rows[task.comparison], task.feature);
            else
                r = run_classifier_task(p, m, def, rows[task.comparison],
                                        task.kind == "core_lr" ? "core_pixels" : "radial_profile", path, task.kind);
            r["task"] = t;
            mine.push_back(std::move(r));
        }
    } catch (const std::exception& e) {
        return "E" + std::string(e.what());
    }
    return mine.dump();
}

FeatureAuc feature_result(const Params& p, const std::string& feature, const nlohmann::json& r) {
    FeatureAuc f;
    f.feature = feature;
    f.auc.auc = num(r.at("auc"));
    f.auc.lower = num(r.at("lower"));
    f.auc.upper = num(r.at("upper"));
    f.auc.n_positive = r.at("n_pos");
    f.auc.n_negative = r.at("n_neg");
    f.auc.resamples = p.bootstrap_resamples;
    f.level = separation_level(f.auc.lower, f.auc.upper, p.flag_yellow, p.flag_red);
    if (!std::isfinite(f.auc.auc)) f.level = "not_evaluated";
    f.expected_physics = is_expected_physics(f.feature, p.expected_physics);
    f.flag = f.expected_physics && f.level != "not_evaluated" ? "expected_physics" : f.level;
    return f;
}

Gate classifier_gate(const Params& p, const std::string& kind, const nlohmann::json& r) {
    Gate g;
    g.name = kind == "core_lr" ? "core_lr_auc" : "radial_profile_auc";
    g.threshold = kind == "core_lr" ? p.gate_core_lr_auc : p.gate_radial_profile_auc;
    g.op = "<";
    g.value = num(r.at("auc"));
    g.ci_lower = num(r.at("lower"));
    g.ci_upper = num(r.at("upper"));
    g.evaluated = std::isfinite(g.value);
    g.passed = g.evaluated && g.value < g.threshold;
    g.note = r.value("note", "");
    g.n_train = r.value("n_train", std::int64_t{0});
    g.n_test = r.value("n_test", std::int64_t{0});
    return g;
}

// Rank 0: every rank's task results into the comparisons, in task order.
void collect_task_results(const Params& p, const Metrics& m, const std::vector<Task>& tasks,
                          const std::vector<std::string>& gathered, std::vector<ComparisonResult>& results) {
    std::vector<nlohmann::json> by_task(tasks.size());
    for (const auto& g : gathered) {
        if (!g.empty() && g[0] == 'E') throw Error(g.substr(1));
        for (auto& r : nlohmann::json::parse(g)) by_task[r.at("task").get<std::size_t>()] = r;
    }
    for (std::size_t t = 0; t < tasks.size(); ++t) {
        const Task& task = tasks[t];
        auto& res = results[task.comparison];
        const auto& r = by_task[t];
        if (task.kind == "feature") {
            res.features.push_back(feature_result(p, m.names[task.feature], r));
        } else {
            res.classifier_split = r.at("split");
            res.gates.push_back(classifier_gate(p, task.kind, r));
        }
    }
}

Totals count_totals(const Metrics& m) {
    Totals totals;
    for (std::size_t i = 0; i < m.rows; ++i) {
        ++totals.stamps;
        totals.quality_ok += m.quality_ok[i];
        if (m.source[i] == "cutouts") {
            ++totals.cutouts;
            totals.positives += m.cls[i] == "positive";
            totals.negatives += m.cls[i] == "negative";
            totals.hosts += m.cls[i] == "host";
        } else {
            ++totals.injections_total;
            totals.injections += m.cls[i] == "injection";
            totals.controls += m.cls[i] == "control";
        }
        std::size_t a = 0;
        const std::string& s = m.reasons[i];
        while (a < s.size()) {
            std::size_t b = s.find(';', a);
            if (b == std::string::npos) b = s.size();
            ++totals.reasons[s.substr(a, b - a)];
            a = b + 1;
        }
    }
    return totals;
}

// The gate on the median core brightness of the quality-passed stamps, positive over negative.
Gate core_brightness_gate(const Params& p, const Metrics& m, const Rows& rows, const ComparisonResult& res) {
    const std::size_t r_col = static_cast<std::size_t>(
        std::find(m.names.begin(), m.names.end(), "core_brightness_r") - m.names.begin());
    Gate ratio{.name = "core_brightness_ratio", .threshold = p.gate_core_brightness_ratio, .op = "<="};
    const double mp = median(finite_values(m.features[r_col], rows.pos_ok));
    const double mn = median(finite_values(m.features[r_col], rows.neg_ok));
    ratio.ci_lower = ratio.ci_upper = kNaN;
    if (std::isfinite(mp) && std::isfinite(mn) && mn > 0) {
        ratio.value = mp / mn;
        ratio.evaluated = true;
        ratio.passed = ratio.value <= ratio.threshold;
        ratio.note = fmt::format("median core_brightness_r {:.6g} ({}) / {:.6g} ({}) over quality-passed stamps", mp,
                                 res.def.positive_class, mn, res.def.negative_class);
    } else {
        ratio.value = kNaN;
        ratio.note = rows.pos_ok.empty() || rows.neg_ok.empty()
                         ? "no quality-passed stamps in one class"
                         : fmt::format("median core brightness of the {} stamps is not positive ({:.6g})",
                                       res.def.negative_class, mn);
    }
    return ratio;
}

// The gate on the share of the comparison's stamps rejected for NaNs.
Gate nan_rejection_gate(const Params& p, const Metrics& m, const Rows& rows, const ComparisonResult& res) {
    Gate nan{.name = "nan_rejection_rate", .threshold = p.gate_nan_rejection_rate, .op = "<="};
    nan.ci_lower = nan.ci_upper = kNaN;
    const std::size_t all = rows.pos.size() + rows.neg.size();
    std::size_t rejected = 0;
    for (const auto* v : {&rows.pos, &rows.neg})
        for (auto i : *v)
            if (m.reasons[i].find("nan_") != std::string::npos) ++rejected;
    if (all > 0) {
        nan.value = static_cast<double>(rejected) / static_cast<double>(all);
        nan.evaluated = true;
        nan.passed = nan.value <= nan.threshold;
        nan.note = fmt::format("{} of {} {}+{} stamps fail nan_total or nan_core", rejected, all, res.def.positive_class,
                               res.def.negative_class);
    } else {
        nan.value = kNaN;
        nan.note = "no stamps of either class";
    }
    return nan;
}

// Rank 0: the row gates before the classifier gates (order: core_brightness_ratio,
// nan_rejection_rate, core_lr_auc, radial_profile_auc), each comparison's verdict, the tables,
// the summary JSON and the gate table in the log.
void conclude(const Params& p, const engine::StageContext& ctx, const Metrics& m, const std::vector<Rows>& rows,
              std::vector<ComparisonResult>& results, const std::string& path) {
    for (std::size_t c = 0; c < results.size(); ++c) {
        auto& res = results[c];
        if (!res.available) continue;
        res.gates.insert(res.gates.begin(), {core_brightness_gate(p, m, rows[c], res), nan_rejection_gate(p, m, rows[c], res)});
        res.passed = !res.gates.empty() &&
                     std::all_of(res.gates.begin(), res.gates.end(), [](const Gate& g) { return g.evaluated && g.passed; });
    }
    bool passed = true;
    for (const auto& r : results)
        if (r.available) passed = passed && r.passed;
    const ComparisonResult* primary = primary_comparison(results);
    write_result_tables(path, results, passed, primary ? primary->def.name : "");
    const Totals totals = count_totals(m);
    const auto summary = summary_json(p, ctx, results, totals, iso_timestamp());
    write_text_atomically((fs::path(ctx.run_dir) / "validation_summary.json").string(), summary.dump(2) + "\n");
    for (const auto& line : gate_table_lines(results)) spdlog::info("{}", line);
    spdlog::info("validate: {} ({}); summary {}", passed ? "every gate passed" : "GATES FAILED",
                 fmt::format("{} stamps, {} passed quality", totals.stamps, totals.quality_ok),
                 (fs::path(ctx.run_dir) / "validation_summary.json").string());
}

}  // namespace

void reduce(const Params& p, const engine::StageContext& ctx, const mpi::Comm& comm, const std::string& path) {
    const Metrics m = read_metrics_on_every_rank(p, comm, path);
    const auto defs = comparisons(p);
    std::vector<ComparisonResult> results(defs.size());
    std::vector<Rows> rows(defs.size());
    select_rows(m, defs, results, rows);
    const auto tasks = analysis_tasks(m, results);
    const auto gathered = comm.gather(run_my_tasks(p, m, defs, rows, tasks, comm, path));
    reduce_on_rank0(comm, [&] {
        collect_task_results(p, m, tasks, gathered, results);
        conclude(p, ctx, m, rows, results, path);
    });
}

}  // namespace dhs::stages::validate
