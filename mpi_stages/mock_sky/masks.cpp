// The masks of a mock brick in the DR10 MASKBITS layout: NPRIMARY outside the brick's primary
// area; around stars BRIGHT (r < 13) and MEDIUM (r < 16) discs (legacypipe's radius-magnitude
// relation), SATUR_G/R/Z where the PSF peak exceeds the saturation level, WISEM1/WISEM2 discs
// around stars with W1 < 13.5 / W2 < 13 (the unWISE PSF is ~6"); GALAXY ellipses over SGA-like
// large galaxies (2 r_e), CLUSTER over globular clusters; ALLMASK_G/R/Z boxes (every exposure
// masked: invvar 0, image 0) along the bleed trails of saturated stars and on a few bad columns.
// The map (rasterised per mask) and maskbits_at (one pixel) use the same predicates.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>

#include "kernels/sampling/photometry.hpp"
#include "kernels/rendering/sersic.hpp"
#include "mpi_stages/mock_sky/mock_sky.hpp"
#include "mpi_stages/mock_sky/stamps.hpp"

namespace dhs::stages::mock_sky {

namespace {

constexpr std::array<std::int32_t, 3> kSatur = {kSaturG, kSaturR, kSaturZ};
constexpr std::array<std::int32_t, 3> kAllmask = {kAllmaskG, kAllmaskR, kAllmaskZ};

double mag_of(double flux) { return 22.5 - 2.5 * std::log10(std::max(flux, 1e-30)); }

/// WISE bright-star mask radius (arcsec) for a W-band magnitude: ~60" at W = 12, shrinking 10x
/// per 10 mag (unWISE's halo grows with brightness).
double wise_radius_arcsec(double wmag) { return 200.0 * std::pow(10.0, -0.1 * (wmag - 6.8)) / 2.0; }

std::int32_t star_bits(const StarMask& m, double x, double y) {
    const double r = std::hypot(x - m.x, y - m.y);
    std::int32_t bits = 0;
    if (r < m.bright_radius) bits |= kBright;
    if (r < m.medium_radius) bits |= kMedium;
    if (r < m.wise1_radius) bits |= kWiseM1;
    if (r < m.wise2_radius) bits |= kWiseM2;
    for (int b = 0; b < 3; ++b)
        if (r < m.satur_radius[static_cast<std::size_t>(b)]) bits |= kSatur[static_cast<std::size_t>(b)];
    return bits;
}

bool in_ellipse(const EllipseMask& e, double x, double y) {
    const double dx = x - e.x, dy = y - e.y, c = std::cos(e.angle), s = std::sin(e.angle);
    const double u = c * dx + s * dy, v = (c * dy - s * dx) / e.q;
    return u * u + v * v < e.a * e.a;
}

bool in_box(const AllmaskBox& b, int x, int y) { return x >= b.x0 && x < b.x1 && y >= b.y0 && y < b.y1; }

/// Whether a pixel centre lies in the brick's primary area, without trigonometry per pixel: the
/// pixel's direction is v = e_r + xi e_E + eta e_N (tangent-plane coordinates in radians about the
/// grid's centre, the gnomonic inverse of BrickGrid::sky), RA >= ra1 <=> v . n(ra1) >= 0 with
/// n(a) = (-sin a, cos a, 0) the normal of meridian a (and RA < ra2 likewise), and sin(dec) =
/// v_z / |v| with |v|^2 = 1 + xi^2 + eta^2. Bricks spanning >= 180 deg of RA (polar caps) use
/// BrickGrid::sky.
class PrimaryTest {
public:
    PrimaryTest(const BrickGrid& grid, const kernels::Brick& brick) : grid_(grid), brick_(brick) {
        constexpr double d = std::numbers::pi / 180.0;
        const double a0 = grid.crval_ra * d, d0 = grid.crval_dec * d;
        er_ = {std::cos(d0) * std::cos(a0), std::cos(d0) * std::sin(a0), std::sin(d0)};
        ee_ = {-std::sin(a0), std::cos(a0), 0.0};
        en_ = {-std::sin(d0) * std::cos(a0), -std::sin(d0) * std::sin(a0), std::cos(d0)};
        n1_ = {-std::sin(brick.ra1 * d), std::cos(brick.ra1 * d)};
        n2_ = {-std::sin(brick.ra2 * d), std::cos(brick.ra2 * d)};
        sd1_ = std::sin(brick.dec1 * d);
        sd2_ = std::sin(brick.dec2 * d);
        step_ = grid.scale_deg * d;
        trig_ = brick.ra2 - brick.ra1 >= 180.0;
    }
    bool operator()(int x, int y) const {
        if (trig_) {
            const auto rd = grid_.sky(x, y);
            return rd[1] >= brick_.dec1 && rd[1] < brick_.dec2;  // the cap spans every RA
        }
        const double xi = -(x - grid_.crpix_x) * step_, eta = (y - grid_.crpix_y) * step_;
        const double vx = er_[0] + xi * ee_[0] + eta * en_[0], vy = er_[1] + xi * ee_[1] + eta * en_[1];
        const double vz = er_[2] + eta * en_[2];
        const double norm = std::sqrt(1.0 + xi * xi + eta * eta);
        return vx * n1_[0] + vy * n1_[1] >= 0.0 && vx * n2_[0] + vy * n2_[1] < 0.0 && vz >= sd1_ * norm &&
               vz < sd2_ * norm;
    }

private:
    const BrickGrid& grid_;
    const kernels::Brick& brick_;
    std::array<double, 3> er_{}, ee_{}, en_{};
    std::array<double, 2> n1_{}, n2_{};
    double sd1_ = 0, sd2_ = 0, step_ = 0;
    bool trig_ = false;
};

}  // namespace

BrickMasks brick_masks(const Params& p, const BrickDraw& draw, const BrickGrid& grid) {
    BrickMasks out;
    const auto& c = draw.conditions;
    std::array<double, 3> peak_per_flux{};  // PSF peak pixel value per unit flux
    for (int b = 0; b < 3; ++b)
        peak_per_flux[static_cast<std::size_t>(b)] = kernels::psf_profile(band_psf(p, c, b), 0.0) * p.pixscale * p.pixscale;
    for (const auto& o : draw.objects) {
        const auto xy = grid.pixel(o.ra, o.dec);
        if (o.type == "PSF") {
            const double mag = mag_of(o.flux[1]);
            StarMask m;
            m.x = xy[0];
            m.y = xy[1];
            const double r_arcsec = 1630.0 * std::pow(1.396, -mag);
            if (mag < 13) m.bright_radius = r_arcsec / p.pixscale;
            if (mag < 16) m.medium_radius = 0.5 * r_arcsec / p.pixscale;
            const double w1 = mag_of(o.flux_wise[0]), w2 = mag_of(o.flux_wise[1]);
            if (w1 < 13.5) m.wise1_radius = wise_radius_arcsec(w1) / p.pixscale;
            if (w2 < 13.0) m.wise2_radius = wise_radius_arcsec(w2) / p.pixscale;
            bool any = m.bright_radius > 0 || m.medium_radius > 0 || m.wise1_radius > 0 || m.wise2_radius > 0;
            for (int b = 0; b < 3; ++b) {
                const auto bb = static_cast<std::size_t>(b);
                const double peak = o.flux[bb] * peak_per_flux[bb];
                if (peak <= kSaturationNmgy) continue;
                // Radius where the PSF falls to the saturation level, + half a pixel.
                const auto psf = band_psf(p, c, b);
                double r;
                if (const auto* g = std::get_if<kernels::GaussianPsf>(&psf)) {
                    r = g->sigma() * std::sqrt(2 * std::log(peak / kSaturationNmgy));
                } else {
                    const auto& mo = std::get<kernels::MoffatPsf>(psf);
                    r = mo.alpha() * std::sqrt(std::pow(peak / kSaturationNmgy, 1.0 / mo.beta()) - 1.0);
                }
                m.satur_radius[bb] = r / p.pixscale + 0.5;
                any = true;
                // Bleed trail along the CCD columns: every exposure saturates there (ALLMASK).
                const int half_w = std::max(1, static_cast<int>(std::ceil(m.satur_radius[bb] / 3)));
                const int len = static_cast<int>(std::ceil(3 * m.satur_radius[bb] * (1 + std::log10(peak / kSaturationNmgy))));
                const int cx = static_cast<int>(std::lround(m.x)), cy = static_cast<int>(std::lround(m.y));
                out.allmask.push_back({b, cx - half_w, cx + half_w + 1, cy - len, cy + len + 1});
            }
            if (any) out.stars.push_back(m);
        }
        if (o.large_galaxy) {
            const double e = std::hypot(o.e1, o.e2);
            out.ellipses.push_back({xy[0], xy[1], 2 * o.shape_r / p.pixscale, (1 - e) / (1 + e),
                                    kernels::pixel_angle_from_sky_pa(0.5 * std::atan2(o.e2, o.e1)), kGalaxy});
        }
    }
    if (draw.cluster.present) {
        const auto xy = grid.pixel(draw.cluster.ra, draw.cluster.dec);
        out.ellipses.push_back({xy[0], xy[1], draw.cluster.radius_arcsec / p.pixscale, 1.0, 0.0, kCluster});
    }
    // Bad columns: 1-2 px wide, 50-400 px long, per band.
    for (int b = 0; b < 3; ++b) {
        std::mt19937_64 gen(hash_seed(p.seed, static_cast<std::uint64_t>(draw.brick.brickid), 200 + static_cast<std::uint64_t>(b)));
        auto u = [&gen](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(gen); };
        for (int k = 0; k < p.bad_columns; ++k) {
            const int x0 = static_cast<int>(u(0, grid.width - 2)), len = static_cast<int>(u(50, 400));
            const int y0 = static_cast<int>(u(-len / 2.0, grid.height - len / 2.0));
            out.allmask.push_back({b, x0, x0 + (u(0, 1) < 0.7 ? 1 : 2), y0, y0 + len});
        }
    }
    return out;
}

std::int32_t maskbits_at(const BrickGrid& grid, const kernels::Brick& brick, const BrickMasks& masks, int x, int y) {
    std::int32_t bits = PrimaryTest(grid, brick)(x, y) ? 0 : kNPrimary;
    for (const auto& m : masks.stars) bits |= star_bits(m, x, y);
    for (const auto& e : masks.ellipses)
        if (in_ellipse(e, x, y)) bits |= e.bits;
    for (const auto& b : masks.allmask)
        if (in_box(b, x, y)) bits |= kAllmask[static_cast<std::size_t>(b.band)];
    return bits;
}

std::vector<std::int32_t> maskbits_map(const BrickGrid& grid, const kernels::Brick& brick, const BrickMasks& masks) {
    const int w = grid.width, h = grid.height;
    std::vector<std::int32_t> map(static_cast<std::size_t>(w) * h, 0);
    const PrimaryTest primary(grid, brick);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            if (!primary(x, y)) map[static_cast<std::size_t>(y) * w + x] = kNPrimary;
    auto clip = [](double v, int n) { return std::clamp(static_cast<int>(v), 0, n); };
    for (const auto& m : masks.stars) {
        double r = std::max({m.bright_radius, m.medium_radius, m.wise1_radius, m.wise2_radius});
        for (double s : m.satur_radius) r = std::max(r, s);
        for (int y = clip(std::floor(m.y - r), h); y < clip(std::ceil(m.y + r) + 1, h); ++y)
            for (int x = clip(std::floor(m.x - r), w); x < clip(std::ceil(m.x + r) + 1, w); ++x)
                map[static_cast<std::size_t>(y) * w + x] |= star_bits(m, x, y);
    }
    for (const auto& e : masks.ellipses)
        for (int y = clip(std::floor(e.y - e.a), h); y < clip(std::ceil(e.y + e.a) + 1, h); ++y)
            for (int x = clip(std::floor(e.x - e.a), w); x < clip(std::ceil(e.x + e.a) + 1, w); ++x)
                if (in_ellipse(e, x, y)) map[static_cast<std::size_t>(y) * w + x] |= e.bits;
    for (const auto& b : masks.allmask)
        for (int y = std::max(0, b.y0); y < std::min(h, b.y1); ++y)
            for (int x = std::max(0, b.x0); x < std::min(w, b.x1); ++x)
                map[static_cast<std::size_t>(y) * w + x] |= kAllmask[static_cast<std::size_t>(b.band)];
    return map;
}

}  // namespace dhs::stages::mock_sky
