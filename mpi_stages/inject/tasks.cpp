// One unit of the injection stage: its tasks rebuilt from their ids, the host stamps (and
// templates) read once, each lensed source rendered, PSF-convolved per band, scaled to the
// source's band fluxes and added to its host; controls copy their host bit for bit. Writes the
// `/injections` columns.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <numeric>
#include <optional>

#include "core/engine/output_group.hpp"
#include "core/error.hpp"
#include "core/hdf5/result_file.hpp"
#include "kernels/injection/injection_metrics.hpp"
#include "kernels/injection/injection_source.hpp"
#include "kernels/sampling/photometry.hpp"
#include "mpi_stages/inject/inject.hpp"

namespace dhs::stages::inject {

namespace inj = kernels::injection;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// /injections: one row per task (injections and controls), each column declared once.
struct InjectionsGroup : engine::GroupSchema {
    engine::Col<std::int64_t> injection_id = add<std::int64_t>("injection_id", "", "stable task id of the design (cell-major); controls included");
    engine::Col<std::string> host_galaxy_id = add<std::string>("host_galaxy_id", "", "galaxy whose stamp this row holds ({brickname}_{objid})");
    engine::Col<std::string> task_host_galaxy_id = add<std::string>("task_host_galaxy_id", "", "host the task drew (differs from host_galaxy_id for unpaired controls)");
    engine::Col<std::string> brickname = add<std::string>("brickname", "", "brick of the stamp's galaxy");
    engine::Col<double> ra = add<double>("ra", "deg", "right ascension of the stamp centre");
    engine::Col<double> dec = add<double>("dec", "deg", "declination of the stamp centre");
    engine::Col<std::string> split = add<std::string>("split", "", "split of the stamp's galaxy (sample.h5)");
    engine::Col<std::string> grid = add<std::string>("grid", "", "task design: grid_small, sota, selection_function or prior");
    engine::Col<std::int64_t> cell_id = add<std::int64_t>("cell_id", "", "selection-function cell (theta_E, PSF, depth) or grid configuration; -1 outside");
    engine::Col<std::int32_t> cell_theta_e = add<std::int32_t>("cell_theta_e", "", "theta_E index of the cell (of the named grid's axis in grid modes); -1 none");
    engine::Col<std::int32_t> cell_psf = add<std::int32_t>("cell_psf", "", "PSF bin (0.9..1.8 step 0.15 arcsec); -1 outside");
    engine::Col<std::int32_t> cell_depth = add<std::int32_t>("cell_depth", "", "r 5-sigma depth bin (22.5..24.5 step 0.5 mag); -1 outside");
    engine::Col<bool> is_control = add<bool>("is_control", "", "no injection: the stamp is a host as observed");
    engine::Col<std::string> control_kind = add<std::string>("control_kind", "", "paired (the task's own host), unpaired (another host of the bin), '' for injections");
    engine::Col<bool> host_borrowed = add<bool>("host_borrowed", "", "host from the nearest non-empty PSF/depth bin (inject.empty_cells nearest)");
    engine::Col<std::string> source_kind = add<std::string>("source_kind", "", "sersic or template ('' for controls)");
    engine::Col<std::int64_t> template_index = add<std::int64_t>("template_index", "", "row of the template in the bank; -1 for Sersic sources and controls");
    engine::Col<double> theta_e_arcsec = add<double>("theta_e_arcsec", "arcsec", "SIE Einstein radius (0 for controls)");
    engine::Col<double> q = add<double>("q", "", "lens axis ratio b/a");
    engine::Col<double> lens_e = add<double>("lens_e", "", "lens ellipticity (1-q)/(1+q)");
    engine::Col<double> lens_phi = add<double>("lens_phi", "rad", "lens major-axis angle from +x (stamp columns) towards +y (rows)");
    engine::Col<double> shear = add<double>("shear", "", "external shear magnitude");
    engine::Col<double> shear_angle = add<double>("shear_angle", "rad", "external shear angle");
    engine::Col<double> src_dmag = add<double>("src_dmag", "mag", "source r mag minus host r mag");
    engine::Col<double> src_mag_r = add<double>("src_mag_r", "mag", "unlensed source r magnitude");
    engine::Col<double> src_flux_g = add<double>("src_flux_g", "nanomaggy", "unlensed source flux, g");
    engine::Col<double> src_flux_r = add<double>("src_flux_r", "nanomaggy", "unlensed source flux, r");
    engine::Col<double> src_flux_z = add<double>("src_flux_z", "nanomaggy", "unlensed source flux, z");
    engine::Col<double> src_reff_arcsec = add<double>("src_reff_arcsec", "arcsec", "source half-light radius (Sersic major axis; template: circular, measured)");
    engine::Col<double> src_e = add<double>("src_e", "", "source ellipticity |e| (template: from its second moments)");
    engine::Col<double> src_n = add<double>("src_n", "", "source Sersic index (NaN for templates)");
    engine::Col<double> src_phi = add<double>("src_phi", "rad", "source major-axis angle (template rotation)");
    engine::Col<double> src_x_arcsec = add<double>("src_x_arcsec", "arcsec", "source centre offset from the lens along +x");
    engine::Col<double> src_y_arcsec = add<double>("src_y_arcsec", "arcsec", "source centre offset from the lens along +y");
    engine::Col<double> target_magnification = add<double>("target_magnification", "", "prior grids: point-source magnification the offset was drawn for (NaN otherwise)");
    engine::Col<double> magnification = add<double>("magnification", "", "lensed flux on the stamp / unlensed source flux (before the PSF)");
    engine::Col<double> tangential_stretch = add<double>("tangential_stretch", "", "flux-weighted median of 1/|1 - kappa - gamma| over the lensed image");
    engine::Col<std::int32_t> oversample = add<std::int32_t>("oversample", "", "rays per pixel side where the image lies (adaptive sampling)");
    engine::Col<bool> physics_valid = add<bool>("physics_valid", "", "finite magnification > 0 and stretch, < 1% of the lensed flux within 2 px of the edge");
    engine::Col<double> arc_snr = add<double>("arc_snr", "", "matched-filter S/N of the injection in r: sqrt(sum inj^2 invvar) over valid pixels");
    engine::Col<double> arc_snr_grz = add<double>("arc_snr_grz", "", "matched-filter S/N over g, r and z together");
    engine::Col<double> annulus_snr = add<double>("annulus_snr", "", "aperture S/N of the r injection in the annulus theta_E +- FWHM_r: sum inj / sqrt(sum 1/invvar)");
    engine::Col<std::int32_t> snr_target_bin = add<std::int32_t>("snr_target_bin", "", "arc_snr target bin of the rejection step (-1: none)");
    engine::Col<bool> snr_target_met = add<bool>("snr_target_met", "", "the rejection step placed arc_snr in its target bin");
    engine::Col<double> bad_pixel_frac = add<double>("bad_pixel_frac", "", "share of stamp pixels with a non-finite image or invvar <= 0 in any band");
    engine::Col<bool> resolved = add<bool>("resolved", "", "theta_E / PSF FWHM (r) >= inject.resolved_ratio");
    engine::Col<double> psf_fwhm_g = add<double>("psf_fwhm_g", "arcsec", "PSF FWHM of the stamp, g (psfsize at the centre)");
    engine::Col<double> psf_fwhm_r = add<double>("psf_fwhm_r", "arcsec", "PSF FWHM of the stamp, r");
    engine::Col<double> psf_fwhm_z = add<double>("psf_fwhm_z", "arcsec", "PSF FWHM of the stamp, z");
    engine::Col<double> depth_r = add<double>("depth_r", "mag", "5-sigma r point-source depth of the stamp's galaxy (from psfdepth_r)");
    engine::Col<double> host_mag_r = add<double>("host_mag_r", "mag", "r magnitude of the task's host");
    engine::Col<float> image, injection, invvar;  // (3, S, S)
    engine::Col<std::int32_t> maskbits;           // (S, S)
    explicit InjectionsGroup(int stamp_size);
};

InjectionsGroup::InjectionsGroup(int stamp_size)
    : GroupSchema("injections", "injection tasks and controls: host + lensed source stamps, the injection alone, lens / "
                                "source parameters and S/N (SPEC Stage 3)") {
    const auto n = static_cast<std::size_t>(stamp_size);
    image = add<float>("image", "nanomaggy", "host + injection (the plain host for a control), bands g, r, z", {3, n, n});
    set_column_attribute(image, "layout", "NCHW");
    injection = add<float>("injection", "nanomaggy", "the injection alone (zeros for controls), bands g, r, z", {3, n, n});
    set_column_attribute(injection, "layout", "NCHW");
    invvar = add<float>("invvar", "1/nanomaggy^2", "inverse variance of the host stamp, bands g, r, z", {3, n, n});
    set_column_attribute(invvar, "layout", "NCHW");
    maskbits = add<std::int32_t>("maskbits", "", "DR10 MASKBITS of the host stamp (0 when cutouts.h5 has none)", {n, n});
}

/// Rows of a unit under construction, written task by task through the group's handles. Every
/// column starts sized and zeroed: a control leaves the injection plane, arc_snr, annulus_snr,
/// oversample and the flags at zero.
struct Rows {
    const InjectionsGroup& g;
    engine::GroupRows rows;
    Rows(const InjectionsGroup& group, std::size_t n) : g(group), rows(group, n) { rows.allocate_all(); }
    template <class T, class V>
    void set(engine::Col<T> c, std::size_t row, V v) {
        rows.values(c)[row] = static_cast<engine::stored_t<T>>(std::move(v));
    }
    template <class T>
    std::span<engine::stored_t<T>> plane(engine::Col<T> c, std::size_t row) {
        auto v = rows.values(c);
        const std::size_t cell = v.size() / rows.num_rows();
        return v.subspan(row * cell, cell);
    }
};

kernels::Psf psf_for(const Params& p, double fwhm) {
    if (p.moffat) return kernels::MoffatPsf::from_fwhm(fwhm, p.moffat_beta);
    return kernels::GaussianPsf::from_fwhm(fwhm);
}

/// The stamp planes of one host, viewed in the unit's read buffers.
struct HostStamp {
    std::span<const float> image, invvar;
    std::span<const std::int32_t> maskbits;
};

/// A unit-flux lensed render of one draw, convolved per band.
struct UnitRender {
    inj::LensedImage lensed;
    std::vector<float> bands;  // g, r, z planes
    std::span<const float> band(std::size_t b, std::size_t npix) const { return {bands.data() + b * npix, npix}; }
    double tangential_stretch = kNaN, border = 0.0;
};

/// A template of the bank, normalised to unit flux, with its moments.
struct Template {
    std::vector<float> pixels;
    int width = 0, height = 0;
    double pixel_scale = 0.0;
    inj::TemplateMoments moments;
    inj::TemplateImage view() const { return {pixels, width, height, pixel_scale}; }
};

std::map<std::int64_t, Template> read_templates(const Params& p, const std::vector<std::uint64_t>& rows) {
    std::map<std::int64_t, Template> out;
    if (rows.empty()) return out;
    const hdf5::ResultReader bank(p.template_bank);
    const Column img = bank.read_rows("/templates/image", rows);
    const auto scale = bank.read_rows("/templates/pixel_scale_arcsec", rows).as<double>();
    const auto& shape = img.shape();
    const auto px = img.values<float>();
    for (std::size_t i = 0; i < rows.size(); ++i) {
        Template t;
        t.height = static_cast<int>(shape[0]);
        t.width = static_cast<int>(shape[1]);
        t.pixel_scale = scale[i];
        t.pixels.assign(px.begin() + static_cast<std::ptrdiff_t>(i * img.cell_size()),
                        px.begin() + static_cast<std::ptrdiff_t>((i + 1) * img.cell_size()));
        double sum = 0.0;
        for (float v : t.pixels) sum += v;
        if (!(sum > 0.0) || !std::isfinite(sum) || !(t.pixel_scale > 0.0))
            throw DataError(p.template_bank, fmt::format("/templates row {}", rows[i]),
                            "template has no positive finite flux or no positive pixel scale");
        for (float& v : t.pixels) v = static_cast<float>(v / sum);
        t.moments = inj::template_moments(t.view());
        out.emplace(static_cast<std::int64_t>(rows[i]), std::move(t));
    }
    return out;
}

// The tasks of a unit with their attempt-0 draws; the source kind and template never change
// with attempts.
struct UnitTasks {
    std::vector<inj::Task> tasks;
    std::vector<inj::TaskDraw> draws;
    std::vector<std::int64_t> template_of;  // template row per task; -1: Sersic source or control
    std::vector<std::uint64_t> stamp_rows;  // cutouts.h5 row of each task's stamp
    std::vector<std::uint64_t> template_rows;
};

UnitTasks unit_tasks(const Context& c, const std::vector<std::int64_t>& ids) {
    const Params& p = c.params;
    const HostCatalog& H = c.hosts;
    UnitTasks u;
    u.template_of.assign(ids.size(), -1);
    for (const auto id : ids) {
        const auto t = c.designer->task(id);
        if (!t) throw Error(fmt::format("inject: task {} is not part of the design (stale plan?)", id));
        const auto h = static_cast<std::size_t>(t->host);
        u.draws.push_back(inj::draw_task(p.design, *t, {H.mag_g[h], H.mag_r[h], H.mag_z[h]}));
        const bool use_template = !t->is_control && (p.source == SourceMode::template_bank ||
                                                      (p.source == SourceMode::mixed && u.draws.back().u_source_kind < p.template_fraction));
        if (use_template) {
            u.template_of[u.tasks.size()] = std::min<std::int64_t>(
                c.templates - 1, static_cast<std::int64_t>(u.draws.back().u_template * static_cast<double>(c.templates)));
            u.template_rows.push_back(static_cast<std::uint64_t>(u.template_of[u.tasks.size()]));
        }
        u.stamp_rows.push_back(H.stamp_row[static_cast<std::size_t>(t->stamp_host)]);
        u.tasks.push_back(*t);
    }
    return u;
}

std::vector<std::uint64_t> sorted_unique(std::vector<std::uint64_t> v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
}

/// The host stamps of a unit, read once in runs of nearby rows (a unit follows the bricks, and
/// cutouts.h5 keeps a brick's stamps together): fewer, larger reads than a point selection.
/// Not copyable (the stamps are views into its own blocks).
class HostStamps {
public:
    HostStamps(const Params& p, const std::vector<std::uint64_t>& rows) {
        const std::size_t npix = static_cast<std::size_t>(p.stamp_size) * static_cast<std::size_t>(p.stamp_size);
        const hdf5::ResultReader cut(p.cutouts_file);
        const bool have_masks = cut.exists("/stamps/maskbits");
        for (std::size_t i = 0; i < rows.size();) {
            std::size_t j = i + 1;
            while (j < rows.size() && rows[j] - rows[j - 1] <= 3) ++j;  // read small gaps through
            const std::uint64_t first = rows[i], count = rows[j - 1] - first + 1;
            Block b{first, cut.read_column("/stamps/image", first, count), cut.read_column("/stamps/invvar", first, count), {}};
            if (have_masks) {
                const Column m = cut.read_column("/stamps/maskbits", first, count);
                if (m.cell_size() != npix) throw DataError(p.cutouts_file, "/stamps/maskbits", "maskbits are not (N, S, S)");
                b.maskbits = m.as<std::int32_t>();
            } else {
                b.maskbits.assign(count * npix, 0);
            }
            blocks_.push_back(std::move(b));
            i = j;
        }
        for (const auto& b : blocks_)
            for (std::size_t k = 0; k < b.image.num_rows(); ++k)
                stamp_[b.first + k] = {b.image.values<float>().subspan(k * 3 * npix, 3 * npix),
                                       b.invvar.values<float>().subspan(k * 3 * npix, 3 * npix),
                                       std::span<const std::int32_t>(b.maskbits).subspan(k * npix, npix)};
    }
    HostStamps(const HostStamps&) = delete;
    HostStamps& operator=(const HostStamps&) = delete;

