// Galaxy light profiles for rendering and lensing: the exact Sersic b_n, elliptical Sersic
// profiles (Tractor and lenstronomy parameter conventions), exponential / de Vaucouleurs
// helpers and point sources. Confuser profiles (rings, spirals) are in confuser_profiles.hpp,
// pixel-grid sampling in profile_render.hpp.
//
// Units: fluxes in nanomaggies, lengths in arcsec, angles in radians, surface brightness in
// nanomaggies per arcsec^2 (multiply by the pixel area in arcsec^2, 0.262^2 for DR10, to get
// flux per pixel). Pure numerics: no I/O, no MPI, no logging.
//
// Frame and angle conventions. A profile lives in a Cartesian (x, y) frame in arcsec chosen by
// the caller (a source plane, a stamp's pixel axes); `phi` is the angle of the major axis from
// +x towards +y. With (x', y') the offsets from the centre rotated by -phi,
//   r_ell = sqrt(x'^2 + (y'/q)^2)   (the major-axis elliptical radius),
// and the Sersic surface brightness is
//   I(x, y) = I_e exp(-b_n [(r_ell / r_e)^(1/n) - 1]),
// so r_e is the half-light radius along the major axis (Tractor's SHAPE_R) and the ellipse
// r_ell = r_e encloses half the flux when b_n is exact. Integrating over the plane (substitute
// y' = q u, then t = b_n (r/r_e)^(1/n)):
//   F = 2 pi q n r_e^2 I_e e^{b_n} b_n^{-2n} Gamma(2n)      (true for any b_n > 0)
// hence I_e = F / (2 pi q n r_e^2 e^{b_n} b_n^{-2n} Gamma(2n)).
//
// Ellipticities. Tractor and lenstronomy both use |e| = sqrt(e1^2 + e2^2), q = b/a =
// (1 - |e|)/(1 + |e|), phi = atan2(e2, e1)/2. They differ in the radius: Tractor's r_e is
// along the major axis; lenstronomy's R_sersic is the "product-average" radius,
// R = sqrt(q x'^2 + y'^2/q) (x' major axis), so R_sersic = sqrt(q) r_e (lenstronomy also caps
// |e| at 0.9999 and uses b_n ~ 1.9992 n - 0.3271). Tractor's angle is a position angle on the
// sky (major axis from North through East; tractor/ellipses.py EllipseE.getRaDecBasis). On a
// pixel grid with the usual orientation (+x West, as DR10 coadds with CD1_1 < 0; +y North)
// that direction is at pixel_angle_from_sky_pa(pa) = pa + pi/2 from +x.
#pragma once

#include <cmath>
#include <numbers>

