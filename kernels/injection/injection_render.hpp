// Rendering of one injection (SPEC Stage 3): the lensed source ray-shot on a sub-sampled grid
// (ray_shooting.hpp) with adaptive refinement where the source is too small for the base
// sampling, its magnification and tangential stretch, and the per-band PSF convolution.
//
// Adaptive sampling: the whole stamp is rendered at `oversample` x `oversample` rays per pixel;
// when the source's smallest scale (minor-axis r_e of a Sersic, the pixel of a template) is
// under 2 sub-pixels, the pixels holding the image (above refine_threshold x the brightest
// pixel, grown by one pixel) are rendered again at the oversampling that resolves it (at most
// max_oversample). The unlensed source integrates to its flux analytically (a Sersic's exact
// normalisation, a template's pixel sum), so the magnification is the lensed flux on the stamp
// over the source flux.
//
// Sersic sources (with a profile()) use the fast float32 SersicProfile renderer of ray_shooting.hpp
// (truncated at 1e-7 of the flux); other sources the generic double-precision one.
//
// Units: arcsec, radians; images in flux per pixel for a unit-flux source (multiply by the
// band flux in nanomaggies). Pure numerics: no I/O, no MPI, no logging.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <list>
#include <memory>
#include <span>
#include <vector>

#include "kernels/rendering/fft_convolve.hpp"
#include "kernels/rendering/psf.hpp"
#include "kernels/lensing/ray_shooting.hpp"
#include "kernels/rendering/sersic.hpp"
#include "kernels/lensing/sie_lens.hpp"

namespace dhs::kernels::injection {

/// @brief Sampling of the lensed render.
struct RenderSettings {
    int oversample = 4;              ///< rays per pixel side everywhere (>= 1)
    int max_oversample = 16;         ///< ceiling of the adaptive refinement (>= oversample)
    double refine_threshold = 1e-4;  ///< refine pixels above this x the brightest pixel
};

/// @brief Rays per pixel side that resolve a source whose smallest scale is `feature_arcsec`
/// (sub-pixel pitch <= feature / 2), clamped to [s.oversample, s.max_oversample].
int required_oversample(double pixel_scale, double feature_arcsec, const RenderSettings& s);

/// @brief A lensed render of a unit-flux source, before the PSF.
struct LensedImage {
    std::vector<float> image;         ///< flux per pixel, row-major width x height
    double flux = 0.0;                ///< sum of the image = magnification for a unit-flux source
    int oversample = 0;               ///< rays per pixel side of the refined pixels (== base if none)
    std::int64_t refined_pixels = 0;  ///< pixels rendered again at `oversample`
};

namespace detail {
/// Pixels to refine: above threshold x max, grown by one pixel; as (row, first column, count) runs.
struct Run {
    int row, first, count;
};
std::vector<Run> refine_runs(std::span<const float> image, int width, int height, double threshold);
}  // namespace detail

/// @brief Renders `src` (any ray_shooting.hpp SurfaceBrightnessProfile with a `feature_scale()`)
/// through `lens` on stamp `g`, refined as the file comment says. Throws std::invalid_argument for
/// bad settings or geometry.
template <class Source>
LensedImage render_lensed_adaptive(const SieLens& lens, const Source& src, const StampGeometry& g,
                                   const RenderSettings& s) {
    if (s.oversample < 1 || s.max_oversample < s.oversample)
        throw std::invalid_argument("render_lensed_adaptive: need 1 <= oversample <= max_oversample");
    // A Sersic source goes through the fast SersicProfile renderer of ray_shooting.hpp.
    auto render = [&](const StampGeometry& geom, int n, std::span<float> out) {
        if constexpr (requires { { src.profile() } -> std::convertible_to<const SersicProfile&>; })
            render_lensed(lens, src.profile(), geom, n, out);
        else
            render_lensed(lens, src, geom, n, out);
    };
    LensedImage out;
    out.image.assign(g.size(), 0.0f);
    render(g, s.oversample, std::span<float>(out.image));
    out.oversample = s.oversample;
    const int need = required_oversample(g.pixel_scale, src.feature_scale(), s);
    if (need > s.oversample) {
        out.oversample = need;
        std::vector<float> seg(static_cast<std::size_t>(g.width));
        for (const auto& r : detail::refine_runs(out.image, g.width, g.height, s.refine_threshold)) {
            StampGeometry sub = g;
            sub.width = r.count;
            sub.height = 1;
            sub.center_x = g.pixel_x(r.first + 0.5 * (r.count - 1));
            sub.center_y = g.pixel_y(r.row);
            render(sub, need, std::span<float>(seg.data(), static_cast<std::size_t>(r.count)));
            std::copy_n(seg.begin(), r.count,
                        out.image.begin() + static_cast<std::ptrdiff_t>(r.row) * g.width + r.first);
            out.refined_pixels += r.count;
        }
    }
    double total = 0.0;
    for (float v : out.image) total += v;
    out.flux = total;
    return out;
}

/// @brief Flux-weighted median over the image's pixels (those above 1e-3 x the brightest) of the
/// tangential stretch 1 / |1 - kappa - gamma| at the pixel centres: the stretch of the bulk of
/// the lensed light (a flux-weighted mean diverges on the critical curve). NaN with no flux.
double median_tangential_stretch(const SieLens& lens, const StampGeometry& g, std::span<const float> image);

/// @brief Fraction of the image's flux within `border` pixels of the stamp edge (0 when no flux).
double border_flux_fraction(std::span<const float> image, int width, int height, int border = 2);

/// @brief psf_kernel(psf, pixel_scale, half_size, 5) of a PSF centred on the middle pixel, a Moffat
/// evaluated on one octant and mirrored (8x fewer profile evaluations; equal to psf_kernel up to
/// the order of floating-point sums).
std::vector<float> centred_psf_kernel(const Psf& psf, double pixel_scale, int half_size);

/// @brief Convolves a stamp with one PSF per band by FFT (one forward transform, an inverse per
/// band; FftConvolver::convolve_all), keeping the convolvers of the last few PSF sets: a PSF set
/// seen before costs nothing extra, a new one ~0.6 ms (kernels + their transforms, no FFTW planning
/// once `capacity` convolvers exist). Not thread-safe: one per thread.
class PsfBandConvolver {
public:
    /// @brief Stamps of width x height pixels of pixel_scale arcsec; kernels of (2 half + 1)^2
    /// pixels (centred_psf_kernel); up to `capacity` convolvers (>= 1).
    PsfBandConvolver(int width, int height, double pixel_scale, int half_size, std::size_t capacity = 4);
    /// @brief out[b * width * height + ...] = image convolved with psfs[b] (kernels renormalised to
    /// sum 1). out holds psfs.size() x width x height floats.
    void convolve(std::span<const Psf> psfs, std::span<const float> image, std::span<float> out);
    int half_size() const { return half_; }

private:
    struct Key {
        int model;
        double fwhm, beta;
        bool operator==(const Key&) const = default;
    };
    struct Slot {
        std::vector<Key> keys;
        std::unique_ptr<FftConvolver> conv;
    };
    int width_, height_, half_;
    double pixel_scale_;
    std::size_t capacity_;
    std::list<Slot> slots_;  // most recently used first
};

}  // namespace dhs::kernels::injection
