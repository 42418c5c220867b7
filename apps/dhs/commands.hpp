// The subcommands of `dhs`: each is a function over its own arguments and the world
// communicator, listed in one table that `dhs --help` prints.
#pragma once

#include <boost/program_options.hpp>

#include <string>
#include <vector>

#include "core/mpi/comm.hpp"

namespace dhs::app {

/// @brief Exit codes of `dhs`, documented in the README.
enum ExitCode : int {
    exit_ok = 0,
    exit_failure = 1,          ///< an error stopped the command
    exit_usage = 2,            ///< bad command line or configuration: nothing was done
    exit_quarantined = 3,      ///< finished, but some work units were quarantined
};

struct Context {
    const mpi::Comm& comm;
    std::string log_level;     ///< from --log-level; empty: the config's run.log_level
    std::string program;       ///< argv[0]
};

struct Command {
    const char* name;
    const char* summary;
    int (*run)(const std::vector<std::string>& args, Context& ctx);
};

/// @brief The whole program (entry.cpp): main() of `dhs` and `dhs-torch` call it.
int entry(int argc, char** argv);

/// @brief Every subcommand, in the order `dhs --help` lists them.
const std::vector<Command>& commands();

/// @brief Thrown for a bad command line; main prints it with the command's usage, exit 2.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

int cmd_config(const std::vector<std::string>& args, Context& ctx);
int cmd_inspect(const std::vector<std::string>& args, Context& ctx);
int cmd_brick(const std::vector<std::string>& args, Context& ctx);
int cmd_run(const std::vector<std::string>& args, Context& ctx);
int cmd_plan(const std::vector<std::string>& args, Context& ctx);
int cmd_mock_sky(const std::vector<std::string>& args, Context& ctx);
int cmd_export_npz(const std::vector<std::string>& args, Context& ctx);
int cmd_report(const std::vector<std::string>& args, Context& ctx);
int cmd_make_template_bank(const std::vector<std::string>& args, Context& ctx);

/// @brief The companion executable (registry.hpp) that must run `dhs COMMAND ARGS`, because a
/// stage it runs lives there; "" when this executable can (or the arguments are bad: the
/// command itself then says why). Needs no MPI: called before MPI starts.
std::string companion_for(const std::string& command, const std::vector<std::string>& args);

/// @brief Parses a subcommand's arguments (`positional` names taken in order, each once
/// unless its count says more). @throws UsageError with Boost's message.
boost::program_options::variables_map parse_options(
    const std::vector<std::string>& args, const boost::program_options::options_description& opts,
    const std::vector<std::pair<const char*, int>>& positional, bool allow_short = true);

/// @brief When --help was given: prints the options and `extra` on rank 0 and returns true.
bool print_help_if_asked(const Context& ctx, const boost::program_options::variables_map& vm,
                         const boost::program_options::options_description& opts, const std::string& extra = "");

/// @brief Prints `text` on rank 0's stdout only (results of commands; logs go to stderr).
void print_rank0(const Context& ctx, const std::string& text);

}  // namespace dhs::app
