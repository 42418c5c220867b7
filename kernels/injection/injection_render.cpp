// Rendering of one injection (see injection_render.hpp): refinement runs, tangential stretch,
// border flux and the PSF convolver cache.
#include "kernels/injection/injection_render.hpp"

#include <iterator>
#include <limits>
#include <stdexcept>
#include <utility>

namespace dhs::kernels::injection {

int required_oversample(double pixel_scale, double feature_arcsec, const RenderSettings& s) {
    if (!(feature_arcsec > 0.0) || !std::isfinite(feature_arcsec)) return s.max_oversample;
    const double need = std::ceil(2.0 * pixel_scale / feature_arcsec - 1e-9);
    if (need >= s.max_oversample) return s.max_oversample;
    return std::max(s.oversample, static_cast<int>(need));
}

namespace detail {

std::vector<Run> refine_runs(std::span<const float> image, int width, int height, double threshold) {
    float peak = 0.0f;
    for (float v : image) peak = std::max(peak, v);
    std::vector<Run> runs;
    if (!(peak > 0.0f)) return runs;
    const double cut = threshold * peak;
    std::vector<unsigned char> hot(image.size(), 0);
    for (int j = 0; j < height; ++j)
        for (int i = 0; i < width; ++i) {
            if (!(image[static_cast<std::size_t>(j) * width + i] > cut)) continue;
            for (int y = std::max(0, j - 1); y <= std::min(height - 1, j + 1); ++y)
                for (int x = std::max(0, i - 1); x <= std::min(width - 1, i + 1); ++x)
                    hot[static_cast<std::size_t>(y) * width + x] = 1;
        }
    for (int j = 0; j < height; ++j) {
        int i = 0;
        while (i < width) {
            if (!hot[static_cast<std::size_t>(j) * width + i]) {
                ++i;
                continue;
            }
            const int first = i;
            while (i < width && hot[static_cast<std::size_t>(j) * width + i]) ++i;
            runs.push_back({j, first, i - first});
        }
    }
    return runs;
}

}  // namespace detail

double median_tangential_stretch(const SieLens& lens, const StampGeometry& g, std::span<const float> image) {
    float peak = 0.0f;
    for (float v : image) peak = std::max(peak, v);
    if (!(peak > 0.0f)) return std::numeric_limits<double>::quiet_NaN();
    const double cut = 1e-3 * peak;
    std::vector<std::pair<double, double>> ts;  // (stretch, flux)
    double total = 0.0;
    for (int j = 0; j < g.height; ++j)
        for (int i = 0; i < g.width; ++i) {
            const double f = image[static_cast<std::size_t>(j) * g.width + i];
            if (!(f > cut)) continue;
            ts.emplace_back(tangential_stretch(lens, g.pixel_x(i), g.pixel_y(j)), f);
            total += f;
        }
    std::sort(ts.begin(), ts.end());
    double acc = 0.0;
    for (const auto& [s, f] : ts) {
        acc += f;
        if (acc >= 0.5 * total) return s;
    }
    return ts.back().first;
}

double border_flux_fraction(std::span<const float> image, int width, int height, int border) {
    double total = 0.0, edge = 0.0;
    for (int j = 0; j < height; ++j)
        for (int i = 0; i < width; ++i) {
            const double v = std::abs(image[static_cast<std::size_t>(j) * width + i]);
            total += v;
            if (i < border || j < border || i >= width - border || j >= height - border) edge += v;
        }
    return total > 0.0 ? edge / total : 0.0;
}

std::vector<float> centred_psf_kernel(const Psf& psf, double pixel_scale, int half_size) {
    if (std::holds_alternative<GaussianPsf>(psf)) return psf_kernel(psf, pixel_scale, half_size, 5);
    if (!(pixel_scale > 0.0) || half_size < 0) throw std::invalid_argument("centred_psf_kernel: bad pixel scale or size");
    // The Moffat masses of psf_kernel (5 x 5 midpoint sub-pixels), evaluated on one octant
    // (0 <= dy <= dx) and mirrored: the centred kernel is symmetric in x, y and their swap.
    const MoffatPsf& m = std::get<MoffatPsf>(psf);
    constexpr int os = 5;
    const int h = half_size, k = 2 * h + 1;
    const double sub = 1.0 / os, area = (pixel_scale * sub) * (pixel_scale * sub);
    std::vector<double> mass(static_cast<std::size_t>(k) * static_cast<std::size_t>(k));
    for (int dx = 0; dx <= h; ++dx)
        for (int dy = 0; dy <= dx; ++dy) {
            double acc = 0.0;
            for (int b = 0; b < os; ++b) {
                const double oy = (dy - 0.5 + (b + 0.5) * sub) * pixel_scale;
                for (int a = 0; a < os; ++a) {
                    const double ox = (dx - 0.5 + (a + 0.5) * sub) * pixel_scale;
                    acc += m.profile(std::sqrt(ox * ox + oy * oy));
                }
            }
            acc *= area;
            for (const int sx : {-1, 1})
                for (const int sy : {-1, 1}) {
                    mass[static_cast<std::size_t>(h + sy * dy) * k + static_cast<std::size_t>(h + sx * dx)] = acc;
                    mass[static_cast<std::size_t>(h + sy * dx) * k + static_cast<std::size_t>(h + sx * dy)] = acc;
                }
        }
    double total = 0.0;
    for (double v : mass) total += v;
    std::vector<float> out(mass.size());
    for (std::size_t i = 0; i < mass.size(); ++i) out[i] = static_cast<float>(mass[i] / total);
    return out;
}

PsfBandConvolver::PsfBandConvolver(int width, int height, double pixel_scale, int half_size, std::size_t capacity)
    : width_(width), height_(height), half_(half_size), pixel_scale_(pixel_scale), capacity_(std::max<std::size_t>(1, capacity)) {
    if (width < 1 || height < 1 || half_size < 0 || !(pixel_scale > 0.0))
        throw std::invalid_argument("PsfBandConvolver: bad stamp size, pixel scale or kernel half size");
}

void PsfBandConvolver::convolve(std::span<const Psf> psfs, std::span<const float> image, std::span<float> out) {
    if (psfs.empty()) throw std::invalid_argument("PsfBandConvolver: no PSF");
    std::vector<Key> keys;
    for (const auto& psf : psfs) {
        const int model = static_cast<int>(psf.index());
        keys.push_back({model, psf_fwhm(psf), model == 1 ? std::get<MoffatPsf>(psf).beta() : 0.0});
    }
    auto it = std::find_if(slots_.begin(), slots_.end(), [&](const Slot& s) { return s.keys == keys; });
    if (it == slots_.end()) {
        std::vector<std::vector<float>> kernels;
        for (const auto& psf : psfs) kernels.push_back(centred_psf_kernel(psf, pixel_scale_, half_));
        // Reuse the least recently used convolver of the same band count (no FFTW planning), else make one.
        auto reuse = std::find_if(slots_.rbegin(), slots_.rend(), [&](const Slot& s) { return s.keys.size() == keys.size(); });
        if (slots_.size() >= capacity_ && reuse != slots_.rend()) {
            it = std::prev(reuse.base());
            it->conv->set_kernels(kernels);
        } else {
            slots_.push_front({{}, std::make_unique<FftConvolver>(width_, height_, kernels, 2 * half_ + 1)});
            it = slots_.begin();
            if (slots_.size() > capacity_) slots_.pop_back();
        }
        it->keys = keys;
    }
    if (it != slots_.begin()) slots_.splice(slots_.begin(), slots_, it);
    slots_.front().conv->convolve_all(image, out);
}

}  // namespace dhs::kernels::injection
