// PlanTable (see plan_table.hpp).
#include "core/engine/plan_table.hpp"

#include <fmt/format.h>

#include <cmath>

#include "core/table/table.hpp"

namespace dhs::engine {

std::string human_bytes(double b) {
    const char* u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int i = 0;
    while (b >= 1024 && i < 5) {
        b /= 1024;
        ++i;
    }
    return fmt::format("{:.1f} {}", b, u[i]);
}

std::string human_count(double n) {
    const double a = std::fabs(n);
    if (a < 1e4) return fmt::format("{:.0f}", n);
    if (a < 1e6) return fmt::format("{:.3g}k", n / 1e3);
    if (a < 1e9) return fmt::format("{:.3g}M", n / 1e6);
    return fmt::format("{:.3g}G", n / 1e9);
}

namespace {
// Bytes one row of `g` takes in the stage file (a string as ~24 bytes).
double row_bytes(const OutputGroup& g) {
    double b = 0;
    for (const auto& c : g.schema.columns())
        b += static_cast<double>(c.cell_size() * (c.dtype() == DType::string ? 24 : dtype_size(c.dtype())));
    return b;
}
}  // namespace

PlanTable::PlanTable(int ranks, std::string run_dir, int in_flight, std::int64_t gather_buffer)
    : head_(fmt::format("plan for {} ranks into {}\n{:<12} {:>10} {:>12} {:>10} {:>12} {:>14}\n", ranks, run_dir,
                        "stage", "units", "read", "rows out", "write", "memory/rank")),
      json_({{"ranks", ranks}, {"run_dir", run_dir}, {"stages", nlohmann::json::array()}}),
      in_flight_(in_flight),
      gather_buffer_(gather_buffer) {}

void PlanTable::add(const std::string& stage, const StageEstimate& e, const std::vector<OutputGroup>& groups) {
    double rows = 0, bytes_out = 0;
    std::string detail;
    for (const auto& [group, n] : e.rows) {
        rows += n;
        for (const auto& g : groups)
            if (g.name == group) bytes_out += n * row_bytes(g);
        detail += fmt::format("{}{} {}", detail.empty() ? "" : ", ", group, human_count(n));
    }
    if (e.bytes_out >= 0) bytes_out = e.bytes_out;
    const std::string mark = e.estimated ? "~" : "";
    any_estimate_ = any_estimate_ || e.estimated;
    const double memory = static_cast<double>(e.memory_per_unit) * in_flight_ + static_cast<double>(gather_buffer_);
    body_ += fmt::format("{:<12} {:>10} {:>12} {:>10} {:>12} {:>14}\n", stage, mark + human_count(e.units),
                         mark + human_bytes(e.bytes_in), mark + human_count(rows), mark + human_bytes(bytes_out),
                         mark + human_bytes(memory));
    body_ += fmt::format("{:<12}   rows: {}\n", "", detail.empty() ? "none" : detail);
    json_["stages"].push_back({{"stage", stage}, {"status", e.estimated ? "estimated" : "planned"}, {"units", e.units},
                               {"bytes_in", e.bytes_in}, {"rows", e.rows}, {"bytes_out", bytes_out},
                               {"memory_per_rank", memory}, {"basis", e.basis}});
    if (e.basis != "the plan") body_ += fmt::format("{:<12}   {}: {}\n", "", e.estimated ? "estimated" : "from", e.basis);
}

void PlanTable::add_unplannable(const std::string& stage, const std::string& why) {
    body_ += fmt::format("{:<12} not plannable yet: {}\n", stage, why);
    json_["stages"].push_back({{"stage", stage}, {"status", "unplannable"}, {"text", why}});
}

void PlanTable::add_collective(const std::string& stage, const std::string& text) {
    body_ += fmt::format("{:<12} collective stage (rank groups, no work units):\n{}", stage, text);
    json_["stages"].push_back({{"stage", stage}, {"status", "collective"}, {"text", text}});
}

std::string PlanTable::text() const {
    std::string out = head_ + body_;
    out += "memory/rank = units in flight (run.units_in_flight) x the largest unit's estimate + the gather buffer "
           "(run.gather_buffer_mb)\n";
    if (any_estimate_)
        out += "~ = estimated: the stage's inputs are outputs of earlier stages that do not exist yet, so its figures "
               "follow from the config and the earlier stages' figures (the line beneath says how); run the earlier "
               "stages for a plan\n";
    return out;
}

}  // namespace dhs::engine