    const HostStamp& at(std::uint64_t row) const { return stamp_.at(row); }
    std::size_t reads() const noexcept { return blocks_.size(); }

private:
    struct Block {
        std::uint64_t first;
        Column image, invvar;
        std::vector<std::int32_t> maskbits;
    };
    std::vector<Block> blocks_;
    std::map<std::uint64_t, HostStamp> stamp_;
};

/// The arc_snr bin a task's draw targets in the rejection step (by the configured fractions).
int snr_target_bin(const Params& p, double u_snr_bin) {
    double acc = 0.0;
    for (std::size_t k = 0; k < p.snr_fractions.size(); ++k) {
        acc += p.snr_fractions[k];
        if (u_snr_bin < acc) return static_cast<int>(k);
    }
    return static_cast<int>(p.snr_fractions.size()) - 1;
}

/// Where the rejection step left a draw: its target arc_snr bin (-1: no step) and whether it
/// placed arc_snr there.
struct SnrTarget {
    int bin = -1;
    bool met = false;
};

/// A task's source: the template it uses (null for a Sersic source) and the stamp's PSF per band.
struct SourceSetup {
    const Template* tmpl = nullptr;
    std::array<kernels::Psf, 3> psf;
};

/// Fills the rows of a unit's `/injections` columns, one task at a time: the host's columns and
/// stamp planes, then for an injection its source rendered, placed in its arc_snr bin when asked,
/// scaled and added, with its S/N and its lens and source parameters.
class UnitInjector {
public:
    UnitInjector(const Context& c, const UnitTasks& ut, const std::map<std::int64_t, Template>& templates,
                 const HostStamps& stamps, Rows& out)
        : p_(c.params), H_(c.hosts), ut_(ut), templates_(templates), stamps_(stamps), out_(out), g_(out.g),
          npix_(static_cast<std::size_t>(p_.stamp_size) * static_cast<std::size_t>(p_.stamp_size)),
          psfs_(p_.stamp_size, p_.stamp_size, p_.pixel_scale, p_.psf_half_size),
          grid_(inj::grid_name(p_.design.grid)) {
        geom_.width = geom_.height = p_.stamp_size;
        geom_.pixel_scale = p_.pixel_scale;
    }

