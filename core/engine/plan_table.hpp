// The table `dhs plan` prints: one line per stage (units, bytes read, rows out, bytes written,
// memory per rank), marked where the figures are estimated rather than planned, and the rows
// per output group with what each estimate rests on beneath.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/engine/stage.hpp"

namespace dhs::engine {

/// @brief "12.3 MiB" (binary units, one decimal).
std::string human_bytes(double bytes);
/// @brief "114M", "421k", "77.0k", "385": a count in three significant figures.
std::string human_count(double n);

/// @brief Collects the stages' lines; text() is the table.
class PlanTable {
public:
    /// @param in_flight units in flight per rank; @param gather_buffer bytes of the gather buffer.
    PlanTable(int ranks, std::string run_dir, int in_flight, std::int64_t gather_buffer);
    /// @brief A unit stage: its estimate and the bytes per row of each output group.
    void add(const std::string& stage, const StageEstimate& e, const std::vector<OutputGroup>& groups);
    /// @brief A stage neither planned nor estimated, with why.
    void add_unplannable(const std::string& stage, const std::string& why);
    /// @brief A collective stage's own lines (rank groups, steps).
    void add_collective(const std::string& stage, const std::string& text);
    std::string text() const;
    /// @brief The same as JSON: {"ranks", "run_dir", "stages": [{"stage", "status" (planned,
    /// estimated, collective, unplannable), "units", "bytes_in", "rows": {group: n}, "bytes_out",
    /// "memory_per_rank", "basis" or "text"}]}, for scripts (scripts/project_dr10.py).
    const nlohmann::json& json() const { return json_; }

private:
    std::string head_, body_;
    nlohmann::json json_;
    int in_flight_;
    std::int64_t gather_buffer_;
    bool any_estimate_ = false;
};

}  // namespace dhs::engine
