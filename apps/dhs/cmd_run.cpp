// `dhs run CONFIG [--out RUN_DIR] [--stages s1,s2] [--resume] [--dry-run] [--set k=v ...]`
// and `dhs plan CONFIG [...]`: the engine over the configured stages.
#include <boost/algorithm/string.hpp>
#include <boost/program_options.hpp>

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "apps/dhs/commands.hpp"
#include "core/engine/run_dir.hpp"
#include "core/error.hpp"
#include "core/engine/runner.hpp"
#include "mpi_stages/common/sections.hpp"
#include "mpi_stages/registry.hpp"

namespace po = boost::program_options;

namespace dhs::app {

namespace {

struct Parsed {
    std::string config;
    engine::RunOptions options;
    std::vector<std::string> sets;
    bool dry_run = false;
    std::string json;  ///< dhs plan --json FILE
    bool help = false;
    std::string help_text;
};

Parsed parse(const std::vector<std::string>& args, const std::string& log_level, const std::string& program,
             bool is_plan) {
    po::options_description opts(is_plan ? "dhs plan CONFIG [options]" : "dhs run CONFIG [options]");
    opts.add_options()("help,h", "this help")("config", po::value<std::string>(), "YAML config file")(
        "out,o", po::value<std::string>()->default_value("run"), "run directory (results, logs/, journal/)")(
        "stages", po::value<std::string>(), "comma-separated stages (default: run.stages, else the whole pipeline)")(
        "set", po::value<std::vector<std::string>>()->composing(), "override: section.key=value (repeatable)")(
        "log-level", po::value<std::string>(), "trace, debug, info, warn or error (default: run.log_level)");
    if (is_plan)
        opts.add_options()("json", po::value<std::string>(), "also write the plan as JSON to this file (for scripts)");
    if (!is_plan)
        opts.add_options()("resume", "continue the run in --out: finished units and stages are skipped")(
            "dry-run", "print the plan (as dhs plan) and process nothing");
    auto vm = parse_options(args, opts, {{"config", 1}});
    Parsed p;
    if (vm.count("help")) {
        std::ostringstream s;
        s << opts << "\nstages in this build:\n";
        const auto& reg = stages::pipeline_registry();
        for (const auto& n : reg.names(true))
            s << "  " << n << (reg.available(n) ? "" : " (not available in this build)") << ": " << reg.summary(n) << "\n";
        s << "\nexit codes: 0 done; 1 failed; 2 bad command line or config; 3 done with quarantined units\n";
        p.help = true;
        p.help_text = s.str();
        return p;
    }
    if (!vm.count("config")) throw UsageError("a config file is required");
    p.config = vm["config"].as<std::string>();
    p.options.run_dir = vm["out"].as<std::string>();
    if (vm.count("stages")) {
        boost::split(p.options.stages, vm["stages"].as<std::string>(), boost::is_any_of(","));
        std::erase(p.options.stages, std::string());
    }
    if (vm.count("set")) p.sets = vm["set"].as<std::vector<std::string>>();
    p.options.resume = vm.count("resume") > 0;
    p.dry_run = vm.count("dry-run") > 0;
    if (vm.count("json")) p.json = vm["json"].as<std::string>();
    p.options.log_level = vm.count("log-level") ? vm["log-level"].as<std::string>() : log_level;
    std::string cl = program + (is_plan ? " plan" : " run");
    for (const auto& a : args) cl += " " + a;
    p.options.command_line = cl;
    return p;
}

int plan_or_run(const std::vector<std::string>& args, Context& ctx, bool is_plan) {
    Parsed p = parse(args, ctx.log_level, ctx.program, is_plan);
    if (p.help) {
        print_rank0(ctx, p.help_text);
        return exit_ok;
    }
    auto cfg = config::Config::load_file(p.config, stages::pipeline_schema(), p.sets);
    const auto& reg = stages::pipeline_registry();
    if (is_plan || p.dry_run) {
        const auto report = engine::plan_report(ctx.comm, reg, cfg, p.options);
        print_rank0(ctx, report.text);
        if (!p.json.empty() && ctx.comm.rank() == 0) {
            std::ofstream out(p.json, std::ios::trunc);
            out << report.json << "\n";
            if (!out.flush()) throw Error(fmt::format("dhs plan: cannot write --json '{}'", p.json));
        }
        return exit_ok;
    }
    try {
        return engine::run_pipeline(ctx.comm, reg, cfg, p.options);
    } catch (const engine::RunDirError& e) {
        // Every rank throws it alike (rank 0 decided and told them): nothing was done.
        if (ctx.comm.rank() == 0) std::fprintf(stderr, "dhs run: error: %s\n", e.what());
        return exit_usage;
    }
}

}  // namespace

std::string companion_for(const std::string& command, const std::vector<std::string>& args) {
    if (command != "run" && command != "plan") return "";
    try {
        const Parsed p = parse(args, "", "dhs", command == "plan");
        if (p.help) return "";
        const auto cfg = config::Config::load_file(p.config, stages::pipeline_schema(), p.sets);
        const auto& reg = stages::pipeline_registry();
        std::vector<std::string> names = p.options.stages.empty() ? cfg.get_strings("run.stages") : p.options.stages;
        if (names.empty()) names = reg.default_run();
        for (const auto& n : names)
            if (std::string c = reg.companion_of(n); !c.empty()) return c;
    } catch (const std::exception&) {
        // A bad command line or config: this executable reports it, in the usual way.
    }
    return "";
}

int cmd_run(const std::vector<std::string>& args, Context& ctx) { return plan_or_run(args, ctx, false); }
int cmd_plan(const std::vector<std::string>& args, Context& ctx) { return plan_or_run(args, ctx, true); }

}  // namespace dhs::app
