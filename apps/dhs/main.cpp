// dhs: the command-line program (entry.cpp). It holds every stage but the libtorch ones, which
// live in the companion `dhs-torch` (main_torch.cpp) that a command running them becomes.
#include "apps/dhs/commands.hpp"

int main(int argc, char** argv) { return dhs::app::entry(argc, argv); }
