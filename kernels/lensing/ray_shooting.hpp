// Flux-conserving ray-shooting renderer of a lensed source onto a stamp (SPEC Stage 3): each pixel
// is sampled at oversample x oversample sub-pixel centres, each ray is mapped to the source plane
// by the lens equation, and the source surface brightness there times the sub-pixel area is summed.
// Surface brightness is conserved by lensing, so a source of total flux F renders to F x (total
// magnification); with no lens it renders to F (up to sampling and stamp truncation).
//
// Units: positions in arcsec in the lens frame (sie_lens.hpp), pixel_scale in arcsec/pixel, the
// source's surface_brightness in flux per arcsec^2 (nanomaggies/arcsec^2), the rendered image in
// flux per pixel (nanomaggies/pixel): SB x pixel_scale^2 / oversample^2 per ray. Mixing the two is
// the factor-1000 bug of the seeds (0.262"^2 = 0.0686 arcsec^2 per pixel).
//
// Pixel convention: pixel centres at integer (i, j), zero-based; i is the column (fast axis, +x),
// j the row (+y); the image is row-major, out[j * width + i]. The centre pixel ((w-1)/2, (h-1)/2)
// (pixel 50 of a 101-pixel stamp) lies at lens-frame position (center_x, center_y); pixel (i, j)
// at x = center_x + (i - (w-1)/2) pixel_scale, y = center_y + (j - (h-1)/2) pixel_scale, and it
// covers [x - pixel_scale/2, x + pixel_scale/2) x [y - ..., y + ...). Sub-pixel k (0..n-1) of a
// pixel sits at offset ((k + 1/2)/n - 1/2) pixel_scale from the pixel centre.
//
// Two renderers. (1) The generic templates below, for any source with surface_brightness (double
// precision throughout): single-threaded, no heap allocation (8 kB of stack buffers per call); the
// lens equation runs on SIMD lanes along rows of rays (SieLens::ray_shoot_row); the source is
// evaluated per ray, or per row when it offers surface_brightness_row. (2) The fast renderer of
// Sersic sources (the non-template overloads taking a SersicProfile, and render_lensed_bands;
// kernels/rendering/sersic_render.cpp), which the same calls pick for a SersicProfile: float32 rays on SIMD
// lanes (16 / 8 / 4: AVX-512F, AVX2, SSE2 or NEON, chosen at run time, all widths bit-identical),
// one ray shoot per sub-pixel shared by every component and band, each Sersic profile truncated at
// the elliptical radius beyond which it holds kSersicTruncatedFlux (1e-7) of its flux, and blocks of
// the stamp whose rays provably all land beyond every truncation radius skipped (the bound on the
// deflection's variation over a block comes from the SIE Hessian, so skipping changes no output
// bit). Its images agree with the generic renderer's to ~2e-5 of the peak pixel and 2e-6 in total
// (float32 rays sit ~5e-7" off the double ones; near the cusp of an n = 6 profile that is ~1e-4).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <limits>
#include <span>
#include <stdexcept>
#include <vector>

#include "kernels/rendering/sersic.hpp"
#include "kernels/lensing/sie_lens.hpp"