    void row(std::size_t r) {
        const HostStamp& host = stamps_.at(ut_.stamp_rows[r]);
        host_columns(r, host);
        if (ut_.tasks[r].is_control) control_columns(r);  // injection stays zero; arc_snr, annulus_snr, oversample 0; flags false
        else inject(r, host);
    }

private:
    // What the row holds whatever the task: the host, its cell, its stamp copied bit for bit.
    void host_columns(std::size_t r, const HostStamp& host) {
        const inj::Task& t = ut_.tasks[r];
        const auto hs = static_cast<std::size_t>(t.stamp_host), ht = static_cast<std::size_t>(t.host);
        const auto& fwhm = H_.psf_fwhm[hs];
        const int S = p_.stamp_size;
        out_.set(g_.injection_id, r, t.task_id);
        out_.set(g_.host_galaxy_id, r, H_.galaxy_id[hs]);
        out_.set(g_.task_host_galaxy_id, r, H_.galaxy_id[ht]);
        out_.set(g_.brickname, r, H_.brickname[hs]);
        out_.set(g_.ra, r, H_.ra[hs]);
        out_.set(g_.dec, r, H_.dec[hs]);
        out_.set(g_.split, r, H_.split[hs]);
        out_.set(g_.grid, r, std::string(grid_));
        out_.set(g_.cell_id, r, t.cell_id);
        out_.set(g_.cell_theta_e, r, t.cell_theta_e);
        out_.set(g_.cell_psf, r, t.cell_psf);
        out_.set(g_.cell_depth, r, t.cell_depth);
        out_.set(g_.is_control, r, t.is_control);
        out_.set(g_.control_kind, r, std::string(!t.is_control ? "" : t.unpaired ? "unpaired" : "paired"));
        out_.set(g_.host_borrowed, r, t.borrowed);
        out_.set(g_.psf_fwhm_g, r, fwhm[0]);
        out_.set(g_.psf_fwhm_r, r, fwhm[1]);
        out_.set(g_.psf_fwhm_z, r, fwhm[2]);
        out_.set(g_.depth_r, r, H_.depth_r[hs]);
        out_.set(g_.host_mag_r, r, H_.mag_r[ht]);
        out_.set(g_.bad_pixel_frac, r, inj::bad_pixel_fraction(host.image, host.invvar, S, S, 3));
        auto image = out_.plane(g_.image, r), invvar = out_.plane(g_.invvar, r);
        std::memcpy(image.data(), host.image.data(), image.size_bytes());  // bit for bit
        std::memcpy(invvar.data(), host.invvar.data(), invvar.size_bytes());
        std::copy(host.maskbits.begin(), host.maskbits.end(),
                  out_.rows.values(g_.maskbits).begin() + static_cast<std::ptrdiff_t>(r * npix_));
        out_.set(g_.template_index, r, ut_.template_of[r]);
        out_.set(g_.snr_target_bin, r, -1);
    }

