// Tests of kernels/stamp_features: hand-built stamps whose features are known in closed form
// (region means, a one-sector arc's asymmetry A sqrt(7)/8, NaN and maskbit fractions, profile
// bins), a direct brute-force computation of every feature on a noisy stamp, and numpy
// (Debian's python3) computing the same definitions independently.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <numbers>
#include <random>
#include <sstream>
#include <vector>

#include "kernels/stats/stamp_features.hpp"
#include "tests/support/python_support.hpp"
#include "tests/support/test_support.hpp"

namespace {

using dhs::kernels::BandFeatures;
using dhs::kernels::StampFeatureScratch;
using dhs::kernels::StampFeatureSpec;
using dhs::kernels::StampFeatures;
using dhs::kernels::FeatureRegions;

constexpr int kSize = 101, kBands = 3, kC = 50;
constexpr std::size_t kPix = kSize * kSize;
const double kNaN = std::numeric_limits<double>::quiet_NaN();

double radius(int x, int y) { return std::hypot(static_cast<double>(x - kC), static_cast<double>(y - kC)); }
int sector(int x, int y) {
    const double t = (std::atan2(static_cast<double>(y - kC), static_cast<double>(x - kC)) + std::numbers::pi) /
                     (2 * std::numbers::pi) * 8;
    return static_cast<int>(std::floor(t)) % 8;
}

struct Output {
    StampFeatures f;
    std::vector<float> profile, box;
};

Output run(const std::vector<float>& image, const std::vector<std::uint32_t>& mask = {}, std::uint32_t reject = 0) {
    static const FeatureRegions geom(kSize, kSize, StampFeatureSpec{});
    StampFeatureScratch scratch;
    Output o;
    o.profile.resize(kBands * 20);
    o.box.resize(kBands * 256);
    o.f = dhs::kernels::compute_stamp_features(geom, kBands, image, mask, reject, o.profile, o.box, scratch);
    return o;
}

// The piecewise-radial stamp: r<4: 10, 4<=r<16: 3, 16<=r<28: 1, else 0, times (band + 1).
std::vector<float> radial_stamp() {
    std::vector<float> im(kBands * kPix);
    for (int b = 0; b < kBands; ++b)
        for (int y = 0; y < kSize; ++y)
            for (int x = 0; x < kSize; ++x) {
                const double r = radius(x, y);
                const float v = r < 4 ? 10.f : r < 16 ? 3.f : r < 28 ? 1.f : 0.f;
                im[b * kPix + y * kSize + x] = v * static_cast<float>(b + 1);
            }
    return im;
}

TEST(StampFeatures, PiecewiseRadialStampHasClosedFormFeatures) {
    const auto o = run(radial_stamp());
    int n_inner = 0, n_ring = 0;  // r < 4 and 4 <= r < 8, counted here with hypot
    for (int y = 0; y < kSize; ++y)
        for (int x = 0; x < kSize; ++x) {
            const double r = radius(x, y);
            n_inner += r < 4;
            n_ring += r >= 4 && r < 8;
        }
    EXPECT_EQ(n_inner, 45);  // lattice points with x^2 + y^2 < 16: 7 + 2x7 + 2x7 + 2x5
    EXPECT_EQ(o.f.num_bands, 3u);
    EXPECT_EQ(o.f.total_nan_frac, 0.0);
    EXPECT_EQ(o.f.core_nan_frac, 0.0);
    EXPECT_TRUE(std::isnan(o.f.core_masked_frac));  // no maskbits given
    for (int b = 0; b < kBands; ++b) {
        const double k = b + 1;
        const BandFeatures& f = o.f.band[b];
        EXPECT_NEAR(f.core_brightness, k * (10.0 * n_inner + 3.0 * n_ring) / (n_inner + n_ring), 1e-12);
        EXPECT_DOUBLE_EQ(f.annulus_brightness, 3 * k);
        EXPECT_DOUBLE_EQ(f.annulus_max, 3 * k);
        EXPECT_DOUBLE_EQ(f.annulus_std, 0.0);
        EXPECT_DOUBLE_EQ(f.azimuthal_asymmetry, 0.0);
        EXPECT_DOUBLE_EQ(f.outer_brightness, k);
        EXPECT_NEAR(f.radial_gradient, f.core_brightness / k, 1e-12);
        EXPECT_DOUBLE_EQ(f.mad, 0.0);  // most of the stamp is 0: median 0, median |x| 0
        for (int bin = 0; bin < 20; ++bin)
            EXPECT_EQ(o.profile[b * 20 + bin], static_cast<float>(k * (bin < 4 ? 10 : bin < 16 ? 3 : 1))) << bin;
        for (int y = 0; y < 16; ++y)
            for (int x = 0; x < 16; ++x)
                EXPECT_EQ(o.box[b * 256 + y * 16 + x], radial_stamp()[b * kPix + (42 + y) * kSize + 42 + x]);
    }
}

TEST(StampFeatures, OneSectorArcGivesTheAsymmetryOfOneOffsetMean) {
    auto im = radial_stamp();
    const float a = 2.5f;
    for (int y = 0; y < kSize; ++y)
        for (int x = 0; x < kSize; ++x) {
            const double r = radius(x, y);
            if (r >= 4 && r < 16 && sector(x, y) == 3) im[kPix + y * kSize + x] += a;  // r band only
        }
    const auto o = run(im);
    // Sector means: 3k + A in one sector, 3k in seven: population std = A sqrt(7) / 8.
    EXPECT_NEAR(o.f.band[1].azimuthal_asymmetry, a * std::sqrt(7.0) / 8.0, 1e-12);
    EXPECT_DOUBLE_EQ(o.f.band[1].annulus_max, 6.0 + a);
    EXPECT_DOUBLE_EQ(o.f.band[0].azimuthal_asymmetry, 0.0);
    EXPECT_DOUBLE_EQ(o.f.band[2].azimuthal_asymmetry, 0.0);
}

TEST(StampFeatures, NanAndMaskbitFractions) {
    auto im = radial_stamp();
    for (int y = 0; y < 5; ++y)
        for (int x = 0; x < 5; ++x) im[2 * kPix + y * kSize + x] = NAN;  // z corner, outside every region
    im[kPix + kC * kSize + kC] = NAN;                                      // r centre
    im[kPix + kC * kSize + kC + 1] = std::numeric_limits<float>::infinity();
    std::vector<std::uint32_t> mask(kPix, 0);
    mask[kC * kSize + kC] = 8;          // SATUR_R in the core: rejected
    mask[kC * kSize + kC + 2] = 8 | 2;  // SATUR_R + BRIGHT
    mask[(kC + 3) * kSize + kC] = 2;    // BRIGHT only: not rejected
    mask[0] = 8;                        // outside the core: ignored
    const auto o = run(im, mask, 8);
    int ncore = 0;
    for (int y = 0; y < kSize; ++y)
        for (int x = 0; x < kSize; ++x) ncore += radius(x, y) < 8;
    EXPECT_DOUBLE_EQ(o.f.total_nan_frac, 27.0 / (3.0 * kPix));
    EXPECT_DOUBLE_EQ(o.f.core_nan_frac, 2.0 / (3.0 * ncore));
    EXPECT_DOUBLE_EQ(o.f.core_masked_frac, 2.0 / ncore);
    // The r-band core mean leaves the two non-finite pixels out (both in r < 4).
    int n_inner = 0, n_ring = 0;
    for (int y = 0; y < kSize; ++y)
        for (int x = 0; x < kSize; ++x) {
            n_inner += radius(x, y) < 4;
            n_ring += radius(x, y) >= 4 && radius(x, y) < 8;
        }
    EXPECT_NEAR(o.f.band[1].core_brightness, 2.0 * (10.0 * (n_inner - 2) + 3.0 * n_ring) / (n_inner - 2 + n_ring), 1e-12);
    EXPECT_TRUE(std::isnan(o.box[256 + 8 * 16 + 8]));  // the NaN centre is copied as stored
    // A stamp with no finite pixel: every brightness is NaN, nothing throws.
    std::vector<float> empty(kBands * kPix, NAN);
    const auto e = run(empty);
    EXPECT_DOUBLE_EQ(e.f.total_nan_frac, 1.0);
    EXPECT_TRUE(std::isnan(e.f.band[1].core_brightness));
    EXPECT_TRUE(std::isnan(e.f.band[1].mad));
    EXPECT_TRUE(std::isnan(e.f.band[1].azimuthal_asymmetry));
    EXPECT_TRUE(std::isnan(e.profile[20]));
}

// A noisy stamp: Gaussian noise, an elliptical blob, an arc, a few NaNs. With `quantum` > 0
// the values are rounded to multiples of it (many ties, both signs: the medians' hard case).
std::vector<float> noisy_stamp(unsigned seed, double quantum = 0, bool nans = true) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> noise(0.0, 0.006);
    std::vector<float> im(kBands * kPix);
    for (int b = 0; b < kBands; ++b)
        for (int y = 0; y < kSize; ++y)
            for (int x = 0; x < kSize; ++x) {
                const double dx = x - kC - 0.3, dy = y - kC + 0.2;
                double v = 0.4 * (b + 1) * std::exp(-(dx * dx / 18.0 + dy * dy / 10.0));
                const double r = std::hypot(dx, dy);
                if (r > 9 && r < 11 && dx > 0) v += 0.03;
                v += noise(rng);
                if (quantum > 0) v = std::round(v / quantum) * quantum;
                im[b * kPix + y * kSize + x] = static_cast<float>(v);
            }
    if (nans) {
        im[5 * kSize + 7] = NAN;
        im[kPix + 60 * kSize + 61] = NAN;
        im[2 * kPix + 50 * kSize + 49] = NAN;
    }
    return im;
}

