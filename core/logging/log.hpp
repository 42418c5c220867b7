// Logging for every rank through spdlog: each line carries the rank ("[rank 3/8]"); each
// rank writes its own file RUN_DIR/logs/rank-NNNN.log; rank 0 also writes to the console
// (stderr), and other ranks write their warnings and errors there too, so nothing serious
// is hidden. Call dhs::log::init once per process; then use spdlog::info(...) etc.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace dhs::log {

struct Options {
    int rank = 0;
    int size = 1;
    std::string level = "info";  ///< trace, debug, info, warn, error
    std::string log_dir;         ///< where rank-NNNN.log goes; empty: console only
    bool console = true;         ///< rank 0's console sink (other ranks: warnings and up)
};

/// @brief Installs the default logger for this rank. Rank-local; call again to re-target
/// (e.g. once the run directory is known). @throws Error for a bad level or unwritable dir.
void init(const Options& options);

/// @brief Parses a level name. @throws Error naming the accepted names.
spdlog::level::level_enum parse_level(const std::string& name);

/// @brief Path of this rank's log file under `log_dir`.
std::string rank_log_path(const std::string& log_dir, int rank);

/// @brief Flushes every sink (call before exit and before aborting).
void flush();

}  // namespace dhs::log
