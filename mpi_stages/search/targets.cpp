// The search's targets: every row of the searched sample groups (cutouts::list_targets) that
// passes the cuts on the sample's own columns (mag_z, type, lrg_vN, healpix_64).
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "core/error.hpp"
#include "core/hdf5/result_file.hpp"
#include "mpi_stages/search/search.hpp"

namespace dhs::stages::search {

namespace {

// Which rows of one sample group pass the cuts; an absent column needed by a cut is an error.
std::vector<char> passing_rows(const hdf5::ResultReader& in, const std::string& set, const TargetCuts& cuts) {
    const std::string g = "/" + set;
    const auto rows = static_cast<std::size_t>(in.rows(g + "/ra"));
    std::vector<char> keep(rows, 1);
    const auto column = [&](const std::string& name, const char* key) {
        if (!in.exists(g + "/" + name))
            throw DataError(in.path(), g + "/" + name, fmt::format("needed by {}, but the group has no such column", key));
        return in.read_column(g + "/" + name);
    };
    if (cuts.max_mag_z < 99) {
        const auto mag = column("mag_z", "search.max_mag_z").as<double>();
        for (std::size_t i = 0; i < rows; ++i) keep[i] &= mag[i] < cuts.max_mag_z;  // NaN (no flux) fails
    }
    if (!cuts.types.empty()) {
        const std::set<std::string> allowed(cuts.types.begin(), cuts.types.end());
        const Column type = column("type", "search.types");
        const auto t = type.strings();
        for (std::size_t i = 0; i < rows; ++i) keep[i] &= allowed.count(t[i]) > 0;
    }
    if (!cuts.lrg_variant.empty()) {
        const auto flag = column("lrg_" + cuts.lrg_variant, "search.lrg_variant").as<int>();
        for (std::size_t i = 0; i < rows; ++i) keep[i] &= flag[i] != 0;
    }
    if (!cuts.healpix_64.empty()) {
        const std::set<std::int64_t> cells(cuts.healpix_64.begin(), cuts.healpix_64.end());
        const auto pix = column("healpix_64", "search.healpix_64").as<std::int64_t>();
        for (std::size_t i = 0; i < rows; ++i) keep[i] &= cells.count(pix[i]) > 0;
    }
    return keep;
}

}  // namespace

std::vector<cutouts::TargetRef> searched_targets(const Params& p) {
    auto refs = cutouts::list_targets(p.cut);
    const hdf5::ResultReader in(p.cut.sample_file);
    std::vector<std::vector<char>> keep;
    for (const auto& set : p.cut.target_sets) keep.push_back(passing_rows(in, set, p.cuts));
    std::erase_if(refs, [&](const cutouts::TargetRef& r) {
        return !keep[static_cast<std::size_t>(r.set)][static_cast<std::size_t>(r.row)];
    });
    return refs;
}

}  // namespace dhs::stages::search
