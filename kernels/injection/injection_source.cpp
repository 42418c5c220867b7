// Source-plane light of the injection stage (see injection_source.hpp): Sersic and template
// sources, template moments, and the clumpy galaxies of the template bank.
#include "kernels/injection/injection_source.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>

#include "kernels/injection/injection_design.hpp"
#include "kernels/rendering/profile_render.hpp"

namespace dhs::kernels::injection {

namespace {

void require(bool ok, const char* what) {
    if (!ok) throw std::invalid_argument(std::string("dhs::kernels injection source: ") + what);
}

void check_image(const TemplateImage& t) {
    require(t.width >= 1 && t.height >= 1, "template width and height must be >= 1");
    require(t.pixels.size() == static_cast<std::size_t>(t.width) * static_cast<std::size_t>(t.height),
            "template pixels must hold width x height values");
    require(t.pixel_scale > 0.0 && std::isfinite(t.pixel_scale), "template pixel scale must be finite and > 0");
}

/// A circular Gaussian clump of flux f and sigma s at (x0, y0), per arcsec^2.
struct GaussianClump {
    double x0, y0, amp, inv2s2;
    double surface_brightness(double x, double y) const noexcept {
        const double dx = x - x0, dy = y - y0;
        return amp * std::exp(-(dx * dx + dy * dy) * inv2s2);
    }
};

}  // namespace

SersicSource::SersicSource(double flux, double r_e, double n, double e, double phi, double x0, double y0)
    : profile_(flux, r_e, n, EllipseShape{(1.0 - e) / (1.0 + e), phi}, x0, y0, SersicBn::exact) {
    require(e >= 0.0 && e < 1.0, "source |e| must lie in [0, 1)");
}

void SersicSource::surface_brightness_row(const double* x, const double* y, int n, double* out) const noexcept {
    for (int i = 0; i < n; ++i) out[i] = profile_.surface_brightness(x[i], y[i]);
}

TemplateSource::TemplateSource(const TemplateImage& image, double flux, double phi, double x0, double y0)
    : image_(image) {
    check_image(image);
    require(flux >= 0.0 && std::isfinite(flux), "template flux must be finite and >= 0");
    require(std::isfinite(phi) && std::isfinite(x0) && std::isfinite(y0), "template angle and centre must be finite");
    const double p = image.pixel_scale;
    scale_ = flux / (p * p);
    c_ = std::cos(phi);
    s_ = std::sin(phi);
    x0_ = x0;
    y0_ = y0;
    inv_p_ = 1.0 / p;
    cx_ = 0.5 * (image.width - 1);
    cy_ = 0.5 * (image.height - 1);
    double sum = 0.0;
    for (float v : image.pixels) sum += v;
    total_ = flux * sum;
}

double TemplateSource::surface_brightness(double x, double y) const noexcept {
    const double dx = x - x0_, dy = y - y0_;
    const double u = (c_ * dx + s_ * dy) * inv_p_ + cx_;  // template column (fractional)
    const double v = (c_ * dy - s_ * dx) * inv_p_ + cy_;  // template row
    if (!(u > -1.0 && v > -1.0 && u < image_.width && v < image_.height)) return 0.0;
    const double fu = std::floor(u), fv = std::floor(v);
    const int i = static_cast<int>(fu), j = static_cast<int>(fv);
    const double ax = u - fu, ay = v - fv;
    const int w = image_.width, h = image_.height;
    auto at = [&](int ii, int jj) -> double {
        if (ii < 0 || jj < 0 || ii >= w || jj >= h) return 0.0;
        return image_.pixels[static_cast<std::size_t>(jj) * static_cast<std::size_t>(w) + static_cast<std::size_t>(ii)];
    };
    const double top = (1.0 - ax) * at(i, j) + ax * at(i + 1, j);
    const double bottom = (1.0 - ax) * at(i, j + 1) + ax * at(i + 1, j + 1);
    return scale_ * ((1.0 - ay) * top + ay * bottom);
}

void TemplateSource::surface_brightness_row(const double* x, const double* y, int n, double* out) const noexcept {
    for (int i = 0; i < n; ++i) out[i] = surface_brightness(x[i], y[i]);
}

TemplateMoments template_moments(const TemplateImage& t) {
    check_image(t);
    const double p = t.pixel_scale, cx = 0.5 * (t.width - 1), cy = 0.5 * (t.height - 1);
    double f = 0, sx = 0, sy = 0;
    for (int j = 0; j < t.height; ++j)
        for (int i = 0; i < t.width; ++i) {
            const double v = t.pixels[static_cast<std::size_t>(j) * static_cast<std::size_t>(t.width) + static_cast<std::size_t>(i)];
            if (!(v > 0.0)) continue;
            f += v;
            sx += v * (i - cx) * p;
            sy += v * (j - cy) * p;
        }
    require(f > 0.0, "template has no positive flux");
    TemplateMoments m;
    m.flux = f;
    m.centroid_x = sx / f;
    m.centroid_y = sy / f;
    double qxx = 0, qyy = 0, qxy = 0;
    std::vector<std::pair<double, double>> radial;  // (radius, flux)
    radial.reserve(t.pixels.size());
    for (int j = 0; j < t.height; ++j)
        for (int i = 0; i < t.width; ++i) {
            const double v = t.pixels[static_cast<std::size_t>(j) * static_cast<std::size_t>(t.width) + static_cast<std::size_t>(i)];
            if (!(v > 0.0)) continue;
            const double dx = (i - cx) * p - m.centroid_x, dy = (j - cy) * p - m.centroid_y;
            qxx += v * dx * dx;
            qyy += v * dy * dy;
            qxy += v * dx * dy;
            radial.emplace_back(std::hypot(dx, dy), v);
        }
    qxx /= f;
    qyy /= f;
    qxy /= f;
    const double tr = 0.5 * (qxx + qyy), det = std::sqrt(std::max(0.0, 0.25 * (qxx - qyy) * (qxx - qyy) + qxy * qxy));
    const double lmax = tr + det, lmin = std::max(0.0, tr - det);
    const double q = lmax > 0.0 ? std::sqrt(lmin / lmax) : 1.0;
    m.e = (1.0 - q) / (1.0 + q);
    std::sort(radial.begin(), radial.end());
    double acc = 0.0;
    for (const auto& [r, v] : radial) {
        acc += v;
        if (acc >= 0.5 * f) {
            m.half_light_radius = r;
            break;
        }
    }
    return m;
}

ClumpyGalaxy draw_clumpy_galaxy(std::uint64_t seed, std::int64_t index) {
    auto u = [&](std::uint64_t stream) { return uniform01(seed, index, 1000 + stream); };
    constexpr double pi = std::numbers::pi;
    ClumpyGalaxy g;
    g.disk_reff = 0.10 + 0.25 * u(0);
    g.disk_q = 0.35 + 0.65 * u(1);
    g.disk_phi = pi * u(2);
    g.disk_fraction = 0.3 + 0.4 * u(3);
    const int n = 2 + static_cast<int>(8.0 * u(4));  // 2..9
    std::vector<double> w(static_cast<std::size_t>(n));
    double wsum = 0.0;
    for (int k = 0; k < n; ++k) {
        w[static_cast<std::size_t>(k)] = -std::log(1.0 - u(10 + 10 * static_cast<std::uint64_t>(k)));  // Dirichlet(1)
        wsum += w[static_cast<std::size_t>(k)];
    }
    const double h = g.disk_reff / 1.678;  // exponential scale length
    const double c = std::cos(g.disk_phi), s = std::sin(g.disk_phi);
    for (int k = 0; k < n; ++k) {
        const auto b = 10 + 10 * static_cast<std::uint64_t>(k);
        ClumpyGalaxy::Clump cl;
        // Radius from the exponential disk's radial flux distribution r e^{-r/h} (Gamma(2, h)).
        const double r = -h * std::log((1.0 - u(b + 1)) * (1.0 - u(b + 2)));
        const double a = 2.0 * pi * u(b + 3);
        const double xp = r * std::cos(a), yp = g.disk_q * r * std::sin(a);
        cl.x = c * xp - s * yp;
        cl.y = s * xp + c * yp;
        cl.sigma = 0.02 + 0.05 * u(b + 4);
        cl.fraction = (1.0 - g.disk_fraction) * w[static_cast<std::size_t>(k)] / wsum;
        g.clumps.push_back(cl);
    }
    return g;
}

void render_clumpy_galaxy(const ClumpyGalaxy& g, double pixel_scale, int size, std::span<float> out) {
    require(size >= 3 && size % 2 == 1, "template size must be odd and >= 3");
    require(pixel_scale > 0.0 && std::isfinite(pixel_scale), "template pixel scale must be finite and > 0");
    require(out.size() == static_cast<std::size_t>(size) * static_cast<std::size_t>(size), "out must hold size^2 values");
    std::fill(out.begin(), out.end(), 0.0f);
    const double c = 0.5 * (size - 1);
    const SersicProfile disk(g.disk_fraction, g.disk_reff, 1.0, EllipseShape{g.disk_q, g.disk_phi});
    accumulate_profile(disk, out, size, size, pixel_scale, c, c, 5);
    for (const auto& cl : g.clumps) {
        const double inv2s2 = 1.0 / (2.0 * cl.sigma * cl.sigma);
        const GaussianClump clump{cl.x, cl.y, cl.fraction * inv2s2 / std::numbers::pi, inv2s2};
        accumulate_profile(clump, out, size, size, pixel_scale, c, c, 5);
    }
    double sum = 0.0;
    for (float v : out) sum += v;
    require(sum > 0.0, "clumpy galaxy rendered no flux");
    for (float& v : out) v = static_cast<float>(v / sum);
}

}  // namespace dhs::kernels::injection
