// Source-plane light of the injection stage (SPEC Stage 3): a Sersic source with a row
// evaluator for the ray-shooting renderer, a real-galaxy template source (a unit-flux pixel
// stamp at its own pixel scale, bilinearly interpolated, rotated and scaled to a flux), the
// size / shape moments of a template, and the irregular clumpy galaxies of
// `dhs make-template-bank` (an exponential disk plus Gaussian star-forming clumps).
//
// Units: positions and sizes in arcsec, angles in radians from +x towards +y, surface brightness
// in flux per arcsec^2 (nanomaggies / arcsec^2 for a source of flux F nanomaggies), template
// pixels in fraction of the total flux per template pixel. A template pixel value t over a
// pixel of side p arcsec is a surface brightness F t / p^2: the factor the seeds lost (seed 002
// L1.4). Pure numerics: no I/O, no MPI, no logging.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/rendering/sersic.hpp"

namespace dhs::kernels::injection {

/// @brief An elliptical Sersic source (exact b_n, r_e along the major axis; sersic.hpp) with a
/// row form for the renderer (ray_shooting.hpp RowSurfaceBrightnessProfile).
class SersicSource {
public:
    /// @brief flux (nanomaggies), r_e (arcsec), n, |e| in [0, 1) (q = (1 - e)/(1 + e)), major-axis
    /// angle phi (radians), centre (x0, y0) arcsec. Throws std::invalid_argument like SersicProfile.
    SersicSource(double flux, double r_e, double n, double e, double phi, double x0, double y0);

    double surface_brightness(double x, double y) const noexcept { return profile_.surface_brightness(x, y); }
    /// @brief out[i] = surface_brightness(x[i], y[i]), i < n.
    void surface_brightness_row(const double* x, const double* y, int n, double* out) const noexcept;
    double total_flux() const noexcept { return profile_.total_flux(); }
    const SersicProfile& profile() const noexcept { return profile_; }
    /// @brief The smallest scale the source varies on: the minor-axis half-light radius q r_e, arcsec.
    double feature_scale() const noexcept { return profile_.q() * profile_.r_e(); }

private:
    SersicProfile profile_;
};

/// @brief A template stamp: width x height row-major pixels (index y * width + x) at pixel_scale
/// arcsec, centre of the middle pixel ((w-1)/2, (h-1)/2) at the galaxy's origin. Non-owning.
struct TemplateImage {
    std::span<const float> pixels;
    int width = 0;
    int height = 0;
    double pixel_scale = 0.03;  ///< arcsec per template pixel
};

/// @brief A template as a source: SB(x, y) = F t(u, v) / p^2 with (u, v) the offset from (x0, y0)
/// rotated by -phi, t bilinearly interpolated between pixel centres (zero outside the stamp).
/// The interpolant integrates to F sum(t) exactly. Keeps a copy of nothing: the pixels must
/// outlive the source.
class TemplateSource {
public:
    /// @brief Throws std::invalid_argument for a bad image (sizes, pixel scale), flux < 0 or
    /// non-finite parameters.
    TemplateSource(const TemplateImage& image, double flux, double phi, double x0, double y0);

    double surface_brightness(double x, double y) const noexcept;
    void surface_brightness_row(const double* x, const double* y, int n, double* out) const noexcept;
    /// @brief F x sum of the template pixels (F for a unit-flux template).
    double total_flux() const noexcept { return total_; }
    /// @brief The template pixel scale, arcsec (what the renderer must resolve).
    double feature_scale() const noexcept { return image_.pixel_scale; }

private:
    TemplateImage image_;
    double scale_ = 0.0;  // F / p^2
    double c_ = 1.0, s_ = 0.0, x0_ = 0.0, y0_ = 0.0, total_ = 0.0;
    double inv_p_ = 1.0, cx_ = 0.0, cy_ = 0.0;
};

/// @brief Flux-weighted size and shape of a template (positive pixels only).
struct TemplateMoments {
    double flux = 0.0;            ///< sum of the pixels
    double centroid_x = 0.0;      ///< arcsec from the middle pixel
    double centroid_y = 0.0;
    double half_light_radius = 0.0;  ///< circular radius about the centroid enclosing half the flux, arcsec
    double e = 0.0;               ///< |e| = (1 - q)/(1 + q), q = sqrt(minor / major eigenvalue of the second moments)
};
/// @brief Moments of a template. Throws std::invalid_argument for a bad image or no positive flux.
TemplateMoments template_moments(const TemplateImage& image);

/// @brief Parameters of one irregular clumpy galaxy (make-template-bank).
struct ClumpyGalaxy {
    double disk_reff = 0.2;        ///< exponential disk half-light radius (major axis), arcsec
    double disk_q = 0.7;           ///< disk axis ratio
    double disk_phi = 0.0;         ///< disk major-axis angle, radians
    double disk_fraction = 0.5;    ///< share of the flux in the disk
    struct Clump {
        double x = 0.0, y = 0.0;   ///< arcsec from the centre
        double sigma = 0.04;       ///< Gaussian sigma, arcsec
        double fraction = 0.1;     ///< share of the total flux
    };
    std::vector<Clump> clumps;
};

/// @brief The deterministic galaxy `index` of a bank made with `seed`: disk r_e in [0.1, 0.35]",
/// q in [0.35, 1], disk share in [0.3, 0.7], 2-9 clumps of sigma 0.02-0.07" placed along the disk
/// (exponential radial distribution, the disk's ellipse) sharing the rest of the flux unevenly.
ClumpyGalaxy draw_clumpy_galaxy(std::uint64_t seed, std::int64_t index);

/// @brief Renders `g` on a size x size stamp of pixel_scale arcsec (centre at the middle pixel),
/// sub-sampled 5 x 5 per pixel, normalised to sum 1. Throws std::invalid_argument for size < 3,
/// even size, pixel_scale <= 0 or out.size() != size^2.
void render_clumpy_galaxy(const ClumpyGalaxy& g, double pixel_scale, int size, std::span<float> out);

}  // namespace dhs::kernels::injection
