// Light profiles of lens confusers for the mock sky: a Gaussian ring (ring galaxies, Einstein-
// ring look-alikes), an exponential disk with logarithmic spiral arms, a tidal arc (a ring segment:
// the tails of mergers, arc look-alikes) and diffraction spikes (the cross of a bright star's
// spikes). All are normalised analytically so that their integral over the plane is the
// requested flux.
//
// Units: fluxes in nanomaggies, lengths in arcsec, angles in radians, surface brightness in
// nanomaggies per arcsec^2. Frame and angle conventions as in sersic.hpp (phi: major axis from
// +x towards +y; r_ell = sqrt(x'^2 + (y'/q)^2) in the frame rotated by phi). Pure numerics.
#pragma once

#include "kernels/rendering/sersic.hpp"

#include <cmath>

namespace dhs::kernels {

/// @brief A Gaussian ring: I = A exp(-(r_ell - R)^2 / (2 w^2)), R along the major axis.
/// Normalisation (q r dr dtheta is the area element in the disk frame; s = r - R):
///   F = 2 pi q A [w^2 exp(-R^2 / (2 w^2)) + R w sqrt(pi/2) (1 + erf(R / (sqrt(2) w)))].
class RingProfile {
public:
    /// @brief Ring of total flux `flux` (nanomaggies), radius `radius` (arcsec, >= 0, major
    /// axis), Gaussian width `width` (sigma, arcsec, > 0), shape, centre (arcsec). Throws
    /// std::invalid_argument for invalid or non-finite parameters.
    RingProfile(double flux, double radius, double width, EllipseShape shape = {},
                double x0 = 0.0, double y0 = 0.0);
    /// @brief As above with the shape from Tractor-convention (e1, e2).
    static RingProfile from_e1e2(double flux, double radius, double width, double e1, double e2,
                                 double x0 = 0.0, double y0 = 0.0);

    /// @brief Surface brightness at (x, y) arcsec, nanomaggies per arcsec^2.
    double surface_brightness(double x, double y) const noexcept {
        const double dx = x - x0_, dy = y - y0_;
        const double xp = cos_phi_ * dx + sin_phi_ * dy;
        const double yp = cos_phi_ * dy - sin_phi_ * dx;
        const double d = std::sqrt(xp * xp + yp * yp * inv_q2_) - radius_;
        return amp_ * std::exp(-d * d * inv_two_w2_);
    }
    /// @brief Integral over the plane, nanomaggies.
    double total_flux() const noexcept { return flux_; }
    /// @brief Peak surface brightness A (on the ridge), nanomaggies per arcsec^2.
    double peak() const noexcept { return amp_; }
    double radius() const noexcept { return radius_; }  ///< arcsec (major axis)
    double width() const noexcept { return width_; }    ///< Gaussian sigma, arcsec
    EllipseShape shape() const noexcept { return {q_, phi_}; }
    double x0() const noexcept { return x0_; }  ///< arcsec
    double y0() const noexcept { return y0_; }  ///< arcsec

private:
    double flux_, radius_, width_, q_, phi_, x0_, y0_;
    double amp_, cos_phi_, sin_phi_, inv_q2_, inv_two_w2_;
};

/// @brief Parameters of SpiralArmsProfile.
struct SpiralArmsParams {
    double flux = 1.0;            ///< total flux, nanomaggies (>= 0)
    double scale_length = 1.0;    ///< exponential disk scale length h, arcsec (> 0)
    int arms = 2;                 ///< number of arms m (1..16)
    double pitch_angle = 0.35;    ///< arm pitch angle p, radians in (0, pi/2); ~20 deg
    double contrast = 0.6;        ///< arm modulation c in [0, 1]: arm/inter-arm = (1+c)/(1-c)
    double phase = 0.0;           ///< arm phase theta_0, radians
    double core_radius = 0.5;     ///< arms fade in over r_c, arcsec (> 0): taper 1 - e^{-r^2/r_c^2}
    EllipseShape shape{};         ///< disk projection: q = 1 face-on (default), phi major axis
    double x0 = 0.0, y0 = 0.0;    ///< centre, arcsec
};

/// @brief An exponential disk with m logarithmic spiral arms (face-on by default):
///   I = A e^{-r/h} [1 + c T(r) cos(m (theta - theta_0) - (m / tan p) ln(r / h))],
///   T(r) = 1 - exp(-r^2 / r_c^2),
/// with (r, theta) the polar coordinates of (x', y'/q) in the disk frame. The arms trace
/// theta = theta_0 + ln(r/h) / tan p + 2 pi k / m. For integer m >= 1 the cosine averages to
/// zero on every circle, so the flux is that of the disk alone and the normalisation is exact:
///   A = F / (2 pi q h^2).
/// The taper keeps the arms out of the unresolved core (and the profile finite at r = 0).
class SpiralArmsProfile {
public:
    /// @brief Throws std::invalid_argument for parameters outside the documented ranges.
    explicit SpiralArmsProfile(const SpiralArmsParams& params);