namespace dhs::kernels {

/// @brief Exact Sersic b_n: the root b of P(2n, b) = 1/2 (regularised lower incomplete gamma),
/// i.e. scipy.special.gammaincinv(2n, 0.5); computed with Boost.Math gamma_p_inv (Halley
/// iteration to double precision). Makes r_e the half-light radius. n (dimensionless) must
/// be finite in (0, 100] (tested 0.2..10); throws std::invalid_argument otherwise.
double sersic_bn(double n);

/// @brief lenstronomy's approximation b_n = 1.9992 n - 0.3271 (SersicUtil.b_n; off by up to
/// 25% for n < 1). Only for reproducing lenstronomy; use sersic_bn() otherwise.
inline double sersic_bn_lenstronomy(double n) { return 1.9992 * n - 0.3271; }

/// @brief Which b_n a profile uses: the exact root (r_e is then the half-light radius) or
/// lenstronomy's linear approximation.
enum class SersicBn { exact, lenstronomy };

/// @brief Total flux / I_e of a Sersic profile: 2 pi q n r_e^2 e^{b} b^{-2n} Gamma(2n), in
/// arcsec^2 (r_e in arcsec along the major axis, q = b/a, any b > 0).
double sersic_flux_per_ie(double r_e, double n, double q, double b);

/// @brief An ellipse's shape: axis ratio q = b/a in (0, 1] and major-axis angle phi (radians,
/// from +x towards +y of the frame the profile is evaluated in).
struct EllipseShape {
    double q = 1.0;    ///< minor / major axis ratio, (0, 1]
    double phi = 0.0;  ///< major-axis angle, radians
};

/// @brief Shape from Tractor's (SHAPE_E1, SHAPE_E2): q = (1 - |e|)/(1 + |e|), phi =
/// atan2(e2, e1)/2 (Tractor's position angle, North through East; see the file comment).
/// Throws std::invalid_argument unless |e| < 1 and both are finite.
EllipseShape shape_from_tractor_e1e2(double e1, double e2);

/// @brief Shape from lenstronomy's (e1, e2) (param_util.ellipticity2phi_q): as Tractor but
/// |e| capped at 0.9999, as lenstronomy does. Throws std::invalid_argument if non-finite.
EllipseShape shape_from_lenstronomy_e1e2(double e1, double e2);

/// @brief (e1, e2) of a shape: e = (1 - q)/(1 + q), e1 = e cos 2 phi, e2 = e sin 2 phi.
struct Ellipticity {
    double e1 = 0.0, e2 = 0.0;
};
/// @brief Inverse of shape_from_tractor_e1e2 (same formulas as lenstronomy's phi_q2_ellipticity).
Ellipticity e1e2_from_shape(EllipseShape shape);

/// @brief Angle from +x towards +y (radians) of a direction with sky position angle `pa_rad`
/// (from North through East), on a grid with +x West and +y North (DR10 coadd pixels):
/// pa + pi/2.
inline double pixel_angle_from_sky_pa(double pa_rad) { return pa_rad + std::numbers::pi / 2.0; }

/// @brief An elliptical Sersic profile, normalised so that its integral over the plane is its
/// total flux. Immutable; surface_brightness() is inline, allocation-free and thread-safe.
class SersicProfile {
public:
    /// @brief Total flux `flux` (nanomaggies), half-light radius `r_e` (arcsec, major axis),
    /// index n, shape (q, phi), centre (x0, y0) in arcsec; exact b_n by default. Throws
    /// std::invalid_argument for flux < 0, r_e <= 0, n outside (0, 100], q outside (0, 1] or
    /// a non-finite parameter.
    SersicProfile(double flux, double r_e, double n, EllipseShape shape, double x0 = 0.0,
                  double y0 = 0.0, SersicBn bn = SersicBn::exact);

    /// @brief From Tractor parameters: FLUX (nanomaggies), SHAPE_R (arcsec, major axis), SERSIC
    /// index, SHAPE_E1/E2; centre in arcsec. Exact b_n.
    static SersicProfile from_tractor(double flux, double r_e, double n, double e1, double e2,
                                      double x0 = 0.0, double y0 = 0.0);

    /// @brief From lenstronomy SERSIC_ELLIPSE parameters: amp = I at the ellipse R = R_sersic
    /// (nanomaggies / arcsec^2), R_sersic (arcsec, product-average radius), n_sersic, e1, e2,
    /// center_x/y (arcsec). With SersicBn::lenstronomy (default) it reproduces lenstronomy's
    /// values; r_e() is then R_sersic / sqrt(q) and total_flux() the exact integral.
    static SersicProfile from_lenstronomy(double amp, double r_sersic, double n, double e1,
                                          double e2, double center_x = 0.0, double center_y = 0.0,
                                          SersicBn bn = SersicBn::lenstronomy);

    /// @brief Surface brightness at (x, y) arcsec, nanomaggies per arcsec^2.
    double surface_brightness(double x, double y) const noexcept {
        const double dx = x - x0_, dy = y - y0_;
        const double xp = cos_phi_ * dx + sin_phi_ * dy;
        const double yp = cos_phi_ * dy - sin_phi_ * dx;
        const double s2 = (xp * xp + yp * yp * inv_q2_) * inv_re2_;  // (r_ell / r_e)^2
        return ie_exp_bn_ * std::exp(-bn_ * reduced_radius(s2));
    }
    /// @brief Surface brightness at major-axis elliptical radius r_ell (arcsec), nanomaggies /
    /// arcsec^2.
    double at_elliptical_radius(double r_ell) const noexcept {
        return ie_exp_bn_ * std::exp(-bn_ * std::pow(r_ell / r_e_, 1.0 / n_));
    }

