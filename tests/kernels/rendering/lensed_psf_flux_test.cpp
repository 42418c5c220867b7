// Flux and centroid of the full rendering chain: a Sersic source (F = 10 nanomaggies, r_e 0.2",
// n = 1) lensed by an SIE + external shear (theta_E 1.2", q 0.8, gamma 0.03), ray-shot onto a
// 101 x 101 stamp at 0.262"/px with oversample 4 (images well inside the stamp), then convolved
// with a Gaussian PSF (FWHM 1.3", separable erf kernel) and a Moffat PSF (FWHM 1.3", beta 3.5,
// direct convolution). The magnification is lensed / unlensed flux on the same grid
// (lensed_flux_and_magnification); the convolved image's total must equal F x magnification
// within 0.1%, and likewise F for the unlensed source (magnification 1). F is the flux the
// renderer puts on the grid: at oversample 4 the n = 1 cusp of a 0.2" (0.76 px) source is
// under-sampled and the rendered unlensed flux is 0.23% below the nominal 10 (measured), so at
// oversample 4 F is the rendered unlensed flux, and at oversample 16 (converged) F = 10 exactly. The Moffat kernel's
// half size is the smallest whose box holds >= 99.95% of the PSF flux (psf_box_fraction);
// psf_kernel renormalises the kept part to sum 1, so convolution conserves the flux while the
// dropped wing (<= 0.05%) is within the tolerance. The PSF-convolved unlensed image's
// flux-weighted centroid must be the source position within 0.01 px for a source on a
// reflection-symmetric point of the pixel grid. Off such points the pixel-binned centroid of a
// source this compact is biased by pixelisation (sum of i x pixel flux != integral of x f, the
// image is rendered before the PSF is applied), ~0.03 px here and independent of the
// oversampling (measured: (-0.008, 0.025) px at oversample 4 and 16): bounded at 0.05 px.
// Units: arcsec, nanomaggies.
#include "kernels/rendering/psf.hpp"
#include "kernels/lensing/ray_shooting.hpp"
#include "kernels/rendering/sersic.hpp"
#include "kernels/lensing/sie_lens.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <vector>