double direct_median(std::vector<double> v) {
    if (v.empty()) return kNaN;
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Every feature by the definitions, the slow obvious way.
BandFeatures direct_band(const std::vector<float>& im, int b, std::vector<double>& profile) {
    std::vector<double> all, core, ann, out;
    std::vector<std::vector<double>> sec(8), bins(20);
    for (int y = 0; y < kSize; ++y)
        for (int x = 0; x < kSize; ++x) {
            const double v = im[b * kPix + y * kSize + x];
            if (!std::isfinite(v)) continue;
            const double r = radius(x, y);
            all.push_back(v);
            if (r < 8) core.push_back(v);
            if (r >= 4 && r < 16) {
                ann.push_back(v);
                sec[sector(x, y)].push_back(v);
            }
            if (r >= 16 && r < 28) out.push_back(v);
            if (r < 20) bins[static_cast<int>(std::floor(r))].push_back(v);
        }
    auto mean = [](const std::vector<double>& v) {
        double s = 0;
        for (double x : v) s += x;
        return s / static_cast<double>(v.size());
    };
    BandFeatures f;
    f.core_brightness = mean(core);
    f.annulus_brightness = mean(ann);
    f.outer_brightness = mean(out);
    f.annulus_max = *std::max_element(ann.begin(), ann.end());
    double ss = 0;
    for (double x : ann) ss += (x - f.annulus_brightness) * (x - f.annulus_brightness);
    f.annulus_std = std::sqrt(ss / static_cast<double>(ann.size()));
    std::vector<double> sm;
    for (const auto& s : sec) sm.push_back(mean(s));
    const double m = mean(sm);
    double sv = 0;
    for (double x : sm) sv += (x - m) * (x - m);
    f.azimuthal_asymmetry = std::sqrt(sv / 8);
    const double med = direct_median(all);
    std::vector<double> dev;
    for (double x : all) dev.push_back(std::fabs(x - med));
    f.mad = direct_median(dev);
    f.radial_gradient = f.core_brightness / f.outer_brightness;
    profile.clear();
    for (const auto& bin : bins) profile.push_back(direct_median(bin));
    return f;
}

void expect_close(double a, double b, const char* what, int band) {
    EXPECT_NEAR(a, b, 1e-9 * std::max(1.0, std::fabs(b))) << what << " band " << band;
}

TEST(StampFeatures, EqualADirectComputationOnANoisyStamp) {
    for (unsigned seed : {1u, 2u, 3u, 4u, 5u, 6u, 7u}) {
        // Seeds 4 and 5: values quantised to 0.004 and 0.01 (a few distinct values, many ties);
        // 6 and 7: no NaN at all (the kernel's fast path for complete bands).
        const bool nans = seed < 6;
        const auto im = noisy_stamp(seed, seed == 4 ? 0.004 : seed == 5 ? 0.01 : 0.0, nans);
        const auto o = run(im);
        EXPECT_DOUBLE_EQ(o.f.total_nan_frac, nans ? 3.0 / (3.0 * kPix) : 0.0);
        for (int b = 0; b < kBands; ++b) {
            std::vector<double> prof;
            const BandFeatures d = direct_band(im, b, prof);
            const BandFeatures& f = o.f.band[b];
            expect_close(f.core_brightness, d.core_brightness, "core_brightness", b);
            expect_close(f.annulus_brightness, d.annulus_brightness, "annulus_brightness", b);
            expect_close(f.outer_brightness, d.outer_brightness, "outer_brightness", b);
            expect_close(f.annulus_max, d.annulus_max, "annulus_max", b);
            expect_close(f.annulus_std, d.annulus_std, "annulus_std", b);
            expect_close(f.azimuthal_asymmetry, d.azimuthal_asymmetry, "azimuthal_asymmetry", b);
            expect_close(f.mad, d.mad, "mad", b);
            expect_close(f.radial_gradient, d.radial_gradient, "radial_gradient", b);
            for (int k = 0; k < 20; ++k)
                EXPECT_FLOAT_EQ(o.profile[b * 20 + k], static_cast<float>(prof[k])) << "bin " << k << " band " << b;
        }
    }
}

TEST(StampFeatures, MedianFollowsNumpyForEvenCountsAndSkipsNaN) {
    std::vector<float> v{4, NAN, 1, 3, 2};
    EXPECT_DOUBLE_EQ(dhs::kernels::median_of_finite(v), 2.5);
    std::vector<float> w{5, 1, 3};
    EXPECT_DOUBLE_EQ(dhs::kernels::median_of_finite(w), 3.0);
    std::vector<float> none{NAN, NAN};
    EXPECT_TRUE(std::isnan(dhs::kernels::median_of_finite(none)));
}

TEST(StampFeatures, BadSizesAndSpecsThrow) {
    StampFeatureSpec bad;
    bad.annulus_inner = 20;
    EXPECT_THROW(FeatureRegions(kSize, kSize, bad), std::invalid_argument);
    StampFeatureSpec big;
    big.core_box = 200;
    EXPECT_THROW(FeatureRegions(kSize, kSize, big), std::invalid_argument);
    const FeatureRegions g(kSize, kSize, StampFeatureSpec{});
    StampFeatureScratch s;
    std::vector<float> im(2 * kPix);
    EXPECT_THROW(dhs::kernels::compute_stamp_features(g, 3, im, {}, 0, {}, {}, s), std::invalid_argument);
    std::vector<float> prof(7);
    std::vector<float> im3(3 * kPix);
    EXPECT_THROW(dhs::kernels::compute_stamp_features(g, 3, im3, {}, 0, prof, {}, s), std::invalid_argument);
    // A smaller stamp is fine: regions are clipped to it.
    const FeatureRegions small(41, 41, StampFeatureSpec{});
    std::vector<float> ims(3 * 41 * 41, 1.f);
    const auto f = dhs::kernels::compute_stamp_features(small, 3, ims, {}, 0, {}, {}, s);
    EXPECT_DOUBLE_EQ(f.band[0].outer_brightness, 1.0);
}

// numpy computes the same definitions from the same float32 stamp.
TEST(StampFeatures, AgreeWithNumpy) {
    if (!dhs::test::python_has("numpy")) GTEST_SKIP() << "/usr/bin/python3 with numpy is not installed";
    dhs::test::TempDir dir("stamp_features_");
    // One stamp with a NaN per band, one without (the kernel's two paths).
    const std::vector<std::vector<float>> stamps = {noisy_stamp(11), noisy_stamp(12, 0, false)};
    {
        std::ofstream f(dir.file("stamp.f32"), std::ios::binary);
        for (const auto& im : stamps)
            f.write(reinterpret_cast<const char*>(im.data()), static_cast<std::streamsize>(im.size() * sizeof(float)));
    }
    const std::string script = R"PY(
import sys
import numpy as np
stamps = np.fromfile(sys.argv[1], dtype=np.float32).reshape(-1, 3, 101, 101).astype(np.float64)
c = np.arange(101) - 50
yy, xx = np.meshgrid(c, c, indexing="ij")
r = np.hypot(xx, yy)
sect = np.floor((np.arctan2(yy, xx) + np.pi) / (2 * np.pi) * 8).astype(int) % 8
core, ann, out = r < 8, (r >= 4) & (r < 16), (r >= 16) & (r < 28)
for b in range(3 * len(stamps)):
    im = stamps[b // 3, b % 3]
    med = np.nanmedian(im)
    mad = np.nanmedian(np.abs(im - med))
    a = im[ann]
    secm = np.array([np.nanmean(im[ann & (sect == s)]) for s in range(8)])
    prof = [np.nanmedian(im[np.floor(r) == k]) for k in range(20)]
    vals = [np.nanmean(im[core]), np.nanmean(a), np.nanmean(im[out]), np.nanmax(a), np.nanstd(a), secm.std(), mad,
            np.nanmean(im[core]) / np.nanmean(im[out])] + prof
    print(" ".join("%.17g" % v for v in vals))
)PY";
    const auto out = dhs::test::run_python(dir.path(), "features.py", script, {dir.file("stamp.f32")});
    ASSERT_TRUE(out.has_value());
    std::istringstream in(*out);
    for (const auto& im : stamps) {
        const auto o = run(im);
        for (int b = 0; b < kBands; ++b) {
            std::vector<double> ref(28);
            for (auto& v : ref) in >> v;
            const BandFeatures& f = o.f.band[b];
            const double mine[8] = {f.core_brightness,     f.annulus_brightness, f.outer_brightness, f.annulus_max,
                                    f.annulus_std,         f.azimuthal_asymmetry, f.mad,             f.radial_gradient};
            for (int k = 0; k < 8; ++k) EXPECT_NEAR(mine[k], ref[k], 1e-9 * std::max(1.0, std::fabs(ref[k]))) << k << " band " << b;
            for (int k = 0; k < 20; ++k) EXPECT_FLOAT_EQ(o.profile[b * 20 + k], static_cast<float>(ref[8 + k])) << k;
        }
    }
}

}  // namespace
