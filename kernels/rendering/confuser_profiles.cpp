// Constructors (validation, analytic normalisation) of the confuser profiles in
// confuser_profiles.hpp: ring, spiral arms, tidal arc, diffraction spikes. Units: nanomaggies,
// arcsec, radians.
#include "kernels/rendering/confuser_profiles.hpp"

#include <numbers>
#include <stdexcept>
#include <string>

namespace dhs::kernels {
namespace {

void require(bool ok, const char* what) {
    if (!ok) throw std::invalid_argument(std::string("dhs::kernels confuser profile: ") + what);
}

bool finite(double v) { return std::isfinite(v); }

bool valid_shape(EllipseShape s) {
    return finite(s.q) && s.q > 0.0 && s.q <= 1.0 && finite(s.phi);
}

// Integral of r exp(-(r - R)^2 / (2 w^2)) over r in [0, inf).
double ring_radial_integral(double radius, double width) {
    constexpr double pi = std::numbers::pi;
    const double w = width, r = radius;
    return w * w * std::exp(-r * r / (2.0 * w * w)) +
           r * w * std::sqrt(pi / 2.0) * (1.0 + std::erf(r / (std::numbers::sqrt2 * w)));
}

}  // namespace

RingProfile::RingProfile(double flux, double radius, double width, EllipseShape shape, double x0,
                         double y0)
    : flux_(flux), radius_(radius), width_(width), q_(shape.q), phi_(shape.phi), x0_(x0), y0_(y0) {
    require(finite(flux) && flux >= 0.0, "ring flux must be finite and >= 0");
    require(finite(radius) && radius >= 0.0, "ring radius must be finite and >= 0");
    require(finite(width) && width > 0.0, "ring width must be finite and > 0");
    require(valid_shape(shape), "ring q must be in (0, 1] and phi finite");
    require(finite(x0) && finite(y0), "ring centre must be finite");
    constexpr double pi = std::numbers::pi;
    const double w = width;
    amp_ = flux / (2.0 * pi * q_ * ring_radial_integral(radius, width));
    cos_phi_ = std::cos(phi_);
    sin_phi_ = std::sin(phi_);
    inv_q2_ = 1.0 / (q_ * q_);
    inv_two_w2_ = 1.0 / (2.0 * w * w);
}

RingProfile RingProfile::from_e1e2(double flux, double radius, double width, double e1, double e2,
                                   double x0, double y0) {
    return RingProfile(flux, radius, width, shape_from_tractor_e1e2(e1, e2), x0, y0);
}

SpiralArmsProfile::SpiralArmsProfile(const SpiralArmsParams& params) : p_(params) {
    require(finite(p_.flux) && p_.flux >= 0.0, "spiral flux must be finite and >= 0");
    require(finite(p_.scale_length) && p_.scale_length > 0.0, "spiral scale length must be > 0");
    require(p_.arms >= 1 && p_.arms <= 16, "spiral arms must be in 1..16");
    require(finite(p_.pitch_angle) && p_.pitch_angle > 0.0 && p_.pitch_angle < std::numbers::pi / 2,
            "spiral pitch angle must be in (0, pi/2) radians");
    require(finite(p_.contrast) && p_.contrast >= 0.0 && p_.contrast <= 1.0,
            "spiral contrast must be in [0, 1]");
    require(finite(p_.phase), "spiral phase must be finite");
    require(finite(p_.core_radius) && p_.core_radius > 0.0, "spiral core radius must be > 0");
    require(valid_shape(p_.shape), "spiral q must be in (0, 1] and phi finite");
    require(finite(p_.x0) && finite(p_.y0), "spiral centre must be finite");
    const double h = p_.scale_length;
    amp_ = p_.flux / (2.0 * std::numbers::pi * p_.shape.q * h * h);
    m_ = static_cast<double>(p_.arms);
    wind_ = m_ / std::tan(p_.pitch_angle);
    inv_h_ = 1.0 / h;
    inv_rc2_ = 1.0 / (p_.core_radius * p_.core_radius);
    inv_q_ = 1.0 / p_.shape.q;
    cos_phi_ = std::cos(p_.shape.phi);
    sin_phi_ = std::sin(p_.shape.phi);
}

TidalArcProfile::TidalArcProfile(const TidalArcParams& params) : p_(params) {
    require(finite(p_.flux) && p_.flux >= 0.0, "tidal arc flux must be finite and >= 0");
    require(finite(p_.radius) && p_.radius >= 0.0, "tidal arc radius must be finite and >= 0");
    require(finite(p_.width) && p_.width > 0.0, "tidal arc width must be finite and > 0");
    require(finite(p_.angle), "tidal arc angle must be finite");
    require(finite(p_.angular_sigma) && p_.angular_sigma > 0.0 && p_.angular_sigma <= 1.0,
            "tidal arc angular sigma must be in (0, 1] radians");
    require(valid_shape(p_.shape), "tidal arc q must be in (0, 1] and phi finite");
    require(finite(p_.x0) && finite(p_.y0), "tidal arc centre must be finite");
    const double st = p_.angular_sigma;
    const double angular = std::sqrt(2.0 * std::numbers::pi) * st * std::erf(std::numbers::pi / (std::numbers::sqrt2 * st));
    amp_ = p_.flux / (p_.shape.q * ring_radial_integral(p_.radius, p_.width) * angular);
    cos_phi_ = std::cos(p_.shape.phi);
    sin_phi_ = std::sin(p_.shape.phi);
    inv_q_ = 1.0 / p_.shape.q;
    inv_two_w2_ = 1.0 / (2.0 * p_.width * p_.width);
    inv_two_s2_ = 1.0 / (2.0 * st * st);
}

DiffractionSpikesProfile::DiffractionSpikesProfile(const DiffractionSpikesParams& params) : p_(params) {
    require(finite(p_.flux) && p_.flux >= 0.0, "spike flux must be finite and >= 0");
    require(p_.spikes >= 1 && p_.spikes <= 16, "spikes must be in 1..16");
    require(finite(p_.angle), "spike angle must be finite");
    require(finite(p_.length) && p_.length > 0.0, "spike length must be finite and > 0");
    require(finite(p_.width) && p_.width > 0.0, "spike width must be finite and > 0");
    require(finite(p_.x0) && finite(p_.y0), "spike centre must be finite");
    amp_ = p_.flux / (p_.spikes * p_.length * std::sqrt(2.0 * std::numbers::pi) * p_.width);
    inv_l_ = 1.0 / p_.length;
    inv_two_w2_ = 1.0 / (2.0 * p_.width * p_.width);
    for (int k = 0; k < p_.spikes; ++k) {
        const double a = p_.angle + 2.0 * std::numbers::pi * k / p_.spikes;
        c_[k] = std::cos(a);
        s_[k] = std::sin(a);
    }
}

}  // namespace dhs::kernels