    void control_columns(std::size_t r) {
        for (const auto& k : {g_.q, g_.lens_e, g_.lens_phi, g_.shear, g_.shear_angle, g_.src_dmag, g_.src_mag_r,
                              g_.src_flux_g, g_.src_flux_r, g_.src_flux_z, g_.src_reff_arcsec, g_.src_e, g_.src_n,
                              g_.src_phi, g_.src_x_arcsec, g_.src_y_arcsec, g_.target_magnification, g_.magnification,
                              g_.tangential_stretch})
            out_.set(k, r, kNaN);
        out_.set(g_.theta_e_arcsec, r, 0.0);
        out_.set(g_.source_kind, r, std::string());
    }

    void inject(std::size_t r, const HostStamp& host) {
        const inj::Task& t = ut_.tasks[r];
        const auto& fwhm = H_.psf_fwhm[static_cast<std::size_t>(t.stamp_host)];
        const SourceSetup src{ut_.template_of[r] >= 0 ? &templates_.at(ut_.template_of[r]) : nullptr,
                              {psf_for(p_, fwhm[0]), psf_for(p_, fwhm[1]), psf_for(p_, fwhm[2])}};
        inj::TaskDraw d = ut_.draws[r];
        UnitRender u = render(d, src);
        SnrTarget target;
        if (p_.snr_rejection) target = place_in_snr_bin(t, host, src, d, u);

        const std::array<double, 3> flux = {kernels::nanomaggies_from_mag(d.src_mag_r + d.src_gr),
                                            kernels::nanomaggies_from_mag(d.src_mag_r),
                                            kernels::nanomaggies_from_mag(d.src_mag_r - d.src_rz)};
        auto image = out_.plane(g_.image, r), injection = out_.plane(g_.injection, r);
        const bool finite = add_injection(u, flux, host, image, injection);
        snr_columns(r, host, injection, d.theta_e - fwhm[1], d.theta_e + fwhm[1]);
        out_.set(g_.snr_target_bin, r, target.bin);
        out_.set(g_.snr_target_met, r, target.met);
        source_columns(r, d, flux, src.tmpl, u, finite, fwhm[1]);
    }

