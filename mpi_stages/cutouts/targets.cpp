// Targets of the cutout stage: the rows of the sample file's target sets, their home bricks
// (for planning) and their columns (for cutting).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.hpp"
#include "core/hdf5/result_file.hpp"
#include "kernels/geometry/brick_geometry.hpp"
#include "mpi_stages/cutouts/cutouts.hpp"

namespace dhs::stages::cutouts {

namespace {

std::string group_of(const std::string& set) { return "/" + set; }

void require_columns(const hdf5::ResultReader& r, const std::string& set) {
    if (!r.exists(group_of(set)))
        throw Error(fmt::format("sample file {} has no group /{} (named by cutouts.target_sets)", r.path(), set));
    for (const char* c : kRequiredColumns)
        if (!r.exists(group_of(set) + "/" + c))
            throw Error(fmt::format("sample file {}: group /{} has no column '{}'", r.path(), set, c));
}

/// The home brick of a row: the sample's brickname when it is a real brick, else the brick
/// holding (ra, dec). Throws DataError for a non-finite position.
kernels::Brick home_brick(const std::string& file, const std::string& set, std::int64_t row, const std::string& name,
                          double ra, double dec) {
    const auto& wall = kernels::brick_wall();
    if (!name.empty())
        if (auto b = wall.brick_by_name(name)) return *b;
    if (!std::isfinite(ra) || !std::isfinite(dec))
        throw DataError(file, fmt::format("/{} row {}", set, row), fmt::format("ra/dec not finite ({}, {})", ra, dec));
    return wall.brick_at(ra, dec);
}

}  // namespace

std::vector<TargetRef> list_targets(const Params& p) {
    hdf5::ResultReader r(p.sample_file);
    std::vector<TargetRef> out;
    for (int s = 0; s < static_cast<int>(p.target_sets.size()); ++s) {
        const std::string& set = p.target_sets[static_cast<std::size_t>(s)];
        require_columns(r, set);
        const std::string g = group_of(set);
        const auto ra = r.read_column(g + "/ra").as<double>();
        const auto dec = r.read_column(g + "/dec").as<double>();
        std::vector<std::string> names;
        if (r.exists(g + "/brickname")) names = r.read_column(g + "/brickname").strings();
        if (!names.empty() && names.size() != ra.size())
            throw DataError(p.sample_file, g, "brickname and ra have different lengths");
        for (std::size_t i = 0; i < ra.size(); ++i) {
            const auto b = home_brick(p.sample_file, set, static_cast<std::int64_t>(i), names.empty() ? "" : names[i],
                                      ra[i], dec[i]);
            out.push_back({s, static_cast<std::int64_t>(i), b.brickid, b.name});
        }
    }
    return out;
}

std::vector<Target> read_targets(const Params& p, const std::vector<std::pair<int, std::int64_t>>& refs) {
    std::vector<Target> out(refs.size());
    if (refs.empty()) return out;
    hdf5::ResultReader r(p.sample_file);
    // Per set: the rows wanted (sorted, unique) and where each lands in `out`.
    std::map<int, std::vector<std::size_t>> by_set;
    for (std::size_t i = 0; i < refs.size(); ++i) by_set[refs[i].first].push_back(i);
    for (const auto& [s, idx] : by_set) {
        const std::string& set = p.target_sets.at(static_cast<std::size_t>(s));
        require_columns(r, set);
        const std::string g = group_of(set);
        std::vector<std::uint64_t> rows;
        for (auto i : idx) rows.push_back(static_cast<std::uint64_t>(refs[i].second));
        std::sort(rows.begin(), rows.end());
        rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
        auto position = [&](std::int64_t row) {
            return static_cast<std::size_t>(std::lower_bound(rows.begin(), rows.end(), static_cast<std::uint64_t>(row)) -
                                            rows.begin());
        };
        auto has = [&](const char* c) { return r.exists(g + "/" + c); };
        const auto gid = r.read_rows(g + "/galaxy_id", rows).strings();
        const auto ra = r.read_rows(g + "/ra", rows).as<double>();
        const auto dec = r.read_rows(g + "/dec", rows).as<double>();
        std::vector<std::string> brick, type, split;
        std::vector<std::int32_t> nobs;
        std::vector<float> flux;
        if (has("brickname")) brick = r.read_rows(g + "/brickname", rows).strings();
        if (has("type")) type = r.read_rows(g + "/type", rows).strings();
        if (has("split")) split = r.read_rows(g + "/split", rows).strings();
        if (has("nobs_z")) nobs = r.read_rows(g + "/nobs_z", rows).as<std::int32_t>();
        if (has("flux_r")) flux = r.read_rows(g + "/flux_r", rows).as<float>();
        for (auto i : idx) {
            const std::size_t k = position(refs[i].second);
            Target& t = out[i];
            t.set = set;
            t.row = refs[i].second;
            t.galaxy_id = gid[k];
            t.ra = ra[k];
            t.dec = dec[k];
            t.home_brick = home_brick(p.sample_file, set, t.row, brick.empty() ? "" : brick[k], t.ra, t.dec).name;
            t.type = type.empty() ? "" : type[k];
            t.split = split.empty() ? "" : split[k];
            t.nobs_z = nobs.empty() ? -1 : nobs[k];
            t.flux_r = flux.empty() ? kNaN : flux[k];
        }
    }
    return out;
}

}  // namespace dhs::stages::cutouts
