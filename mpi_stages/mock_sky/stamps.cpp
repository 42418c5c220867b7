// Stamps of the mock sky: the unconvolved light of each kind of object (Sersic galaxies, rings,
// face-on spirals, mergers with tidal arcs, the diffraction spikes of bright stars), the lensed
// sources of lens hosts (one ray shoot for g, r, z and every component of a clumpy source), the
// band PSF kernels and convolutions, and the arc light a host's catalogue flux absorbs.
#include "mpi_stages/mock_sky/stamps.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <numbers>

#include <sys/mman.h>

#include "kernels/rendering/confuser_profiles.hpp"
#include "kernels/rendering/fft_convolve.hpp"
#include "kernels/rendering/profile_render.hpp"
#include "kernels/lensing/ray_shooting.hpp"
#include "kernels/rendering/sersic.hpp"

namespace dhs::stages::mock_sky {

namespace {

constexpr double kPi = std::numbers::pi;

kernels::EllipseShape pixel_shape(const Object& o) {
    const double e = std::hypot(o.e1, o.e2);
    return {(1 - e) / (1 + e), kernels::pixel_angle_from_sky_pa(0.5 * std::atan2(o.e2, o.e1))};
}

/// Adds `flux` x (the profile normalised to its sum on the stamp) to s: every component keeps
/// its intended flux whatever the stamp truncates.
template <class Profile>
void add_normalised(std::vector<float>& s, int n, const Params& p, const Profile& prof, double cx, double cy, int os,
                    double flux) {
    std::vector<float> tmp(s.size(), 0.0f);
    const double sum = kernels::accumulate_profile(prof, tmp, n, n, p.pixscale, cx, cy, os);
    if (sum > 0)
        for (std::size_t i = 0; i < s.size(); ++i) s[i] += static_cast<float>(flux * tmp[i] / sum);
}

/// The same for a Sersic profile through the fast renderer (centre at pixel (cx, cy)).
void add_sersic(std::vector<float>& s, int n, const Params& p, const kernels::SersicProfile& prof, double cx,
                double cy, int os, double flux) {
    std::vector<float> tmp(s.size());
    const double h = 0.5 * (n - 1);
    const kernels::StampGeometry g{.width = n, .height = n, .pixel_scale = p.pixscale,
                                   .center_x = (h - cx) * p.pixscale, .center_y = (h - cy) * p.pixscale};
    const double sum = kernels::render_unlensed(prof, g, os, tmp);
    if (sum > 0)
        for (std::size_t i = 0; i < s.size(); ++i) s[i] += static_cast<float>(flux * tmp[i] / sum);
}

}  // namespace

void* allocate(std::size_t bytes) {
    constexpr std::size_t kHuge = std::size_t{2} << 20;
    const std::size_t padded = (std::max<std::size_t>(bytes, 1) + kHuge - 1) / kHuge * kHuge;
    void* p = std::aligned_alloc(kHuge, padded);
    if (p == nullptr) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    ::madvise(p, padded, MADV_HUGEPAGE);  // a hint; the buffer works the same without it
#endif
    std::memset(p, 0, padded);
    return p;
}

void release(void* p) noexcept { std::free(p); }

double psf_nea_pixels(const kernels::Psf& psf, double pixscale) {
    const double a2 = pixscale * pixscale;
    if (const auto* g = std::get_if<kernels::GaussianPsf>(&psf)) return 4 * kPi * g->sigma() * g->sigma() / a2;
    const auto& m = std::get<kernels::MoffatPsf>(psf);
    const double b = m.beta();
    return kPi * m.alpha() * m.alpha() * (2 * b - 1) / ((b - 1) * (b - 1)) / a2;
}

BandKernel band_kernel(const Params& p, const Conditions& c, int band) {
    BandKernel k;
    k.psf = band_psf(p, c, band);
    if (const auto* g = std::get_if<kernels::GaussianPsf>(&k.psf)) {
        k.separable = true;
        k.half = static_cast<int>(std::ceil(4 * g->sigma() / p.pixscale));
        k.k1d = kernels::gaussian_kernel_1d(*g, p.pixscale, k.half);
        k.k2d = kernels::outer_product_kernel(k.k1d, k.k1d);
    } else {
        // The circle of radius r holds 1 - (1 + r^2/alpha^2)^(1 - beta) of a Moffat; 99.8% there.
        const auto& m = std::get<kernels::MoffatPsf>(k.psf);
        const double r = m.alpha() * std::sqrt(std::pow(0.002, 1.0 / (1.0 - m.beta())) - 1.0);
        k.separable = false;
        k.half = std::max(1, static_cast<int>(std::ceil(r / p.pixscale - 0.5)));
        k.k2d = kernels::psf_kernel(k.psf, p.pixscale, k.half, 5);
    }
    return k;
}

void convolve_stamp(const BandKernel& k, std::span<const float> in, int w, int h, std::span<float> out) {
    if (k.separable) kernels::convolve_separable(in, w, h, k.k1d, k.k1d, out);
    else kernels::convolve_fft(in, w, h, k.k2d, 2 * k.half + 1, out);
}

void convolve_image(const BandKernel& k, std::span<const float> in, int w, int h, std::span<float> out,
                    std::span<float> scratch) {
    if (k.separable) kernels::convolve_separable(in, w, h, k.k1d, k.k1d, out, scratch);
    else kernels::convolve_fft_tiled(in, w, h, k.k2d, 2 * k.half + 1, out, 256);
}

int star_stamp_half(const BandKernel& k, double mag) {
    if (k.separable) return mag < 16 ? 4 * k.half : 2 * k.half;
    return std::min(300, mag < 16 ? 3 * k.half : k.half);
}

int object_stamp_half(const Params& p, const Object& o) {
    double extent = o.shape_r * (o.sersic >= 2 ? 6.0 : 4.0);
    switch (o.population) {
        case Population::ring: extent = o.confuser.ring_radius / 0.6 + 4 * o.confuser.ring_width + 2.0; break;
        case Population::spiral: extent = 6 * o.confuser.scale_length; break;
        case Population::merger:
            extent = std::max(extent, o.confuser.tail_radius + 4 * o.confuser.tail_width + 1.0);
            break;
        case Population::bright_star: extent = 6 * o.confuser.spike_length; break;
        default: break;
    }
    return std::min(300, static_cast<int>(std::ceil(extent / p.pixscale)) + 2);
}

std::vector<float> object_stamp(const Params& p, const Object& o, int half, double fx, double fy) {
    const int n = 2 * half + 1;
    std::vector<float> s(static_cast<std::size_t>(n) * n, 0.0f);
    const kernels::EllipseShape shape = pixel_shape(o);
    const double cx = half + fx, cy = half + fy;
    const int os = o.shape_r < 0.6 ? 5 : 3;
    const auto& c = o.confuser;
    switch (o.population) {
        case Population::ring: {
            add_normalised(s, n, p, kernels::RingProfile(1.0, c.ring_radius, c.ring_width, shape), cx, cy, os,
                           c.ring_flux_frac);
            add_sersic(s, n, p, kernels::SersicProfile(1.0, 0.4, 4.0, {1.0, 0.0}), cx, cy, 5, 1 - c.ring_flux_frac);
            break;
        }
        case Population::spiral: {
            const kernels::SpiralArmsParams sp{.flux = 1.0, .scale_length = c.scale_length, .arms = c.arms,
                                               .pitch_angle = c.pitch, .contrast = c.contrast, .phase = c.phase,
                                               .core_radius = 0.5, .shape = shape};
            add_normalised(s, n, p, kernels::SpiralArmsProfile(sp), cx, cy, os, 1.0);
            break;
        }
        case Population::bright_star: {  // the spikes only; the star is a PSF kernel
            const kernels::DiffractionSpikesParams sp{.flux = 1.0, .spikes = c.spikes, .angle = 0.0,
                                                      .length = c.spike_length, .width = 0.15};
            add_normalised(s, n, p, kernels::DiffractionSpikesProfile(sp), cx, cy, 2, c.spike_flux_frac);
            break;
        }
        case Population::merger: {
            add_sersic(s, n, p, kernels::SersicProfile(1.0, o.shape_r, o.sersic, shape), cx, cy, os, 1.0);
            for (int t = 0; t < c.tails; ++t) {
                const kernels::TidalArcParams tp{
                    .flux = 1.0, .radius = c.tail_radius, .width = c.tail_width,
                    .angle = kernels::pixel_angle_from_sky_pa(c.tail_angle[static_cast<std::size_t>(t)]),
                    .angular_sigma = c.tail_sigma};
                add_normalised(s, n, p, kernels::TidalArcProfile(tp), cx, cy, 3, c.tail_flux_frac / c.tails);
            }
            break;
        }
        default:
            add_sersic(s, n, p, kernels::SersicProfile(1.0, o.shape_r, o.sersic, shape), cx, cy, os, 1.0);
    }
    return s;
}

int lens_stamp_half(const Params& p, const Object& host) {
    const auto& l = host.lens;
    double src = std::hypot(l.src_dx, l.src_dy) + 5 * l.src_reff;
    for (const auto& c : l.clumps) src = std::max(src, std::hypot(l.src_dx + c.dx, l.src_dy + c.dy) + 5 * c.reff);
    return static_cast<int>(std::ceil((1.6 * l.theta_e + src) / p.pixscale)) + 3;
}

double render_lensed_source(const Params& p, const Object& host, int half, double dx_pix, double dy_pix,
                            std::vector<float>& out3) {
    const auto& l = host.lens;
    const kernels::SieParams sp{.theta_e = l.theta_e, .q = l.q, .phi = kernels::pixel_angle_from_sky_pa(l.pa),
                                .x0 = 0, .y0 = 0, .gamma_ext = l.gamma,
                                .phi_ext = kernels::pixel_angle_from_sky_pa(l.gamma_pa)};
    const kernels::SieLens lens(sp);
    // Lens frame: +x West (pixel x), +y North; offsets are given East, North.
    std::vector<kernels::SersicProfile> comps;
    std::vector<double> weights;  // components x 3 bands
    const kernels::EllipseShape src_shape{l.src_q, kernels::pixel_angle_from_sky_pa(l.src_pa)};
    std::array<double, 3> main = l.src_flux;
    for (const auto& c : l.clumps)
        for (std::size_t b = 0; b < 3; ++b) main[b] -= c.flux[b];
    comps.emplace_back(1.0, l.src_reff, l.src_n, src_shape, -l.src_dx, l.src_dy);
    weights.insert(weights.end(), main.begin(), main.end());
    for (const auto& c : l.clumps) {
        comps.emplace_back(1.0, c.reff, c.n, kernels::EllipseShape{}, -(l.src_dx + c.dx), l.src_dy + c.dy);
        weights.insert(weights.end(), c.flux.begin(), c.flux.end());
    }
    const kernels::StampGeometry g{.width = 2 * half + 1, .height = 2 * half + 1, .pixel_scale = p.pixscale,
                                   .center_x = dx_pix * p.pixscale, .center_y = dy_pix * p.pixscale};
    out3.assign(3 * g.size(), 0.0f);
    const auto lensed = kernels::render_lensed_bands(lens, comps, weights, g, 4, out3);
    std::vector<float> unlensed(3 * g.size());
    const auto flat = kernels::render_unlensed_bands(comps, weights, g, 4, unlensed);
    return flat[1] > 0 ? lensed[1] / flat[1] : 0.0;
}

void account_arc_light(const Params& p, const Conditions& c, Object& host) {
    auto& l = host.lens;
    std::array<BandKernel, 3> k{band_kernel(p, c, 0), band_kernel(p, c, 1), band_kernel(p, c, 2)};
    int kmax = 0;
    for (const auto& x : k) kmax = std::max(kmax, x.half);
    const int half = lens_stamp_half(p, host) + kmax;
    const int n = 2 * half + 1;
    const std::size_t npix = static_cast<std::size_t>(n) * n;
    std::vector<float> arc;
    l.magnification = render_lensed_source(p, host, half, 0, 0, arc);
    // The host's unit-flux model on the same stamp.
    std::vector<float> model(npix, 0.0f), m(npix), a(npix);
    add_sersic(model, n, p, kernels::SersicProfile(1.0, host.shape_r, host.sersic, pixel_shape(host)), half, half,
               host.shape_r < 0.6 ? 5 : 3, 1.0);
    for (int b = 0; b < 3; ++b) {
        const auto band = std::span<const float>(arc).subspan(static_cast<std::size_t>(b) * npix, npix);
        double total = 0;
        for (float v : band) total += v;
        convolve_stamp(k[static_cast<std::size_t>(b)], model, n, n, m);
        convolve_stamp(k[static_cast<std::size_t>(b)], band, n, n, a);
        double ma = 0, mm = 0;
        for (std::size_t i = 0; i < npix; ++i) {
            ma += static_cast<double>(m[i]) * a[i];
            mm += static_cast<double>(m[i]) * m[i];
        }
        l.arc_flux[static_cast<std::size_t>(b)] = total;
        // A compact arc on the host's core can pull the fixed-shape flux up by more than its own
        // flux; a fit free to change the shape would not, so the share is capped at [0, 1].
        l.arc_absorbed[static_cast<std::size_t>(b)] = mm > 0 ? std::clamp(ma / mm, 0.0, total) : 0.0;
        host.flux[static_cast<std::size_t>(b)] = host.true_flux[static_cast<std::size_t>(b)] + l.arc_absorbed[static_cast<std::size_t>(b)];
    }
}

}  // namespace dhs::stages::mock_sky
