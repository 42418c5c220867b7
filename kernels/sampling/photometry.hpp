// Photometric conversions of the Legacy Surveys: nanomaggies <-> AB magnitudes (zero point
// 22.5), 5-sigma depths from PSFDEPTH/GALDEPTH inverse variances, Galactic extinction.
// Units: flux in nanomaggies, magnitudes AB, E(B-V) in magnitudes. Pure functions.
#pragma once

#include <cmath>
#include <limits>

namespace dhs::kernels {

/// @brief AB magnitude of a flux in nanomaggies: 22.5 - 2.5 log10(flux); NaN for flux <= 0
/// or a non-finite flux (SPEC Stage 1).
inline double mag_from_nanomaggies(double flux) {
    if (!(flux > 0.0) || !std::isfinite(flux)) return std::numeric_limits<double>::quiet_NaN();
    return 22.5 - 2.5 * std::log10(flux);
}

/// @brief Flux in nanomaggies of an AB magnitude: 10^((22.5 - mag) / 2.5).
inline double nanomaggies_from_mag(double mag) { return std::pow(10.0, (22.5 - mag) / 2.5); }

/// @brief 5-sigma depth in AB mag from a depth inverse variance (1/nanomaggies^2), as the
/// Legacy Surveys define it: -2.5 (log10(5 / sqrt(ivar)) - 9). NaN for ivar <= 0.
inline double depth_mag_5sigma(double ivar) {
    if (!(ivar > 0.0) || !std::isfinite(ivar)) return std::numeric_limits<double>::quiet_NaN();
    return -2.5 * (std::log10(5.0 / std::sqrt(ivar)) - 9.0);
}

/// @brief Extinction coefficients R_X (A_X = R_X E(B-V)) of the Legacy Surveys DR9/DR10.
struct ExtinctionCoefficients {
    static constexpr double g = 3.214, r = 2.165, i = 1.592, z = 1.211, w1 = 0.184, w2 = 0.113;
};

/// @brief Milky Way transmission 10^(-0.4 R E(B-V)).
inline double mw_transmission(double r_coefficient, double ebv) {
    return std::pow(10.0, -0.4 * r_coefficient * ebv);
}

}  // namespace dhs::kernels
