// The truth of a mock brick as a table, one row per object in objid order: identity and
// position, catalogued and true fluxes, shape, MASKBITS and pixel, the brick's observing
// conditions, and every lens and confuser parameter (NaN / -1 / empty where they do not apply).
// It is the `objects` group of mock_sky.h5 and truth/objects.csv.
#include <cmath>
#include <functional>
#include <limits>
#include <numbers>

#include "mpi_stages/mock_sky/mock_sky.hpp"

namespace dhs::stages::mock_sky {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double deg(double rad) { return rad * 180.0 / std::numbers::pi; }

/// Builds the table column by column from per-object getters.
class Builder {
public:
    explicit Builder(const std::vector<Object>& objects) : objects_(objects) {}

    template <class T>
    void add(const char* name, const char* unit, const char* description, const std::function<T(const Object&)>& get,
             DType dtype = dtype_of<T>()) {
        std::vector<T> v;
        v.reserve(objects_.size());
        for (const auto& o : objects_) v.push_back(get(o));
        Column c(name, std::move(v), {}, dtype);
        c.set_unit(unit);
        c.set_description(description);
        table_.add(std::move(c));
    }
    void real(const char* name, const char* unit, const char* description, const std::function<double(const Object&)>& get) {
        add<double>(name, unit, description, get);
    }
    void integer(const char* name, const char* description, const std::function<std::int32_t(const Object&)>& get) {
        add<std::int32_t>(name, "", description, get);
    }
    void text(const char* name, const char* description, const std::function<std::string(const Object&)>& get) {
        add<std::string>(name, "", description, get);
    }
    void flag(const char* name, const char* description, const std::function<bool(const Object&)>& get) {
        add<std::uint8_t>(name, "", description, [&get](const Object& o) { return static_cast<std::uint8_t>(get(o)); },
                          DType::boolean);
    }
    Table take() { return std::move(table_); }

private:
    const std::vector<Object>& objects_;
    Table table_;
};

bool is_lens(const Object& o) { return o.population == Population::lens_host; }
bool is_merger(const Object& o) {
    return o.population == Population::merger || o.population == Population::merger_companion;
}

}  // namespace

