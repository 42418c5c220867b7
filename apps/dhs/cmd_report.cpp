// `dhs report RUN_DIR [--out DIR]`: the run's figures, tables and index.html (RUN_DIR/report/),
// made by scripts/report.py with Debian's python3 (matplotlib, h5py) on rank 0. The script is
// found beside the sources dhs was built from, or at $DHS_REPORT_SCRIPT.
#include <sys/wait.h>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "apps/dhs/commands.hpp"
#include "core/error.hpp"
#include "core/mpi/comm.hpp"
#include "dhs/config.hpp"

namespace po = boost::program_options;

namespace dhs::app {

namespace {

std::string quoted(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

}  // namespace

int cmd_report(const std::vector<std::string>& args, Context& ctx) {
    po::options_description opts("dhs report RUN_DIR [options]");
    opts.add_options()("help,h", "this help")("run-dir", po::value<std::string>(), "the run directory")(
        "out,o", po::value<std::string>(), "report folder (default RUN_DIR/report)");
    auto vm = parse_options(args, opts, {{"run-dir", 1}});
    if (print_help_if_asked(ctx, vm, opts,
                            "\nfigures 1-11 (PNG, PDF), tables 1-9 (CSV, Markdown, LaTeX), index.html and, after a "
                            "search, candidates.html, from the run's sample.h5, train.h5, evaluation.h5, cutouts.h5, "
                            "injections.h5 and search.h5 (each part only where its files are)\n"))
        return exit_ok;
    if (!vm.count("run-dir")) throw UsageError("RUN_DIR is required");
    const std::string run_dir = vm["run-dir"].as<std::string>();
    if (!std::filesystem::is_directory(run_dir)) throw UsageError("'" + run_dir + "' is not a run directory");
    const char* env = std::getenv("DHS_REPORT_SCRIPT");
    const std::string script = env != nullptr && *env != '\0' ? env : std::string(DHS_SCRIPTS_DIR) + "/report.py";
    if (!std::filesystem::exists(script))
        throw Error(fmt::format("report script '{}' not found (set DHS_REPORT_SCRIPT)", script));
    int rc = 0;
    if (ctx.comm.rank() == 0) {
        std::string cmd = "/usr/bin/python3 " + quoted(script) + " " + quoted(run_dir);
        if (vm.count("out")) cmd += " --out " + quoted(vm["out"].as<std::string>());
        const int status = std::system(cmd.c_str());
        rc = status == -1 ? 1 : WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    }
    const std::int64_t all = ctx.comm.allreduce_max(static_cast<std::int64_t>(rc));
    if (all != 0) throw Error(fmt::format("report for '{}' failed (scripts/report.py exit {})", run_dir, all));
    return exit_ok;
}

}  // namespace dhs::app
