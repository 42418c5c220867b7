// Tests of kernels/injection_metrics: the matched-filter S/N against its closed form and against
// the scatter of the amplitude estimate over noise realisations, the annulus aperture S/N, the
// bad-pixel fraction and the test-only planted core brightening.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/injection/injection_metrics.hpp"

namespace inj = dhs::kernels::injection;

namespace {

constexpr int kW = 31, kH = 31, kN = kW * kH;

std::vector<float> gaussian_blob(double amp, double sigma) {
    std::vector<float> v(kN);
    for (int j = 0; j < kH; ++j)
        for (int i = 0; i < kW; ++i) v[j * kW + i] = static_cast<float>(amp * std::exp(-((i - 15.0) * (i - 15.0) + (j - 15.0) * (j - 15.0)) / (2 * sigma * sigma)));
    return v;
}

TEST(InjectionMetrics, MatchedFilterSnrIsTheAmplitudeSignificance) {
    const auto inj = gaussian_blob(0.3, 2.0);
    const std::vector<float> ivar(kN, 400.0f), host(kN, 0.0f);  // sigma = 0.05 per pixel
    double s2 = 0;
    for (float v : inj) s2 += v * v * 400.0;
    const double snr = inj::matched_filter_snr(inj, ivar, host);
    EXPECT_NEAR(snr, std::sqrt(s2), 1e-9 * snr);
    // Optimal amplitude estimate a = sum(d t ivar) / sum(t^2 ivar) on data = inj + noise has
    // sigma_a = 1 / sqrt(sum t^2 ivar): the S/N of amplitude 1 is the matched-filter S/N.
    std::mt19937_64 gen(3);
    std::normal_distribution<double> noise(0.0, 0.05);
    double m = 0, m2 = 0;
    const int trials = 2000;
    for (int t = 0; t < trials; ++t) {
        double num = 0;
        for (int k = 0; k < kN; ++k) num += (inj[k] + noise(gen)) * inj[k] * 400.0;
        const double a = num / s2;
        m += a;
        m2 += a * a;
    }
    m /= trials;
    const double sd = std::sqrt(m2 / trials - m * m);
    EXPECT_NEAR(m / sd, snr, 0.05 * snr);
    // Invalid pixels do not count.
    auto bad_ivar = ivar;
    auto bad_host = host;
    bad_ivar[15 * kW + 15] = 0.0f;
    bad_host[15 * kW + 16] = NAN;
    const double s_bad = inj::matched_filter_snr(inj, bad_ivar, bad_host);
    const double drop = inj[15 * kW + 15] * inj[15 * kW + 15] * 400.0 + inj[15 * kW + 16] * inj[15 * kW + 16] * 400.0;
    EXPECT_NEAR(s_bad * s_bad, s2 - drop, 1e-6 * s2);
}

TEST(InjectionMetrics, AnnulusSnrSumsTheAnnulus) {
    std::vector<float> inj(kN, 0.0f), ivar(kN, 100.0f), host(kN, 1.0f);
    int n = 0;
    for (int j = 0; j < kH; ++j)
        for (int i = 0; i < kW; ++i) {
            const double r = std::hypot(i - 15.0, j - 15.0);
            if (r >= 3.0 && r < 6.0) {
                inj[j * kW + i] = 0.02f;
                ++n;
            }
        }
    // All the injection inside: S/N = n 0.02 / sqrt(n / 100).
    EXPECT_NEAR(inj::annulus_snr(inj, ivar, host, kW, kH, 3.0, 6.0), n * 0.02 / std::sqrt(n / 100.0), 1e-6);
    EXPECT_DOUBLE_EQ(inj::annulus_snr(inj, ivar, host, kW, kH, 7.0, 9.0), 0.0);  // no injection there
    std::vector<float> zero(kN, 0.0f);
    EXPECT_DOUBLE_EQ(inj::annulus_snr(inj, zero, host, kW, kH, 3.0, 6.0), 0.0);  // no valid pixel
}

TEST(InjectionMetrics, BadPixelFractionCountsPositionsBadInAnyBand) {
    std::vector<float> img(3 * kN, 1.0f), ivar(3 * kN, 1.0f);
    EXPECT_DOUBLE_EQ(inj::bad_pixel_fraction(img, ivar, kW, kH, 3), 0.0);
    img[5] = NAN;             // g, pixel 5
    ivar[kN + 5] = 0.0f;      // r, pixel 5 again
    ivar[2 * kN + 9] = -1.0f; // z, pixel 9
    EXPECT_DOUBLE_EQ(inj::bad_pixel_fraction(img, ivar, kW, kH, 3), 2.0 / kN);
}

TEST(InjectionMetrics, PlantedCoreBrighteningKeepsImageEqualHostPlusInjection) {
    std::vector<float> host(2 * kN, 2.0f), inj(2 * kN, 0.5f), img(2 * kN);
    for (int k = 0; k < 2 * kN; ++k) img[k] = host[k] + inj[k];
    host[15 * kW + 15] = NAN;
    img[15 * kW + 15] = NAN;
    inj::plant_core_brightening(img, inj, host, kW, kH, 2, 4.0, 0.25);
    for (int b = 0; b < 2; ++b)
        for (int j = 0; j < kH; ++j)
            for (int i = 0; i < kW; ++i) {
                const int k = b * kN + j * kW + i;
                const bool core = std::hypot(i - 15.0, j - 15.0) < 4.0;
                if (std::isnan(host[k])) {
                    EXPECT_TRUE(std::isnan(img[k]));
                    continue;
                }
                EXPECT_FLOAT_EQ(inj[k], core ? 1.0f : 0.5f);
                EXPECT_FLOAT_EQ(img[k], host[k] + inj[k]);
            }
}

}  // namespace
