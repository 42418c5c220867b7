// The command-line entry point of `dhs` and `dhs-torch` (main.cpp, main_torch.cpp). Hands the
// command to the companion executable when one of its stages lives there, tunes the heap,
// initialises MPI, reads the global options, sets up logging and dispatches to a subcommand
// (commands.cpp lists them). Errors end the run with a message naming what went wrong and a
// documented exit code.
#include <spdlog/spdlog.h>

#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "apps/dhs/commands.hpp"
#include "core/error.hpp"
#include "core/hdf5/library.hpp"
#include "core/logging/log.hpp"
#include "core/mpi/comm.hpp"
#include "dhs/config.hpp"

namespace {

std::string version_text() {
    return std::string("dhs ") + DHS_VERSION_STRING + " (git " + DHS_GIT_COMMIT + ", " + DHS_BUILD_TYPE +
           ", torch " + (DHS_HAVE_TORCH ? "on" : "off") + ")";
}

std::string help_text() {
    std::string s =
        "Dark Halo Scope: strong-lens search and selection function over DESI Legacy Surveys DR10.\n\n"
        "usage: dhs [--log-level LEVEL] <command> [options]   (under mpirun -n N for N ranks)\n"
        "       dhs --version | --help | <command> --help\n\ncommands:\n";
    for (const auto& c : dhs::app::commands()) {
        const std::size_t len = std::strlen(c.name);
        s += "  " + std::string(c.name) + std::string(len < 20 ? 20 - len : 1, ' ') + c.summary + "\n";
    }
    s += "\nglobal options:\n  --log-level LEVEL  trace, debug, info, warn or error (default: the config's run.log_level)\n"
         "\nexit codes: 0 done; 1 failed; 2 bad command line or config (nothing done); 3 done with quarantined units\n";
    return s;
}

// The command's name and its arguments: argv after the global options (--log-level).
std::pair<std::string, std::vector<std::string>> command_of(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    std::size_t i = 0;
    while (i < args.size() && (args[i] == "--log-level" || args[i].rfind("--log-level=", 0) == 0))
        i += args[i] == "--log-level" ? 2 : 1;
    if (i >= args.size()) return {};
    return {args[i], std::vector<std::string>(args.begin() + static_cast<long>(i) + 1, args.end())};
}

// This executable's path (what valgrind and friends report for the client), else the
// kernel's link to it (e.g. when the file was replaced by a rebuild since we started).
std::string own_path() {
    char buf[4096];
    const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n > 0) {
        buf[n] = '\0';
        if (::access(buf, X_OK) == 0) return buf;
    }
    return "/proc/self/exe";
}

// Heap policy. Stages allocate big column and stamp buffers per unit and free them after; on
// the VMs clusters and clouds run, a fresh 4 KiB page costs a page fault (~0.5 us each, more
// under a hypervisor), which measured 30-40% of the sampling stage. glibc can keep one heap for
// all threads (so the next unit reuses the last one's pages) and back it with transparent huge
// pages, but reads those settings only at start-up from GLIBC_TUNABLES: dhs re-executes itself
// once with them added (DHS_HEAP_TUNING=0 skips it). Measured on the sampling benchmark's 1M-row
// sweep, one rank: 1.66 s -> 1.0 s for the whole stage.
// The same exec hands a command to the companion executable (`dhs-torch`) when a stage it
// runs lives there, so the command pays one exec, not two. Before MPI starts: the launcher
// sees one process either way.
void reexec_tuned(char** argv, const std::string& companion) {
    bool tune = true;
    if (const char* t = std::getenv("DHS_HEAP_TUNING"); t != nullptr && std::string(t) == "0") tune = false;
    if (std::getenv("DHS_HEAP_TUNED") != nullptr) tune = false;  // this is the re-executed process
    const char* old = std::getenv("GLIBC_TUNABLES");
    std::string tunables = old != nullptr ? old : "";
    if (tunables.find("glibc.malloc.hugetlb") != std::string::npos ||
        tunables.find("glibc.malloc.arena_max") != std::string::npos)
        tune = false;  // the user chose
    if (!tune && companion.empty()) return;
    std::string target = own_path();
    if (!companion.empty()) {
        target = (std::filesystem::path(target).parent_path() / companion).string();
        if (::access(target.c_str(), X_OK) != 0) return;  // the stage's create() says where it lives
    }
    if (tune) {
        tunables += std::string(tunables.empty() ? "" : ":") + "glibc.malloc.hugetlb=1:glibc.malloc.arena_max=1";
        ::setenv("GLIBC_TUNABLES", tunables.c_str(), 1);
        ::setenv("DHS_HEAP_TUNED", "1", 1);
    }
    ::execv(target.c_str(), argv);  // returns only on failure: go on untuned, here
    if (!tune) return;
    if (old != nullptr) ::setenv("GLIBC_TUNABLES", old, 1);
    else ::unsetenv("GLIBC_TUNABLES");
    ::unsetenv("DHS_HEAP_TUNED");
}

}  // namespace

