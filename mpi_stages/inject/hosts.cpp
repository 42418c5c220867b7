// The injection hosts: sample.h5:/hosts matched by galaxy_id to their stamps in
// cutouts.h5:/stamps (target_set "hosts"), binned by PSF and depth for the design; the template
// bank's size; the per-rank context (hosts + designer) built once per run.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include "core/error.hpp"
#include "core/hdf5/result_file.hpp"
#include "kernels/sampling/photometry.hpp"
#include "mpi_stages/common/stamp_geometry.hpp"
#include "mpi_stages/inject/inject.hpp"

namespace dhs::stages::inject {

namespace inj = kernels::injection;

namespace {

const char* kBands[3] = {"g", "r", "z"};

void require_file(const std::string& path, const std::string& what) {
    if (!std::filesystem::exists(path))
        throw DataError(path, "file", "the " + what + " is missing (run the stage that writes it first, or set the "
                                      "inject.*_file key)");
}

std::vector<double> reals(const hdf5::ResultReader& r, const std::string& object) {
    if (!r.exists(object)) throw DataError(r.path(), object, "required dataset is missing");
    return r.read_column(object).as<double>();
}

std::vector<std::string> strings(const hdf5::ResultReader& r, const std::string& object) {
    if (!r.exists(object)) throw DataError(r.path(), object, "required dataset is missing");
    return r.read_column(object).strings();
}

}  // namespace

HostCatalog load_hosts(const Params& p) {
    require_file(p.sample_file, "hosts file (sample.h5)");
    require_file(p.cutouts_file, "host stamps file (cutouts.h5)");
    const hdf5::ResultReader sample(p.sample_file), cut(p.cutouts_file);
    if (!sample.exists("/hosts")) throw DataError(p.sample_file, "/hosts", "no injection-host group");
    if (!cut.exists("/stamps")) throw DataError(p.cutouts_file, "/stamps", "no stamp group");

    // Stamps: invvar shaped as the image (host_stamp_size read that), the row of each host's stamp.
    if (!cut.exists("/stamps/invvar")) throw DataError(p.cutouts_file, "/stamps/invvar", "required dataset is missing");
    const auto side = static_cast<std::size_t>(p.stamp_size);
    if (cut.read_column("/stamps/invvar", 0, 0).shape() != std::vector<std::size_t>{3, side, side})
        throw DataError(p.cutouts_file, "/stamps/invvar",
                        "not shaped as /stamps/image (3, " + std::to_string(side) + ", " + std::to_string(side) + ")");
    const auto stamp_ids = strings(cut, "/stamps/galaxy_id");
    std::vector<std::string> target_set;
    if (cut.exists("/stamps/target_set")) target_set = strings(cut, "/stamps/target_set");
    if (!target_set.empty() && target_set.size() != stamp_ids.size())
        throw DataError(p.cutouts_file, "/stamps/target_set", "column differs in length from galaxy_id");
    std::unordered_map<std::string, std::uint64_t> stamp_of;
    for (std::size_t i = 0; i < stamp_ids.size(); ++i)
        if (target_set.empty() || target_set[i] == "hosts") stamp_of.try_emplace(stamp_ids[i], i);
    std::array<std::vector<double>, 3> cut_psf;
    for (int b = 0; b < 3; ++b) {
        const std::string name = std::string("/stamps/psfsize_") + kBands[b];
        if (cut.exists(name)) cut_psf[static_cast<std::size_t>(b)] = cut.read_column(name).as<double>();
    }

    // Hosts.
    const auto gid = strings(sample, "/hosts/galaxy_id");
    const std::size_t n = gid.size();
    const auto brick = strings(sample, "/hosts/brickname");
    const auto ra = reals(sample, "/hosts/ra"), dec = reals(sample, "/hosts/dec");
    std::vector<std::string> split(n, "");
    if (sample.exists("/hosts/split")) split = strings(sample, "/hosts/split");
    std::array<std::vector<double>, 3> mag, psf;
    for (int b = 0; b < 3; ++b) {
        const auto k = static_cast<std::size_t>(b);
        const std::string m = std::string("/hosts/mag_") + kBands[b], f = std::string("/hosts/flux_") + kBands[b];
        if (sample.exists(m)) {
            mag[k] = reals(sample, m);
        } else {
            auto flux = reals(sample, f);  // names the missing flux column when neither exists
            for (double& v : flux) v = kernels::mag_from_nanomaggies(v);
            mag[k] = std::move(flux);
        }
        const std::string ps = std::string("/hosts/psfsize_") + kBands[b];
        if (sample.exists(ps)) psf[k] = reals(sample, ps);
    }
    const auto psfdepth_r = reals(sample, "/hosts/psfdepth_r");
    for (const std::size_t len : {brick.size(), split.size(), ra.size(), dec.size(), mag[0].size(), mag[1].size(),
                                  mag[2].size(), psfdepth_r.size()})
        if (len != n) throw DataError(p.sample_file, "/hosts", "columns differ in length");
    for (const auto& col : psf)
        if (!col.empty() && col.size() != n) throw DataError(p.sample_file, "/hosts", "psfsize columns differ in length");
    for (const auto& col : cut_psf)
        if (!col.empty() && col.size() != stamp_ids.size())
            throw DataError(p.cutouts_file, "/stamps", "psfsize columns differ in length");

    HostCatalog h;
    h.hosts_in_sample = static_cast<std::int64_t>(n);
    const std::set<std::string> wanted(p.splits.begin(), p.splits.end());
    std::map<std::string, int> split_code;
    const auto& bins = p.design.bins;
    for (std::size_t i = 0; i < n; ++i) {
        if (!wanted.empty() && !wanted.count(split[i])) {
            ++h.other_split;
            continue;
        }
        const auto s = stamp_of.find(gid[i]);
        if (s == stamp_of.end()) {
            ++h.without_stamp;
            continue;
        }
        std::array<double, 3> fwhm{};
        for (std::size_t b = 0; b < 3; ++b) {
            double v = cut_psf[b].empty() ? NAN : cut_psf[b][s->second];
            if (!(v > 0.0) && !psf[b].empty()) v = psf[b][i];
            fwhm[b] = v;
        }
        const double depth = kernels::depth_mag_5sigma(psfdepth_r[i]);
        bool ok = std::isfinite(mag[1][i]) && std::isfinite(depth);
        for (double v : fwhm) ok = ok && v > 0.0 && std::isfinite(v);
        if (!ok) {
            ++h.unusable;
            continue;
        }
        auto [code, fresh] = split_code.try_emplace(split[i], static_cast<int>(split_code.size()));
        if (fresh) h.split_names.push_back(split[i]);
        h.galaxy_id.push_back(gid[i]);
        h.brickname.push_back(brick[i]);
        h.split.push_back(split[i]);
        h.ra.push_back(ra[i]);
        h.dec.push_back(dec[i]);
        h.mag_g.push_back(mag[0][i]);
        h.mag_r.push_back(mag[1][i]);
        h.mag_z.push_back(mag[2][i]);
        h.depth_r.push_back(depth);
        h.psf_fwhm.push_back(fwhm);
        h.stamp_row.push_back(s->second);
        h.keys.push_back({bins.host_bin(bins.psf.bin_of(fwhm[1]), bins.depth.bin_of(depth)), code->second});
    }
    if (h.galaxy_id.empty())
        throw DataError(p.sample_file, "/hosts",
                        "no usable injection host: " + std::to_string(n) + " hosts, " + std::to_string(h.without_stamp) +
                            " without a stamp in " + p.cutouts_file + ", " + std::to_string(h.unusable) +
                            " without finite mag_r, psfsize and psfdepth_r, " + std::to_string(h.other_split) +
                            " outside inject.splits");
    return h;
}

int host_stamp_size(const Params& p) {
    require_file(p.cutouts_file, "host stamps file (cutouts.h5)");
    const StampGeometry g = read_stamp_geometry(p.cutouts_file, "/stamps/image");
    if (g.bands != std::vector<std::string>{"g", "r", "z"})
        throw DataError(p.cutouts_file, "/stamps/image:bands",
                        "the injection stage renders sources in g, r, z; the host stamps hold " + join_bands(g.bands));
    if (g.size < 9) throw DataError(p.cutouts_file, "/stamps/image", "stamps smaller than 9 x 9 pixels");
    return g.size;
}

std::shared_ptr<const Context> context(const engine::StageContext& ctx) {
    static std::mutex m;
    static std::string key;
    static std::shared_ptr<const Context> cached;
    Params params = read_params(ctx.config, ctx.run_dir, ctx.seed);
    // Keyed by run, config and the input files' identity (a test may rewrite them in place).
    std::string k = ctx.run_dir + "\n" + ctx.config.sha256();
    for (const auto& f : {params.sample_file, params.cutouts_file, params.template_bank}) {
        std::error_code ec;
        const auto t = std::filesystem::last_write_time(f, ec);
        const auto size = std::filesystem::file_size(f, ec);
        k += "\n" + f + ":" + std::to_string(ec ? 0 : t.time_since_epoch().count()) + ":" + std::to_string(ec ? 0 : size);
    }
    std::lock_guard lock(m);
    if (cached && key == k) return cached;
    auto c = std::make_shared<Context>();
    c->params = std::move(params);
    c->params.stamp_size = host_stamp_size(c->params);
    c->hosts = load_hosts(c->params);
    try {
        c->designer = std::make_unique<inj::TaskDesigner>(c->params.design, c->hosts.keys);
    } catch (const std::invalid_argument& e) {
        throw ConfigError("inject.empty_cells", ctx.config.origin_of("inject.empty_cells"), 0,
                          std::string(e.what()) + " (hosts from " + c->params.sample_file +
                              "; set inject.empty_cells to skip or nearest to go on)");
    }
    if (c->params.source != SourceMode::sersic) {  // a bank configured for Sersic-only runs is not needed
        if (!std::filesystem::exists(c->params.template_bank))
            throw DataError(c->params.template_bank, "file",
                            "the template bank (inject.template_bank) is missing (dhs make-template-bank --out FILE "
                            "writes one)");
        const hdf5::ResultReader bank(c->params.template_bank);
        for (const char* name : {"/templates/image", "/templates/pixel_scale_arcsec"})
            if (!bank.exists(name)) throw DataError(c->params.template_bank, name, "required dataset is missing");
        const auto shape = bank.read_column("/templates/image", 0, 0).shape();
        if (shape.size() != 2) throw DataError(c->params.template_bank, "/templates/image", "templates are not (N, H, W)");
        c->templates = static_cast<std::int64_t>(bank.rows("/templates/image"));
        if (c->templates == 0)
            throw DataError(c->params.template_bank, "/templates/image", "the bank holds no template");
    }
    key = k;
    cached = std::move(c);
    return cached;
}

}  // namespace dhs::stages::inject
