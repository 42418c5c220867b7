// What `dhs plan` expects the sampling stage to write, before it runs: the plan's sweep rows
// times the pool and host rates of a few probe slices (the first rows of up to eight units,
// processed as the stage would), the positives as the Tier-A/B lenses inside the sweep files'
// blocks, the negatives as negatives_per_positive of them, and the bricks of those blocks (the
// survey's footprint on the brick wall) for the cutouts stage's estimate.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "kernels/geometry/brick_geometry.hpp"
#include "mpi_stages/sample/sample.hpp"

namespace dhs::stages::sample {

namespace {

constexpr std::int64_t kProbeRows = 20000;
constexpr std::size_t kProbes = 8;

struct Rates {
    double probed = 0;               // sweep rows processed
    std::map<std::string, double> rows;  // output rows per group
};

// The first kProbeRows rows of up to kProbes units spread over the plan.
Rates probe(const std::vector<engine::WorkUnit>& plan, const Params& p) {
    Rates r;
    const std::size_t n = std::min(kProbes, plan.size());
    for (std::size_t k = 0; k < n; ++k) {
        engine::WorkUnit u = plan[k * plan.size() / n];
        auto j = nlohmann::json::parse(u.payload);
        const std::int64_t begin = j.at("begin"), end = j.at("end");
        if (end < 0) continue;  // unreadable: it will be quarantined
        const std::int64_t last = std::min(end, begin + kProbeRows);
        j["end"] = last;
        u.payload = j.dump();
        for (const auto& [group, t] : process_unit(u, p)) r.rows[group] += static_cast<double>(t.num_rows());
        r.probed += static_cast<double>(last - begin);
    }
    return r;
}

// The sweep blocks of the planned files (nullopt for a name that is not a sweep block's).
std::vector<kernels::SweepBlock> blocks_of(const std::vector<engine::WorkUnit>& plan, bool& all_named) {
    std::set<std::string> seen;
    std::vector<kernels::SweepBlock> blocks;
    all_named = true;
    for (const auto& u : plan) {
        const std::string path = nlohmann::json::parse(u.payload).at("path");
        const std::string name = std::filesystem::path(path).filename().string();
        if (!seen.insert(name).second) continue;
        if (auto b = kernels::parse_sweep_name(name))
            blocks.push_back(*b);
        else
            all_named = false;
    }
    return blocks;
}

bool inside(const kernels::SweepBlock& b, double ra, double dec) {
    return ra >= b.ra_min && ra < b.ra_max && dec >= b.dec_min && dec < b.dec_max;
}

// Bricks whose centre lies in one of the blocks.
double footprint_bricks(const std::vector<kernels::SweepBlock>& blocks) {
    const auto& wall = kernels::brick_wall();
    std::set<std::int64_t> ids;
    for (const auto& b : blocks)
        for (const auto& brick : wall.bricks_touching(b.ra_min, b.ra_max, b.dec_min, b.dec_max))
            if (inside(b, brick.ra, brick.dec)) ids.insert(brick.brickid);
    return static_cast<double>(ids.size());
}

}  // namespace

engine::StageEstimate estimate(const Params& p, const std::vector<engine::WorkUnit>& plan) {
    engine::StageEstimate e;
    double sweep_rows = 0;
    for (const auto& u : plan) {
        sweep_rows += static_cast<double>(u.rows_out);
        e.bytes_in += static_cast<double>(u.bytes_in);
    }
    e.units = static_cast<double>(plan.size());
    const Rates r = probe(plan, p);
    const double scale = r.probed > 0 ? sweep_rows / r.probed : 0.0;
    for (const char* g : {"pool", "hosts"}) e.rows[g] = scale * (r.rows.count(g) ? r.rows.at(g) : 0.0);

    bool all_named = false;
    const auto blocks = blocks_of(plan, all_named);
    const auto inputs = load_inputs(p);
    double lenses = 0;
    for (const auto& l : inputs->lenses) {
        if (l.tier.empty()) continue;
        const bool in = !all_named || std::any_of(blocks.begin(), blocks.end(),
                                                  [&](const auto& b) { return inside(b, l.ra, l.dec); });
        if (in) ++lenses;
    }
    e.rows["positives"] = lenses;
    const double need = lenses * static_cast<double>(p.negatives_per_positive);
    e.rows["negatives"] = std::min(e.rows["pool"], need);
    if (all_named) e.quantities["footprint_bricks"] = footprint_bricks(blocks);
    e.basis = fmt::format("pool and hosts at the rates of {:.0f} probed sweep rows ({:.3g} and {:.3g} per row); "
                          "positives = the {:.0f} Tier-A/B lenses {}; negatives = {} per positive",
                          r.probed, r.probed > 0 ? e.rows["pool"] / sweep_rows : 0.0,
                          r.probed > 0 ? e.rows["hosts"] / sweep_rows : 0.0, lenses,
                          all_named ? fmt::format("inside the {} sweep blocks", blocks.size()) : "of the catalog",
                          p.negatives_per_positive);
    // The draw is per stratum: a pool not much larger than the need runs short in some strata.
    if (e.rows["pool"] < 10 * need)
        e.basis += fmt::format(" (the pool is under 10x the {:.0f} negatives needed: strata may run short, so fewer "
                               "negatives are likely)", need);
    return e;
}

}  // namespace dhs::stages::sample