    /// @brief Integral over the plane, nanomaggies.
    double total_flux() const noexcept { return flux_; }
    /// @brief Surface brightness I_e at r_ell = r_e, nanomaggies / arcsec^2.
    double intensity_at_re() const noexcept { return ie_; }
    /// @brief Half-light radius along the major axis, arcsec (exact only with exact b_n).
    double r_e() const noexcept { return r_e_; }
    /// @brief Sersic index.
    double n() const noexcept { return n_; }
    /// @brief The b_n in use.
    double b_n() const noexcept { return bn_; }
    /// @brief Axis ratio b/a.
    double q() const noexcept { return q_; }
    /// @brief Major-axis angle, radians from +x towards +y.
    double phi() const noexcept { return phi_; }
    /// @brief Centre, arcsec.
    double x0() const noexcept { return x0_; }
    double y0() const noexcept { return y0_; }
    /// @brief The same profile moved to centre (x0, y0) arcsec.
    SersicProfile centred_at(double x0, double y0) const noexcept {
        SersicProfile p = *this;
        p.x0_ = x0;
        p.y0_ = y0;
        return p;
    }

private:
    // (r_ell / r_e)^(1/n) from s2 = (r_ell / r_e)^2: sqrt chains for n = 0.5, 1, 2, 4 (a few
    // ns instead of pow's ~15; equal to pow to an ulp).
    double reduced_radius(double s2) const noexcept {
        switch (root_) {
            case Root::n_half: return s2;
            case Root::n_one: return std::sqrt(s2);
            case Root::n_two: return std::sqrt(std::sqrt(s2));
            case Root::n_four: return std::sqrt(std::sqrt(std::sqrt(s2)));
            case Root::general: break;
        }
        return std::pow(s2, half_inv_n_);
    }
    enum class Root : unsigned char { general, n_half, n_one, n_two, n_four };

    SersicProfile() = default;
    void finish(double ie);  // sets the derived members from ie_ and the shape

    double flux_ = 0.0, r_e_ = 1.0, n_ = 1.0, q_ = 1.0, phi_ = 0.0, x0_ = 0.0, y0_ = 0.0;
    double bn_ = 0.0, ie_ = 0.0;
    double ie_exp_bn_ = 0.0, cos_phi_ = 1.0, sin_phi_ = 0.0, inv_q2_ = 1.0, inv_re2_ = 1.0,
           half_inv_n_ = 0.5;
    Root root_ = Root::general;
};

/// @brief Exponential disk (n = 1) from Tractor parameters (flux nanomaggies, r_e arcsec along
/// the major axis, e1, e2, centre arcsec).
SersicProfile exponential_profile(double flux, double r_e, double e1 = 0.0, double e2 = 0.0,
                                  double x0 = 0.0, double y0 = 0.0);
/// @brief de Vaucouleurs profile (n = 4) from Tractor parameters (as exponential_profile).
SersicProfile de_vaucouleurs_profile(double flux, double r_e, double e1 = 0.0, double e2 = 0.0,
                                     double x0 = 0.0, double y0 = 0.0);

/// @brief An unresolved source: all its flux at one point. It has no surface brightness to
/// sample; renderers place a PSF kernel (psf.hpp psf_kernel with a sub-pixel offset) instead.
struct PointSource {
    double flux = 0.0;           ///< nanomaggies
    double x0 = 0.0, y0 = 0.0;   ///< position, arcsec
    /// @brief Total flux, nanomaggies.
    double total_flux() const noexcept { return flux; }
};

}  // namespace dhs::kernels
