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

#include "core/error.hpp"
#include "core/fits/sweep_reader.hpp"
#include "core/util/sha256.hpp"
#include "kernels/photometry.hpp"
#include "kernels/sampling_strata.hpp"
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

// The rows of one output group, accumulated column by column over the blocks of a unit.
struct ObjectColumns {
    std::vector<std::string> galaxy_id, brickname, type, nobs_z_bin, type_bin, split, sweep_file, version, commit,
        pool, category;
    std::vector<std::int32_t> objid, maskbits;
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
                const std::string& file_name, const Params& p, std::int64_t first_row) {
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
        each(sweep_file, [&](std::size_t) { return file_name; });
        each(version, [&](std::size_t) { return p.pipeline_version; });
        each(commit, [&](std::size_t) { return p.git_commit; });
        each(pool, [&](std::size_t i) { return pool_name(x.pool[i]); });
        each(category, [&](std::size_t i) { return x.category[i]; });
        for (int v = 0; v < 5; ++v)
            each(lrg[v], [&](std::size_t i) { return static_cast<std::uint8_t>((x.lrg[i] >> v) & 1u); });
        each(u, [&](std::size_t i) { return x.u[i]; });
    }

    // The columns in schema order, with the schema's units and descriptions.
    Table table(const Table& schema, bool with_match) {
        Table t;
        auto put = [&](Column c) {
            const Column& s = schema.column(c.name());
            c.set_unit(s.unit());
            c.set_description(s.description());
            t.add(std::move(c));
        };
        put(Column("galaxy_id", std::move(galaxy_id)));
        put(Column("brickname", std::move(brickname)));
        put(Column("objid", std::move(objid)));
        put(Column("sweep_row", std::move(sweep_row)));
        put(Column("ra", std::move(ra)));
        put(Column("dec", std::move(dec)));
        put(Column("type", std::move(type)));
        put(Column("nobs_g", std::move(nobs[0])));
        put(Column("nobs_r", std::move(nobs[1])));
        put(Column("nobs_z", std::move(nobs[2])));
        put(Column("nobs_z_bin", std::move(nobs_z_bin)));
        put(Column("type_bin", std::move(type_bin)));
        put(Column("stratum_id", std::move(stratum)));
        const char* bands[4] = {"g", "r", "z", "w1"};
        for (int k = 0; k < 4; ++k) put(Column(std::string("flux_") + bands[k], std::move(flux[k])));
        for (int k = 0; k < 4; ++k) put(Column(std::string("mag_") + bands[k], std::move(mag[k])));
        put(Column("g_minus_r", std::move(gr)));
        put(Column("r_minus_z", std::move(rz)));
        put(Column("z_minus_w1", std::move(zw1)));
        for (int k = 0; k < 3; ++k) put(Column(std::string("psfsize_") + bands[k], std::move(psfsize[k])));
        for (int k = 0; k < 3; ++k) put(Column(std::string("psfdepth_") + bands[k], std::move(psfdepth[k])));
        for (int k = 0; k < 3; ++k) put(Column(std::string("galdepth_") + bands[k], std::move(galdepth[k])));
        put(Column("ebv", std::move(ebv)));
        put(Column("maskbits", std::move(maskbits)));
        put(Column("shape_r", std::move(shape_r)));
        put(Column("shape_e1", std::move(e1)));
        put(Column("shape_e2", std::move(e2)));
        put(Column("sersic", std::move(sersic)));
        put(Column("healpix_64", std::move(hp64)));
        put(Column("healpix_128", std::move(hp128)));
        put(Column("split", std::move(split)));
        put(Column("sweep_file", std::move(sweep_file)));
        put(Column("pipeline_version", std::move(version)));
        put(Column("git_commit", std::move(commit)));
        put(Column("pool", std::move(pool)));
        put(Column("confuser_category", std::move(category)));
        for (int v = 0; v < 5; ++v)
            put(Column(fmt::format("lrg_v{}", v + 1), std::move(lrg[v]), {}, DType::boolean));
        put(Column("draw_u", std::move(u)));
        if (with_match) {
            put(Column("lens_index", std::move(lens_index)));
            put(Column("sep_arcsec", std::move(sep_arcsec)));
        }
        return t;
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

Table object_schema(bool with_match) {
    Table t;
    auto add = [&](Column c, const char* unit, std::string desc) {
        c.set_unit(unit);
        c.set_description(std::move(desc));
        t.add(std::move(c));
    };
    using S = std::vector<std::string>;
    using F = std::vector<float>;
    add(Column("galaxy_id", S{}), "", "{brickname}_{objid}");
    add(Column("brickname", S{}), "", "BRICKNAME");
    add(Column("objid", std::vector<std::int32_t>{}), "", "OBJID within the brick");
    add(Column("sweep_row", std::vector<std::int64_t>{}), "", "0-based row in sweep_file");
    add(Column("ra", std::vector<double>{}), "deg", "right ascension (ICRS)");
    add(Column("dec", std::vector<double>{}), "deg", "declination (ICRS)");
    add(Column("type", S{}), "", "Tractor TYPE (PSF, REX, EXP, DEV, SER, DUP)");
    for (const char* b : {"g", "r", "z"})
        add(Column(fmt::format("nobs_{}", b), std::vector<std::int16_t>{}), "", fmt::format("number of {} exposures", b));
    add(Column("nobs_z_bin", S{}), "", "nobs_z bin: 1-2, 3-5, 6-10, 11+ (0: none)");
    add(Column("type_bin", S{}), "", "SER, DEV, REX, else OTHER");
    add(Column("stratum_id", std::vector<std::int8_t>{}), "",
        "stratum (nobs_z_bin x type_bin) index: 4 x nobs bin (0, 1-2, 3-5, 6-10, 11+) + type bin (SER, DEV, REX, OTHER)");
    for (const char* b : {"g", "r", "z", "w1"})
        add(Column(fmt::format("flux_{}", b), F{}), "nanomaggy", fmt::format("FLUX_{} (observed)", b));
    for (const char* b : {"g", "r", "z", "w1"})
        add(Column(fmt::format("mag_{}", b), F{}), "mag", fmt::format("22.5 - 2.5 log10(flux_{}) (AB, observed; NaN for flux <= 0)", b));
    add(Column("g_minus_r", F{}), "mag", "mag_g - mag_r");
    add(Column("r_minus_z", F{}), "mag", "mag_r - mag_z");
    add(Column("z_minus_w1", F{}), "mag", "mag_z - mag_w1");
    for (const char* b : {"g", "r", "z"})
        add(Column(fmt::format("psfsize_{}", b), F{}), "arcsec", fmt::format("PSFSIZE_{}: PSF FWHM (NaN where the file has none)", b));
    for (const char* b : {"g", "r", "z"})
        add(Column(fmt::format("psfdepth_{}", b), F{}), "1/nanomaggy^2", fmt::format("PSFDEPTH_{}: point-source depth inverse variance", b));
    for (const char* b : {"g", "r", "z"})
        add(Column(fmt::format("galdepth_{}", b), F{}), "1/nanomaggy^2", fmt::format("GALDEPTH_{}: galaxy depth inverse variance", b));
    add(Column("ebv", F{}), "mag", "E(B-V)");
    add(Column("maskbits", std::vector<std::int32_t>{}), "", "MASKBITS");
    add(Column("shape_r", F{}), "arcsec", "half-light radius (SHAPE_R; DR8: SHAPEDEV_R for DEV, else SHAPEEXP_R)");
    add(Column("shape_e1", F{}), "", "ellipticity e1 (SHAPE_E1)");
    add(Column("shape_e2", F{}), "", "ellipticity e2 (SHAPE_E2)");
    add(Column("sersic", F{}), "", "Sersic index (NaN where the file has none)");
    add(Column("healpix_64", std::vector<std::int64_t>{}), "", "NESTED HEALPix index, nside 64");
    add(Column("healpix_128", std::vector<std::int64_t>{}), "", "NESTED HEALPix index, nside 128 (the split cell)");
    add(Column("split", S{}), "", "train, val or test: SHA-256 of '{healpix_128}_{seed}'");
    add(Column("sweep_file", S{}), "", "sweep file the row comes from");
    add(Column("pipeline_version", S{}), "", "dhs version");
    add(Column("git_commit", S{}), "", "git commit of the dhs build");
    add(Column("pool", S{}), "", "N1 (deployment-representative), N2 (hard confuser) or '' (neither)");
    add(Column("confuser_category", S{}), "", "why the object is N2: the n2_catalog category, edge_on or large_blue");
    for (const auto& v : kernels::kLrgVariants)
        add(Column(std::string("lrg_") + std::string(v.name).substr(0, 2), std::vector<std::uint8_t>{}, {}, DType::boolean), "",
            fmt::format("LRG host {}: z < {}, r-z > {}, z-W1 > {}, type != PSF, E(B-V) and MASKBITS cuts", v.name,
                        v.z_max, v.rz_min, v.zw1_min));
    add(Column("draw_u", std::vector<double>{}), "",
        "draw value in [0, 1) from XXH64(galaxy_id, run.seed): a stratum's negatives are its smallest");
    if (with_match) {
        add(Column("lens_index", std::vector<std::int32_t>{}), "", "row of /lenses (duplicates collapsed) matched");
        add(Column("sep_arcsec", std::vector<double>{}), "arcsec", "separation from the lens");
    }
    return t;
}

std::vector<engine::OutputGroup> output_groups() {
    std::vector<engine::OutputGroup> g;
    g.push_back({.name = "pool",
                 .description = "the negative pool: galaxies of the sweeps passing the pool cuts, none within the "
                                "exclusion radius of a known lens; unit then row order",
                 .schema = object_schema(false)});
    g.push_back({.name = "hosts",
                 .description = "injection hosts: pool rows in the configured LRG variant (sample.lrg_variant)",
                 .schema = object_schema(false)});
    g.push_back({.name = "lens_matches",
                 .description = "every sweep object within the match radius of a known lens (the reduce keeps the "
                                "nearest per lens in /positives)",
                 .schema = object_schema(true)});
    engine::OutputGroup cov{.name = "lens_coverage",
                            .description = "per unit: lenses with sweep objects within the exclusion radius"};
    cov.schema.add(Column("lens_index", std::vector<std::int32_t>{}));
    cov.schema.add(Column("objects", std::vector<std::int64_t>{}));
    g.push_back(std::move(cov));
    engine::OutputGroup counts{.name = "pool_counts",
                               .description = "per unit: pool rows by stratum, pool and split (summed in /strata)"};
    counts.schema.add(Column("stratum_id", std::vector<std::int8_t>{}));
    counts.schema.add(Column("pool", std::vector<std::string>{}));
    counts.schema.add(Column("split", std::vector<std::string>{}));
    counts.schema.add(Column("hosts", std::vector<std::int64_t>{}));
    counts.schema.add(Column("rows", std::vector<std::int64_t>{}));
    g.push_back(std::move(counts));
    engine::OutputGroup flux{.name = "nonfinite_flux",
                             .description = "per unit: sweep rows whose flux column is NaN or infinite (they stay in "
                                            "/pool, never in /hosts; summed in /pool's nonfinite_flux attribute)"};
    flux.schema.add(Column("sweep_file", std::vector<std::string>{}));
    flux.schema.add(Column("column", std::vector<std::string>{}));
    flux.schema.add(Column("rows", std::vector<std::int64_t>{}));
    g.push_back(std::move(flux));
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

    fits::SweepReader reader(path, p.read_block_rows);
    if (end < 0) end = reader.num_rows();
    if (end > reader.num_rows())
        throw DataError(path, fmt::format("rows [{}, {})", begin, end),
                        fmt::format("the file has {} rows: it changed since the stage was planned", reader.num_rows()));
    const auto requests = sweep_requests();
    for (const auto& r : requests)
        if (r.required && !reader.has_column(r.name)) throw MissingColumnError(path, reader.hdu(), r.name);

    std::vector<std::int8_t> split_of_cell(static_cast<std::size_t>(12 * kSplitNside * kSplitNside), -1);
    ObjectColumns pool, hosts, matches;
    std::map<std::uint32_t, std::int64_t> coverage;
    // counts[stratum][pool][split] = {rows, hosts}
    std::vector<std::array<std::int64_t, 2>> counts(static_cast<std::size_t>(kernels::kNumStrata) * 3 * 3, {0, 0});
    const double c2_excl = kernels::chord2_of_arcsec(p.exclusion_radius_arcsec);
    const double c2_match = kernels::chord2_of_arcsec(p.match_radius_arcsec);
    Extras x;
    std::vector<LensPair> pairs;
    std::vector<std::uint32_t> pool_idx, host_idx, match_idx;
    std::array<std::int64_t, 4> nonfinite{};  // rows with a NaN or infinite FLUX_G, _R, _Z, _W1
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
                    ++nonfinite[k];
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
                auto& c = counts[(s * 3 + static_cast<std::size_t>(x.pool[i])) * 3 + static_cast<std::size_t>(d.split[i])];
                ++c[0];
                c[1] += host;
            }
        // Lens pairs: coverage (within the exclusion radius) and matches (within the match radius).
        for (const auto& pr : pairs) {
            if (pr.chord2 <= c2_excl) ++coverage[pr.lens];
            if (pr.chord2 > c2_match) continue;
            if (!d.in_pool[pr.row]) extras_of(b, p, in, d, pr.row, false, x);
            match_idx.assign(1, pr.row);
            matches.append(b, d, x, match_idx, file_name, p, b0);
            matches.lens_index.push_back(static_cast<std::int32_t>(pr.lens));
            matches.sep_arcsec.push_back(kernels::arcsec_of_chord2(pr.chord2));
        }
        pool.append(b, d, x, pool_idx, file_name, p, b0);
        hosts.append(b, d, x, host_idx, file_name, p, b0);
    }
    engine::UnitOutput out;
    const Table plain = object_schema(false), with_match = object_schema(true);
    out["pool"] = pool.table(plain, false);
    out["hosts"] = hosts.table(plain, false);
    out["lens_matches"] = matches.table(with_match, true);
    std::vector<std::int32_t> lens_ids;
    std::vector<std::int64_t> objects;
    for (const auto& [k, nobj] : coverage) {
        lens_ids.push_back(static_cast<std::int32_t>(k));
        objects.push_back(nobj);
    }
    Table cov;
    cov.add(Column("lens_index", std::move(lens_ids)));
    cov.add(Column("objects", std::move(objects)));
    out["lens_coverage"] = std::move(cov);
    std::vector<std::int8_t> cs;
    std::vector<std::string> cp, csp;
    std::vector<std::int64_t> ch, cr;
    for (std::size_t s = 0; s < static_cast<std::size_t>(kernels::kNumStrata); ++s)
        for (std::size_t q = 0; q < 3; ++q)
            for (std::size_t sp = 0; sp < 3; ++sp) {
                const auto& c = counts[(s * 3 + q) * 3 + sp];
                if (c[0] == 0) continue;
                cs.push_back(static_cast<std::int8_t>(s));
                cp.push_back(pool_name(static_cast<int>(q)));
                csp.push_back(split_names()[sp]);
                ch.push_back(c[1]);
                cr.push_back(c[0]);
            }
    Table ct;
    ct.add(Column("stratum_id", std::move(cs)));
    ct.add(Column("pool", std::move(cp)));
    ct.add(Column("split", std::move(csp)));
    ct.add(Column("hosts", std::move(ch)));
    ct.add(Column("rows", std::move(cr)));
    out["pool_counts"] = std::move(ct);
    std::vector<std::string> nf_file, nf_column;
    std::vector<std::int64_t> nf_rows;
    static const char* const flux_columns[4] = {"FLUX_G", "FLUX_R", "FLUX_Z", "FLUX_W1"};
    for (std::size_t k = 0; k < 4; ++k)
        if (nonfinite[k] > 0) {
            nf_file.push_back(file_name);
            nf_column.push_back(flux_columns[k]);
            nf_rows.push_back(nonfinite[k]);
        }
    Table nf;
    nf.add(Column("sweep_file", std::move(nf_file)));
    nf.add(Column("column", std::move(nf_column)));
    nf.add(Column("rows", std::move(nf_rows)));
    out["nonfinite_flux"] = std::move(nf);
    return out;
}

}  // namespace dhs::stages::sample
