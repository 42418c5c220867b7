// dhs-torch: `dhs` with the libtorch stages (train, score, search) built in. Users run `dhs`,
// which re-executes as this program (beside it) for a command that runs one of those stages.
#include "apps/dhs/commands.hpp"
#include "mpi_stages/registry.hpp"
#include "mpi_stages/torch_stages.hpp"

int main(int argc, char** argv) {
    dhs::stages::link_torch_stages(dhs::stages::make_torch_stage);
    return dhs::app::entry(argc, argv);
}
