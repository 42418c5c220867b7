// The `evaluate` stage (see evaluate_stage.hpp): rank 0 reads, computes and writes; the others wait.
#include "mpi_stages/evaluate/evaluate_stage.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/mpi/comm.hpp"
#include "mpi_stages/evaluate/evaluate.hpp"

namespace fs = std::filesystem;

namespace dhs::stages {

using namespace evaluate;

namespace {

void write_text(const std::string& path, const std::string& text) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << text;
        if (!out) throw Error(fmt::format("cannot write '{}'", tmp));
    }
    fs::rename(tmp, path);
}

// The log's view of the summary: per comparison AUC, TPR0 / TPR10, and the operating points.
void log_summary(const std::string& json) {
    const auto j = nlohmann::json::parse(json);
    const auto f = [](const nlohmann::json& x) { return x.is_number() ? fmt::format("{:.4f}", x.get<double>()) : std::string("n/a"); };
    for (const auto& [name, c] : j["comparisons"].items())
        spdlog::info("evaluate: {} ({} positives, {} negatives, split {}): AUC {} [{}, {}], TPR0 {}, TPR10 {}, ECE {}, "
                     "Brier {}",
                     name, c["n_positive"].dump(), c["n_negative"].dump(), j["split"].get<std::string>(), f(c["auc"]),
                     f(c["auc_interval"][0]), f(c["auc_interval"][1]), f(c["tpr0"]), f(c["tpr10"]),
                     f(c["ece_uniform_positive_class"]), f(c["brier"]));
    for (const auto& s : j["skipped"]) spdlog::warn("evaluate: skipped {}", s.get<std::string>());
    if (j.contains("operating_points"))
        for (const auto& op : j["operating_points"])
            spdlog::info("evaluate: FPR {} on the {} negatives: {}", op["target_fpr"].dump(),
                         op["chosen_on"].get<std::string>(),
                         op["resolvable"].get<bool>() ? "threshold p_lens >= " + op["threshold"].dump()
                                                      : std::string("not resolvable (fewer than 1/FPR negatives)"));
}

}  // namespace

void EvaluateStage::declare_config(config::Schema& s) { evaluate::declare_config(s); }

void EvaluateStage::check_config(const engine::StageContext& ctx) const { (void)read_params(ctx.config, ctx.run_dir); }

void EvaluateStage::run(const engine::StageContext& ctx, const mpi::Comm& comm, const engine::CollectiveRun& run) const {
    mpi::on_rank0(comm, [&] {
        const Params p = read_params(ctx.config, ctx.run_dir);
        std::vector<std::string> skipped;
        const auto comparisons = load_comparisons(p, skipped);
        if (comparisons.empty())
            throw Error(fmt::format("nothing to evaluate in '{}': {}", p.scores_file,
                                    skipped.empty() ? std::string("no scores") : skipped.front()));
        std::vector<Comparison> fit_on;  // the val split, for temperature scaling
        if (p.temperature_scaling) {
            Params val = p;
            val.split = "val";
            std::vector<std::string> unused;
            fit_on = load_comparisons(val, unused);
        }
        const Evaluation e = evaluate::evaluate(p, comparisons, skipped, fit_on);
        engine::GatherMeta meta = run.meta;
        meta.root_int_attrs["units_planned"] = 0;
        meta.root_int_attrs["units_quarantined"] = 0;
        engine::write_table_file(run.output, e.groups, meta);
        write_text((fs::path(ctx.run_dir) / "evaluation_summary.json").string(), e.summary_json + "\n");
        write_text((fs::path(ctx.run_dir) / "selection_function.ecsv").string(),
                   to_ecsv(e.selection_function,
                           {{"split", p.split}, {"ci_level", fmt::format("{}", p.ci_level)},
                            {"interval", "Clopper-Pearson"}, {"threshold_on", "p_lens >= threshold"},
                            {"scores_file", p.scores_file},
                            {"grid", "theta_E 0.5..3.0 step 0.25 arcsec x PSF FWHM 0.9..1.8 step 0.15 arcsec x "
                                     "r 5-sigma depth 22.5..24.5 step 0.5 mag (bins centred on those values)"}}));
        log_summary(e.summary_json);
    }, "evaluate");
}

std::string EvaluateStage::plan_text(const engine::StageContext& ctx, int) const {
    const Params p = read_params(ctx.config, ctx.run_dir);
    return fmt::format("  rank 0 evaluates the {} split of {} (FPR targets {}); writes evaluation.h5, "
                       "evaluation_summary.json, selection_function.ecsv\n",
                       p.split, p.scores_file, fmt::join(p.fpr_targets, ", "));
}

}  // namespace dhs::stages
