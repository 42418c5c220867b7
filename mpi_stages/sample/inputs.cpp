// The lens and confuser inputs of the sampling stage, read and indexed once per process and
// shared by every unit that rank runs (see sample.hpp: load_inputs).
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "core/error.hpp"
#include "core/util/sha256.hpp"
#include "mpi_stages/sample/sample.hpp"

namespace fs = std::filesystem;

namespace dhs::stages::sample {

namespace {

std::string file_sha256(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(fmt::format("sample: cannot open '{}'", path));
    std::stringstream s;
    s << in.rdbuf();
    return util::sha256_hex(s.str());
}

std::string stamp(const std::string& path) {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (ec) throw Error(fmt::format("sample: cannot read '{}': {}", path, ec.message()));
    const auto t = fs::last_write_time(path, ec).time_since_epoch().count();
    return fmt::format("{}:{}:{}", path, size, t);
}

// The cells (nside 128 and 8192) that some point's disc of `radius_arcsec` touches (plus a hair).
Reach reach_cells(const std::vector<double>& ra, const std::vector<double>& dec, double radius_arcsec) {
    const kernels::HealpixNest coarse(kSplitNside), fine(kFineNside);
    Reach r;
    r.coarse.assign(static_cast<std::size_t>(coarse.num_cells()), 0);
    const double r_deg = radius_arcsec / 3600.0 * (1.0 + 1e-6) + 1e-9;
    std::vector<std::int64_t> cells;
    for (std::size_t i = 0; i < ra.size(); ++i)
        for (auto c : fine.disc_cells(ra[i], dec[i], r_deg)) {
            cells.push_back(c);
            r.coarse[static_cast<std::size_t>(kernels::nest_parent(c, kFineLevels128))] = 1;
        }
    r.set_fine(cells);
    return r;
}

std::shared_ptr<const Inputs> build(const Params& p) {
    auto in = std::make_shared<Inputs>();
    in->catalog = read_lenscat(p.lens_catalog);
    in->lens_sha256 = file_sha256(p.lens_catalog);
    in->lenses = collapse_duplicates(in->catalog, p.duplicate_radius_arcsec);
    std::vector<kernels::UnitVector> v;
    std::vector<double> ra, dec;
    for (const auto& l : in->lenses) {
        v.push_back(kernels::unit_vector(l.ra, l.dec));
        ra.push_back(l.ra);
        dec.push_back(l.dec);
    }
    in->lens_reach = reach_cells(ra, dec, std::max(p.exclusion_radius_arcsec, p.match_radius_arcsec));
    in->lens_index = kernels::SkyIndex(std::move(v));
    if (p.n2_by_catalog) {
        in->confusers = read_position_catalog(p.n2_catalog);
        in->confuser_sha256 = file_sha256(p.n2_catalog);
        std::vector<kernels::UnitVector> w;
        std::vector<double> cra, cdec;
        for (const auto& c : in->confusers) {
            w.push_back(kernels::unit_vector(c.ra, c.dec));
            cra.push_back(c.ra);
            cdec.push_back(c.dec);
        }
        in->confuser_reach = reach_cells(cra, cdec, p.n2_match_radius_arcsec);
        in->confuser_index = kernels::SkyIndex(std::move(w));
    }
    return in;
}

}  // namespace

void Reach::set_fine(const std::vector<std::int64_t>& cells) {
    std::size_t size = 16;
    while (size < 2 * cells.size()) size *= 2;
    shift = 64;
    for (std::size_t s = size; s > 1; s /= 2) --shift;
    fine.assign(size, -1);
    const std::size_t mask = size - 1;
    for (auto c : cells) {
        std::size_t i = slot(c);
        while (fine[i] >= 0 && fine[i] != c) i = (i + 1) & mask;
        fine[i] = c;
    }
}

std::shared_ptr<const Inputs> load_inputs(const Params& p) {
    static std::mutex m;
    static std::map<std::string, std::shared_ptr<const Inputs>> cache;
    const std::string key = fmt::format("{}|{}|{}|{}|{}|{}", stamp(p.lens_catalog),
                                        p.n2_by_catalog ? stamp(p.n2_catalog) : std::string("-"),
                                        p.exclusion_radius_arcsec, p.match_radius_arcsec, p.duplicate_radius_arcsec,
                                        p.n2_match_radius_arcsec);
    std::lock_guard lock(m);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
    auto in = build(p);
    if (cache.size() > 4) cache.clear();  // a long-lived process with many configs: keep memory bounded
    cache.emplace(key, in);
    return in;
}

}  // namespace dhs::stages::sample