namespace {

using dhs::kernels::EllipseShape;
using dhs::kernels::GaussianPsf;
using dhs::kernels::MoffatPsf;
using dhs::kernels::Psf;
using dhs::kernels::SersicProfile;
using dhs::kernels::SieLens;
using dhs::kernels::SieParams;
using dhs::kernels::StampGeometry;

constexpr double kFlux = 10.0;      // nanomaggies
constexpr double kPix = 0.262;      // arcsec / pixel
constexpr int kOversample = 4;
constexpr int kFineOversample = 16;  // converged: sampling error of the flux ~1e-5
constexpr double kFwhm = 1.3;       // arcsec
constexpr double kBeta = 3.5;
constexpr double kMinKept = 0.9995; // Moffat box fraction
constexpr double kTol = 1e-3;       // relative flux tolerance
constexpr double kSrcX = 0.11, kSrcY = -0.07;  // source position, arcsec (off the pixel grid)

double sum(const std::vector<float>& v) {
    double s = 0.0;
    for (float f : v) s += f;
    return s;
}

SersicProfile source(double x0 = kSrcX, double y0 = kSrcY) {
    return SersicProfile(kFlux, 0.2, 1.0, EllipseShape{.q = 0.7, .phi = 0.4}, x0, y0);
}

SieLens lens() {
    return SieLens(SieParams{.theta_e = 1.2, .q = 0.8, .phi = 0.3, .gamma_ext = 0.03, .phi_ext = 1.1});
}

/// Smallest half size whose Moffat box keeps >= kMinKept of the flux.
int moffat_half_size(const Psf& psf, double* kept) {
    for (int h = 1; h < 50; ++h) {
        *kept = dhs::kernels::psf_box_fraction(psf, kPix, h, 5);
        if (*kept >= kMinKept) return h;
    }
    return -1;
}

/// The image convolved with the Gaussian (separable) and the Moffat (direct) PSF.
struct Convolved {
    std::vector<float> gauss, moffat;
};

Convolved convolve_both(const std::vector<float>& img, const StampGeometry& g) {
    Convolved c{std::vector<float>(g.size()), std::vector<float>(g.size())};
    const GaussianPsf gpsf = GaussianPsf::from_fwhm(kFwhm);
    const int hg = static_cast<int>(std::ceil(6.0 * gpsf.sigma() / kPix));  // 6 sigma: 1 - 1.5e-8 kept
    const std::vector<float> k1 = dhs::kernels::gaussian_kernel_1d(gpsf, kPix, hg);
    dhs::kernels::convolve_separable(img, g.width, g.height, k1, k1, c.gauss);

    const Psf mpsf = MoffatPsf::from_fwhm(kFwhm, kBeta);
    double kept = 0.0;
    const int hm = moffat_half_size(mpsf, &kept);
    EXPECT_GT(hm, 0);
    EXPECT_LT(hm, g.width / 2 - 15);  // the kernel plus the images fit in the stamp
    std::printf("Moffat kernel half size %d px keeps %.6f of the flux\n", hm, kept);
    const std::vector<float> km = dhs::kernels::psf_kernel(mpsf, kPix, hm, 5);
    dhs::kernels::convolve(img, g.width, g.height, km, 2 * hm + 1, c.moffat);
    return c;
}

/// Lensed chain at `oversample`: convolved totals against F x mu, F = 10 if `nominal_flux`, else
/// the rendered unlensed flux (see the file comment).
void check_lensed(int oversample, bool nominal_flux) {
    const StampGeometry g{};
    std::vector<float> img(g.size());
    const auto f = dhs::kernels::lensed_flux_and_magnification(lens(), source(), g, oversample, img);
    ASSERT_GT(f.magnification, 2.0);  // multiply imaged
    // Images well inside the stamp: no flux in the outer 20-pixel frame.
    double edge = 0.0;
    for (int j = 0; j < g.height; ++j)
        for (int i = 0; i < g.width; ++i)
            if (i < 20 || j < 20 || i >= g.width - 20 || j >= g.height - 20) edge += img[j * g.width + i];
    EXPECT_LT(edge, 1e-6 * f.lensed_flux);

    const double flux = nominal_flux ? kFlux : f.unlensed_flux;
    const double expected = flux * f.magnification;
    const Convolved c = convolve_both(img, g);
    const double eg = sum(c.gauss) / expected - 1.0, em = sum(c.moffat) / expected - 1.0;
    std::printf("oversample %d: unlensed %.6f, magnification %.6f, F x mu %.6f (F = %s); total rel. err "
                "Gaussian %.3e, Moffat %.3e\n", oversample, f.unlensed_flux, f.magnification, expected,
                nominal_flux ? "10" : "rendered unlensed", eg, em);
    EXPECT_LT(std::abs(eg), kTol);
    EXPECT_LT(std::abs(em), kTol);
}

/// Unlensed source at (x0, y0) arcsec: totals against F = 10 at oversample 16 and the centroid of
/// the convolved oversample-4 image within `centroid_tol` px of the source.
void check_unlensed(double x0, double y0, double centroid_tol) {
    const StampGeometry g{};
    std::vector<float> img(g.size());
    const SersicProfile src = source(x0, y0);
    dhs::kernels::render_unlensed(src, g, kFineOversample, img);
    const Convolved fine = convolve_both(img, g);
    for (const auto* im : {&fine.gauss, &fine.moffat}) {
        const double e = sum(*im) / kFlux - 1.0;
        std::printf("unlensed, oversample %d: total rel. err %.3e (magnification 1)\n", kFineOversample, e);
        EXPECT_LT(std::abs(e), kTol);
    }
    const double rendered = dhs::kernels::render_unlensed(src, g, kOversample, img);
    const Convolved c = convolve_both(img, g);
    const double xs = 0.5 * (g.width - 1) + x0 / kPix, ys = 0.5 * (g.height - 1) + y0 / kPix;  // pixels
    for (const auto* im : {&c.gauss, &c.moffat}) {
        const double tot = sum(*im);
        double sx = 0.0, sy = 0.0;
        for (int j = 0; j < g.height; ++j)
            for (int i = 0; i < g.width; ++i) {
                sx += static_cast<double>(i) * (*im)[j * g.width + i];
                sy += static_cast<double>(j) * (*im)[j * g.width + i];
            }
        const double dx = sx / tot - xs, dy = sy / tot - ys;
        std::printf("%s, oversample %d: total rel. err %.3e vs rendered, %.3e vs 10; centroid offset "
                    "(%.2e, %.2e) px\n", im == &c.gauss ? "Gaussian" : "Moffat", kOversample,
                    tot / rendered - 1.0, tot / kFlux - 1.0, dx, dy);
        EXPECT_LT(std::abs(tot / rendered - 1.0), kTol);
        EXPECT_LT(std::abs(dx), centroid_tol);
        EXPECT_LT(std::abs(dy), centroid_tol);
    }
}

TEST(LensedPsfFlux, LensedTotalIsFluxTimesMagnification) {
    check_lensed(kOversample, false);
    check_lensed(kFineOversample, true);
}

TEST(LensedPsfFlux, UnlensedTotalAndCentroidOnGridSymmetricPoint) {
    check_unlensed(0.5 * kPix, -1.0 * kPix, 0.01);  // half-pixel x, whole-pixel y
}

TEST(LensedPsfFlux, UnlensedTotalAndCentroidOffGrid) {
    check_unlensed(kSrcX, kSrcY, 0.05);
}

}  // namespace
