// Rendering of a mock brick: every extended object's unconvolved light (Sersic galaxies, rings,
// spirals, mergers with their tidal arcs, the lensed arcs of lens hosts, the spikes of bright
// stars) is added to one layer per band, which is convolved with the band's PSF as a whole
// (Gaussian: separable; Moffat: tiled FFT); point sources are then added as pixel-integrated PSF
// kernels at their sub-pixel positions. Gaussian noise from a per-(seed, brick, band) generator
// consistent with the invvar map, the DR10 maskbits (masks.cpp; ALLMASK pixels get invvar 0 and
// image 0, SATUR ones invvar 0) and constant psfsize maps (the PSF FWHM); written as DR10-layout
// coadds.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>

#include "core/fits/coadd_writer.hpp"
#include "kernels/rendering/psf.hpp"
#include "mpi_stages/mock_sky/mock_sky.hpp"
#include "mpi_stages/mock_sky/stamps.hpp"

namespace dhs::stages::mock_sky {

namespace {

/// Adds `scale` x stamp (side 2h+1, centre pixel at image (ic, jc)) into the image.
void add_stamp(std::span<float> img, int w, int h, std::span<const float> stamp, int half, int ic, int jc, double scale) {
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

std::vector<fits::FitsCard> leading_cards(const Params& p) {
    return {{"LEGPIPEV", std::string("DR10.0.1"), "legacypipe git version (dhs mock-sky)"},
            {"LSDR", std::string("DR10"), "Data release number"},
            {"SURVEY", std::string("dhs mock-sky"), "The LegacySurveys (a mock)"},
            {"DRVERSIO", std::int64_t{10000}, "LegacySurveys Data Release number"},
            {"MOCKSKY", true, "written by dhs mock-sky: not real data"},
            {"MOCKSEED", static_cast<std::int64_t>(p.seed), "run.seed of the mock sky"},
            {"MOCKPSF", std::string(p.psf_model == PsfModel::moffat ? "moffat" : "gaussian"),
             "PSF model of the mock (psfsize = its FWHM)"}};
}

}  // namespace

void render_brick(const Params& p, const BrickDraw& draw) {
    const auto& c = draw.conditions;
    const BrickGrid grid = brick_grid(p, draw.brick);
    const int w = grid.width, h = grid.height;
    const std::size_t npix = static_cast<std::size_t>(w) * h;
    const std::array<BandKernel, 3> kern = {band_kernel(p, c, 0), band_kernel(p, c, 1), band_kernel(p, c, 2)};

    // Unconvolved light of the extended objects, one layer per band (5 whole planes are reused
    // throughout: the three layers, a spare and the convolution's scratch).
    std::vector<PlaneBuffer<float>> planes;
    for (int k = 0; k < 5; ++k) planes.emplace_back(npix);
    std::array<float*, 3> layer = {planes[0].data(), planes[1].data(), planes[2].data()};
    auto add = [&](int b, std::span<const float> stamp, int half, int ic, int jc, double scale) {
        add_stamp(std::span<float>(layer[static_cast<std::size_t>(b)], npix), w, h, stamp, half, ic, jc, scale);
    };
    for (const auto& o : draw.objects) {
        const bool point = o.type == "PSF";
        if (point && o.population != Population::bright_star) continue;
        const auto xy = grid.pixel(o.ra, o.dec);
        const int ic = static_cast<int>(std::lround(xy[0])), jc = static_cast<int>(std::lround(xy[1]));
        const double fx = xy[0] - ic, fy = xy[1] - jc;
        const int half = object_stamp_half(p, o);
        const std::vector<float> stamp = object_stamp(p, o, half, fx, fy);  // spikes only for a star
        for (int b = 0; b < 3; ++b) add(b, stamp, half, ic, jc, o.true_flux[b]);
        if (o.population == Population::lens_host) {
            const int lh = lens_stamp_half(p, o);
            std::vector<float> lensed;
            render_lensed_source(p, o, lh, -fx, -fy, lensed);
            const std::size_t n = static_cast<std::size_t>(2 * lh + 1) * (2 * lh + 1);
            for (int b = 0; b < 3; ++b)
                add(b, std::span<const float>(lensed).subspan(static_cast<std::size_t>(b) * n, n), lh, ic, jc, 1.0);
        }
    }
    // PSF convolution of each layer (into the spare plane, whose role the layer's plane takes
    // over), then the point sources as PSF kernels.
    std::array<float*, 3> img{};
    float* spare = planes[3].data();
    const std::span<float> scratch = planes[4].span();
    for (int b = 0; b < 3; ++b) {
        const auto bb = static_cast<std::size_t>(b);
        convolve_image(kern[bb], std::span<const float>(layer[bb], npix), w, h, std::span<float>(spare, npix), scratch);
        img[bb] = spare;
        spare = layer[bb];
    }
    for (const auto& o : draw.objects) {
        if (o.type != "PSF") continue;
        const auto xy = grid.pixel(o.ra, o.dec);
        const int ic = static_cast<int>(std::lround(xy[0])), jc = static_cast<int>(std::lround(xy[1]));
        const double fx = xy[0] - ic, fy = xy[1] - jc;
        for (int b = 0; b < 3; ++b) {
            const auto bb = static_cast<std::size_t>(b);
            const double mag = 22.5 - 2.5 * std::log10(std::max(o.flux[bb], 1e-30));
            const int half = star_stamp_half(kern[bb], mag);
            const auto k = kernels::psf_kernel(kern[bb].psf, p.pixscale, half, kern[bb].separable ? 1 : 5, fx, fy);
            add_stamp(std::span<float>(img[bb], npix), w, h, k, half, ic, jc, o.flux[bb]);
        }
    }

    // Maskbits, invvar and noise. The invvar map varies by +-5% over the brick (a smooth
    // pattern, separable in x and y).
    const BrickMasks masks = brick_masks(p, draw, grid);
    const std::vector<std::int32_t> maskbits = maskbits_map(grid, draw.brick, masks);
    const std::array<std::int32_t, 3> satur = {kSaturG, kSaturR, kSaturZ};
    const std::array<std::int32_t, 3> allmask = {kAllmaskG, kAllmaskR, kAllmaskZ};
    std::vector<double> sx(static_cast<std::size_t>(w)), cy(static_cast<std::size_t>(h));
    for (int x = 0; x < w; ++x) sx[static_cast<std::size_t>(x)] = 0.05 * std::sin(6.283185307179586 * x / w);
    for (int y = 0; y < h; ++y) cy[static_cast<std::size_t>(y)] = std::cos(6.283185307179586 * y / h);
    const auto bid = static_cast<std::uint64_t>(draw.brick.brickid);
    float* invvar = scratch.data();  // the scratch plane is free now
    for (int b = 0; b < 3; ++b) {
        const auto bb = static_cast<std::size_t>(b);
        float* im = img[bb];
        std::mt19937_64 gen(hash_seed(p.seed, bid, 100 + static_cast<std::uint64_t>(b)));
        std::normal_distribution<double> normal;
        const double ivar0 = 1.0 / (c.sigma_pix[bb] * c.sigma_pix[bb]);
        for (int y = 0; y < h; ++y) {
            for (int x = 0; x < w; ++x) {
                const std::size_t i = static_cast<std::size_t>(y) * w + x;
                const double v = ivar0 * (1.0 + sx[static_cast<std::size_t>(x)] * cy[static_cast<std::size_t>(y)]);
                const double noise = normal(gen);
                if (maskbits[i] & allmask[bb]) {  // no exposure kept the pixel
                    invvar[i] = 0.0f;
                    im[i] = 0.0f;
                    continue;
                }
                if (maskbits[i] & satur[bb]) {
                    invvar[i] = 0.0f;
                    continue;
                }
                invvar[i] = static_cast<float>(v);
                im[i] += static_cast<float>(noise / std::sqrt(v));
            }
        }
        const std::string band = kBands[bb];
        auto header = [&](const std::string& imtype, const std::string& bunit, const std::string& filter) {
            auto hd = fits::dr10_brick_header(draw.brick, filter, bunit, w, h, p.pixscale);
            hd.imtype = imtype;
            hd.leading = leading_cards(p);
            if (bunit != "nanomaggy") hd.magzero.reset();
            return hd;
        };
        const auto path = [&](const std::string& kind) { return fits::coadd_path(p.root, draw.brick.name, kind); };
        fits::write_coadd_image(path("image-" + band), std::span<const float>(im, npix), w, h,
                                header("image", "nanomaggy", band), fits::dr10_coadd_compression("image-" + band));
        fits::write_coadd_image(path("invvar-" + band), std::span<const float>(invvar, npix), w, h,
                                header("invvar", "1/nanomaggy^2", band), fits::dr10_coadd_compression("invvar-" + band));
        // psfsize: the constant FWHM, in the plane the image no longer needs.
        std::fill_n(im, npix, static_cast<float>(c.fwhm[bb]));
        fits::write_coadd_image(path("psfsize-" + band), std::span<const float>(im, npix), w, h,
                                header("psfsize", "arcsec", band), fits::dr10_coadd_compression("psfsize-" + band));
    }
    auto mh = fits::dr10_brick_header(draw.brick, "", "", w, h, p.pixscale);
    mh.imtype = "maskbits";
    mh.leading = leading_cards(p);
    mh.magzero.reset();
    fits::write_coadd_image(fits::coadd_path(p.root, draw.brick.name, "maskbits"), std::span<const std::int32_t>(maskbits),
                            w, h, mh, fits::dr10_coadd_compression("maskbits"));
}

}  // namespace dhs::stages::mock_sky