namespace dhs::app {

int entry(int argc, char** argv) {
    {
        const auto [command, rest] = command_of(argc, argv);
        reexec_tuned(argv, companion_for(command, rest));
    }
    dhs::hdf5::no_close_at_exit();  // before any other HDF5 call (see library.hpp)
#ifdef M_MMAP_THRESHOLD
    // Big buffers from the heap, not mmap, and no trimming below 1 GiB: freed memory stays ready.
    ::mallopt(M_MMAP_THRESHOLD, 256 << 20);
    ::mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
    // MPI only when a launcher started us (or DHS_MPI=1): a plain `dhs ...` is one rank.
    std::optional<dhs::mpi::Runtime> runtime;
    try {
        runtime.emplace(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "dhs: error: %s\n", e.what());
        return dhs::app::exit_usage;
    }
    dhs::mpi::Comm world = runtime->world();
    const bool rank0 = world.rank() == 0;
    auto say = [&](const std::string& s) {
        if (rank0) std::fputs(s.c_str(), stdout);
    };

    std::vector<std::string> args(argv + 1, argv + argc);
    dhs::app::Context ctx{world, "", argc > 0 ? argv[0] : "dhs"};
    // Global options come before the command name.
    std::size_t i = 0;
    for (; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--version" || a == "-V" || a == "version") {
            say(version_text() + "\n");
            return dhs::app::exit_ok;
        }
        if (a == "--help" || a == "-h" || a == "help") {
            say(help_text());
            return dhs::app::exit_ok;
        }
        if (a == "--log-level" && i + 1 < args.size()) {
            ctx.log_level = args[++i];
        } else if (a.rfind("--log-level=", 0) == 0) {
            ctx.log_level = a.substr(12);
        } else {
            break;
        }
    }
    if (i == args.size()) {
        if (rank0) std::fputs(help_text().c_str(), stderr);
        return dhs::app::exit_usage;
    }
    const std::string name = args[i];
    std::vector<std::string> rest(args.begin() + static_cast<long>(i) + 1, args.end());

    const dhs::app::Command* cmd = nullptr;
    for (const auto& c : dhs::app::commands())
        if (name == c.name) cmd = &c;
    if (cmd == nullptr) {
        if (rank0) std::fprintf(stderr, "dhs: unknown command '%s' (see dhs --help)\n", name.c_str());
        return dhs::app::exit_usage;
    }

    try {
        dhs::log::init({.rank = world.rank(), .size = world.size(),
                        .level = ctx.log_level.empty() ? "info" : ctx.log_level, .log_dir = "", .console = true});
        if (const char* tuned = std::getenv("DHS_HEAP_TUNED"); tuned != nullptr && rank0)
            spdlog::debug("heap tuning: re-executed with GLIBC_TUNABLES={}", std::getenv("GLIBC_TUNABLES") ? std::getenv("GLIBC_TUNABLES") : "");
        int rc = cmd->run(rest, ctx);
        dhs::log::flush();
        return rc;
    } catch (const dhs::app::UsageError& e) {
        if (rank0) std::fprintf(stderr, "dhs %s: %s (see dhs %s --help)\n", name.c_str(), e.what(), name.c_str());
        return dhs::app::exit_usage;
    } catch (const dhs::ConfigError& e) {
        // Every rank read the same configuration, so every rank fails here alike: no abort.
        if (rank0) std::fprintf(stderr, "dhs %s: error: %s\n", name.c_str(), e.what());
        return dhs::app::exit_usage;
    } catch (const dhs::CollectiveError& e) {
        // Every rank failed here alike (a stage's plan): no rank waits in a collective, no abort.
        spdlog::error("dhs {}: {}", name, e.what());
        dhs::log::flush();
        return dhs::app::exit_failure;
    } catch (const std::exception& e) {
        spdlog::error("dhs {}: {}", name, e.what());
        dhs::log::flush();
        if (world.size() > 1) world.abort(dhs::app::exit_failure);  // other ranks may wait in a collective
        return dhs::app::exit_failure;
    }
}

}  // namespace dhs::app
