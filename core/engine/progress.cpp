// Progress reporting (see progress.hpp).
#include "core/engine/progress.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>

namespace dhs::engine {

std::string format_duration(double s) {
    if (!(s >= 0) || s > 1e8) return "?";
    auto t = static_cast<long long>(s + 0.5);
    if (t >= 3600) return fmt::format("{}h{:02d}m{:02d}s", t / 3600, (t / 60) % 60, t % 60);
    if (t >= 60) return fmt::format("{}m{:02d}s", t / 60, t % 60);
    return fmt::format("{}s", t);
}

Progress::Progress(std::string label, std::int64_t total, double interval_s, int tty)
    : label_(std::move(label)),
      total_(total),
      interval_s_(interval_s),
      tty_(tty < 0 ? ::isatty(STDERR_FILENO) == 1 : tty == 1),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

std::string Progress::line() const {
    double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    double frac = total_ > 0 ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
    double rate_units = el > 0 ? static_cast<double>(done_) / el : 0;
    double rate_rows = el > 0 ? static_cast<double>(rows_) / el : 0;
    std::string eta = done_ > 0 ? format_duration(el * (1.0 - frac) / std::max(frac, 1e-12)) : "?";
    return fmt::format("{}: {}/{} units ({:.1f}%), {:.3g} rows/s, {:.3g} units/s, elapsed {}, ETA {}, {} quarantined",
                       label_, done_, total_, 100.0 * frac, rate_rows, rate_units, format_duration(el), eta, failed_);
}

void Progress::update(std::int64_t done, std::int64_t failed, std::uint64_t rows) {
    done_ = done;
    failed_ = failed;
    rows_ = rows;
    auto now = std::chrono::steady_clock::now();
    double since = std::chrono::duration<double>(now - last_).count();
    if (tty_) {
        if (since < 0.2 && done_ < total_) return;
        int width = 30;
        int filled = total_ > 0 ? static_cast<int>(width * done_ / total_) : width;
        std::fprintf(stderr, "\r[%s%s] %s", std::string(static_cast<std::size_t>(filled), '#').c_str(),
                     std::string(static_cast<std::size_t>(width - filled), '.').c_str(), line().c_str());
        std::fflush(stderr);
        last_ = now;
    } else if (since >= interval_s_) {
        spdlog::info("{}", line());
        last_ = now;
    }
}

void Progress::finish() {
    if (tty_) std::fputs("\n", stderr);
    spdlog::info("{}", line());
}

}  // namespace dhs::engine
