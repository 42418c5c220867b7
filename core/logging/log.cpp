// dhs::log: per-rank spdlog set-up (see log.hpp).
#include "core/logging/log.hpp"

#include <fmt/format.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <filesystem>

#include "core/error.hpp"

namespace dhs::log {

spdlog::level::level_enum parse_level(const std::string& name) {
    if (name == "trace") return spdlog::level::trace;
    if (name == "debug") return spdlog::level::debug;
    if (name == "info") return spdlog::level::info;
    if (name == "warn" || name == "warning") return spdlog::level::warn;
    if (name == "error") return spdlog::level::err;
    throw Error(fmt::format("unknown log level '{}' (use trace, debug, info, warn or error)", name));
}

std::string rank_log_path(const std::string& log_dir, int rank) {
    return (std::filesystem::path(log_dir) / fmt::format("rank-{:04d}.log", rank)).string();
}

void init(const Options& o) {
    auto level = parse_level(o.level);
    std::vector<spdlog::sink_ptr> sinks;
    if (o.console) {
        auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
        console->set_level(o.rank == 0 ? level : std::max(level, spdlog::level::warn));
        sinks.push_back(console);
    }
    if (!o.log_dir.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(o.log_dir, ec);
        if (ec) throw Error(fmt::format("cannot create log directory '{}': {}", o.log_dir, ec.message()));
        try {
            auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(rank_log_path(o.log_dir, o.rank), false);
            file->set_level(level);
            sinks.push_back(file);
        } catch (const spdlog::spdlog_ex& e) {
            throw Error(fmt::format("cannot open log file in '{}': {}", o.log_dir, e.what()));
        }
    }
    auto logger = std::make_shared<spdlog::logger>("dhs", sinks.begin(), sinks.end());
    logger->set_level(level);
    // The rank is part of the pattern itself, so no line can be written without it.
    int width = static_cast<int>(std::to_string(std::max(o.size - 1, 0)).size());
    logger->set_pattern(fmt::format("%Y-%m-%d %H:%M:%S.%e [rank {:>{}}/{}] [%^%l%$] %v", o.rank, width, o.size));
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(logger);
}

void flush() {
    if (auto l = spdlog::default_logger()) l->flush();
}

}  // namespace dhs::log
