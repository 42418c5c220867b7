// The sampling stage's per-unit work: read a sweep row range in blocks, derive every row
// (HEALPix, split hashed once per distinct cell, bins, exclusion through the lens k-d tree),
// then gather the selected rows column by column into the pool, hosts and lens-match groups.
#include <fmt/format.h>
#include <malloc.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "core/engine/output_group.hpp"
#include "core/error.hpp"
#include "core/fits/sweep_reader.hpp"
#include "core/util/sha256.hpp"
#include "kernels/sampling/photometry.hpp"
#include "kernels/sampling/sampling_strata.hpp"
#include "mpi_stages/sample/sample.hpp"

namespace dhs::stages::sample {

namespace {

constexpr float kNaNf = std::numeric_limits<float>::quiet_NaN();

// A read-only typed view of a column: the storage itself when the dtype matches, else a
// converted copy.
template <class T>
class View {
public:
    View() = default;
    /// Binds to column `c` (nullptr: absent).
    void bind(const Column* c) {
        copy_.clear();
        data_ = nullptr;
        if (c == nullptr) return;
        if (c->dtype() == dtype_of<T>() || (std::is_same_v<T, std::uint8_t> && c->dtype() == DType::boolean)) {
            data_ = c->values<T>().data();
        } else {
            copy_ = c->as<T>();
            data_ = copy_.data();
        }
    }
    View(const View&) = delete;
    View& operator=(const View&) = delete;
    bool present() const noexcept { return data_ != nullptr; }
    T operator[](std::size_t i) const noexcept { return data_[i]; }

private:
    std::vector<T> copy_;
    const T* data_ = nullptr;
};

std::string upper(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

// The column of `t` called `name` in any case, or nullptr.
const Column* find(const Table& t, std::string_view name) {
    if (t.has(name)) return &t.column(name);
    for (const auto& c : t.columns())
        if (upper(c.name()) == name) return &c;
    return nullptr;
}

const Column& need(const Table& t, std::string_view name, const std::string& file) {
    const Column* c = find(t, name);
    if (c == nullptr) throw MissingColumnError(file, 0, std::string(name));
    return *c;
}

// The sweep columns of one block, typed. DR8 files have no PSFSIZE_*, and shapes per model
// (SHAPEDEV_*, SHAPEEXP_*) instead of SHAPE_R/E1/E2: the model of the row's TYPE is used.
struct Block {
    std::size_t n = 0;
    const std::vector<std::string>* brickname = nullptr;
    const std::vector<std::string>* type = nullptr;
    View<std::int32_t> objid, maskbits;
    View<double> ra, dec;
    View<float> flux[4], psfsize[3], psfdepth[3], galdepth[3], ebv;
    View<std::int16_t> nobs[3];
    View<std::uint8_t> primary;
    View<float> shape_r, shape_e1, shape_e2, sersic;
    View<float> dev_r, dev_e1, dev_e2, exp_r, exp_e1, exp_e2;

    Block(const Table& t, const std::string& file) {
        n = t.num_rows();
        brickname = &need(t, "BRICKNAME", file).strings();
        type = &need(t, "TYPE", file).strings();
        objid.bind(&need(t, "OBJID", file));
        maskbits.bind(&need(t, "MASKBITS", file));
        ra.bind(&need(t, "RA", file));
        dec.bind(&need(t, "DEC", file));
        const char* bands[4] = {"G", "R", "Z", "W1"};
        for (int b = 0; b < 4; ++b) flux[b].bind(&need(t, std::string("FLUX_") + bands[b], file));
        for (int b = 0; b < 3; ++b) {
            psfsize[b].bind(find(t, std::string("PSFSIZE_") + bands[b]));
            psfdepth[b].bind(&need(t, std::string("PSFDEPTH_") + bands[b], file));
            galdepth[b].bind(&need(t, std::string("GALDEPTH_") + bands[b], file));
            nobs[b].bind(&need(t, std::string("NOBS_") + bands[b], file));
        }
        ebv.bind(&need(t, "EBV", file));
        primary.bind(find(t, "BRICK_PRIMARY"));
        shape_r.bind(find(t, "SHAPE_R"));
        shape_e1.bind(find(t, "SHAPE_E1"));
        shape_e2.bind(find(t, "SHAPE_E2"));
        sersic.bind(find(t, "SERSIC"));
        dev_r.bind(find(t, "SHAPEDEV_R"));
        dev_e1.bind(find(t, "SHAPEDEV_E1"));
        dev_e2.bind(find(t, "SHAPEDEV_E2"));
        exp_r.bind(find(t, "SHAPEEXP_R"));
        exp_e1.bind(find(t, "SHAPEEXP_E1"));
        exp_e2.bind(find(t, "SHAPEEXP_E2"));
    }
    // Shape (r, e1, e2) of row i: SHAPE_* when present, else the DEV model for DEV rows and
    // the EXP model otherwise (DR8); NaN when neither exists; 0 for PSF rows of DR8.
    std::array<float, 3> shape(std::size_t i) const {
        if (shape_r.present())
            return {shape_r[i], shape_e1.present() ? shape_e1[i] : kNaNf, shape_e2.present() ? shape_e2[i] : kNaNf};
        const bool dev = (*type)[i] == "DEV";
        if (dev && dev_r.present()) return {dev_r[i], dev_e1.present() ? dev_e1[i] : kNaNf, dev_e2.present() ? dev_e2[i] : kNaNf};
        if (!dev && exp_r.present()) return {exp_r[i], exp_e1.present() ? exp_e1[i] : kNaNf, exp_e2.present() ? exp_e2[i] : kNaNf};
        return {kNaNf, kNaNf, kNaNf};
    }
};

double mag(double flux) { return kernels::mag_from_nanomaggies(flux); }

bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

// Per-row quantities of the rows that are written (pool rows and lens-match rows).
struct Extras {
    std::vector<float> mag[4];
    std::vector<std::int8_t> pool;
    std::vector<std::uint8_t> lrg;     // bit v: variant v
    std::vector<std::string> category; // N2 reason
    std::vector<std::string> galaxy_id;
    std::vector<double> u;
    std::array<std::vector<float>, 3> shape;
    void resize(std::size_t n) {
        for (auto& m : mag) m.assign(n, kNaNf);
        pool.assign(n, kNoPool);
        lrg.assign(n, 0);
        category.assign(n, std::string());
        galaxy_id.assign(n, std::string());
        u.assign(n, 0.0);
        for (auto& s : shape) s.assign(n, kNaNf);
    }
};

/// The object groups (/pool, /hosts, /lens_matches): one sweep row each, every column declared once.
struct ObjectsGroup : engine::GroupSchema {
    engine::Col<std::string> galaxy_id, brickname, type, nobs_z_bin, type_bin, split, pool, confuser_category;
    engine::Col<std::int32_t> objid, maskbits, lens_index, sweep_file_id;
    engine::Col<std::int64_t> sweep_row, healpix_64, healpix_128;
    engine::Col<double> ra, dec, draw_u, sep_arcsec;
    std::array<engine::Col<std::int16_t>, 3> nobs;
    engine::Col<std::int8_t> stratum_id;
    std::array<engine::Col<float>, 4> flux, mag;
    engine::Col<float> g_minus_r, r_minus_z, z_minus_w1, ebv, shape_r, shape_e1, shape_e2, sersic;
    std::array<engine::Col<float>, 3> psfsize, psfdepth, galdepth;
    std::array<engine::Col<bool>, 5> lrg;
    ObjectsGroup(std::string name, std::string description, bool with_match);
};

ObjectsGroup::ObjectsGroup(std::string name, std::string description, bool with_match)
    : GroupSchema(std::move(name), std::move(description)) {
    using S = std::string;
    galaxy_id = add<S>("galaxy_id", "", "{brickname}_{objid}");
    brickname = add<S>("brickname", "", "BRICKNAME");
    objid = add<std::int32_t>("objid", "", "OBJID within the brick");
    sweep_row = add<std::int64_t>("sweep_row", "", "0-based row in sweep_file");
    ra = add<double>("ra", "deg", "right ascension (ICRS)");
    dec = add<double>("dec", "deg", "declination (ICRS)");
    type = add<S>("type", "", "Tractor TYPE (PSF, REX, EXP, DEV, SER, DUP)");
    const char* const grz[3] = {"g", "r", "z"};
    const char* const grzw1[4] = {"g", "r", "z", "w1"};
    for (int k = 0; k < 3; ++k)
        nobs[k] = add<std::int16_t>(fmt::format("nobs_{}", grz[k]), "", fmt::format("number of {} exposures", grz[k]));
    nobs_z_bin = add<S>("nobs_z_bin", "", "nobs_z bin: 1-2, 3-5, 6-10, 11+ (0: none)");
    type_bin = add<S>("type_bin", "", "SER, DEV, REX, else OTHER");
    stratum_id = add<std::int8_t>(
        "stratum_id", "",
        "stratum (nobs_z_bin x type_bin) index: 4 x nobs bin (0, 1-2, 3-5, 6-10, 11+) + type bin (SER, DEV, REX, OTHER)");
    for (int k = 0; k < 4; ++k)
        flux[k] = add<float>(fmt::format("flux_{}", grzw1[k]), "nanomaggy", fmt::format("FLUX_{} (observed)", grzw1[k]));
    for (int k = 0; k < 4; ++k)
        mag[k] = add<float>(fmt::format("mag_{}", grzw1[k]), "mag",
                            fmt::format("22.5 - 2.5 log10(flux_{}) (AB, observed; NaN for flux <= 0)", grzw1[k]));
    g_minus_r = add<float>("g_minus_r", "mag", "mag_g - mag_r");
    r_minus_z = add<float>("r_minus_z", "mag", "mag_r - mag_z");
    z_minus_w1 = add<float>("z_minus_w1", "mag", "mag_z - mag_w1");
    for (int k = 0; k < 3; ++k)
        psfsize[k] = add<float>(fmt::format("psfsize_{}", grz[k]), "arcsec",
                                fmt::format("PSFSIZE_{}: PSF FWHM (NaN where the file has none)", grz[k]));
    for (int k = 0; k < 3; ++k)
        psfdepth[k] = add<float>(fmt::format("psfdepth_{}", grz[k]), "1/nanomaggy^2",
                                 fmt::format("PSFDEPTH_{}: point-source depth inverse variance", grz[k]));
    for (int k = 0; k < 3; ++k)
        galdepth[k] = add<float>(fmt::format("galdepth_{}", grz[k]), "1/nanomaggy^2",
                                 fmt::format("GALDEPTH_{}: galaxy depth inverse variance", grz[k]));
    ebv = add<float>("ebv", "mag", "E(B-V)");
    maskbits = add<std::int32_t>("maskbits", "", "MASKBITS");
    shape_r = add<float>("shape_r", "arcsec", "half-light radius (SHAPE_R; DR8: SHAPEDEV_R for DEV, else SHAPEEXP_R)");
    shape_e1 = add<float>("shape_e1", "", "ellipticity e1 (SHAPE_E1)");
    shape_e2 = add<float>("shape_e2", "", "ellipticity e2 (SHAPE_E2)");
    sersic = add<float>("sersic", "", "Sersic index (NaN where the file has none)");
    healpix_64 = add<std::int64_t>("healpix_64", "", "NESTED HEALPix index, nside 64");
    healpix_128 = add<std::int64_t>("healpix_128", "", "NESTED HEALPix index, nside 128 (the split cell)");
    split = add<S>("split", "", "train, val or test: SHA-256 of '{healpix_128}_{seed}'");
    // Constant per file or per run (SPEC: provenance): the file by index into /sweep_files,
    // the dhs version and git commit in the file's root attributes (dhs_version, git_commit).
    sweep_file_id = add<std::int32_t>("sweep_file_id", "", "the row's sweep file: a row of /sweep_files");
    pool = add<S>("pool", "", "N1 (deployment-representative), N2 (hard confuser) or '' (neither)");
    confuser_category = add<S>("confuser_category", "", "why the object is N2: the n2_catalog category, edge_on or large_blue");
    for (std::size_t v = 0; v < kernels::kLrgVariants.size(); ++v) {
        const auto& L = kernels::kLrgVariants[v];
        lrg.at(v) = add<bool>(std::string("lrg_") + std::string(L.name).substr(0, 2), "",
                              fmt::format("LRG host {}: z < {}, r-z > {}, z-W1 > {}, type != PSF, E(B-V) and MASKBITS cuts",
                                          L.name, L.z_max, L.rz_min, L.zw1_min));
    }
    draw_u = add<double>("draw_u", "",
                         "draw value in [0, 1) from XXH64(galaxy_id, run.seed): a stratum's negatives are its smallest");
    if (with_match) {
        lens_index = add<std::int32_t>("lens_index", "", "row of /lenses (duplicates collapsed) matched");
        sep_arcsec = add<double>("sep_arcsec", "arcsec", "separation from the lens");
    }
}

// The three object groups, as output_groups() declares them and process_unit() fills them.
ObjectsGroup pool_group() {
    return {"pool", "the negative pool: galaxies of the sweeps passing the pool cuts, none within the exclusion radius "
                    "of a known lens; unit then row order", false};
}
ObjectsGroup hosts_group() {
    return {"hosts", "injection hosts: pool rows in the configured LRG variant (sample.lrg_variant)", false};
}
ObjectsGroup lens_matches_group() {
    return {"lens_matches", "every sweep object within the match radius of a known lens (the reduce keeps the nearest "
                            "per lens in /positives)", true};
}

// The rows of one output group, accumulated column by column over the blocks of a unit.
struct ObjectColumns {
    std::vector<std::string> galaxy_id, brickname, type, nobs_z_bin, type_bin, split, pool, category;
    std::vector<std::int32_t> objid, maskbits, sweep_file_id;
    std::vector<std::int64_t> sweep_row, hp64, hp128;
    std::vector<double> ra, dec, u;
    std::vector<std::int16_t> nobs[3];
    std::vector<std::int8_t> stratum;
    std::vector<float> flux[4], mag[4], gr, rz, zw1, psfsize[3], psfdepth[3], galdepth[3], ebv, shape_r, e1, e2, sersic;
    std::vector<std::uint8_t> lrg[5];
    std::vector<std::int32_t> lens_index;
    std::vector<double> sep_arcsec;

    // Appends rows `idx` of the block, column by column.
    void append(const Block& b, const Derived& d, const Extras& x, const std::vector<std::uint32_t>& idx,
                std::int32_t file_id, std::int64_t first_row) {
        auto each = [&](auto& out, auto&& f) {
            if (out.capacity() < out.size() + idx.size()) out.reserve(std::max(2 * out.capacity(), out.size() + idx.size()));
            for (auto i : idx) out.push_back(f(static_cast<std::size_t>(i)));
        };
        each(galaxy_id, [&](std::size_t i) { return x.galaxy_id[i]; });
        each(brickname, [&](std::size_t i) { return (*b.brickname)[i]; });
        each(objid, [&](std::size_t i) { return b.objid[i]; });
        each(sweep_row, [&](std::size_t i) { return first_row + static_cast<std::int64_t>(i); });
        each(ra, [&](std::size_t i) { return b.ra[i]; });
        each(dec, [&](std::size_t i) { return b.dec[i]; });
        each(type, [&](std::size_t i) { return (*b.type)[i]; });
        for (int k = 0; k < 3; ++k) each(nobs[k], [&](std::size_t i) { return b.nobs[k][i]; });
        each(nobs_z_bin, [&](std::size_t i) { return kernels::nobs_z_bin_name(d.nobs_bin[i]); });
        each(type_bin, [&](std::size_t i) { return kernels::type_bin_name(d.type_bin[i]); });
        each(stratum, [&](std::size_t i) {
            return static_cast<std::int8_t>(kernels::stratum_id(d.nobs_bin[i], d.type_bin[i]));
        });
        for (int k = 0; k < 4; ++k) each(flux[k], [&](std::size_t i) { return b.flux[k][i]; });
        for (int k = 0; k < 4; ++k) each(mag[k], [&](std::size_t i) { return x.mag[k][i]; });
        each(gr, [&](std::size_t i) { return x.mag[0][i] - x.mag[1][i]; });
        each(rz, [&](std::size_t i) { return x.mag[1][i] - x.mag[2][i]; });
        each(zw1, [&](std::size_t i) { return x.mag[2][i] - x.mag[3][i]; });
        for (int k = 0; k < 3; ++k) {
            each(psfsize[k], [&](std::size_t i) { return b.psfsize[k].present() ? b.psfsize[k][i] : kNaNf; });
            each(psfdepth[k], [&](std::size_t i) { return b.psfdepth[k][i]; });
            each(galdepth[k], [&](std::size_t i) { return b.galdepth[k][i]; });
        }
        each(ebv, [&](std::size_t i) { return b.ebv[i]; });
        each(maskbits, [&](std::size_t i) { return b.maskbits[i]; });
        each(shape_r, [&](std::size_t i) { return x.shape[0][i]; });
        each(e1, [&](std::size_t i) { return x.shape[1][i]; });
        each(e2, [&](std::size_t i) { return x.shape[2][i]; });
        each(sersic, [&](std::size_t i) { return b.sersic.present() ? b.sersic[i] : kNaNf; });
        each(hp64, [&](std::size_t i) { return d.healpix_64[i]; });
        each(hp128, [&](std::size_t i) { return d.healpix_128[i]; });
        each(split, [&](std::size_t i) { return split_names()[static_cast<std::size_t>(d.split[i])]; });
        sweep_file_id.resize(sweep_file_id.size() + idx.size(), file_id);
        each(pool, [&](std::size_t i) { return pool_name(x.pool[i]); });
        each(category, [&](std::size_t i) { return x.category[i]; });
        for (int v = 0; v < 5; ++v)
            each(lrg[v], [&](std::size_t i) { return static_cast<std::uint8_t>((x.lrg[i] >> v) & 1u); });
        each(u, [&](std::size_t i) { return x.u[i]; });
    }

    // The rows as the object group `g` declares them (moved out: the columns are spent).
    Table table(const ObjectsGroup& g) {
        engine::GroupRows t(g, galaxy_id.size());
        t.set(g.galaxy_id, std::move(galaxy_id));
        t.set(g.brickname, std::move(brickname));
        t.set(g.objid, std::move(objid));
        t.set(g.sweep_row, std::move(sweep_row));
        t.set(g.ra, std::move(ra));
        t.set(g.dec, std::move(dec));
        t.set(g.type, std::move(type));
        for (int k = 0; k < 3; ++k) t.set(g.nobs[k], std::move(nobs[k]));
        t.set(g.nobs_z_bin, std::move(nobs_z_bin));
        t.set(g.type_bin, std::move(type_bin));
        t.set(g.stratum_id, std::move(stratum));
        for (int k = 0; k < 4; ++k) t.set(g.flux[k], std::move(flux[k]));
        for (int k = 0; k < 4; ++k) t.set(g.mag[k], std::move(mag[k]));
        t.set(g.g_minus_r, std::move(gr));
        t.set(g.r_minus_z, std::move(rz));
        t.set(g.z_minus_w1, std::move(zw1));
        for (int k = 0; k < 3; ++k) t.set(g.psfsize[k], std::move(psfsize[k]));
        for (int k = 0; k < 3; ++k) t.set(g.psfdepth[k], std::move(psfdepth[k]));
        for (int k = 0; k < 3; ++k) t.set(g.galdepth[k], std::move(galdepth[k]));
        t.set(g.ebv, std::move(ebv));
        t.set(g.maskbits, std::move(maskbits));
        t.set(g.shape_r, std::move(shape_r));
        t.set(g.shape_e1, std::move(e1));
        t.set(g.shape_e2, std::move(e2));
        t.set(g.sersic, std::move(sersic));
        t.set(g.healpix_64, std::move(hp64));
        t.set(g.healpix_128, std::move(hp128));
        t.set(g.split, std::move(split));
        t.set(g.sweep_file_id, std::move(sweep_file_id));
        t.set(g.pool, std::move(pool));
        t.set(g.confuser_category, std::move(category));
        for (int v = 0; v < 5; ++v) t.set(g.lrg[v], std::move(lrg[v]));
        t.set(g.draw_u, std::move(u));
        if (g.lens_index.declared()) {
            t.set(g.lens_index, std::move(lens_index));
            t.set(g.sep_arcsec, std::move(sep_arcsec));
        }
        return std::move(t).finish();
    }
};

}  // namespace

const std::string& pool_name(int c) {
    static const std::string names[3] = {"N1", "N2", ""};
    return names[c < 0 || c > 2 ? 2 : c];
}

const std::vector<std::string>& split_names() {
    static const std::vector<std::string> names = {"test", "train", "val"};
    return names;
}

kernels::SplitRule split_rule(const Params& p) {
    return kernels::SplitRule({{"train", p.split_fractions[0]}, {"val", p.split_fractions[1]}, {"test", p.split_fractions[2]}});
}

std::vector<fits::ColumnRequest> sweep_requests() {
    std::vector<fits::ColumnRequest> r;
    for (const char* c : {"BRICKNAME", "OBJID", "TYPE", "RA", "DEC", "FLUX_G", "FLUX_R", "FLUX_Z", "FLUX_W1", "NOBS_G",
                          "NOBS_R", "NOBS_Z", "PSFDEPTH_G", "PSFDEPTH_R", "PSFDEPTH_Z", "GALDEPTH_G", "GALDEPTH_R",
                          "GALDEPTH_Z", "EBV", "MASKBITS"})
        r.push_back({c, true});
    for (const char* c : {"BRICK_PRIMARY", "PSFSIZE_G", "PSFSIZE_R", "PSFSIZE_Z", "SHAPE_R", "SHAPE_E1", "SHAPE_E2",
                          "SERSIC", "SHAPEDEV_R", "SHAPEDEV_E1", "SHAPEDEV_E2", "SHAPEEXP_R", "SHAPEEXP_E1", "SHAPEEXP_E2"})
        r.push_back({c, false});
    return r;
}

namespace {
// Lens pairs of a block: (row in block, lens index, chord^2), rows ascending.
struct LensPair {
    std::uint32_t row, lens;
    double chord2;
};

Derived derive(const Block& b, const Params& p, const Inputs& in, std::vector<std::int8_t>& split_of_cell,
               const std::string& file, std::int64_t first_row, std::vector<LensPair>* pairs) {
    static thread_local util::Sha256 sha;
    static thread_local const kernels::HealpixNest hp(kFineNside);
    const auto rule = split_rule(p);
    const std::size_t n = b.n;
    Derived d;
    d.healpix_128.resize(n);
    d.healpix_64.resize(n);
    d.fine_cell.resize(n);
    d.split.resize(n);
    d.nobs_bin.resize(n);
    d.type_bin.resize(n);
    d.primary.resize(n);
    d.in_pool.resize(n);
    d.near_lens.resize(n);
    const double c2_excl = kernels::chord2_of_arcsec(p.exclusion_radius_arcsec);
    const double c2_reach = kernels::chord2_of_arcsec(std::max(p.exclusion_radius_arcsec, p.match_radius_arcsec));
    std::vector<std::pair<std::uint32_t, double>> near;
    const bool z_cut = p.pool_max_mag_z < 99;  // mag_z < limit <=> flux_z > 10^((22.5 - limit) / 2.5)
    const double z_flux_min = std::pow(10.0, (22.5 - p.pool_max_mag_z) / 2.5);
    for (std::size_t i = 0; i < n; ++i) {
        const double ra = b.ra[i], dec = b.dec[i];
        if (!std::isfinite(ra) || !std::isfinite(dec) || dec < -90.0 || dec > 90.0)
            throw DataError(file, fmt::format("row {}, columns RA/DEC", first_row + static_cast<std::int64_t>(i)),
                            fmt::format("invalid position ({}, {})", ra, dec));
        const std::int64_t fine = hp.cell(ra, dec);
        const std::int64_t cell = kernels::nest_parent(fine, kFineLevels128);
        d.fine_cell[i] = fine;
        d.healpix_128[i] = cell;
        d.healpix_64[i] = kernels::nest_parent(cell, 1);
        auto& s = split_of_cell[static_cast<std::size_t>(cell)];
        if (s < 0) {
            const auto digest = sha.digest(kernels::split_hash_text(cell, p.split_seed));
            s = static_cast<std::int8_t>(rule.index_of(kernels::split_u_from_digest(digest.data())));
            // rule.names() is sorted like split_names(): the index is the same.
        }
        d.split[i] = s;
        d.nobs_bin[i] = static_cast<std::int8_t>(kernels::nobs_z_bin(b.nobs[2][i]));
        d.type_bin[i] = static_cast<std::int8_t>(kernels::type_bin((*b.type)[i]));
        d.primary[i] = !p.require_brick_primary || !b.primary.present() || b.primary[i] != 0;
        bool near_lens = false;
        if (in.lens_reach.contains(cell, fine)) {
            in.lens_index.within(kernels::unit_vector(ra, dec), c2_reach, near);
            for (const auto& [k, c2] : near) {
                if (c2 <= c2_excl) near_lens = true;
                if (pairs != nullptr && d.primary[i]) pairs->push_back({static_cast<std::uint32_t>(i), k, c2});
            }
        }
        d.near_lens[i] = near_lens;
        d.in_pool[i] = d.primary[i] && !near_lens && !contains(p.exclude_types, (*b.type)[i]) &&
                       b.nobs[0][i] >= p.min_nobs && b.nobs[1][i] >= p.min_nobs && b.nobs[2][i] >= p.min_nobs &&
                       (b.maskbits[i] & p.bad_mask) == 0 &&
                       (!z_cut || b.flux[2][i] > z_flux_min);
    }
    return d;
}

// Magnitudes, shapes, pool class, LRG flags, N2 reason, galaxy_id and draw value of row i.
void extras_of(const Block& b, const Params& p, const Inputs& in, const Derived& d, std::size_t i, bool pool_row,
               Extras& x) {
    double m[4];
    for (int k = 0; k < 4; ++k) {
        m[k] = mag(b.flux[k][i]);
        x.mag[k][i] = static_cast<float>(m[k]);
    }
    const auto sh = b.shape(i);
    for (int k = 0; k < 3; ++k) x.shape[static_cast<std::size_t>(k)][i] = sh[static_cast<std::size_t>(k)];
    const std::string& type = (*b.type)[i];
    x.galaxy_id[i] = (*b.brickname)[i] + "_" + std::to_string(b.objid[i]);
    // LRG variants: colour cuts (dereddened with A_X = R_X E(B-V) when asked), type != PSF,
    // E(B-V) below the host limit, no bad MASKBITS.
    const double ebv = b.ebv[i];
    double z = m[2], rz = m[1] - m[2], zw1 = m[2] - m[3];
    if (p.lrg_dereddened) {
        using R = kernels::ExtinctionCoefficients;
        z -= R::z * ebv;
        rz -= (R::r - R::z) * ebv;
        zw1 -= (R::z - R::w1) * ebv;
    }
    std::uint8_t flags = 0;
    if (type != "PSF" && ebv < p.host_max_ebv && (b.maskbits[i] & p.bad_mask) == 0)
        for (std::size_t v = 0; v < kernels::kLrgVariants.size(); ++v)
            if (kernels::lrg_colour_cut(kernels::kLrgVariants[v], z, rz, zw1)) flags |= static_cast<std::uint8_t>(1u << v);
    x.lrg[i] = flags;
    if (!pool_row) return;
    // Pool: N2 (hard confusers) first, then N1 by type.
    std::string reason;
    if (p.n2_by_catalog && in.confuser_reach.contains(d.healpix_128[i], d.fine_cell[i])) {
        const auto hit = in.confuser_index.nearest(kernels::unit_vector(b.ra[i], b.dec[i]),
                                                   kernels::chord2_of_arcsec(p.n2_match_radius_arcsec));
        if (hit) {
            const auto& cat = in.confusers[hit->first].category;
            reason = cat.empty() ? "catalog" : cat;
        }
    }
    if (reason.empty() && p.n2_edge_on && m[1] < p.n2_max_mag_r && std::isfinite(sh[1]) && std::isfinite(sh[2]) &&
        kernels::ellipticity(sh[1], sh[2]) >= p.n2_edge_on_min_e)
        reason = "edge_on";
    if (reason.empty() && p.n2_large_blue && m[1] < p.n2_max_mag_r && sh[0] >= p.n2_large_blue_min_shape_r &&
        m[0] - m[1] <= p.n2_large_blue_max_g_minus_r)
        reason = "large_blue";
    x.pool[i] = !reason.empty() ? kN2 : contains(p.n1_types, type) ? kN1 : kNoPool;
    x.category[i] = std::move(reason);
    x.u[i] = kernels::draw_u(x.galaxy_id[i], static_cast<std::uint64_t>(p.draw_seed));
}

}  // namespace

Derived derive_block(const Table& sweep, const Params& p, const Inputs& in, std::vector<std::int8_t>& split_of_cell,
                     const std::string& file, std::int64_t first_row) {
    const Block b(sweep, file);
    return derive(b, p, in, split_of_cell, file, first_row, nullptr);
}

Table object_schema(bool with_match) { return ObjectsGroup("objects", "", with_match).group().schema; }

namespace {

// Per-unit tallies the reduce sums: lens coverage, pool rows by stratum, non-finite fluxes.
struct LensCoverageGroup : engine::GroupSchema {
    engine::Col<std::int32_t> lens_index = add<std::int32_t>("lens_index", "", "");
    engine::Col<std::int64_t> objects = add<std::int64_t>("objects", "", "");
    LensCoverageGroup() : GroupSchema("lens_coverage", "per unit: lenses with sweep objects within the exclusion radius") {}
};

struct PoolCountsGroup : engine::GroupSchema {
    engine::Col<std::int8_t> stratum_id = add<std::int8_t>("stratum_id", "", "");
    engine::Col<std::string> pool = add<std::string>("pool", "", "");
    engine::Col<std::string> split = add<std::string>("split", "", "");
    engine::Col<std::int64_t> hosts = add<std::int64_t>("hosts", "", "");
    engine::Col<std::int64_t> rows = add<std::int64_t>("rows", "", "");
    PoolCountsGroup() : GroupSchema("pool_counts", "per unit: pool rows by stratum, pool and split (summed in /strata)") {}
};

struct NonfiniteFluxGroup : engine::GroupSchema {
    engine::Col<std::string> sweep_file = add<std::string>("sweep_file", "", "");
    engine::Col<std::string> column = add<std::string>("column", "", "");
    engine::Col<std::int64_t> rows = add<std::int64_t>("rows", "", "");
    NonfiniteFluxGroup()
        : GroupSchema("nonfinite_flux", "per unit: sweep rows whose flux column is NaN or infinite (they stay in "
                                        "/pool, never in /hosts; summed in /pool's nonfinite_flux attribute)") {}
};

// What a unit counted besides its rows.
struct UnitTallies {
    std::map<std::uint32_t, std::int64_t> coverage;           // lens -> objects within the exclusion radius
    std::vector<std::array<std::int64_t, 2>> counts;          // [stratum][pool][split] = {rows, hosts}
    std::array<std::int64_t, 4> nonfinite{};                  // rows with a NaN or infinite FLUX_G, _R, _Z, _W1
    UnitTallies() : counts(static_cast<std::size_t>(kernels::kNumStrata) * 3 * 3, {0, 0}) {}
};

// The tallies as the three per-unit groups.
void add_tallies(const UnitTallies& u, const std::string& file_name, engine::UnitOutput& out) {
    const LensCoverageGroup cg;
    engine::GroupRows cov(cg, u.coverage.size());
    std::vector<std::int32_t> lens_ids;
    std::vector<std::int64_t> objects;
    for (const auto& [k, nobj] : u.coverage) {
        lens_ids.push_back(static_cast<std::int32_t>(k));
        objects.push_back(nobj);
    }
    cov.set(cg.lens_index, std::move(lens_ids));
    cov.set(cg.objects, std::move(objects));
    out[cg.name()] = std::move(cov).finish();

    std::vector<std::int8_t> cs;
    std::vector<std::string> cp, csp;
    std::vector<std::int64_t> ch, cr;
    for (std::size_t s = 0; s < static_cast<std::size_t>(kernels::kNumStrata); ++s)
        for (std::size_t q = 0; q < 3; ++q)
            for (std::size_t sp = 0; sp < 3; ++sp) {
                const auto& c = u.counts[(s * 3 + q) * 3 + sp];
                if (c[0] == 0) continue;
                cs.push_back(static_cast<std::int8_t>(s));
                cp.push_back(pool_name(static_cast<int>(q)));
                csp.push_back(split_names()[sp]);
                ch.push_back(c[1]);
                cr.push_back(c[0]);
            }
    const PoolCountsGroup pg;
    engine::GroupRows ct(pg, cs.size());
    ct.set(pg.stratum_id, std::move(cs));
    ct.set(pg.pool, std::move(cp));
    ct.set(pg.split, std::move(csp));
    ct.set(pg.hosts, std::move(ch));
    ct.set(pg.rows, std::move(cr));
    out[pg.name()] = std::move(ct).finish();

    std::vector<std::string> nf_file, nf_column;
    std::vector<std::int64_t> nf_rows;
    static const char* const flux_columns[4] = {"FLUX_G", "FLUX_R", "FLUX_Z", "FLUX_W1"};
    for (std::size_t k = 0; k < 4; ++k)
        if (u.nonfinite[k] > 0) {
            nf_file.push_back(file_name);
            nf_column.push_back(flux_columns[k]);
            nf_rows.push_back(u.nonfinite[k]);
        }
    const NonfiniteFluxGroup ng;
    engine::GroupRows nf(ng, nf_file.size());
    nf.set(ng.sweep_file, std::move(nf_file));
    nf.set(ng.column, std::move(nf_column));
    nf.set(ng.rows, std::move(nf_rows));
    out[ng.name()] = std::move(nf).finish();
}

}  // namespace

std::vector<engine::OutputGroup> output_groups() {
    std::vector<engine::OutputGroup> g;
    g.push_back(pool_group().group());
    g.push_back(hosts_group().group());
    g.push_back(lens_matches_group().group());
    g.push_back(LensCoverageGroup().group());
    g.push_back(PoolCountsGroup().group());
    g.push_back(NonfiniteFluxGroup().group());
    return g;
}

engine::UnitOutput process_unit(const engine::WorkUnit& unit, const Params& p) {
    // Keep freed memory in the heap instead of returning it to the kernel after each block
    // and unit: re-faulting fresh pages (zeroed by the kernel) otherwise costs more than
    // decoding and deriving the rows. Process-wide, once; glibc only.
    static std::once_flag keep_heap;
    std::call_once(keep_heap, [] {
#ifdef M_MMAP_THRESHOLD
        ::mallopt(M_MMAP_THRESHOLD, 256 << 20);
        ::mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
    });
    const auto payload = nlohmann::json::parse(unit.payload);
    const std::string path = payload.at("path").get<std::string>();
    std::int64_t begin = payload.at("begin").get<std::int64_t>(), end = payload.at("end").get<std::int64_t>();
    const auto inputs = load_inputs(p);
    const Inputs& in = *inputs;
    const std::string file_name = std::filesystem::path(path).filename().string();
    const auto file_id = payload.at("file_index").get<std::int32_t>();

    fits::SweepReader reader(path);  // its own ~1 MiB I/O blocks: decoded while cache-resident
    if (end < 0) end = reader.num_rows();
    if (end > reader.num_rows())
        throw DataError(path, fmt::format("rows [{}, {})", begin, end),
                        fmt::format("the file has {} rows: it changed since the stage was planned", reader.num_rows()));
    const auto requests = sweep_requests();
    for (const auto& r : requests)
        if (r.required && !reader.has_column(r.name)) throw MissingColumnError(path, reader.hdu(), r.name);

    std::vector<std::int8_t> split_of_cell(static_cast<std::size_t>(12 * kSplitNside * kSplitNside), -1);
    ObjectColumns pool, hosts, matches;
    UnitTallies tally;
    const double c2_excl = kernels::chord2_of_arcsec(p.exclusion_radius_arcsec);
    const double c2_match = kernels::chord2_of_arcsec(p.match_radius_arcsec);
    Extras x;
    std::vector<LensPair> pairs;
    std::vector<std::uint32_t> pool_idx, host_idx, match_idx;
    for (std::int64_t b0 = begin; b0 < end; b0 += p.read_block_rows) {
        const std::int64_t b1 = std::min(end, b0 + p.read_block_rows);
        Table t;
        try {
            t = reader.read(requests, b0, b1);
        } catch (const std::exception& e) {
            throw Error(fmt::format("sample: reading rows [{}, {}) of '{}': {}", b0, b1, path, e.what()));
        }
        const Block b(t, path);
        pairs.clear();
        const Derived d = derive(b, p, in, split_of_cell, path, b0, &pairs);
        x.resize(b.n);
        pool_idx.clear();
        host_idx.clear();
        match_idx.clear();
        std::vector<char> finite(b.n, 1);
        for (std::size_t k = 0; k < 4; ++k)
            for (std::size_t i = 0; i < b.n; ++i)
                if (!std::isfinite(b.flux[k][i])) {
                    ++tally.nonfinite[k];
                    finite[i] = 0;
                }
        for (std::size_t i = 0; i < b.n; ++i)
            if (d.in_pool[i]) {
                pool_idx.push_back(static_cast<std::uint32_t>(i));
                extras_of(b, p, in, d, i, true, x);
                // An infinite flux can pass the LRG colour cuts (its magnitude is -inf): never a host.
                const bool host = ((x.lrg[i] >> p.lrg_variant) & 1u) && finite[i];
                if (host) host_idx.push_back(static_cast<std::uint32_t>(i));
                const auto s = static_cast<std::size_t>(kernels::stratum_id(d.nobs_bin[i], d.type_bin[i]));
                auto& c = tally.counts[(s * 3 + static_cast<std::size_t>(x.pool[i])) * 3 + static_cast<std::size_t>(d.split[i])];
                ++c[0];
                c[1] += host;
            }
        // Lens pairs: coverage (within the exclusion radius) and matches (within the match radius).
        for (const auto& pr : pairs) {
            if (pr.chord2 <= c2_excl) ++tally.coverage[pr.lens];
            if (pr.chord2 > c2_match) continue;
            if (!d.in_pool[pr.row]) extras_of(b, p, in, d, pr.row, false, x);
            match_idx.assign(1, pr.row);
            matches.append(b, d, x, match_idx, file_id, b0);
            matches.lens_index.push_back(static_cast<std::int32_t>(pr.lens));
            matches.sep_arcsec.push_back(kernels::arcsec_of_chord2(pr.chord2));
        }
        pool.append(b, d, x, pool_idx, file_id, b0);
        hosts.append(b, d, x, host_idx, file_id, b0);
    }
    engine::UnitOutput out;
    for (auto [group, rows] : {std::pair{pool_group(), &pool}, {hosts_group(), &hosts}, {lens_matches_group(), &matches}})
        out[group.name()] = rows->table(group);
    add_tallies(tally, file_name, out);
    return out;
}

}  // namespace dhs::stages::sample
