// Sersic b_n (Boost.Math gamma_p_inv), ellipticity conversions and the SersicProfile
// constructors (normalisation I_e from the total flux). Units as in sersic.hpp.
#include "kernels/rendering/sersic.hpp"

#include <boost/math/special_functions/gamma.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace dhs::kernels {
namespace {

void require(bool ok, const char* what) {
    if (!ok) throw std::invalid_argument(std::string("dhs::kernels sersic: ") + what);
}

bool finite(double v) { return std::isfinite(v); }

}  // namespace

double sersic_bn(double n) {
    require(finite(n) && n > 0.0 && n <= 100.0, "Sersic index n must be finite in (0, 100]");
    // P(2n, b) = 1/2. gamma_p_inv iterates (Halley) from Temme/DiDonato-Morris starting values
    // to full double precision over the whole range of shape parameters.
    return boost::math::gamma_p_inv(2.0 * n, 0.5);
}

double sersic_flux_per_ie(double r_e, double n, double q, double b) {
    // 2 pi q n r_e^2 e^b b^{-2n} Gamma(2n), with the large factors combined in log space.
    return 2.0 * std::numbers::pi * q * n * r_e * r_e *
           std::exp(b - 2.0 * n * std::log(b) + std::lgamma(2.0 * n));
}

EllipseShape shape_from_tractor_e1e2(double e1, double e2) {
    require(finite(e1) && finite(e2), "e1, e2 must be finite");
    const double e = std::hypot(e1, e2);
    require(e < 1.0, "|e| = sqrt(e1^2 + e2^2) must be < 1");
    return {(1.0 - e) / (1.0 + e), std::atan2(e2, e1) / 2.0};
}

EllipseShape shape_from_lenstronomy_e1e2(double e1, double e2) {
    require(finite(e1) && finite(e2), "e1, e2 must be finite");
    const double e = std::min(std::hypot(e1, e2), 0.9999);
    return {(1.0 - e) / (1.0 + e), std::atan2(e2, e1) / 2.0};
}

Ellipticity e1e2_from_shape(EllipseShape shape) {
    const double e = (1.0 - shape.q) / (1.0 + shape.q);
    return {e * std::cos(2.0 * shape.phi), e * std::sin(2.0 * shape.phi)};
}

SersicProfile::SersicProfile(double flux, double r_e, double n, EllipseShape shape, double x0,
                             double y0, SersicBn bn) {
    require(finite(flux) && flux >= 0.0, "flux must be finite and >= 0");
    require(finite(r_e) && r_e > 0.0, "r_e must be finite and > 0");
    require(finite(n) && n > 0.0 && n <= 100.0, "n must be finite in (0, 100]");
    require(finite(shape.q) && shape.q > 0.0 && shape.q <= 1.0, "q must be in (0, 1]");
    require(finite(shape.phi) && finite(x0) && finite(y0), "phi and the centre must be finite");
    flux_ = flux;
    r_e_ = r_e;
    n_ = n;
    q_ = shape.q;
    phi_ = shape.phi;
    x0_ = x0;
    y0_ = y0;
    bn_ = bn == SersicBn::exact ? sersic_bn(n) : sersic_bn_lenstronomy(n);
    require(bn_ > 0.0, "b_n must be > 0 (lenstronomy's approximation needs n > 0.164)");
    finish(flux / sersic_flux_per_ie(r_e, n, q_, bn_));
}

SersicProfile SersicProfile::from_tractor(double flux, double r_e, double n, double e1, double e2,
                                          double x0, double y0) {
    return SersicProfile(flux, r_e, n, shape_from_tractor_e1e2(e1, e2), x0, y0, SersicBn::exact);
}

SersicProfile SersicProfile::from_lenstronomy(double amp, double r_sersic, double n, double e1,
                                              double e2, double center_x, double center_y,
                                              SersicBn bn) {
    require(finite(amp) && amp >= 0.0, "amp must be finite and >= 0");
    require(finite(r_sersic) && r_sersic > 0.0, "R_sersic must be finite and > 0");
    const EllipseShape shape = shape_from_lenstronomy_e1e2(e1, e2);
    // R = sqrt(q x'^2 + y'^2/q) = sqrt(q) r_ell, so R = R_sersic is r_ell = R_sersic / sqrt(q).
    const double r_e = r_sersic / std::sqrt(shape.q);
    SersicProfile p(0.0, r_e, n, shape, center_x, center_y, bn);  // validates the rest
    p.flux_ = amp * sersic_flux_per_ie(r_e, n, shape.q, p.bn_);
    p.finish(amp);
    return p;
}

void SersicProfile::finish(double ie) {
    ie_ = ie;
    ie_exp_bn_ = ie * std::exp(bn_);
    cos_phi_ = std::cos(phi_);
    sin_phi_ = std::sin(phi_);
    inv_q2_ = 1.0 / (q_ * q_);
    inv_re2_ = 1.0 / (r_e_ * r_e_);
    half_inv_n_ = 0.5 / n_;
    root_ = n_ == 0.5 ? Root::n_half
          : n_ == 1.0 ? Root::n_one
          : n_ == 2.0 ? Root::n_two
          : n_ == 4.0 ? Root::n_four
                      : Root::general;
}

SersicProfile exponential_profile(double flux, double r_e, double e1, double e2, double x0,
                                  double y0) {
    return SersicProfile::from_tractor(flux, r_e, 1.0, e1, e2, x0, y0);
}

SersicProfile de_vaucouleurs_profile(double flux, double r_e, double e1, double e2, double x0,
                                     double y0) {
    return SersicProfile::from_tractor(flux, r_e, 4.0, e1, e2, x0, y0);
}

}  // namespace dhs::kernels
