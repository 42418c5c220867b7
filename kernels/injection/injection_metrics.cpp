// Per-injection measurements (see injection_metrics.hpp).
#include "kernels/injection/injection_metrics.hpp"

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>

namespace dhs::kernels::injection {

namespace {

bool valid(float host, float ivar) { return std::isfinite(host) && std::isfinite(ivar) && ivar > 0.0f; }

void require_same(std::size_t a, std::size_t b, std::size_t c, const char* who) {
    if (a != b || a != c) throw std::invalid_argument(std::string(who) + ": planes differ in size");
}

}  // namespace

double matched_filter_snr(std::span<const float> inj, std::span<const float> ivar, std::span<const float> host) {
    require_same(inj.size(), ivar.size(), host.size(), "matched_filter_snr");
    double s = 0.0;
    for (std::size_t i = 0; i < inj.size(); ++i)
        if (valid(host[i], ivar[i])) s += static_cast<double>(inj[i]) * inj[i] * ivar[i];
    return std::sqrt(s);
}

double annulus_snr(std::span<const float> inj, std::span<const float> ivar, std::span<const float> host, int width,
                   int height, double r_in, double r_out) {
    require_same(inj.size(), ivar.size(), host.size(), "annulus_snr");
    if (inj.size() != static_cast<std::size_t>(width) * static_cast<std::size_t>(height))
        throw std::invalid_argument("annulus_snr: plane is not width x height");
    const double cx = 0.5 * (width - 1), cy = 0.5 * (height - 1);
    const double in2 = r_in * r_in, out2 = r_out * r_out;
    double flux = 0.0, var = 0.0;
    for (int j = 0; j < height; ++j)
        for (int i = 0; i < width; ++i) {
            const double r2 = (i - cx) * (i - cx) + (j - cy) * (j - cy);
            if (r2 < in2 || r2 >= out2) continue;
            const std::size_t k = static_cast<std::size_t>(j) * width + i;
            if (!valid(host[k], ivar[k])) continue;
            flux += inj[k];
            var += 1.0 / ivar[k];
        }
    return var > 0.0 ? flux / std::sqrt(var) : 0.0;
}

double bad_pixel_fraction(std::span<const float> image, std::span<const float> ivar, int width, int height, int bands) {
    const std::size_t n = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
    if (image.size() != n * bands || ivar.size() != image.size())
        throw std::invalid_argument("bad_pixel_fraction: planes are not bands x width x height");
    if (n == 0) return 0.0;
    std::size_t bad = 0;
    for (std::size_t k = 0; k < n; ++k) {
        bool ok = true;
        for (int b = 0; b < bands && ok; ++b) ok = valid(image[b * n + k], ivar[b * n + k]);
        bad += ok ? 0 : 1;
    }
    return static_cast<double>(bad) / static_cast<double>(n);
}

void plant_core_brightening(std::span<float> image, std::span<float> injection, std::span<const float> host,
                            int width, int height, int bands, double radius, double fraction) {
    const std::size_t n = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
    if (image.size() != n * bands || injection.size() != image.size() || host.size() != image.size())
        throw std::invalid_argument("plant_core_brightening: planes are not bands x width x height");
    const double cx = 0.5 * (width - 1), cy = 0.5 * (height - 1), r2max = radius * radius;
    for (int b = 0; b < bands; ++b)
        for (int j = 0; j < height; ++j)
            for (int i = 0; i < width; ++i) {
                if ((i - cx) * (i - cx) + (j - cy) * (j - cy) >= r2max) continue;
                const std::size_t k = b * n + static_cast<std::size_t>(j) * width + i;
                if (!std::isfinite(host[k])) continue;
                const float extra = static_cast<float>(fraction * host[k]);
                injection[k] += extra;
                image[k] = host[k] + injection[k];
            }
}

}  // namespace dhs::kernels::injection