    /// @brief Surface brightness at (x, y) arcsec, nanomaggies per arcsec^2.
    double surface_brightness(double x, double y) const noexcept {
        const double dx = x - p_.x0, dy = y - p_.y0;
        const double xp = cos_phi_ * dx + sin_phi_ * dy;
        const double yp = (cos_phi_ * dy - sin_phi_ * dx) * inv_q_;
        const double r2 = xp * xp + yp * yp;
        if (r2 == 0.0) return amp_;
        const double r = std::sqrt(r2);
        const double arg = m_ * (std::atan2(yp, xp) - p_.phase) - wind_ * std::log(r * inv_h_);
        const double taper = -std::expm1(-r2 * inv_rc2_);
        return amp_ * std::exp(-r * inv_h_) * (1.0 + p_.contrast * taper * std::cos(arg));
    }
    /// @brief Integral over the plane, nanomaggies.
    double total_flux() const noexcept { return p_.flux; }
    /// @brief Central surface brightness A of the disk, nanomaggies per arcsec^2.
    double central_amplitude() const noexcept { return amp_; }
    const SpiralArmsParams& params() const noexcept { return p_; }

private:
    SpiralArmsParams p_;
    double amp_, m_, wind_, inv_h_, inv_rc2_, inv_q_, cos_phi_, sin_phi_;
};

/// @brief Parameters of TidalArcProfile.
struct TidalArcParams {
    double flux = 1.0;           ///< total flux, nanomaggies (>= 0)
    double radius = 2.0;         ///< arc radius R along the major axis, arcsec (>= 0)
    double width = 0.2;          ///< Gaussian width w across the arc, arcsec (> 0)
    double angle = 0.0;          ///< direction theta_0 of the arc's middle in the disk frame, radians
    double angular_sigma = 0.6;  ///< Gaussian extent sigma_theta along the arc, radians, in (0, 1]
                                 ///< (the seam opposite theta_0 then holds < 1% of the peak)
    EllipseShape shape{};        ///< projection of the arc's circle (q, phi); circular by default
    double x0 = 0.0, y0 = 0.0;   ///< centre of the circle, arcsec
};

/// @brief A segment of a Gaussian ring: tidal tails and shells of mergers, arc look-alikes.
/// With (r, theta) the polar coordinates of (x', y'/q) in the frame rotated by phi,
///   I = A exp(-(r - R)^2 / (2 w^2)) exp(-d^2 / (2 sigma_theta^2)),  d = theta - theta_0 wrapped
///   to (-pi, pi],
/// (meant for R > ~3 w: smaller arcs crowd the undefined direction at the centre) and (area
/// element q r dr dtheta; the ring radial integral as RingProfile)
///   F = A q [w^2 e^{-R^2 / 2w^2} + R w sqrt(pi/2) (1 + erf(R / (sqrt(2) w)))]
///       x sqrt(2 pi) sigma_theta erf(pi / (sqrt(2) sigma_theta)).
class TidalArcProfile {
public:
    /// @brief Throws std::invalid_argument for parameters outside the documented ranges.
    explicit TidalArcProfile(const TidalArcParams& params);

