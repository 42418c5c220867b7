// The mock sky's `mock_sky.*` config keys, the footprint (rows x columns of real bricks around
// a centre), the TAN grid of a brick's coadd (the WCS dr10_brick_header writes) and the band PSFs.
#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.hpp"
#include "mpi_stages/mock_sky/mock_sky.hpp"

namespace dhs::stages::mock_sky {

void declare_config(config::Schema& s) {
    using config::ValueType;
    auto real = [&](const char* key, const char* desc, const char* def, double lo, double hi, const char* unit) {
        s.add({.key = key, .type = ValueType::real, .description = desc, .default_yaml = def, .min = lo, .max = hi,
               .unit = unit});
    };
    auto integer = [&](const char* key, const char* desc, const char* def, double lo, double hi, const char* unit) {
        s.add({.key = key, .type = ValueType::integer, .description = desc, .default_yaml = def, .min = lo, .max = hi,
               .unit = unit});
    };
    auto range = [&](const char* key, const char* desc, const char* def, double lo, double hi, const char* unit) {
        s.add({.key = key, .type = ValueType::real_list, .description = desc, .default_yaml = def, .min = lo,
               .max = hi, .unit = unit});
    };
    real("mock_sky.center_ra", "footprint centre RA (the brick holding it is in the footprint)", "150.1", 0, 360, "deg");
    real("mock_sky.center_dec", "footprint centre Dec", "2.2", -89, 89, "deg");
    integer("mock_sky.bricks_ra", "footprint width in bricks (columns of the brick wall)", "3", 1, 100, "");
    integer("mock_sky.bricks_dec", "footprint height in bricks (rows of the brick wall)", "2", 1, 100, "");
    integer("mock_sky.image_size", "coadd side in pixels (3600 as DR10; smaller for tests, centred on the brick)",
            "3600", 64, 4000, "pixels");
    integer("mock_sky.stars", "stars per brick (r 17-22)", "120", 0, 100000, "");
    integer("mock_sky.bright_stars", "bright stars per brick (r 12-16: BRIGHT/MEDIUM/SATUR masks)", "1", 0, 100, "");
    integer("mock_sky.lrgs", "red LRG-like galaxies per brick (DEV/SER, z 18-20.3)", "80", 0, 100000, "");
    integer("mock_sky.blue_galaxies", "faint blue galaxies per brick (EXP/REX, r 20-23.5)", "1200", 0, 1000000, "");
    integer("mock_sky.lenses", "strong lenses per brick (LRG host, SIE + shear, lensed Sersic source)", "3", 0, 1000,
            "");
    integer("mock_sky.rings", "ring-galaxy confusers per brick", "2", 0, 1000, "");
    integer("mock_sky.spirals", "spiral-galaxy confusers per brick", "2", 0, 1000, "");
    integer("mock_sky.edge_on", "edge-on disk confusers per brick", "2", 0, 1000, "");
    integer("mock_sky.mergers", "merger confusers per brick (a galaxy pair with tidal arcs)", "2", 0, 1000, "");
    real("mock_sky.cluster_fraction", "fraction of bricks holding a globular cluster (CLUSTER maskbit, faint stars)",
         "0.2", 0, 1, "");
    integer("mock_sky.bad_columns", "bad-column segments per brick and band (ALLMASK_X maskbit, invvar 0)", "2", 0,
            100, "");
    real("mock_sky.clumpy_fraction", "share of lensed sources that are clumpy (disk + star-forming clumps)", "0.5", 0,
         1, "");
    range("mock_sky.depth_g", "range of the 5-sigma PSF depth in g over the footprint", "[24.0, 24.8]", 18, 30, "mag");
    range("mock_sky.depth_r", "range of the 5-sigma PSF depth in r", "[23.4, 24.2]", 18, 30, "mag");
    range("mock_sky.depth_z", "range of the 5-sigma PSF depth in z", "[22.6, 23.4]", 18, 30, "mag");
    range("mock_sky.psf_fwhm", "range of the PSF FWHM (varies smoothly over bricks and bands)", "[0.9, 1.8]", 0.3,
          5.0, "arcsec");
    s.add({.key = "mock_sky.psf_model", .type = ValueType::string,
           .description = "PSF profile of the coadds (psfsize maps hold its FWHM)", .default_yaml = "gaussian",
           .choices = {"gaussian", "moffat"}});
    real("mock_sky.moffat_beta", "Moffat beta (psf_model moffat)", "3.5", 1.5, 20, "");
    range("mock_sky.ebv", "range of E(B-V) over the footprint", "[0.01, 0.08]", 0, 2, "mag");
    real("mock_sky.calibration_star_mag", "r mag of one isolated star planted per brick near its centre (0: none)",
         "0", 0, 30, "mag");
}

namespace {
std::array<double, 2> two(const config::Config& c, const std::string& key) {
    auto v = c.get_reals(key);
    if (v.size() != 2 || !(v[0] <= v[1])) throw ConfigError(key, "", 0, "expected [min, max] with min <= max");
    return {v[0], v[1]};
}
}  // namespace

Params read_params(const config::Config& c) {
    Params p;
    p.center_ra = c.get_real("mock_sky.center_ra");
    p.center_dec = c.get_real("mock_sky.center_dec");
    p.bricks_ra = static_cast<int>(c.get_int("mock_sky.bricks_ra"));
    p.bricks_dec = static_cast<int>(c.get_int("mock_sky.bricks_dec"));
    p.image_size = static_cast<int>(c.get_int("mock_sky.image_size"));
    p.pixscale = c.get_real("survey.pixel_scale_arcsec");
    p.n_stars = static_cast<int>(c.get_int("mock_sky.stars"));
    p.n_bright_stars = static_cast<int>(c.get_int("mock_sky.bright_stars"));
    p.n_lrg = static_cast<int>(c.get_int("mock_sky.lrgs"));
    p.n_blue = static_cast<int>(c.get_int("mock_sky.blue_galaxies"));
    p.n_lenses = static_cast<int>(c.get_int("mock_sky.lenses"));
    p.n_rings = static_cast<int>(c.get_int("mock_sky.rings"));
    p.n_spirals = static_cast<int>(c.get_int("mock_sky.spirals"));
    p.n_edge_on = static_cast<int>(c.get_int("mock_sky.edge_on"));
    p.n_mergers = static_cast<int>(c.get_int("mock_sky.mergers"));
    p.cluster_fraction = c.get_real("mock_sky.cluster_fraction");
    p.bad_columns = static_cast<int>(c.get_int("mock_sky.bad_columns"));
    p.clumpy_fraction = c.get_real("mock_sky.clumpy_fraction");
    p.psf_model = c.get_string("mock_sky.psf_model") == "moffat" ? PsfModel::moffat : PsfModel::gaussian;
    p.moffat_beta = c.get_real("mock_sky.moffat_beta");
    p.depth_g = two(c, "mock_sky.depth_g");
    p.depth_r = two(c, "mock_sky.depth_r");
    p.depth_z = two(c, "mock_sky.depth_z");
    const auto fwhm = two(c, "mock_sky.psf_fwhm");
    p.fwhm_min = fwhm[0];
    p.fwhm_max = fwhm[1];
    const auto ebv = two(c, "mock_sky.ebv");
    p.ebv_min = ebv[0];
    p.ebv_max = ebv[1];
    p.calibration_star_mag = c.get_real("mock_sky.calibration_star_mag");
    p.seed = static_cast<std::uint64_t>(c.get_int("run.seed"));
    p.root = c.get_string("survey.root");
    p.sweep_version = c.get_string("survey.sweep_version");
    return p;
}

std::vector<kernels::Brick> footprint(const Params& p) {
    const auto& wall = kernels::brick_wall();
    const int row0 = kernels::BrickWall::row_of_dec(p.center_dec) - (p.bricks_dec - 1) / 2;
    std::vector<kernels::Brick> out;
    for (int r = 0; r < p.bricks_dec; ++r) {
        const int row = std::clamp(row0 + r, 1, kernels::kBrickRows - 2);
        const int n = wall.ncols(row);
        const int col0 = wall.col_of_ra(row, p.center_ra) - (p.bricks_ra - 1) / 2;
        for (int c = 0; c < p.bricks_ra; ++c) out.push_back(wall.brick_by_rowcol(row, ((col0 + c) % n + n) % n));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.brickid < b.brickid; });
    out.erase(std::unique(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.brickid == b.brickid; }),
              out.end());
    return out;
}