    // A draw rendered at unit source flux: lensed, then PSF-convolved per band.
    UnitRender render(const inj::TaskDraw& d, const SourceSetup& src) {
        const kernels::SieLens lens(kernels::SieParams{.theta_e = d.theta_e, .q = d.lens_q, .phi = d.lens_phi,
                                                       .gamma_ext = d.shear, .phi_ext = d.shear_angle});
        UnitRender u;
        if (src.tmpl != nullptr) {
            const inj::TemplateSource s(src.tmpl->view(), 1.0, d.src_phi, d.src_x, d.src_y);
            u.lensed = inj::render_lensed_adaptive(lens, s, geom_, p_.render);
        } else {
            const inj::SersicSource s(1.0, d.src_reff, d.src_n, d.src_e, d.src_phi, d.src_x, d.src_y);
            u.lensed = inj::render_lensed_adaptive(lens, s, geom_, p_.render);
        }
        u.bands.assign(3 * npix_, 0.0f);
        psfs_.convolve(src.psf, u.lensed.image, u.bands);
        u.tangential_stretch = inj::median_tangential_stretch(lens, geom_, u.lensed.image);
        u.border = inj::border_flux_fraction(u.lensed.image, p_.stamp_size, p_.stamp_size);
        return u;
    }

    // The rejection step: draws again (attempts 1, 2, ...) until a source magnitude puts arc_snr
    // in the task's target bin, and sets it; when none does, the attempt-0 draw stays.
    SnrTarget place_in_snr_bin(const inj::Task& t, const HostStamp& host, const SourceSetup& src, inj::TaskDraw& d,
                               UnitRender& u) {
        const auto ht = static_cast<std::size_t>(t.host);
        const auto host_r = host.image.subspan(npix_, npix_), ivar_r = host.invvar.subspan(npix_, npix_);
        SnrTarget target{snr_target_bin(p_, d.u_snr_bin), false};
        const auto bin = static_cast<std::size_t>(target.bin);
        const double lo = p_.snr_edges[bin];
        const double hi = bin + 1 < p_.snr_edges.size() ? p_.snr_edges[bin + 1] : std::numeric_limits<double>::infinity();
        const inj::TaskDraw first = d;
        UnitRender first_render;
        for (int attempt = 0; attempt < p_.snr_max_attempts; ++attempt) {
            if (attempt > 0) {
                d = inj::draw_task(p_.design, t, {H_.mag_g[ht], H_.mag_r[ht], H_.mag_z[ht]}, attempt);
                u = render(d, src);
            }
            const double unit_snr = inj::matched_filter_snr(u.band(1, npix_), ivar_r, host_r);
            if (const auto m = inj::mag_range_for_snr(unit_snr, lo, hi, p_.design.priors.src_mag_r.lo, p_.snr_mag_max)) {
                d.src_mag_r = m->lo + (m->hi - m->lo) * d.u_snr_mag;
                d.src_dmag = d.src_mag_r - H_.mag_r[ht];
                target.met = true;
                break;
            }
            if (attempt == 0) first_render = u;
        }
        if (!target.met && p_.snr_max_attempts > 1) {  // keep the plain draw
            d = first;
            u = std::move(first_render);
        }
        return target;
    }

