// dhs: the command-line entry point. Initialises MPI, dispatches to a subcommand.
#include <cstdio>

#include "dhs/config.hpp"

int main() {
    std::printf("dhs %s (%s)\n", DHS_VERSION_STRING, DHS_GIT_COMMIT);
    return 0;
}
