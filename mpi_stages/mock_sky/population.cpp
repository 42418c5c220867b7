// The deterministic draw of a mock brick: observing conditions (smooth over the sky), then
// stars (bright ones with diffraction spikes), an optional globular cluster, LRGs, lens hosts
// (SIE + shear lens, Sersic or clumpy source; the catalogued host flux includes the share of the
// arc a fixed-shape fit absorbs), blue galaxies and confusers (rings, face-on spirals, edge-on
// disks, mergers with tidal arcs), all from a std::mt19937_64 seeded by a hash of (run.seed,
// BRICKID), so every rank draws the same brick. A few objects (a lens host, two LRGs) are placed
// 20-45 px inside an edge of the brick's area (the image edge on small test coadds, the primary
// boundary on 3600-px ones) for the cutout stage's edge cases.
#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <numbers>
#include <random>

#include "core/error.hpp"
#include "kernels/sampling/photometry.hpp"
#include "kernels/rendering/psf.hpp"
#include "mpi_stages/mock_sky/mock_sky.hpp"
#include "mpi_stages/mock_sky/stamps.hpp"

namespace dhs::stages::mock_sky {

namespace {

constexpr double kPi = std::numbers::pi;

std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/// Smooth field in [0, 1] over the sky (period ~1.2 deg, so a few bricks span much of the
/// range), phase from (seed, k).
double smooth_field(std::uint64_t seed, int k, double ra, double dec) {
    const double ph1 = static_cast<double>(hash_seed(seed, 7, static_cast<std::uint64_t>(k)) >> 11) * 0x1.0p-53 * 2 * kPi;
    const double ph2 = static_cast<double>(hash_seed(seed, 8, static_cast<std::uint64_t>(k)) >> 11) * 0x1.0p-53 * 2 * kPi;
    const double w = 2 * kPi / 1.2;
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

/// r_e of Sersic objects above which they count as SGA large galaxies (GALAXY maskbit).
constexpr double kLargeGalaxyReff = 2.5;  // arcsec

}  // namespace

std::uint64_t hash_seed(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
    return splitmix64(splitmix64(splitmix64(a) ^ (b * 0x9E3779B97F4A7C15ull)) + c);
}

const char* population_name(Population p) {
    switch (p) {
        case Population::calibration_star: return "calibration_star";
        case Population::star: return "star";
        case Population::bright_star: return "bright_star";
        case Population::cluster_star: return "cluster_star";
        case Population::lrg: return "lrg";
        case Population::blue: return "blue";
        case Population::lens_host: return "lens_host";
        case Population::ring: return "ring";
        case Population::spiral: return "spiral";
        case Population::edge_on: return "edge_on";
        case Population::merger: return "merger";
        case Population::merger_companion: return "merger_companion";
    }
    return "?";
}

const char* confuser_category(Population p) {
    switch (p) {
        case Population::ring: return "ring";
        case Population::spiral: return "spiral";
        case Population::edge_on: return "edge_on";
        case Population::merger: return "merger";
        case Population::bright_star: return "bright_star";
        default: return "";
    }
}

namespace {

// The brick's observing conditions: smooth functions of its centre and the seed.
Conditions draw_conditions(const Params& p, const kernels::Brick& brick) {
    Conditions c;
    const std::array<std::array<double, 2>, 3> depth = {p.depth_g, p.depth_r, p.depth_z};
    for (int b = 0; b < 3; ++b) {
        c.fwhm[b] = p.fwhm_min + (p.fwhm_max - p.fwhm_min) * smooth_field(p.seed, b, brick.ra, brick.dec);
        const double f = smooth_field(p.seed, 3 + b, brick.ra, brick.dec);
        c.depth[b] = depth[b][0] + (depth[b][1] - depth[b][0]) * f;
        c.nobs[b] = 1 + static_cast<int>(std::lround(5 * f));
        // 5 sigma over the noise-equivalent area of the PSF: sigma_flux^2 = sigma_pix^2 NEA.
        const double sigma_flux = nmgy(c.depth[b]) / 5.0;
        c.sigma_pix[b] = sigma_flux / std::sqrt(psf_nea_pixels(band_psf(p, c, b), p.pixscale));
    }
    c.ebv = p.ebv_min + (p.ebv_max - p.ebv_min) * smooth_field(p.seed, 6, brick.ra, brick.dec);
    return c;
}

// Sky offset (East, North arcsec) -> (ra, dec).
std::array<double, 2> offset(double ra, double dec, double east, double north) {
    return {ra + east / 3600.0 / std::cos(dec * kPi / 180), dec + north / 3600.0};
}

// Draws a brick's populations, one call each, in this order (the order of the random draws,
// so it never changes): calibration star, bright stars, stars, globular cluster, LRGs, lens
// hosts, blue galaxies, rings, face-on spirals, edge-on disks, mergers. Holds the brick's
// random stream, where objects may go (its primary area inside the image, 16 px from the
// edges, clear of the calibration star) and the Milky Way transmission of their fluxes.
class PopulationDraw {
public:
    PopulationDraw(const Params& p, BrickDraw& d)
        : p_(p), d_(d), rng_{std::mt19937_64(hash_seed(p.seed, static_cast<std::uint64_t>(d.brick.brickid), 1))},
          grid_(brick_grid(p, d.brick)) {
        const auto& brick = d.brick;
        const double margin = 16;
        const auto lo = grid_.sky(grid_.width - 1 - margin, margin), hi = grid_.sky(margin, grid_.height - 1 - margin);
        ra_lo_ = std::max(brick.ra1, lo[0]);
        ra_hi_ = std::min(brick.ra2, hi[0]);
        dec_lo_ = std::max(brick.dec1, lo[1]);
        dec_hi_ = std::min(brick.dec2, hi[1]);
        has_calib_ = p.calibration_star_mag > 0;
        if (has_calib_) calib_ = grid_.sky(grid_.crpix_x + 40.37, grid_.crpix_y - 30.21);
        for (int k = 0; k < 8; ++k) mw_[k] = kernels::mw_transmission(kExtinction[k], d.conditions.ebv);
    }