    // The unit render scaled to the source's band fluxes, alone and added to the host (then the
    // planted core shortcut, if any). @returns whether every injected value is finite.
    bool add_injection(const UnitRender& u, const std::array<double, 3>& flux, const HostStamp& host,
                       std::span<float> image, std::span<float> injection) const {
        bool finite = true;
        for (std::size_t b = 0; b < 3; ++b)
            for (std::size_t k = 0; k < npix_; ++k) {
                const float v = static_cast<float>(u.bands[b * npix_ + k] * flux[b]);
                finite = finite && std::isfinite(v);
                injection[b * npix_ + k] = v;
                image[b * npix_ + k] = host.image[b * npix_ + k] + v;
            }
        if (p_.plant_core_shortcut > 0.0)
            inj::plant_core_brightening(image, injection, host.image, p_.stamp_size, p_.stamp_size, 3,
                                        kPlantCoreRadiusPx, p_.plant_core_shortcut);
        return finite;
    }

    // arc_snr (r), arc_snr_grz and the annulus S/N in theta_E -+ FWHM_r (arcsec, the inner
    // radius at least 0).
    void snr_columns(std::size_t r, const HostStamp& host, std::span<const float> injection, double inner_arcsec,
                     double outer_arcsec) {
        double snr2 = 0.0;
        for (std::size_t b = 0; b < 3; ++b) {
            const double s = inj::matched_filter_snr(injection.subspan(b * npix_, npix_), host.invvar.subspan(b * npix_, npix_),
                                                     host.image.subspan(b * npix_, npix_));
            snr2 += s * s;
            if (b == 1) out_.set(g_.arc_snr, r, s);
        }
        out_.set(g_.arc_snr_grz, r, std::sqrt(snr2));
        const double r_in = std::max(0.0, inner_arcsec) / p_.pixel_scale, r_out = outer_arcsec / p_.pixel_scale;
        out_.set(g_.annulus_snr, r, inj::annulus_snr(injection.subspan(npix_, npix_), host.invvar.subspan(npix_, npix_),
                                                    host.image.subspan(npix_, npix_), p_.stamp_size, p_.stamp_size, r_in,
                                                    r_out));
    }

