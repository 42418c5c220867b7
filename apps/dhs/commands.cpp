// The table of `dhs` subcommands and small helpers shared by them.
#include "apps/dhs/commands.hpp"

#include <cstdio>
#include <sstream>

namespace dhs::app {

const std::vector<Command>& commands() {
    static const std::vector<Command> table = {
        {"run", "run the pipeline's stages into a run directory (--resume continues one)", cmd_run},
        {"plan", "the work plan (units, cost, bytes, memory per rank) without processing", cmd_plan},
        {"config", "validate a YAML config (with --set overrides) and print it resolved", cmd_config},
        {"inspect", "describe what an HDF5 result file or a FITS file holds", cmd_inspect},
        {"report", "the run's figures, tables and index.html (RUN_DIR/report) via scripts/report.py", cmd_report},
        {"export-npz", "write the stamps of a cutouts.h5 as the seed's per-stamp .npz files", cmd_export_npz},
        {"mock-sky", "write a mock DR10 sky (coadds, sweeps, lenses, truth) to --out", cmd_mock_sky},
        {"make-template-bank", "write an HDF5 bank of clumpy galaxy templates (injection sources)", cmd_make_template_bank},
        {"brick", "brick geometry: the brick and sweep file of (RA, Dec), or a brick by name or id", cmd_brick},
    };
    return table;
}

namespace po = boost::program_options;

po::variables_map parse_options(const std::vector<std::string>& args, const po::options_description& opts,
                                const std::vector<std::pair<const char*, int>>& positional, bool allow_short) {
    po::positional_options_description pos;
    for (const auto& [name, count] : positional) pos.add(name, count);
    po::variables_map vm;
    int style = po::command_line_style::unix_style;
    if (!allow_short) style ^= po::command_line_style::allow_short;  // so "-44.25" is a value
    try {
        po::store(po::command_line_parser(args).options(opts).positional(pos).style(style).run(), vm);
    } catch (const po::error& e) {
        throw UsageError(e.what());
    }
    return vm;
}

bool print_help_if_asked(const Context& ctx, const po::variables_map& vm, const po::options_description& opts,
                         const std::string& extra) {
    if (!vm.count("help")) return false;
    std::ostringstream s;
    s << opts << extra;
    print_rank0(ctx, s.str());
    return true;
}

void print_rank0(const Context& ctx, const std::string& text) {
    if (ctx.comm.rank() != 0) return;
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
}

}  // namespace dhs::app
