// The deterministic draw of a mock brick: observing conditions (smooth over the sky), then
// stars, LRGs, lens hosts (with SIE + shear lens and Sersic source), blue galaxies and
// confusers (rings, spirals, edge-on disks), all from a std::mt19937_64 seeded by a hash of
// (run.seed, BRICKID), so every rank draws the same brick.
#include <cmath>
#include <fmt/format.h>
#include <numbers>
#include <random>

#include "kernels/photometry.hpp"
#include "kernels/psf.hpp"
#include "kernels/ray_shooting.hpp"
#include "kernels/sersic.hpp"
#include "kernels/sie_lens.hpp"
#include "mpi_stages/mock_sky/mock_sky.hpp"

namespace dhs::stages::mock_sky {

namespace {

constexpr double kPi = std::numbers::pi;

std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/// Smooth field in [0, 1] over the sky (period ~2 deg), phase from (seed, k).
double smooth_field(std::uint64_t seed, int k, double ra, double dec) {
    const double ph1 = static_cast<double>(hash_seed(seed, 7, static_cast<std::uint64_t>(k)) >> 11) * 0x1.0p-53 * 2 * kPi;
    const double ph2 = static_cast<double>(hash_seed(seed, 8, static_cast<std::uint64_t>(k)) >> 11) * 0x1.0p-53 * 2 * kPi;
    const double w = 2 * kPi / 2.0;
    return 0.5 + 0.5 * std::sin(w * ra * std::cos(dec * kPi / 180) + ph1) * std::cos(w * dec + ph2);
}

struct Rng {
    std::mt19937_64 gen;
    double u(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(gen); }
    int i(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(gen); }
};

double nmgy(double mag) { return kernels::nanomaggies_from_mag(mag); }

/// Tractor (e1, e2) from axis ratio q and sky position angle pa (radians).
std::array<double, 2> e1e2(double q, double pa) {
    const double e = (1 - q) / (1 + q);
    return {e * std::cos(2 * pa), e * std::sin(2 * pa)};
}

std::string lens_name(double ra, double dec) {
    const double h = ra / 15.0;
    const int hh = static_cast<int>(h), mm = static_cast<int>((h - hh) * 60);
    const double ss = ((h - hh) * 60 - mm) * 60;
    const double a = std::abs(dec);
    const int dd = static_cast<int>(a), dm = static_cast<int>((a - dd) * 60);
    const double ds = ((a - dd) * 60 - dm) * 60;
    return fmt::format("DHSMOCK-J{:02d}{:02d}{:05.2f}{}{:02d}{:02d}{:04.1f}", hh, mm, std::floor(ss * 100) / 100,
                       dec < 0 ? '-' : '+', dd, dm, std::floor(ds * 10) / 10);
}

}  // namespace

std::uint64_t hash_seed(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
    return splitmix64(splitmix64(splitmix64(a) ^ (b * 0x9E3779B97F4A7C15ull)) + c);
}

const char* population_name(Population p) {
    switch (p) {
        case Population::calibration_star: return "calibration_star";
        case Population::star: return "star";
        case Population::bright_star: return "bright_star";
        case Population::lrg: return "lrg";
        case Population::blue: return "blue";
        case Population::lens_host: return "lens_host";
        case Population::ring: return "ring";
        case Population::spiral: return "spiral";
        case Population::edge_on: return "edge_on";
    }
    return "?";
}

int lens_stamp_half(const Params& p, const Object& host, double fwhm_max) {
    const auto& l = host.lens;
    const double extent = 1.6 * l.theta_e + std::hypot(l.src_dx, l.src_dy) + 4 * l.src_reff + 2.5 * fwhm_max;
    return static_cast<int>(std::ceil(extent / p.pixscale));
}

double render_lensed_source(const Params& p, const Object& host, int half, double dx_pix, double dy_pix,
                            std::vector<float>& out) {
    const auto& l = host.lens;
    kernels::SieParams sp{.theta_e = l.theta_e, .q = l.q, .phi = kernels::pixel_angle_from_sky_pa(l.pa), .x0 = 0,
                          .y0 = 0, .gamma_ext = l.gamma, .phi_ext = kernels::pixel_angle_from_sky_pa(l.gamma_pa)};
    const kernels::SieLens lens(sp);
    // Lens frame: +x West (pixel x), +y North; the source offset is given East, North.
    const kernels::SersicProfile src(l.src_flux[1], l.src_reff, l.src_n,
                                     {l.src_q, kernels::pixel_angle_from_sky_pa(l.src_pa)}, -l.src_dx, l.src_dy);
    kernels::StampGeometry g{.width = 2 * half + 1, .height = 2 * half + 1, .pixel_scale = p.pixscale,
                             .center_x = dx_pix * p.pixscale, .center_y = dy_pix * p.pixscale};
    out.assign(g.size(), 0.0f);
    return kernels::lensed_flux_and_magnification(lens, src, g, 4, out).magnification;
}

BrickDraw draw_brick(const Params& p, const kernels::Brick& brick) {
    BrickDraw d;
    d.brick = brick;
    auto& c = d.conditions;
    const std::array<std::array<double, 2>, 3> depth = {p.depth_g, p.depth_r, p.depth_z};
    for (int b = 0; b < 3; ++b) {
        c.fwhm[b] = p.fwhm_min + (p.fwhm_max - p.fwhm_min) * smooth_field(p.seed, b, brick.ra, brick.dec);
        const double f = smooth_field(p.seed, 3 + b, brick.ra, brick.dec);
        c.depth[b] = depth[b][0] + (depth[b][1] - depth[b][0]) * f;
        c.nobs[b] = 1 + static_cast<int>(std::lround(5 * f));
        const double sigma_flux = nmgy(c.depth[b]) / 5.0;
        const double sigma_psf = c.fwhm[b] / kernels::kGaussianFwhmPerSigma / p.pixscale;  // pixels
        c.sigma_pix[b] = sigma_flux / std::sqrt(4 * kPi * sigma_psf * sigma_psf);
    }
    c.ebv = p.ebv_min + (p.ebv_max - p.ebv_min) * smooth_field(p.seed, 6, brick.ra, brick.dec);

    Rng rng{std::mt19937_64(hash_seed(p.seed, static_cast<std::uint64_t>(brick.brickid), 1))};
    const BrickGrid grid = brick_grid(p, brick);
    // Where objects go: the brick's primary area inside the image, 16 px from its edges.
    const double margin = 16;
    const auto lo = grid.sky(grid.width - 1 - margin, margin), hi = grid.sky(margin, grid.height - 1 - margin);
    const double ra_lo = std::max(brick.ra1, lo[0]), ra_hi = std::min(brick.ra2, hi[0]);
    const double dec_lo = std::max(brick.dec1, lo[1]), dec_hi = std::min(brick.dec2, hi[1]);
    std::array<double, 2> calib{};
    const bool has_calib = p.calibration_star_mag > 0;
    if (has_calib) calib = grid.sky(grid.crpix_x + 40.37, grid.crpix_y - 30.21);
    auto position = [&](double keep_out_arcsec) {
        for (;;) {
            const double ra = rng.u(ra_lo, ra_hi), dec = rng.u(dec_lo, dec_hi);
            if (!has_calib) return std::array<double, 2>{ra, dec};
            const double dra = (ra - calib[0]) * std::cos(dec * kPi / 180) * 3600, ddec = (dec - calib[1]) * 3600;
            if (std::hypot(dra, ddec) > 15.0 + keep_out_arcsec) return std::array<double, 2>{ra, dec};
        }
    };
    std::array<double, 8> mw{};
    for (int k = 0; k < 8; ++k) mw[k] = kernels::mw_transmission(kExtinction[k], c.ebv);
    // Observed fluxes from intrinsic r mag and colours g-r, r-z, z-W1, W1-W2.
    auto set_fluxes = [&](Object& o, double r, double gr, double rz, double zw1, double w12) {
        const double mags[3] = {r + gr, r, r - rz};
        for (int b = 0; b < 3; ++b) o.flux[b] = nmgy(mags[b]) * mw[b == 2 ? 3 : b];
        const double w1 = r - rz - zw1;
        const double wmag[4] = {w1, w1 - w12, w1 - w12 - 0.8, w1 - w12 - 1.5};
        for (int k = 0; k < 4; ++k) o.flux_wise[k] = nmgy(wmag[k]) * mw[4 + k];
    };
    auto next = [&](Population pop, const char* type) -> Object& {
        Object o;
        o.objid = static_cast<std::int32_t>(d.objects.size());
        o.population = pop;
        o.type = type;
        d.objects.push_back(std::move(o));
        return d.objects.back();
    };
    auto place = [&](Object& o, double keep_out) {
        const auto pos = position(keep_out);
        o.ra = pos[0];
        o.dec = pos[1];
    };
    auto galaxy_shape = [&](Object& o, double r_e, double q_lo, double q_hi, double n) {
        const auto e = e1e2(rng.u(q_lo, q_hi), rng.u(0, kPi));
        o.shape_r = r_e;
        o.e1 = e[0];
        o.e2 = e[1];
        o.sersic = n;
    };

    if (has_calib) {
        auto& o = next(Population::calibration_star, "PSF");
        o.ra = calib[0];
        o.dec = calib[1];
        set_fluxes(o, p.calibration_star_mag, 0.6, 0.3, -0.2, -0.1);
    }
    for (int k = 0; k < p.n_bright_stars; ++k) {
        auto& o = next(Population::bright_star, "PSF");
        place(o, 40);
        set_fluxes(o, rng.u(12, 16), rng.u(0.3, 1.2), rng.u(0.1, 0.8), rng.u(-0.5, 0.2), rng.u(-0.2, 0.0));
    }
    for (int k = 0; k < p.n_stars; ++k) {
        auto& o = next(Population::star, "PSF");
        place(o, 0);
        const double r = 17 + 5 * std::pow(rng.u(0, 1), 0.5);
        set_fluxes(o, r, rng.u(0.3, 1.4), rng.u(0.1, 1.0), rng.u(-0.5, 0.3), rng.u(-0.2, 0.0));
    }
    for (int k = 0; k < p.n_lrg; ++k) {
        const bool dev = rng.u(0, 1) < 0.6;
        auto& o = next(Population::lrg, dev ? "DEV" : "SER");
        place(o, 0);
        const double z = rng.u(18.0, 20.3), rz = rng.u(0.9, 1.7);
        set_fluxes(o, z + rz, rng.u(1.3, 2.0), rz, rng.u(1.0, 2.0), rng.u(-0.6, -0.2));
        galaxy_shape(o, rng.u(0.6, 2.5), 0.5, 1.0, dev ? 4.0 : rng.u(2.5, 6.0));
    }
    for (int k = 0; k < p.n_lenses; ++k) {
        auto& o = next(Population::lens_host, "DEV");
        place(o, 10);
        const double z = rng.u(17.8, 19.8), rz = rng.u(1.0, 1.7);
        set_fluxes(o, z + rz, rng.u(1.4, 2.0), rz, rng.u(1.2, 2.0), rng.u(-0.6, -0.2));
        galaxy_shape(o, rng.u(1.0, 2.5), 0.6, 1.0, 4.0);
        auto& l = o.lens;
        l.theta_e = rng.u(0.6, 3.0);
        l.q = rng.u(0.5, 1.0);
        l.pa = rng.u(0, kPi);
        l.gamma = rng.u(0, 0.06);
        l.gamma_pa = rng.u(0, kPi);
        const double beta = l.theta_e * 0.4 * std::sqrt(rng.u(0, 1)), ang = rng.u(0, 2 * kPi);
        l.src_dx = beta * std::cos(ang);
        l.src_dy = beta * std::sin(ang);
        l.src_n = rng.u(0.5, 2.0);
        l.src_reff = rng.u(0.1, 0.5);
        l.src_q = rng.u(0.5, 1.0);
        l.src_pa = rng.u(0, kPi);
        const double r = rng.u(22.0, 24.0), gr = rng.u(0.1, 0.5), src_rz = rng.u(0.0, 0.5);
        const double mags[3] = {r + gr, r, r - src_rz};
        for (int b = 0; b < 3; ++b) l.src_flux[b] = nmgy(mags[b]) * mw[b == 2 ? 3 : b];
        l.zlens = rng.u(0.3, 0.8);
        l.confident = rng.u(0, 1) < 0.7;
        l.name = lens_name(o.ra, o.dec);
        std::vector<float> stamp;
        l.magnification = render_lensed_source(p, o, lens_stamp_half(p, o, p.fwhm_max), 0, 0, stamp);
    }
    for (int k = 0; k < p.n_blue; ++k) {
        const bool rex = rng.u(0, 1) < 0.4;
        auto& o = next(Population::blue, rex ? "REX" : "EXP");
        place(o, 0);
        set_fluxes(o, 20 + 3.5 * std::pow(rng.u(0, 1), 0.6), rng.u(0.2, 0.7), rng.u(0.1, 0.7), rng.u(-0.6, 0.6),
                   rng.u(-0.4, 0.2));
        galaxy_shape(o, rng.u(0.25, 1.5), rex ? 1.0 : 0.3, 1.0, 1.0);
    }
    for (int k = 0; k < p.n_rings; ++k) {
        auto& o = next(Population::ring, "SER");
        place(o, 10);
        set_fluxes(o, rng.u(19.5, 21.5), rng.u(0.4, 0.8), rng.u(0.3, 0.7), rng.u(0.0, 0.6), rng.u(-0.4, 0.0));
        o.confuser.ring_radius = rng.u(1.5, 3.5);
        o.confuser.ring_width = rng.u(0.25, 0.5);
        o.confuser.ring_flux_frac = 0.6;
        galaxy_shape(o, o.confuser.ring_radius, 0.6, 1.0, 1.0);
    }
    for (int k = 0; k < p.n_spirals; ++k) {
        auto& o = next(Population::spiral, "EXP");
        place(o, 10);
        set_fluxes(o, rng.u(18.5, 20.5), rng.u(0.4, 0.8), rng.u(0.3, 0.7), rng.u(0.0, 0.6), rng.u(-0.4, 0.0));
        auto& s = o.confuser;
        s.scale_length = rng.u(1.0, 2.5);
        s.arms = rng.i(2, 3);
        s.pitch = rng.u(0.25, 0.45);
        s.contrast = rng.u(0.4, 0.8);
        s.phase = rng.u(0, 2 * kPi);
        galaxy_shape(o, 1.678 * s.scale_length, 0.5, 1.0, 1.0);
    }
    for (int k = 0; k < p.n_edge_on; ++k) {
        auto& o = next(Population::edge_on, "EXP");
        place(o, 10);
        set_fluxes(o, rng.u(18.5, 20.5), rng.u(0.5, 0.9), rng.u(0.4, 0.8), rng.u(0.2, 0.8), rng.u(-0.4, 0.0));
        galaxy_shape(o, rng.u(1.5, 4.0), 0.1, 0.2, 1.0);
    }
    return d;
}

}  // namespace dhs::stages::mock_sky