    /// @brief Surface brightness at (x, y) arcsec, nanomaggies per arcsec^2.
    double surface_brightness(double x, double y) const noexcept {
        const double dx = x - p_.x0, dy = y - p_.y0;
        const double xp = cos_phi_ * dx + sin_phi_ * dy;
        const double yp = (cos_phi_ * dy - sin_phi_ * dx) * inv_q_;
        const double dr = std::sqrt(xp * xp + yp * yp) - p_.radius;
        double d = std::atan2(yp, xp) - p_.angle;
        d -= 2.0 * 3.141592653589793 * std::round(d / (2.0 * 3.141592653589793));  // (-pi, pi]
        return amp_ * std::exp(-dr * dr * inv_two_w2_ - d * d * inv_two_s2_);
    }
    /// @brief Integral over the plane, nanomaggies.
    double total_flux() const noexcept { return p_.flux; }
    /// @brief Peak surface brightness A, nanomaggies per arcsec^2.
    double peak() const noexcept { return amp_; }
    const TidalArcParams& params() const noexcept { return p_; }

private:
    TidalArcParams p_;
    double amp_, cos_phi_, sin_phi_, inv_q_, inv_two_w2_, inv_two_s2_;
};

/// @brief Parameters of DiffractionSpikesProfile.
struct DiffractionSpikesParams {
    double flux = 1.0;          ///< flux in all the spikes together, nanomaggies (>= 0)
    int spikes = 4;             ///< number of spikes m (1..16), evenly spaced in angle
    double angle = 0.0;         ///< direction of the first spike, radians from +x towards +y
    double length = 5.0;        ///< exponential scale length L along a spike, arcsec (> 0)
    double width = 0.2;         ///< Gaussian width w across a spike, arcsec (> 0)
    double x0 = 0.0, y0 = 0.0;  ///< the star, arcsec
};

/// @brief The diffraction spikes of a bright star (the vanes of the telescope's secondary-mirror
/// support): m half-lines from the star at angles angle + 2 pi k / m, each
///   I = A exp(-s / L) exp(-t^2 / (2 w^2))  for s > 0,
/// s the distance along the spike, t across it; each spike integrates to A L sqrt(2 pi) w, so
/// F = m A L sqrt(2 pi) w. Only the spikes: the star's own light is a PSF kernel (psf.hpp).
class DiffractionSpikesProfile {
public:
    /// @brief Throws std::invalid_argument for parameters outside the documented ranges.
    explicit DiffractionSpikesProfile(const DiffractionSpikesParams& params);

    /// @brief Surface brightness at (x, y) arcsec, nanomaggies per arcsec^2.
    double surface_brightness(double x, double y) const noexcept {
        const double dx = x - p_.x0, dy = y - p_.y0;
        double sb = 0.0;
        for (int k = 0; k < p_.spikes; ++k) {
            const double s = c_[k] * dx + s_[k] * dy;
            if (s <= 0.0) continue;
            const double t = c_[k] * dy - s_[k] * dx;
            sb += std::exp(-s * inv_l_ - t * t * inv_two_w2_);
        }
        return amp_ * sb;
    }
    /// @brief Integral over the plane, nanomaggies.
    double total_flux() const noexcept { return p_.flux; }
    const DiffractionSpikesParams& params() const noexcept { return p_; }

private:
    DiffractionSpikesParams p_;
    double amp_, inv_l_, inv_two_w2_;
    double c_[16] = {}, s_[16] = {};
};

}  // namespace dhs::kernels