    void calibration_star() {
        if (!has_calib_) return;
        auto& o = next(Population::calibration_star, "PSF");
        o.ra = calib_[0];
        o.dec = calib_[1];
        set_fluxes(o, p_.calibration_star_mag, 0.6, 0.3, -0.2, -0.1);
    }

    void bright_stars() {
        for (int k = 0; k < p_.n_bright_stars; ++k) {
            auto& o = next(Population::bright_star, "PSF");
            place(o, 40);
            const double r = rng_.u(12, 16);
            set_fluxes(o, r, rng_.u(0.3, 1.2), rng_.u(0.1, 0.8), rng_.u(-0.5, 0.2), rng_.u(-0.2, 0.0));
            auto& s = o.confuser;
            s.spikes = 4;
            s.spike_length = std::clamp(4.0 * std::pow(10.0, -0.2 * (r - 14.0)), 1.5, 12.0);
            s.spike_flux_frac = rng_.u(0.005, 0.015);
        }
    }

    void stars() {
        for (int k = 0; k < p_.n_stars; ++k) {
            auto& o = next(Population::star, "PSF");
            place(o, 0);
            const double r = 17 + 5 * std::pow(rng_.u(0, 1), 0.5);
            set_fluxes(o, r, rng_.u(0.3, 1.4), rng_.u(0.1, 1.0), rng_.u(-0.5, 0.3), rng_.u(-0.2, 0.0));
        }
    }

    // A globular cluster in some bricks: a CLUSTER-masked disc of faint stars.
    void cluster() {
        if (rng_.u(0, 1) < p_.cluster_fraction) place_cluster();
        if (d_.cluster.present) cluster_stars();
    }

    void lrgs() {
        for (int k = 0; k < p_.n_lrg; ++k) {
            const bool dev = rng_.u(0, 1) < 0.6;
            auto& o = next(Population::lrg, dev ? "DEV" : "SER");
            if (k < 2) place_at_edge(o);
            else place(o, 0);
            const double z = rng_.u(18.0, 20.3), rz = rng_.u(0.9, 1.7);
            set_fluxes(o, z + rz, rng_.u(1.3, 2.0), rz, rng_.u(1.0, 2.0), rng_.u(-0.6, -0.2));
            galaxy_shape(o, rng_.u(0.6, 2.4), 0.5, 1.0, dev ? 4.0 : rng_.u(2.5, 6.0));
        }
    }