BrickGrid brick_grid(const Params& p, const kernels::Brick& brick) {
    BrickGrid g;
    g.crval_ra = brick.ra;
    g.crval_dec = brick.dec;
    g.width = g.height = p.image_size;
    g.crpix_x = (g.width + 1) / 2.0 - 1.0;  // FITS (W+1)/2, zero-based
    g.crpix_y = (g.height + 1) / 2.0 - 1.0;
    g.scale_deg = p.pixscale / 3600.0;
    return g;
}

namespace {
constexpr double kDeg = std::numbers::pi / 180.0;
}

std::array<double, 2> BrickGrid::pixel(double ra, double dec) const {
    // Gnomonic projection about (crval_ra, crval_dec); CD = diag(-s, s).
    const double a = ra * kDeg, d = dec * kDeg, a0 = crval_ra * kDeg, d0 = crval_dec * kDeg;
    const double cosc = std::sin(d0) * std::sin(d) + std::cos(d0) * std::cos(d) * std::cos(a - a0);
    const double xi = std::cos(d) * std::sin(a - a0) / cosc / kDeg;
    const double eta = (std::cos(d0) * std::sin(d) - std::sin(d0) * std::cos(d) * std::cos(a - a0)) / cosc / kDeg;
    return {crpix_x - xi / scale_deg, crpix_y + eta / scale_deg};
}

std::array<double, 2> BrickGrid::sky(double x, double y) const {
    const double xi = -(x - crpix_x) * scale_deg * kDeg, eta = (y - crpix_y) * scale_deg * kDeg;
    const double a0 = crval_ra * kDeg, d0 = crval_dec * kDeg;
    const double rho = std::hypot(xi, eta);
    if (rho == 0) return {crval_ra, crval_dec};
    const double c = std::atan(rho);
    const double dec = std::asin(std::cos(c) * std::sin(d0) + eta * std::sin(c) * std::cos(d0) / rho);
    const double ra = a0 + std::atan2(xi * std::sin(c), rho * std::cos(d0) * std::cos(c) - eta * std::sin(d0) * std::sin(c));
    return {kernels::wrap_ra(ra / kDeg), dec / kDeg};
}

kernels::Psf band_psf(const Params& p, const Conditions& c, int band) {
    const double fwhm = c.fwhm[static_cast<std::size_t>(band)];
    if (p.psf_model == PsfModel::moffat) return kernels::MoffatPsf::from_fwhm(fwhm, p.moffat_beta);
    return kernels::GaussianPsf::from_fwhm(fwhm);
}

}  // namespace dhs::stages::mock_sky