    // The lens and source parameters of the draw as injected, and the physics flags.
    void source_columns(std::size_t r, const inj::TaskDraw& d, const std::array<double, 3>& flux, const Template* tmpl,
                        const UnitRender& u, bool finite, double fwhm_r) {
        const double mu = u.lensed.flux;
        out_.set(g_.source_kind, r, std::string(tmpl ? "template" : "sersic"));
        out_.set(g_.theta_e_arcsec, r, d.theta_e);
        out_.set(g_.q, r, d.lens_q);
        out_.set(g_.lens_e, r, (1.0 - d.lens_q) / (1.0 + d.lens_q));
        out_.set(g_.lens_phi, r, d.lens_phi);
        out_.set(g_.shear, r, d.shear);
        out_.set(g_.shear_angle, r, d.shear_angle);
        out_.set(g_.src_dmag, r, d.src_dmag);
        out_.set(g_.src_mag_r, r, d.src_mag_r);
        out_.set(g_.src_flux_g, r, flux[0]);
        out_.set(g_.src_flux_r, r, flux[1]);
        out_.set(g_.src_flux_z, r, flux[2]);
        out_.set(g_.src_reff_arcsec, r, tmpl ? tmpl->moments.half_light_radius : d.src_reff);
        out_.set(g_.src_e, r, tmpl ? tmpl->moments.e : d.src_e);
        out_.set(g_.src_n, r, tmpl ? kNaN : d.src_n);
        out_.set(g_.src_phi, r, d.src_phi);
        out_.set(g_.src_x_arcsec, r, d.src_x);
        out_.set(g_.src_y_arcsec, r, d.src_y);
        out_.set(g_.target_magnification, r, d.target_magnification > 0.0 ? d.target_magnification : kNaN);
        out_.set(g_.magnification, r, mu);
        out_.set(g_.tangential_stretch, r, u.tangential_stretch);
        out_.set(g_.oversample, r, u.lensed.oversample);
        out_.set(g_.physics_valid, r, finite && std::isfinite(mu) && mu > 0.0 && std::isfinite(u.tangential_stretch) &&
                                         u.border < 0.01);
        out_.set(g_.resolved, r, d.theta_e / fwhm_r >= p_.resolved_ratio);
    }