    void lens_hosts() {
        for (int k = 0; k < p_.n_lenses; ++k) {
            auto& o = next(Population::lens_host, "DEV");
            if (k == 0) place_at_edge(o);
            else place(o, 10);
            const double z = rng_.u(17.8, 19.8), rz = rng_.u(1.0, 1.7);
            set_fluxes(o, z + rz, rng_.u(1.4, 2.0), rz, rng_.u(1.2, 2.0), rng_.u(-0.6, -0.2));
            galaxy_shape(o, rng_.u(1.0, 2.4), 0.6, 1.0, 4.0);
            lens(o.lens);
            o.lens.zlens = rng_.u(0.3, 0.8);
            o.lens.confident = rng_.u(0, 1) < 0.7;
            o.lens.name = lens_name(o.ra, o.dec);
            account_arc_light(p_, d_.conditions, o);
        }
    }

    void blue_galaxies() {
        for (int k = 0; k < p_.n_blue; ++k) {
            const bool rex = rng_.u(0, 1) < 0.4;
            auto& o = next(Population::blue, rex ? "REX" : "EXP");
            place(o, 0);
            set_fluxes(o, 20 + 3.5 * std::pow(rng_.u(0, 1), 0.6), rng_.u(0.2, 0.7), rng_.u(0.1, 0.7), rng_.u(-0.6, 0.6),
                       rng_.u(-0.4, 0.2));
            galaxy_shape(o, rng_.u(0.25, 1.5), rex ? 1.0 : 0.3, 1.0, 1.0);
        }
    }

    void rings() {
        for (int k = 0; k < p_.n_rings; ++k) {
            auto& o = next(Population::ring, "SER");
            place(o, 10);
            set_fluxes(o, rng_.u(19.5, 21.5), rng_.u(0.4, 0.8), rng_.u(0.3, 0.7), rng_.u(0.0, 0.6), rng_.u(-0.4, 0.0));
            o.confuser.ring_radius = rng_.u(1.5, 3.5);
            o.confuser.ring_width = rng_.u(0.25, 0.5);
            o.confuser.ring_flux_frac = 0.6;
            galaxy_shape(o, o.confuser.ring_radius, 0.6, 1.0, 1.0);
        }
    }

    void spirals() {
        for (int k = 0; k < p_.n_spirals; ++k) {
            auto& o = next(Population::spiral, "EXP");
            place(o, 10);
            set_fluxes(o, rng_.u(18.5, 20.5), rng_.u(0.4, 0.8), rng_.u(0.3, 0.7), rng_.u(0.0, 0.6), rng_.u(-0.4, 0.0));
            auto& s = o.confuser;
            s.scale_length = rng_.u(1.0, 2.5);
            s.arms = rng_.i(2, 3);
            s.pitch = rng_.u(0.25, 0.45);
            s.contrast = rng_.u(0.4, 0.8);
            s.phase = rng_.u(0, 2 * kPi);
            galaxy_shape(o, 1.678 * s.scale_length, 0.8, 1.0, 1.0);  // face-on
        }
    }

    void edge_on_disks() {
        for (int k = 0; k < p_.n_edge_on; ++k) {
            auto& o = next(Population::edge_on, "EXP");
            place(o, 10);
            set_fluxes(o, rng_.u(18.5, 20.5), rng_.u(0.5, 0.9), rng_.u(0.4, 0.8), rng_.u(0.2, 0.8), rng_.u(-0.4, 0.0));
            galaxy_shape(o, rng_.u(1.5, 4.0), 0.1, 0.2, 1.0);
        }
    }

