// The table of `dhs` subcommands and small helpers shared by them.
#include "apps/dhs/commands.hpp"

#include <cstdio>

namespace dhs::app {

const std::vector<Command>& commands() {
    static const std::vector<Command> table = {
        {"run", "run the pipeline's stages into a run directory (--resume continues one)", cmd_run},
        {"plan", "the work plan (units, cost, bytes, memory per rank) without processing", cmd_plan},
        {"config", "validate a YAML config (with --set overrides) and print it resolved", cmd_config},
        {"inspect", "describe what an HDF5 result file or a FITS file holds", cmd_inspect},
        {"brick", "brick geometry: the brick and sweep file of (RA, Dec), or a brick by name or id", cmd_brick},
    };
    return table;
}

void print_rank0(const Context& ctx, const std::string& text) {
    if (ctx.comm.rank() != 0) return;
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
}

}  // namespace dhs::app