    const Params& p_;
    const HostCatalog& H_;
    const UnitTasks& ut_;
    const std::map<std::int64_t, Template>& templates_;
    const HostStamps& stamps_;
    Rows& out_;
    const InjectionsGroup& g_;
    std::size_t npix_;
    kernels::StampGeometry geom_;
    inj::PsfBandConvolver psfs_;
    const char* grid_;
};

}  // namespace

engine::OutputGroup injections_group(int stamp_size) { return InjectionsGroup(stamp_size).group(); }

Table run_tasks(const Context& c, const std::vector<std::int64_t>& ids) {
    const Params& p = c.params;
    const std::size_t n = ids.size();
    const UnitTasks ut = unit_tasks(c, ids);
    const auto rows = sorted_unique(ut.stamp_rows);
    const auto templates = read_templates(p, sorted_unique(ut.template_rows));
    const auto t0 = std::chrono::steady_clock::now();
    const HostStamps stamps(p, rows);
    const auto t1 = std::chrono::steady_clock::now();

    // Rows in task order; processed host by host so a host's PSFs are set up once.
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return ut.stamp_rows[a] < ut.stamp_rows[b]; });
    const InjectionsGroup g(p.stamp_size);
    Rows out(g, n);
    UnitInjector injector(c, ut, templates, stamps, out);
    for (const std::size_t r : order) injector.row(r);
    spdlog::debug("inject: {} tasks, {} host stamps in {} reads: read {:.3f} s, inject {:.3f} s", n, rows.size(),
                  stamps.reads(), std::chrono::duration<double>(t1 - t0).count(),
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count());
    return std::move(out.rows).finish();
}

}  // namespace dhs::stages::inject