    void mergers() {
        for (int k = 0; k < p_.n_mergers; ++k) merger_companion(merger());
    }

private:
    // Inside the placement area and clear of the calibration star; smaller where it must be
    // (small test coadds), given up when even 5" does not fit.
    void place_cluster() {
        auto& cl = d_.cluster;
        cl.radius_arcsec = rng_.u(25, 50);
        for (int tries = 0; !cl.present && cl.radius_arcsec >= 5; ++tries) {
            const double inset = cl.radius_arcsec / 3600.0;
            const double dra = inset / std::cos(d_.brick.dec * kPi / 180);
            if (ra_lo_ + dra < ra_hi_ - dra && dec_lo_ + inset < dec_hi_ - inset) {
                cl.ra = rng_.u(ra_lo_ + dra, ra_hi_ - dra);
                cl.dec = rng_.u(dec_lo_ + inset, dec_hi_ - inset);
                cl.present = clear_of_calib(cl.ra, cl.dec, cl.radius_arcsec + 10);
            }
            if (!cl.present && tries % 50 == 49) cl.radius_arcsec *= 0.8;
        }
    }

    void cluster_stars() {
        const auto& cl = d_.cluster;
        const int n = rng_.i(30, 50);
        for (int k = 0; k < n; ++k) {
            auto& o = next(Population::cluster_star, "PSF");
            const double r = cl.radius_arcsec * std::pow(rng_.u(0, 1), 0.8), ang = rng_.u(0, 2 * kPi);
            const auto pos = offset(cl.ra, cl.dec, r * std::cos(ang), r * std::sin(ang));
            o.ra = pos[0];
            o.dec = pos[1];
            set_fluxes(o, rng_.u(19.5, 22.5), rng_.u(0.4, 0.7), rng_.u(0.2, 0.4), rng_.u(-0.3, 0.1), rng_.u(-0.1, 0.0));
        }
    }

    // The SIE + shear lens of a host and its source (a Sersic or a clumpy one).
    void lens(LensTruth& l) {
        l.theta_e = rng_.u(0.6, 3.0);
        l.q = rng_.u(0.5, 1.0);
        l.pa = rng_.u(0, kPi);
        l.gamma = rng_.u(0, 0.06);
        l.gamma_pa = rng_.u(0, kPi);
        const double beta = l.theta_e * 0.4 * std::sqrt(rng_.u(0, 1)), ang = rng_.u(0, 2 * kPi);
        l.src_dx = beta * std::cos(ang);
        l.src_dy = beta * std::sin(ang);
        l.clumpy = rng_.u(0, 1) < p_.clumpy_fraction;
        l.src_n = l.clumpy ? 1.0 : rng_.u(0.5, 2.0);
        l.src_reff = l.clumpy ? rng_.u(0.15, 0.4) : rng_.u(0.1, 0.5);
        l.src_q = rng_.u(0.5, 1.0);
        l.src_pa = rng_.u(0, kPi);
        const double r = rng_.u(22.0, 24.0), gr = rng_.u(0.1, 0.5), src_rz = rng_.u(0.0, 0.5);
        const double mags[3] = {r + gr, r, r - src_rz};
        for (int b = 0; b < 3; ++b) l.src_flux[b] = nmgy(mags[b]) * mw_[b == 2 ? 3 : b];
        if (l.clumpy) source_clumps(l);
    }

    // 2-5 bluer clumps along the disk share 30-60% of the r flux.
    void source_clumps(LensTruth& l) {
        const int nc = rng_.i(2, 5);
        const double share = rng_.u(0.3, 0.6);
        std::vector<double> w(static_cast<std::size_t>(nc));
        double wsum = 0;
        for (auto& x : w) wsum += (x = rng_.u(0.3, 1.0));
        for (int k2 = 0; k2 < nc; ++k2) {
            SourceClump cl;
            const double rr = l.src_reff * 1.2 * std::sqrt(rng_.u(0, 1)), aa = rng_.u(0, 2 * kPi);
            cl.dx = rr * std::cos(aa);
            cl.dy = rr * std::sin(aa) * l.src_q;
            cl.reff = rng_.u(0.03, 0.08);
            cl.n = 0.5;
            const double bluer = rng_.u(0.2, 0.4), frac = share * w[static_cast<std::size_t>(k2)] / wsum;
            cl.flux = {l.src_flux[0] * frac * std::pow(10.0, 0.4 * bluer), l.src_flux[1] * frac,
                       l.src_flux[2] * frac * std::pow(10.0, -0.2 * bluer)};
            l.clumps.push_back(cl);
        }
        // The disk keeps the rest (1 - share in every band); src_flux becomes the total over the
        // components (the disk's is src_flux minus the clumps').
        for (std::size_t b = 0; b < 3; ++b) {
            double clumps = 0;
            for (const auto& cl : l.clumps) clumps += cl.flux[b];
            l.src_flux[b] = l.src_flux[b] * (1.0 - share) + clumps;
        }
    }

