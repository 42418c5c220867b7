// Progress of a long step on rank 0: units done/total, rows/s, ETA and failures so far; a
// live bar when stderr is a terminal, a log line every `interval_s` seconds otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace dhs::engine {

class Progress {
public:
    /// @param tty force the live bar (true) or log lines (false); default: isatty(stderr)
    Progress(std::string label, std::int64_t total, double interval_s, int tty = -1);
    /// @brief Records the totals so far; prints when due. Rank-local (call on rank 0).
    void update(std::int64_t done, std::int64_t failed, std::uint64_t rows);
    /// @brief Prints the final line.
    void finish();
    /// @brief The line update() prints, for tests and logs.
    std::string line() const;

private:
    std::string label_;
    std::int64_t total_, done_ = 0, failed_ = 0;
    std::uint64_t rows_ = 0;
    double interval_s_;
    bool tty_;
    std::chrono::steady_clock::time_point start_, last_;
};

/// @brief "1h02m03s" / "2m05s" / "7s".
std::string format_duration(double seconds);

}  // namespace dhs::engine
