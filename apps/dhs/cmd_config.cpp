// `dhs config CONFIG [--set k=v ...]`: validates a configuration in full (every key, type
// and range, before any work) and prints the resolved YAML and its SHA-256.
#include <boost/program_options.hpp>

#include <sstream>

#include "apps/dhs/commands.hpp"
#include "mpi_stages/common/sections.hpp"

namespace po = boost::program_options;

namespace dhs::app {

int cmd_config(const std::vector<std::string>& args, Context& ctx) {
    po::options_description opts("dhs config CONFIG [options]");
    opts.add_options()("help,h", "this help")("config", po::value<std::string>(), "YAML config file")(
        "set", po::value<std::vector<std::string>>()->composing(), "override: section.key=value (repeatable)")(
        "keys", "list every accepted key with its type, default and description instead");
    auto vm = parse_options(args, opts, {{"config", 1}});
    if (print_help_if_asked(ctx, vm, opts, "\nExit code 2 and a message naming key, file and line when a value is invalid.\n"))
        return exit_ok;
    const auto& schema = stages::pipeline_schema();
    if (vm.count("keys")) {
        std::string out;
        for (const auto& k : schema.keys()) {
            out += k.key + "  (" + config::type_name(k.type) + (k.unit.empty() ? "" : ", " + k.unit) +
                   (k.default_yaml ? ", default " + *k.default_yaml : ", required") + ")\n    " + k.description + "\n";
        }
        print_rank0(ctx, out);
        return exit_ok;
    }
    if (!vm.count("config")) throw UsageError("a config file is required");
    std::vector<std::string> sets = vm.count("set") ? vm["set"].as<std::vector<std::string>>() : std::vector<std::string>{};
    auto cfg = config::Config::load_file(vm["config"].as<std::string>(), schema, sets);
    print_rank0(ctx, "# resolved from " + cfg.source_name() + "; sha256 " + cfg.sha256() + "\n" + cfg.resolved_yaml());
    return exit_ok;
}

}  // namespace dhs::app
