// Rendering of a mock brick: every object's light (Sersic, ring, spiral, lensed source, PSF
// stars) PSF-convolved into g, r, z images in nanomaggies per pixel, Gaussian noise from a
// per-(seed, brick, band) generator consistent with the invvar map, bright-star / saturation /
// NPRIMARY maskbits and constant psfsize maps; written as DR10-layout coadds.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>

#include "core/fits/coadd_writer.hpp"
#include "kernels/confuser_profiles.hpp"
#include "kernels/profile_render.hpp"
#include "kernels/psf.hpp"
#include "kernels/sersic.hpp"
#include "mpi_stages/mock_sky/mock_sky.hpp"

namespace dhs::stages::mock_sky {

namespace {

using Image = std::vector<float>;

/// Adds `scale` x stamp (side 2h+1, centre pixel at image (ic, jc)) into the image.
void add_stamp(Image& img, int w, int h, const Image& stamp, int half, int ic, int jc, double scale) {
    const int n = 2 * half + 1;
    for (int j = 0; j < n; ++j) {
        const int y = jc - half + j;
        if (y < 0 || y >= h) continue;
        for (int i = 0; i < n; ++i) {
            const int x = ic - half + i;
            if (x < 0 || x >= w) continue;
            img[static_cast<std::size_t>(y) * w + x] += static_cast<float>(scale * stamp[static_cast<std::size_t>(j) * n + i]);
        }
    }
}

/// The unconvolved light of an extended object, normalised to unit flux, on a (2h+1)^2 stamp
/// with the object's centre at (half + fx, half + fy) pixels.
Image galaxy_stamp(const Params& p, const Object& o, int half, double fx, double fy) {
    const int n = 2 * half + 1;
    Image s(static_cast<std::size_t>(n) * n, 0.0f);
    const double pa = kernels::pixel_angle_from_sky_pa(0.5 * std::atan2(o.e2, o.e1));
    const double e = std::hypot(o.e1, o.e2), q = (1 - e) / (1 + e);
    const double cx = half + fx, cy = half + fy;
    const int os = o.shape_r < 0.6 ? 5 : 3;
    switch (o.population) {
        case Population::ring: {
            const auto& c = o.confuser;
            kernels::RingProfile ring(c.ring_flux_frac, c.ring_radius, c.ring_width, {q, pa});
            kernels::accumulate_profile(ring, s, n, n, p.pixscale, cx, cy, os);
            kernels::SersicProfile bulge(1 - c.ring_flux_frac, 0.4, 4.0, {1.0, 0.0});
            kernels::accumulate_profile(bulge, s, n, n, p.pixscale, cx, cy, 5);
            break;
        }
        case Population::spiral: {
            const auto& c = o.confuser;
            kernels::SpiralArmsParams sp{.flux = 1.0, .scale_length = c.scale_length, .arms = c.arms,
                                         .pitch_angle = c.pitch, .contrast = c.contrast, .phase = c.phase,
                                         .core_radius = 0.5, .shape = {q, pa}};
            kernels::accumulate_profile(kernels::SpiralArmsProfile(sp), s, n, n, p.pixscale, cx, cy, os);
            break;
        }
        default: {
            kernels::SersicProfile prof(1.0, o.shape_r, o.sersic, {q, pa});
            kernels::accumulate_profile(prof, s, n, n, p.pixscale, cx, cy, os);
        }
    }
    double sum = 0;
    for (float v : s) sum += v;
    if (sum > 0)
        for (float& v : s) v = static_cast<float>(v / sum);
    return s;
}

double extent_arcsec(const Object& o) {
    switch (o.population) {
        case Population::ring: return o.confuser.ring_radius / 0.6 + 4 * o.confuser.ring_width + 2.0;
        case Population::spiral: return 6 * o.confuser.scale_length;
        default: return o.shape_r * (o.sersic >= 2 ? 6.0 : 4.0);
    }
}

std::vector<fits::FitsCard> leading_cards(const Params& p) {
    return {{"LEGPIPEV", std::string("DR10.0.1"), "legacypipe git version (dhs mock-sky)"},
            {"LSDR", std::string("DR10"), "Data release number"},
            {"SURVEY", std::string("dhs mock-sky"), "The LegacySurveys (a mock)"},
            {"DRVERSIO", std::int64_t{10000}, "LegacySurveys Data Release number"},
            {"MOCKSKY", true, "written by dhs mock-sky: not real data"},
            {"MOCKSEED", static_cast<std::int64_t>(p.seed), "run.seed of the mock sky"}};
}

}  // namespace

std::vector<StarMask> star_masks(const Params& p, const BrickDraw& draw, const BrickGrid& grid) {
    std::vector<StarMask> out;
    for (const auto& o : draw.objects) {
        if (o.type != "PSF") continue;
        const double mag = 22.5 - 2.5 * std::log10(std::max(o.flux[1], 1e-30));
        StarMask m;
        const auto xy = grid.pixel(o.ra, o.dec);
        m.x = xy[0];
        m.y = xy[1];
        const double r_arcsec = 1630.0 * std::pow(1.396, -mag);
        if (mag < 13) m.bright_radius = r_arcsec / p.pixscale;
        if (mag < 16) m.medium_radius = 0.5 * r_arcsec / p.pixscale;
        bool any = m.bright_radius > 0 || m.medium_radius > 0;
        for (int b = 0; b < 3; ++b) {
            const double sigma = draw.conditions.fwhm[b] / kernels::kGaussianFwhmPerSigma / p.pixscale;
            const double peak = o.flux[b] / (2 * std::numbers::pi * sigma * sigma);
            if (peak > kSaturationNmgy) {
                m.satur_radius[b] = sigma * std::sqrt(2 * std::log(peak / kSaturationNmgy)) + 0.5;
                any = true;
            }
        }
        if (any) out.push_back(m);
    }
    return out;
}

std::int32_t maskbits_at(const BrickGrid& grid, const kernels::Brick& brick, const std::vector<StarMask>& masks,
                         int x, int y) {
    std::int32_t bits = 0;
    const auto rd = grid.sky(x, y);
    double ra = rd[0];
    if (ra < brick.ra1 - 180) ra += 360;
    if (ra > brick.ra2 + 180) ra -= 360;
    if (ra < brick.ra1 || ra >= brick.ra2 || rd[1] < brick.dec1 || rd[1] >= brick.dec2) bits |= kNPrimary;
    for (const auto& m : masks) {
        const double r = std::hypot(x - m.x, y - m.y);
        if (r < m.bright_radius) bits |= kBright;
        if (r < m.medium_radius) bits |= kMedium;
        if (r < m.satur_radius[0]) bits |= kSaturG;
        if (r < m.satur_radius[1]) bits |= kSaturR;
        if (r < m.satur_radius[2]) bits |= kSaturZ;
    }
    return bits;
}

void render_brick(const Params& p, const BrickDraw& draw) {
    const auto& c = draw.conditions;
    const BrickGrid grid = brick_grid(p, draw.brick);
    const int w = grid.width, h = grid.height;
    const std::size_t npix = static_cast<std::size_t>(w) * h;
    std::array<Image, 3> img;
    for (auto& im : img) im.assign(npix, 0.0f);
    std::array<std::vector<float>, 3> kern;
    std::array<int, 3> khalf{};
    for (int b = 0; b < 3; ++b) {
        const auto psf = kernels::GaussianPsf::from_fwhm(c.fwhm[b]);
        khalf[b] = static_cast<int>(std::ceil(4 * psf.sigma() / p.pixscale));
        kern[b] = kernels::gaussian_kernel_1d(psf, p.pixscale, khalf[b]);
    }
    const int kmax = *std::max_element(khalf.begin(), khalf.end());
    Image conv;
    auto add_convolved = [&](const Image& stamp, int half, int ic, int jc, int b, double flux) {
        const int n = 2 * half + 1;
        conv.assign(stamp.size(), 0.0f);
        kernels::convolve_separable(stamp, n, n, kern[b], kern[b], conv);
        add_stamp(img[b], w, h, conv, half, ic, jc, flux);
    };
    for (const auto& o : draw.objects) {
        const auto xy = grid.pixel(o.ra, o.dec);
        const int ic = static_cast<int>(std::lround(xy[0])), jc = static_cast<int>(std::lround(xy[1]));
        const double fx = xy[0] - ic, fy = xy[1] - jc;
        if (o.type == "PSF") {
            for (int b = 0; b < 3; ++b) {
                const double mag = 22.5 - 2.5 * std::log10(std::max(o.flux[b], 1e-30));
                const int half = mag < 16 ? 4 * khalf[b] : 2 * khalf[b];
                const auto k = kernels::psf_kernel(kernels::GaussianPsf::from_fwhm(c.fwhm[b]), p.pixscale, half, 1, fx, fy);
                add_stamp(img[b], w, h, Image(k.begin(), k.end()), half, ic, jc, o.flux[b]);
            }
            continue;
        }
        const int half = std::min(150, static_cast<int>(std::ceil(extent_arcsec(o) / p.pixscale)) + kmax + 1);
        const Image stamp = galaxy_stamp(p, o, half, fx, fy);
        for (int b = 0; b < 3; ++b) add_convolved(stamp, half, ic, jc, b, o.flux[b]);
        if (o.population == Population::lens_host) {
            const int lh = lens_stamp_half(p, o, p.fwhm_max) + kmax;
            Image lensed;
            render_lensed_source(p, o, lh, -fx, -fy, lensed);
            for (int b = 0; b < 3; ++b) add_convolved(lensed, lh, ic, jc, b, o.lens.src_flux[b] / o.lens.src_flux[1]);
        }
    }

    // Maskbits, invvar and noise.
    const auto masks = star_masks(p, draw, grid);
    std::vector<std::int32_t> maskbits(npix);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) maskbits[static_cast<std::size_t>(y) * w + x] = maskbits_at(grid, draw.brick, masks, x, y);
    const std::array<std::int32_t, 3> satur = {kSaturG, kSaturR, kSaturZ};
    const auto bid = static_cast<std::uint64_t>(draw.brick.brickid);
    for (int b = 0; b < 3; ++b) {
        Image invvar(npix);
        std::mt19937_64 gen(hash_seed(p.seed, bid, 100 + static_cast<std::uint64_t>(b)));
        std::normal_distribution<double> normal;
        const double ivar0 = 1.0 / (c.sigma_pix[b] * c.sigma_pix[b]);
        for (int y = 0; y < h; ++y) {
            for (int x = 0; x < w; ++x) {
                const std::size_t i = static_cast<std::size_t>(y) * w + x;
                const double v = ivar0 * (1.0 + 0.05 * std::sin(6.283185307179586 * x / w) * std::cos(6.283185307179586 * y / h));
                const double noise = normal(gen);
                if (maskbits[i] & satur[b]) {
                    invvar[i] = 0.0f;
                    continue;
                }
                invvar[i] = static_cast<float>(v);
                img[b][i] += static_cast<float>(noise / std::sqrt(v));
            }
        }
        const std::string band = kBands[b];
        auto header = [&](const std::string& imtype, const std::string& bunit, const std::string& filter) {
            auto hd = fits::dr10_brick_header(draw.brick, filter, bunit, w, h, p.pixscale);
            hd.imtype = imtype;
            hd.leading = leading_cards(p);
            if (bunit != "nanomaggy") hd.magzero.reset();
            return hd;
        };
        const auto path = [&](const std::string& kind) { return fits::coadd_path(p.root, draw.brick.name, kind); };
        fits::write_coadd_image(path("image-" + band), img[b], w, h, header("image", "nanomaggy", band),
                                fits::dr10_coadd_compression("image-" + band));
        fits::write_coadd_image(path("invvar-" + band), invvar, w, h, header("invvar", "1/nanomaggy^2", band),
                                fits::dr10_coadd_compression("invvar-" + band));
        const Image psfsize(npix, static_cast<float>(c.fwhm[b]));
        fits::write_coadd_image(path("psfsize-" + band), psfsize, w, h, header("psfsize", "arcsec", band),
                                fits::dr10_coadd_compression("psfsize-" + band));
        img[b] = Image();
    }
    auto mh = fits::dr10_brick_header(draw.brick, "", "", w, h, p.pixscale);
    mh.imtype = "maskbits";
    mh.leading = leading_cards(p);
    mh.magzero.reset();
    fits::write_coadd_image(fits::coadd_path(p.root, draw.brick.name, "maskbits"), std::span<const std::int32_t>(maskbits),
                            w, h, mh, fits::dr10_coadd_compression("maskbits"));
}

}  // namespace dhs::stages::mock_sky