Table truth_rows(const Params& p, const BrickDraw& draw) {
    const BrickGrid grid = brick_grid(p, draw.brick);
    const BrickMasks masks = draw.objects.empty() ? BrickMasks{} : brick_masks(p, draw, grid);
    const auto& c = draw.conditions;
    Builder t(draw.objects);
    const char* bands[3] = {"g", "r", "z"};
    t.text("brickname", "BRICKNAME of the brick the object is primary in", [&](const Object&) { return draw.brick.name; });
    t.integer("objid", "OBJID within the brick (as in the sweeps)", [](const Object& o) { return o.objid; });
    t.text("population",
           "star, bright_star, cluster_star, calibration_star, lrg, blue, lens_host, ring, spiral, edge_on, merger, "
           "merger_companion",
           [](const Object& o) { return std::string(population_name(o.population)); });
    t.text("confuser_category", "ring, spiral (face-on), edge_on, merger, bright_star (diffraction spikes); empty if none",
           [](const Object& o) { return std::string(confuser_category(o.population)); });
    t.text("type", "Tractor TYPE in the sweeps", [](const Object& o) { return o.type; });
    t.real("ra", "deg", "right ascension", [](const Object& o) { return o.ra; });
    t.real("dec", "deg", "declination", [](const Object& o) { return o.dec; });
    t.real("x", "pixel", "zero-based column in the brick's coadds", [&](const Object& o) { return grid.pixel(o.ra, o.dec)[0]; });
    t.real("y", "pixel", "zero-based row in the brick's coadds", [&](const Object& o) { return grid.pixel(o.ra, o.dec)[1]; });
    for (int b = 0; b < 3; ++b) {
        const auto k = static_cast<std::size_t>(b);
        t.real(("flux_" + std::string(bands[b])).c_str(), "nanomaggy",
               "catalogued flux (the sweep's FLUX: the object's light, plus for lens hosts the arc share a fixed-shape fit absorbs)",
               [k](const Object& o) { return o.flux[k]; });
    }
    for (int b = 0; b < 3; ++b) {
        const auto k = static_cast<std::size_t>(b);
        t.real(("true_flux_" + std::string(bands[b])).c_str(), "nanomaggy",
               "the object's own rendered light (without tidal arcs, spikes or lensed arcs)",
               [k](const Object& o) { return o.true_flux[k]; });
    }
    for (int k = 0; k < 4; ++k) {
        const auto kk = static_cast<std::size_t>(k);
        t.real(("flux_w" + std::to_string(k + 1)).c_str(), "nanomaggy", "observed WISE flux",
               [kk](const Object& o) { return o.flux_wise[kk]; });
    }
    t.real("shape_r", "arcsec", "half-light radius along the major axis (0 for PSF)", [](const Object& o) { return o.shape_r; });
    t.real("shape_e1", "", "Tractor ellipticity e1", [](const Object& o) { return o.e1; });
    t.real("shape_e2", "", "Tractor ellipticity e2", [](const Object& o) { return o.e2; });
    t.real("sersic", "", "Sersic index (0 for PSF)", [](const Object& o) { return o.sersic; });
    t.flag("large_galaxy", "SGA-like large galaxy (GALAXY maskbit, REF_CAT L3)", [](const Object& o) { return o.large_galaxy; });
    t.integer("maskbits", "MASKBITS at the object's pixel", [&](const Object& o) {
        const auto xy = grid.pixel(o.ra, o.dec);
        return maskbits_at(grid, draw.brick, masks, static_cast<int>(std::lround(xy[0])), static_cast<int>(std::lround(xy[1])));
    });
    for (int b = 0; b < 3; ++b) {
        const auto k = static_cast<std::size_t>(b);
        t.real(("psfsize_" + std::string(bands[b])).c_str(), "arcsec", "PSF FWHM of the brick", [&c, k](const Object&) { return c.fwhm[k]; });
    }
    for (int b = 0; b < 3; ++b) {
        const auto k = static_cast<std::size_t>(b);
        t.real(("psfdepth_" + std::string(bands[b])).c_str(), "mag", "5-sigma PSF depth of the brick",
               [&c, k](const Object&) { return c.depth[k]; });
    }
    t.real("ebv", "mag", "E(B-V) of the brick", [&c](const Object&) { return c.ebv; });
    // Lenses.
    t.flag("is_lens", "a strong lens (the host of a lensed source)", is_lens);
    t.text("lens_name", "lenscat name (lenses/lenscat.csv)", [](const Object& o) { return o.lens.name; });
    t.text("grading", "lenscat grading: confident or probable", [](const Object& o) {
        return is_lens(o) ? std::string(o.lens.confident ? "confident" : "probable") : std::string();
    });
    t.real("zlens", "", "fictitious lens redshift", [](const Object& o) { return is_lens(o) ? o.lens.zlens : kNaN; });
    t.real("theta_e", "arcsec", "SIE Einstein radius (intermediate axis)", [](const Object& o) { return is_lens(o) ? o.lens.theta_e : kNaN; });
    t.real("lens_q", "", "SIE axis ratio", [](const Object& o) { return is_lens(o) ? o.lens.q : kNaN; });
    t.real("lens_pa", "deg", "SIE major axis, North through East", [](const Object& o) { return is_lens(o) ? deg(o.lens.pa) : kNaN; });
    t.real("shear_gamma", "", "external shear magnitude", [](const Object& o) { return is_lens(o) ? o.lens.gamma : kNaN; });
    t.real("shear_pa", "deg", "external shear angle, North through East", [](const Object& o) { return is_lens(o) ? deg(o.lens.gamma_pa) : kNaN; });
    t.real("src_dra", "arcsec", "source offset East of the lens", [](const Object& o) { return is_lens(o) ? o.lens.src_dx : kNaN; });
    t.real("src_ddec", "arcsec", "source offset North of the lens", [](const Object& o) { return is_lens(o) ? o.lens.src_dy : kNaN; });
    t.real("src_sersic_n", "", "Sersic index of the source (its disk if clumpy)", [](const Object& o) { return is_lens(o) ? o.lens.src_n : kNaN; });
    t.real("src_reff", "arcsec", "half-light radius of the source (disk)", [](const Object& o) { return is_lens(o) ? o.lens.src_reff : kNaN; });
    t.real("src_q", "", "axis ratio of the source (disk)", [](const Object& o) { return is_lens(o) ? o.lens.src_q : kNaN; });
    t.real("src_pa", "deg", "source major axis, North through East", [](const Object& o) { return is_lens(o) ? deg(o.lens.src_pa) : kNaN; });
    t.flag("src_clumpy", "clumpy source (disk + star-forming clumps)", [](const Object& o) { return o.lens.clumpy; });
    t.integer("src_clumps", "number of clumps", [](const Object& o) { return static_cast<std::int32_t>(o.lens.clumps.size()); });
    for (int b = 0; b < 3; ++b) {
        const auto k = static_cast<std::size_t>(b);
        t.real(("src_flux_" + std::string(bands[b])).c_str(), "nanomaggy", "unlensed source flux",
               [k](const Object& o) { return is_lens(o) ? o.lens.src_flux[k] : kNaN; });
    }
    t.real("magnification", "", "lensed / unlensed source flux (r, before the PSF)", [](const Object& o) { return is_lens(o) ? o.lens.magnification : kNaN; });
    for (int b = 0; b < 3; ++b) {
        const auto k = static_cast<std::size_t>(b);
        t.real(("arc_flux_" + std::string(bands[b])).c_str(), "nanomaggy", "lensed source flux in the image",
               [k](const Object& o) { return is_lens(o) ? o.lens.arc_flux[k] : kNaN; });
    }
    for (int b = 0; b < 3; ++b) {
        const auto k = static_cast<std::size_t>(b);
        t.real(("arc_absorbed_" + std::string(bands[b])).c_str(), "nanomaggy",
               "arc light in the host's catalogued flux (least-squares fixed-shape fit of the host)",
               [k](const Object& o) { return is_lens(o) ? o.lens.arc_absorbed[k] : kNaN; });
    }
    // Confusers.
    auto pop = [](Population want) { return [want](const Object& o) { return o.population == want; }; };
    const auto ring = pop(Population::ring), spiral = pop(Population::spiral), star = pop(Population::bright_star);
    t.real("ring_radius", "arcsec", "ring radius (major axis)", [ring](const Object& o) { return ring(o) ? o.confuser.ring_radius : kNaN; });
    t.real("ring_width", "arcsec", "ring Gaussian width", [ring](const Object& o) { return ring(o) ? o.confuser.ring_width : kNaN; });
    t.real("ring_flux_frac", "", "share of the flux in the ring", [ring](const Object& o) { return ring(o) ? o.confuser.ring_flux_frac : kNaN; });
    t.real("spiral_scale_length", "arcsec", "disk scale length", [spiral](const Object& o) { return spiral(o) ? o.confuser.scale_length : kNaN; });
    t.integer("spiral_arms", "number of arms", [](const Object& o) { return o.confuser.arms; });
    t.real("spiral_pitch", "rad", "arm pitch angle", [spiral](const Object& o) { return spiral(o) ? o.confuser.pitch : kNaN; });
    t.real("spiral_contrast", "", "arm contrast", [spiral](const Object& o) { return spiral(o) ? o.confuser.contrast : kNaN; });
    t.real("spiral_phase", "rad", "arm phase", [spiral](const Object& o) { return spiral(o) ? o.confuser.phase : kNaN; });
    t.integer("companion_objid", "merger: OBJID of the other galaxy of the pair (-1 if none)", [](const Object& o) { return o.confuser.companion_objid; });
    t.real("companion_sep", "arcsec", "merger: separation of the pair", [](const Object& o) { return o.population == Population::merger ? o.confuser.companion_sep : kNaN; });
    t.real("companion_flux_ratio", "", "merger: companion / primary r flux", [](const Object& o) { return o.population == Population::merger ? o.confuser.companion_flux_ratio : kNaN; });
    t.integer("tails", "merger: tidal arcs", [](const Object& o) { return o.confuser.tails; });
    t.real("tail_radius", "arcsec", "merger: tidal arc radius", [](const Object& o) { return o.population == Population::merger ? o.confuser.tail_radius : kNaN; });
    t.real("tail_width", "arcsec", "merger: tidal arc width", [](const Object& o) { return o.population == Population::merger ? o.confuser.tail_width : kNaN; });
    t.real("tail_sigma", "rad", "merger: tidal arc extent along the arc", [](const Object& o) { return o.population == Population::merger ? o.confuser.tail_sigma : kNaN; });
    t.real("tail_flux_frac", "", "merger: tidal arc flux / primary flux (uncatalogued)", [](const Object& o) { return o.population == Population::merger ? o.confuser.tail_flux_frac : kNaN; });
    t.flag("in_merger", "part of a merging pair (primary or companion)", is_merger);
    t.integer("spikes", "bright star: diffraction spikes", [](const Object& o) { return o.confuser.spikes; });
    t.real("spike_length", "arcsec", "bright star: spike exponential length", [star](const Object& o) { return star(o) ? o.confuser.spike_length : kNaN; });
    t.real("spike_flux_frac", "", "bright star: spike flux / star flux (uncatalogued)", [star](const Object& o) { return star(o) ? o.confuser.spike_flux_frac : kNaN; });
    return t.take();
}

}  // namespace dhs::stages::mock_sky
