// `dhs mock-sky --out DIR [--config FILE] [--set k=v ...]`: the engine over the `mock_sky`
// stage with survey.root = DIR and the run directory DIR/.dhs-run (its config.yaml, logs/,
// journal/ and mock_sky.h5 with every object). Same files for any number of ranks.
#include <boost/program_options.hpp>

#include <filesystem>

#include "apps/dhs/commands.hpp"
#include "core/engine/runner.hpp"
#include "mpi_stages/common/sections.hpp"
#include "mpi_stages/registry.hpp"

namespace po = boost::program_options;

namespace dhs::app {

int cmd_mock_sky(const std::vector<std::string>& args, Context& ctx) {
    po::options_description opts("dhs mock-sky --out DIR [options]");
    opts.add_options()("help,h", "this help")("out,o", po::value<std::string>(),
                                              "root of the mock DR10 tree to write (survey.root)")(
        "config", po::value<std::string>(), "YAML config (mock_sky.* keys; default: built-in defaults)")(
        "set", po::value<std::vector<std::string>>()->composing(), "override: section.key=value (repeatable)")(
        "log-level", po::value<std::string>(), "trace, debug, info, warn or error (default: run.log_level)");
    auto vm = parse_options(args, opts, {});
    if (print_help_if_asked(ctx, vm, opts,
                            "\nwrites <out>/coadd/<RRR>/<brick>/legacysurvey-<brick>-<kind>.fits.fz, "
                            "<out>/sweep/<version>/sweep-*.fits,\n<out>/survey-bricks.fits.gz, <out>/lenses/lenscat.csv, "
                            "<out>/truth/*.csv; the run directory is <out>/.dhs-run\n"))
        return exit_ok;
    if (!vm.count("out")) throw UsageError("--out DIR is required");
    const std::string out = std::filesystem::absolute(vm["out"].as<std::string>()).lexically_normal().string();
    std::vector<std::string> sets;
    if (vm.count("set")) sets = vm["set"].as<std::vector<std::string>>();
    sets.push_back("survey.root=" + out);
    const auto& schema = stages::pipeline_schema();
    auto cfg = vm.count("config") ? config::Config::load_file(vm["config"].as<std::string>(), schema, sets)
                                  : config::Config::load_string("{}", "defaults", schema, sets);
    engine::RunOptions options;
    options.run_dir = out + "/.dhs-run";
    options.stages = {"mock_sky"};
    options.log_level = vm.count("log-level") ? vm["log-level"].as<std::string>() : ctx.log_level;
    std::string cl = ctx.program + " mock-sky";
    for (const auto& a : args) cl += " " + a;
    options.command_line = cl;
    return engine::run_pipeline(ctx.comm, stages::pipeline_registry(), cfg, options);
}

}  // namespace dhs::app
