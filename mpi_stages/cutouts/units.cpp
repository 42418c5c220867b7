// The cutout stage's work units (see cutouts.hpp): targets grouped by home brick, bricks in
// BRICKID order, consecutive bricks up to cutouts.unit_targets targets per unit. The search
// stage plans its units the same way.
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "mpi_stages/cutouts/cutouts.hpp"

namespace dhs::stages::cutouts {

std::vector<engine::WorkUnit> brick_units(const Params& p, std::vector<TargetRef> refs) {
    std::stable_sort(refs.begin(), refs.end(), [](const auto& a, const auto& b) {
        if (a.brickid != b.brickid) return a.brickid < b.brickid;
        if (a.set != b.set) return a.set < b.set;
        return a.row < b.row;
    });
    struct BrickTargets {
        std::string name;
        nlohmann::json targets = nlohmann::json::array();
        std::int64_t n = 0;
    };
    std::vector<BrickTargets> bricks;
    for (const auto& r : refs) {
        if (bricks.empty() || bricks.back().name != r.brick) bricks.push_back({r.brick});
        bricks.back().targets.push_back({r.set, r.row});
        ++bricks.back().n;
    }
    const std::size_t files = 3 * p.bands.size() + 1;
    std::vector<engine::WorkUnit> units;
    for (std::size_t i = 0; i < bricks.size();) {
        nlohmann::json list = nlohmann::json::array();
        std::int64_t n = 0;
        const std::size_t first = i;
        while (i < bricks.size() && (i == first || n + bricks[i].n <= p.unit_targets)) {
            list.push_back({{"brick", bricks[i].name}, {"targets", bricks[i].targets}});
            n += bricks[i].n;
            ++i;
        }
        engine::WorkUnit u;
        u.index = static_cast<std::int64_t>(units.size());
        u.kind = "bricks";
        u.id = i - first == 1 ? bricks[first].name
                              : fmt::format("{}..{} ({} bricks)", bricks[first].name, bricks[i - 1].name, i - first);
        u.payload = nlohmann::json{{"bricks", list}}.dump();
        // Opening a brick's files costs about as much as a few stamps.
        u.cost = static_cast<double>(n) + 4.0 * static_cast<double>(i - first);
        u.rows_out = n + static_cast<std::int64_t>(i - first);
        // ~2x2 tiles per stamp and file, compressed to ~1 byte per pixel for 4-byte pixels.
        u.bytes_in = n * static_cast<std::int64_t>(files) * 4 * 10000;
        units.push_back(std::move(u));
    }
    return units;
}

std::vector<std::pair<int, std::int64_t>> unit_targets(const std::string& payload) {
    std::vector<std::pair<int, std::int64_t>> refs;
    const auto j = nlohmann::json::parse(payload);  // kept alive: the loop walks into it
    for (const auto& b : j.at("bricks"))
        for (const auto& t : b.at("targets")) refs.emplace_back(t.at(0).get<int>(), t.at(1).get<std::int64_t>());
    return refs;
}

}  // namespace dhs::stages::cutouts