namespace dhs::kernels {

/// @brief A source-plane light profile: surface brightness in flux per arcsec^2 (nanomaggies /
/// arcsec^2) at a source-plane position in arcsec (lens frame).
template <class S>
concept SurfaceBrightnessProfile = requires(const S& s, double x, double y) {
    { s.surface_brightness(x, y) } -> std::convertible_to<double>;
};

/// @brief Optional batch form of a profile: out[i] = surface_brightness(x[i], y[i]) for i < n. When a
/// Source has it, the renderer calls it once per row of rays (room for a SIMD profile).
template <class S>
concept RowSurfaceBrightnessProfile = requires(const S& s, const double* x, const double* y, int n, double* out) {
    s.surface_brightness_row(x, y, n, out);
};

// kernels/stats/stamp_features.hpp has another dhs::kernels::StampGeometry (the feature regions of a
// stamp): this one lives in an inline namespace so that the two types' symbols never meet at link
// time (dhs::kernels::StampGeometry still names this one; no file includes both headers).
inline namespace lensing {

/// @brief Pixel grid of a stamp in the lens frame (see the file comment for the convention).
struct StampGeometry {
    int width = 101;             ///< pixels along x (columns)
    int height = 101;            ///< pixels along y (rows)
    double pixel_scale = 0.262;  ///< arcsec per pixel
    double center_x = 0.0;       ///< lens-frame x of the centre pixel ((width-1)/2), arcsec
    double center_y = 0.0;       ///< lens-frame y of the centre pixel ((height-1)/2), arcsec

    /// @brief Lens-frame x of the centre of column i (may be fractional), arcsec.
    double pixel_x(double i) const { return center_x + (i - 0.5 * (width - 1)) * pixel_scale; }
    /// @brief Lens-frame y of the centre of row j (may be fractional), arcsec.
    double pixel_y(double j) const { return center_y + (j - 0.5 * (height - 1)) * pixel_scale; }
    /// @brief Number of pixels, width x height.
    std::size_t size() const { return static_cast<std::size_t>(width) * static_cast<std::size_t>(height); }
};

}  // namespace lensing

/// @brief Fluxes of a lensed render and the magnification they give (SPEC: lensed / unlensed).
struct LensedFlux {
    double lensed_flux = 0.0;    ///< sum of the lensed image, flux units (nanomaggies)
    double unlensed_flux = 0.0;  ///< sum of the unlensed image, same stamp and sampling
    double magnification = 0.0;  ///< lensed_flux / unlensed_flux (NaN if unlensed_flux is 0)
};

/// @brief Local distortion of the lens mapping at an image-plane point: A = I - H has eigenvalues
/// lambda_t = 1 - kappa - gamma (tangential) and lambda_r = 1 - kappa + gamma (radial), gamma = |shear|.
struct LocalDistortion {
    double kappa = 0.0;               ///< convergence
    double gamma = 0.0;               ///< total shear magnitude
    double lambda_t = 1.0;            ///< tangential eigenvalue of A, 1 - kappa - gamma
    double lambda_r = 1.0;            ///< radial eigenvalue of A, 1 - kappa + gamma
    double tangential_stretch = 1.0;  ///< 1 / |lambda_t|
    double radial_stretch = 1.0;      ///< 1 / |lambda_r|
    double stretch_ratio = 1.0;       ///< |lambda_r / lambda_t|: arc length-to-width ratio
    double magnification = 1.0;       ///< signed 1 / (lambda_t lambda_r)
};

/// @brief Local distortion (eigenvalues of the inverse magnification matrix) at (x, y), arcsec.
inline LocalDistortion local_distortion(const SieLens& lens, double x, double y) {
    const Hessian2 h = lens.hessian(x, y);
    LocalDistortion d;
    d.kappa = 0.5 * (h.fxx + h.fyy);
    d.gamma = std::hypot(0.5 * (h.fxx - h.fyy), h.fxy);
    d.lambda_t = 1.0 - d.kappa - d.gamma;
    d.lambda_r = 1.0 - d.kappa + d.gamma;
    d.tangential_stretch = 1.0 / std::abs(d.lambda_t);
    d.radial_stretch = 1.0 / std::abs(d.lambda_r);
    d.stretch_ratio = std::abs(d.lambda_r / d.lambda_t);
    d.magnification = 1.0 / (d.lambda_t * d.lambda_r);
    return d;
}

/// @brief Tangential stretch 1 / |1 - kappa - gamma| at image-plane point (x, y), arcsec. For the
/// SIS at radius r: 1 / |1 - theta_E / r| (= |mu|, the radial eigenvalue being 1).
inline double tangential_stretch(const SieLens& lens, double x, double y) {
    return local_distortion(lens, x, y).tangential_stretch;
}

namespace detail {

inline void check_render_args(const StampGeometry& g, int oversample, std::size_t out_size, bool need_out) {
    if (g.width < 1 || g.height < 1) throw std::invalid_argument("render: stamp width and height must be >= 1");
    if (!(g.pixel_scale > 0.0) || !std::isfinite(g.pixel_scale))
        throw std::invalid_argument("render: pixel_scale must be finite and > 0");
    if (!std::isfinite(g.center_x) || !std::isfinite(g.center_y))
        throw std::invalid_argument("render: non-finite stamp centre");
    if (oversample < 1 || oversample > 256) throw std::invalid_argument("render: oversample must be in [1, 256]");
    if (need_out && out_size != g.size())
        throw std::invalid_argument("render: output size must be width * height");
}

/// Rays per chunk: whole pixels of one sub-row, kChunk / oversample pixels (at least one).
inline constexpr int kChunk = 256;

/// Core loop. row_map(x_origin, step, first, count, y, bx, by) fills the source-plane positions of
/// the rays x_i = x_origin + (first + i) step, i < count, at height y (SieLens::ray_shoot_row, or
/// the identity); visit(pixel_index, flux) receives each pixel; returns the total flux (double).
template <class RowMap, class Source, class Visit>
double render_core(const RowMap& row_map, const Source& src, const StampGeometry& g, int n, Visit&& visit) {
    const double ds = g.pixel_scale / n;  // sub-pixel pitch, arcsec
    const double area = ds * ds;          // sub-pixel area, arcsec^2
    const double x_origin = g.pixel_x(0.0) + (0.5 / n - 0.5) * g.pixel_scale;  // sub-column 0
    const double y_origin = g.pixel_y(0.0) + (0.5 / n - 0.5) * g.pixel_scale;  // sub-row 0
    const int px_per_chunk = kChunk / n;  // n <= kChunk
    std::array<double, kChunk> bx, by, sb, acc;
    double total = 0.0;
    for (int j = 0; j < g.height; ++j) {
        for (int i0 = 0; i0 < g.width; i0 += px_per_chunk) {
            const int npx = std::min(px_per_chunk, g.width - i0);
            std::fill_n(acc.begin(), npx, 0.0);
            for (int sj = 0; sj < n; ++sj) {
                const double y = y_origin + (j * n + sj) * ds;
                row_map(x_origin, ds, i0 * n, npx * n, y, bx.data(), by.data());
                if constexpr (RowSurfaceBrightnessProfile<Source>) {
                    src.surface_brightness_row(bx.data(), by.data(), npx * n, sb.data());
                } else {
                    for (int k = 0; k < npx * n; ++k) sb[k] = src.surface_brightness(bx[k], by[k]);
                }
                for (int p = 0, k = 0; p < npx; ++p) {
                    double s = 0.0;
                    for (int si = 0; si < n; ++si, ++k) s += sb[k];
                    acc[p] += s;
                }
            }
            for (int p = 0; p < npx; ++p) {
                const double flux = acc[p] * area;
                total += flux;
                visit(static_cast<std::size_t>(j) * g.width + (i0 + p), flux);
            }
        }
    }
    return total;
}

/// The lens equation along a row (SIMD, SieLens::ray_shoot_row).
struct LensedRow {
    const SieLens& lens;
    void operator()(double x_origin, double step, int first, int count, double y, double* bx, double* by) const {
        lens.ray_shoot_row(x_origin, step, first, count, y, bx, by);
    }
};

/// No lens: the source plane is the image plane.
struct UnlensedRow {
    void operator()(double x_origin, double step, int first, int count, double y, double* bx, double* by) const {
        for (int i = 0; i < count; ++i) {
            bx[i] = x_origin + (first + i) * step;
            by[i] = y;
        }
    }
};

}  // namespace detail

/// @brief Renders the lensed source: out[j * width + i] = sum over the oversample^2 sub-pixel rays
/// of SB(ray_shoot(x, y)) x (pixel_scale / oversample)^2, flux per pixel (nanomaggies). `out` must
/// hold width x height floats; throws std::invalid_argument otherwise or for oversample outside
/// [1, 256]. Returns the image's total flux (summed in double).
template <SurfaceBrightnessProfile Source>
double render_lensed(const SieLens& lens, const Source& src, const StampGeometry& g, int oversample,
                     std::span<float> out_flux_per_pixel) {
    detail::check_render_args(g, oversample, out_flux_per_pixel.size(), true);
    return detail::render_core(detail::LensedRow{lens}, src, g, oversample,
                               [&](std::size_t k, double f) { out_flux_per_pixel[k] = static_cast<float>(f); });
}

/// @brief Renders the source without lensing (same sampling), flux per pixel; returns the total.
template <SurfaceBrightnessProfile Source>
double render_unlensed(const Source& src, const StampGeometry& g, int oversample, std::span<float> out_flux_per_pixel) {
    detail::check_render_args(g, oversample, out_flux_per_pixel.size(), true);
    return detail::render_core(detail::UnlensedRow{}, src, g, oversample,
                               [&](std::size_t k, double f) { out_flux_per_pixel[k] = static_cast<float>(f); });
}

/// @brief Total lensed and unlensed flux of the source on the stamp (same sampling) and their
/// ratio, the magnification recorded by the injection stage. If `out_lensed` is non-empty (width x
/// height floats) the lensed image is written there as by render_lensed, in the same pass.
template <SurfaceBrightnessProfile Source>
LensedFlux lensed_flux_and_magnification(const SieLens& lens, const Source& src, const StampGeometry& g,
                                         int oversample, std::span<float> out_lensed = {}) {
    detail::check_render_args(g, oversample, out_lensed.size(), !out_lensed.empty());
    LensedFlux r;
    const detail::LensedRow lensed{lens};
    if (out_lensed.empty()) {
        r.lensed_flux = detail::render_core(lensed, src, g, oversample, [](std::size_t, double) {});
    } else {
        r.lensed_flux = detail::render_core(lensed, src, g, oversample,
                                            [&](std::size_t k, double f) { out_lensed[k] = static_cast<float>(f); });
    }
    r.unlensed_flux = detail::render_core(detail::UnlensedRow{}, src, g, oversample, [](std::size_t, double) {});
    r.magnification = r.unlensed_flux != 0.0 ? r.lensed_flux / r.unlensed_flux
                                             : std::numeric_limits<double>::quiet_NaN();
    return r;
}

/// @brief Flux-weighted mean tangential stretch of the lensed image: sum over rays of SB x
/// tangential_stretch / sum of SB (same sampling as render_lensed). For a compact source it is the
/// |mu|-weighted mean of 1/|1 - kappa - gamma| over its images. NaN if the image has no flux.
template <SurfaceBrightnessProfile Source>
double flux_weighted_tangential_stretch(const SieLens& lens, const Source& src, const StampGeometry& g,
                                        int oversample) {
    detail::check_render_args(g, oversample, 0, false);
    double w = 0.0, ws = 0.0;
    const double ds = g.pixel_scale / oversample;
    const double x_first = g.pixel_x(0.0) + (0.5 / oversample - 0.5) * g.pixel_scale;
    const double y_first = g.pixel_y(0.0) + (0.5 / oversample - 0.5) * g.pixel_scale;
    for (int ky = 0; ky < g.height * oversample; ++ky) {
        const double y = y_first + ky * ds;
        for (int kx = 0; kx < g.width * oversample; ++kx) {
            const double x = x_first + kx * ds;
            const Vec2 beta = lens.ray_shoot(x, y);
            const double sb = src.surface_brightness(beta.x, beta.y);
            if (sb == 0.0) continue;
            w += sb;
            ws += sb * tangential_stretch(lens, x, y);
        }
    }
    return w > 0.0 ? ws / w : std::numeric_limits<double>::quiet_NaN();
}

// ---- The fast Sersic renderer (kernels/rendering/sersic_render.cpp; see the file comment) ----

/// @brief Fraction of a Sersic profile's flux beyond its truncation radius in the fast renderer.
inline constexpr double kSersicTruncatedFlux = 1e-7;

/// @brief Major-axis elliptical radius (arcsec) beyond which `p` holds kSersicTruncatedFlux of its
/// flux: r_e (Q^-1(2n, 1e-7) / b_n)^n with Q the regularised upper incomplete gamma function.
double sersic_truncation_radius(const SersicProfile& p);

/// @brief Fast render_lensed for a Sersic source: out[j * width + i] = flux per pixel
/// (nanomaggies) of the lensed, truncated profile, oversample^2 rays per pixel, as the generic
/// template (same pixel convention and arguments; throws std::invalid_argument likewise). Returns
/// the image's total flux (summed in double).
double render_lensed(const SieLens& lens, const SersicProfile& src, const StampGeometry& g, int oversample,
                     std::span<float> out_flux_per_pixel);

/// @brief Fast render_unlensed for a Sersic source (as render_lensed without a lens).
double render_unlensed(const SersicProfile& src, const StampGeometry& g, int oversample,
                       std::span<float> out_flux_per_pixel);

/// @brief Fast lensed_flux_and_magnification for a Sersic source: lensed and unlensed totals on
/// the stamp (same sampling and truncation) and their ratio; the lensed image into out_lensed
/// when it is non-empty.
LensedFlux lensed_flux_and_magnification(const SieLens& lens, const SersicProfile& src, const StampGeometry& g,
                                         int oversample, std::span<float> out_lensed = {});

/// @brief Renders a source made of several Sersic components (a bulge and a disk, star-forming
/// clumps) in several bands with one ray shoot per sub-pixel: with K = components.size() and
/// B = band_weights.size() / K bands, band b's image (out[b * width * height + j * width + i],
/// flux per pixel) is sum_k band_weights[k * B + b] x (component k's image at its own flux).
/// E.g. one unit-flux component with weights (F_g, F_r, F_z) renders three bands for the cost of
/// one. Returns the B band totals (summed in double). Throws std::invalid_argument for no
/// components, band_weights not a multiple of K, out.size() != B x width x height, or bad
/// geometry / oversample.
std::vector<double> render_lensed_bands(const SieLens& lens, std::span<const SersicProfile> components,
                                        std::span<const double> band_weights, const StampGeometry& g, int oversample,
                                        std::span<float> out);

/// @brief render_lensed_bands without a lens.
std::vector<double> render_unlensed_bands(std::span<const SersicProfile> components,
                                          std::span<const double> band_weights, const StampGeometry& g,
                                          int oversample, std::span<float> out);

namespace detail {

/// @brief Knobs of the fast renderer for tests and benchmarks: the SIMD width (0: the widest this
/// CPU runs; 1, 4, 8 or 16) and whether blocks are skipped (the output is the same either way).
struct SersicRenderOptions {
    int lanes = 0;
    bool skip_blocks = true;
};

/// @brief The widest lane count of the fast renderer on this CPU (16, 8, 4 or 1).
int sersic_render_widest_lanes();

/// @brief The fast renderer behind the overloads above; lens == nullptr renders unlensed.
/// Throws std::invalid_argument also for a lane count this build or CPU lacks.
std::vector<double> render_sersic_components(const SieLens* lens, std::span<const SersicProfile> components,
                                             std::span<const double> band_weights, const StampGeometry& g,
                                             int oversample, std::span<float> out,
                                             const SersicRenderOptions& options = {});

}  // namespace detail

}  // namespace dhs::kernels