    // A merger's primary with its tidal tails; returned as a copy (a reference would move when
    // the companion is added).
    Object merger() {
        const bool dev = rng_.u(0, 1) < 0.5;
        auto& o = next(Population::merger, dev ? "DEV" : "EXP");
        place(o, 15);
        const double r = rng_.u(18.5, 20.5), gr = rng_.u(0.5, 1.2), rz = rng_.u(0.4, 0.9);
        set_fluxes(o, r, gr, rz, rng_.u(0.3, 1.2), rng_.u(-0.4, 0.0));
        galaxy_shape(o, rng_.u(0.6, 1.6), 0.5, 1.0, dev ? 4.0 : 1.0);
        auto& m = o.confuser;
        m.companion_sep = rng_.u(1.5, 4.0);
        m.companion_flux_ratio = rng_.u(0.3, 1.0);
        m.tails = rng_.i(1, 2);
        m.tail_radius = rng_.u(1.5, 4.0);
        m.tail_width = rng_.u(0.2, 0.4);
        m.tail_sigma = rng_.u(0.4, 0.9);
        m.tail_angle = {rng_.u(0, 2 * kPi), rng_.u(0, 2 * kPi)};
        m.tail_flux_frac = rng_.u(0.1, 0.3);
        return o;
    }

    // The catalogued companion of a merger's primary, of similar colours.
    void merger_companion(const Object& primary) {
        const auto& m = primary.confuser;
        const auto& mw = mw_;
        const double sep_pa = rng_.u(0, 2 * kPi);
        auto& comp = next(Population::merger_companion, rng_.u(0, 1) < 0.5 ? "EXP" : "DEV");
        const auto pos = offset(primary.ra, primary.dec, m.companion_sep * std::sin(sep_pa), m.companion_sep * std::cos(sep_pa));
        comp.ra = pos[0];
        comp.dec = pos[1];
        const double r = 22.5 - 2.5 * std::log10(primary.true_flux[1] / mw[1]);
        const double gr = -2.5 * std::log10((primary.true_flux[0] / mw[0]) / (primary.true_flux[1] / mw[1]));
        const double rz = -2.5 * std::log10((primary.true_flux[1] / mw[1]) / (primary.true_flux[2] / mw[3]));
        set_fluxes(comp, r - 2.5 * std::log10(m.companion_flux_ratio), gr + rng_.u(-0.2, 0.2), rz + rng_.u(-0.1, 0.1),
                   rng_.u(0.3, 1.2), rng_.u(-0.4, 0.0));
        galaxy_shape(comp, rng_.u(0.4, 1.2), 0.4, 1.0, comp.type == "DEV" ? 4.0 : 1.0);
        comp.confuser.companion_objid = primary.objid;
        d_.objects[static_cast<std::size_t>(primary.objid)].confuser.companion_objid = comp.objid;
    }

    bool clear_of_calib(double ra, double dec, double keep_out_arcsec) const {
        if (!has_calib_) return true;
        const double dra = (ra - calib_[0]) * std::cos(dec * kPi / 180) * 3600, ddec = (dec - calib_[1]) * 3600;
        return std::hypot(dra, ddec) > 15.0 + keep_out_arcsec;
    }
    bool in_primary(double ra, double dec) const {
        const auto& b = d_.brick;
        return ra >= b.ra1 && ra < b.ra2 && dec >= b.dec1 && dec < b.dec2;
    }
    std::array<double, 2> position(double keep_out_arcsec) {
        // Bounded: on an image too small for the calibration star's keep-out there is no such
        // position, and an unbounded draw never returned (image_size 200 hung for minutes).
        constexpr int kTries = 100000;
        for (int tries = 0; tries < kTries; ++tries) {
            const double ra = rng_.u(ra_lo_, ra_hi_), dec = rng_.u(dec_lo_, dec_hi_);
            if (clear_of_calib(ra, dec, keep_out_arcsec)) return std::array<double, 2>{ra, dec};
        }
        throw Error(fmt::format("mock sky, brick {}: no position clear of the calibration star by {:.0f}\" in {} draws: "
                                "mock_sky.image_size ({} px) is too small for it",
                                d_.brick.name, 15.0 + keep_out_arcsec, kTries, grid_.width));
    }
    // A position 20-45 px inside one edge (side 0..3) of the brick's area on the coadd: the image
    // edge where the primary area reaches it (smaller test images), else the primary boundary
    // (DR10's 3600-px coadds overlap their neighbours by ~80 px), so a 101-px cutout centred there
    // crosses the image edge or the brick boundary.
    std::array<double, 2> edge_position(int side) {
        const BrickGrid& grid = grid_;
        for (int tries = 0; tries < 1000; ++tries) {
            const double along = rng_.u(120, grid.width - 121), dist = rng_.u(20, 45);
            auto at = [&](double inward) {  // pixel `inward` px from the image edge on this side
                if (side == 0) return grid.sky(inward, along);
                if (side == 1) return grid.sky(grid.width - 1 - inward, along);
                if (side == 2) return grid.sky(along, inward);
                return grid.sky(along, grid.height - 1 - inward);
            };
            int first = 0;  // first primary pixel inward from the image edge
            while (first < grid.width / 2 && !in_primary(at(first)[0], at(first)[1])) ++first;
            const auto sky = at(first + dist);
            if (in_primary(sky[0], sky[1]) && clear_of_calib(sky[0], sky[1], 10)) return sky;
        }
        return position(10);  // no edge strip (never for DR10 geometry)
    }
    // Observed fluxes from intrinsic r mag and colours g-r, r-z, z-W1, W1-W2.
    void set_fluxes(Object& o, double r, double gr, double rz, double zw1, double w12) const {
        const double mags[3] = {r + gr, r, r - rz};
        for (int b = 0; b < 3; ++b) o.true_flux[b] = o.flux[b] = nmgy(mags[b]) * mw_[b == 2 ? 3 : b];
        const double w1 = r - rz - zw1;
        const double wmag[4] = {w1, w1 - w12, w1 - w12 - 0.8, w1 - w12 - 1.5};
        for (int k = 0; k < 4; ++k) o.flux_wise[k] = nmgy(wmag[k]) * mw_[4 + k];
    }
    Object& next(Population pop, const char* type) {
        Object o;
        o.objid = static_cast<std::int32_t>(d_.objects.size());
        o.population = pop;
        o.type = type;
        d_.objects.push_back(std::move(o));
        return d_.objects.back();
    }
    void place(Object& o, double keep_out) {
        const auto pos = position(keep_out);
        o.ra = pos[0];
        o.dec = pos[1];
    }
    void place_at_edge(Object& o) {
        const auto pos = edge_position(rng_.i(0, 3));
        o.ra = pos[0];
        o.dec = pos[1];
    }
    void galaxy_shape(Object& o, double r_e, double q_lo, double q_hi, double n) {
        const auto e = e1e2(rng_.u(q_lo, q_hi), rng_.u(0, kPi));
        o.shape_r = r_e;
        o.e1 = e[0];
        o.e2 = e[1];
        o.sersic = n;
        o.large_galaxy = r_e >= kLargeGalaxyReff;
    }

    const Params& p_;
    BrickDraw& d_;
    Rng rng_;
    BrickGrid grid_;
    double ra_lo_ = 0, ra_hi_ = 0, dec_lo_ = 0, dec_hi_ = 0;  // where objects go
    bool has_calib_ = false;
    std::array<double, 2> calib_{};
    std::array<double, 8> mw_{};  // Milky Way transmission g, r, (i), z, W1..W4 (kExtinction's order)
};

}  // namespace

BrickDraw draw_brick(const Params& p, const kernels::Brick& brick) {
    BrickDraw d;
    d.brick = brick;
    d.conditions = draw_conditions(p, brick);
    PopulationDraw draw(p, d);
    draw.calibration_star();
    draw.bright_stars();
    draw.stars();
    draw.cluster();
    draw.lrgs();
    draw.lens_hosts();
    draw.blue_galaxies();
    draw.rings();
    draw.spirals();
    draw.edge_on_disks();
    draw.mergers();
    return d;
}

}  // namespace dhs::stages::mock_sky
