// Tests of kernels/learn/preprocess: raw_robust + dihedral + shifted crop on real DECam pixels
// (legacypipe testcase6, g/r/z 101x101 cutouts with their invvar) against a literal numpy
// transcription of SPEC.md Stage 5, NaN / all-NaN / constant bands, the D4 group, the
// augmentation draws' determinism and ranges, and the per-pixel noise's sigma.
#include <fitsio.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/learn/preprocess.hpp"
#include "tests/support/python_support.hpp"
#include "tests/support/test_support.hpp"

namespace {

using dhs::learn::AugmentDraw;
using dhs::learn::AugmentSpec;
using dhs::learn::PreprocessSpec;

constexpr int kSize = 101, kBands = 3, kCrop = 64;
constexpr std::size_t kBandPix = static_cast<std::size_t>(kSize) * kSize;

const char* const kTestcase6 = "data/real/legacypipe/testcase6/images/decam/CP/V4.8.2a/";
// A real g, r, z triple of 101x101 DECam cutouts (CCD S9), with inverse variances.
const char* const kBandFiles[kBands] = {"CP20181213/c4d_181214_050844_%s_g_ls9.S9.fits",
                                        "CP20181214/c4d_181215_051332_%s_r_ls9.S9.fits",
                                        "CP20181214/c4d_181215_045000_%s_z_ls9.S9.fits"};

// The 101x101 float image of the first image HDU after the (empty) primary one.
std::vector<float> read_fits_image(const std::string& path) {
    fitsfile* f = nullptr;
    int status = 0, type = 0;
    fits_open_file(&f, path.c_str(), READONLY, &status);
    fits_movabs_hdu(f, 2, &type, &status);
    long naxes[2] = {0, 0};
    fits_get_img_size(f, 2, naxes, &status);
    std::vector<float> pix(static_cast<std::size_t>(naxes[0] * naxes[1]));
    int anynul = 0;
    fits_read_img(f, TFLOAT, 1, static_cast<LONGLONG>(pix.size()), nullptr, pix.data(), &anynul, &status);
    int s2 = 0;
    if (f != nullptr) fits_close_file(f, &s2);
    if (status != 0 || naxes[0] != kSize || naxes[1] != kSize) throw std::runtime_error("cannot read " + path);
    return pix;
}

// The real (3, 101, 101) stamp: `kind` "ooi" (image, electrons) or "oow" (invvar).
std::vector<float> real_stamp(const char* kind) {
    std::vector<float> stamp;
    for (const char* pattern : kBandFiles) {
        char name[256];
        std::snprintf(name, sizeof name, pattern, kind);
        const auto band = read_fits_image(dhs::test::shared_path(std::string(kTestcase6) + name));
        stamp.insert(stamp.end(), band.begin(), band.end());
    }
    return stamp;
}

void write_floats(const std::string& path, const std::vector<float>& v) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
}

std::vector<float> read_floats(const std::string& path) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    std::vector<float> v(static_cast<std::size_t>(in.tellg()) / sizeof(float));
    in.seekg(0);
    in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
    return v;
}

// A draw applied with augmentation on (no noise).
AugmentSpec geometric_aug() {
    AugmentSpec aug;
    aug.enabled = true;
    aug.max_shift_px = 4;
    return aug;
}

int prepare(const std::vector<float>& image, const AugmentSpec& aug, const AugmentDraw& draw, std::vector<float>& out,
            const std::vector<float>& invvar = {}, PreprocessSpec pre = {}) {
    std::vector<float> scratch;
    out.assign(static_cast<std::size_t>(kBands) * pre.crop * pre.crop, -999.0f);
    return dhs::learn::prepare_stamp(image, invvar, kBands, kSize, kSize, pre, aug, draw, out, scratch);
}

// SPEC.md Stage 5 written out in numpy: per band m = median, s = 1.4826 MAD of the finite pixels
// at r >= 30 px from ((w-1)/2, (h-1)/2); clip((x - m)/s, -50, 50), non-finite -> 0, a band with
// s = 0 or no finite pixel -> 0 (flagged); numpy.rot90(k) then fliplr; crop at 18 + shift
// (clamped). Args: triples of (input, output, "d,sx,sy"); prints the flagged band count per case.
const char* const kNumpyReference = R"PY(
import sys
import numpy as np

def raw_robust(img):
    c, h, w = img.shape
    yy, xx = np.mgrid[0:h, 0:w]
    r = np.hypot(xx - (w - 1) / 2.0, yy - (h - 1) / 2.0)
    out = np.zeros((c, h, w), dtype=np.float64)
    flagged = 0
    for b in range(c):
        band = img[b].astype(np.float64)
        v = band[(r >= 30.0) & np.isfinite(band)]
        if v.size == 0:
            flagged += 1
            continue
        m = np.median(v)
        s = 1.4826 * np.median(np.abs(v - m))
        if s == 0:
            flagged += 1
            continue
        x = np.clip((band - m) / s, -50.0, 50.0)
        x[~np.isfinite(band)] = 0.0
        out[b] = x
    return out, flagged

def dihedral(img, d):
    out = np.rot90(img, d % 4, axes=(1, 2))
    return np.flip(out, axis=2) if d >= 4 else out

args = sys.argv[1:]
for i in range(0, len(args), 3):
    d, sx, sy = (int(t) for t in args[i + 2].split(","))
    img = np.fromfile(args[i], dtype=np.float32).reshape(3, 101, 101)
    norm, flagged = raw_robust(img)
    t = dihedral(norm, d)
    off = (101 - 64) // 2
    oy = min(max(off + sy, 0), 101 - 64)
    ox = min(max(off + sx, 0), 101 - 64)
    np.ascontiguousarray(t[:, oy:oy + 64, ox:ox + 64], dtype=np.float32).tofile(args[i + 1])
    print(flagged)
)PY";

struct ReferenceCase {
    std::string name;
    std::vector<float> image;
    AugmentDraw draw;
};

TEST(LearnPreprocess, MatchesNumpyTranscriptionOfSpecOnRealStamps) {
    if (!dhs::test::python_has("numpy")) GTEST_SKIP() << "python3 with numpy is not available";
    const auto real = real_stamp("ooi");

    std::vector<ReferenceCase> cases;
    cases.push_back({"real", real, {}});
    for (int d = 1; d < 8; ++d) cases.push_back({"real_d" + std::to_string(d), real, {d, d - 4, 3 - d, 0}});
    cases.push_back({"real_shift_clamped", real, {5, 40, -40, 0}});
    auto holes = real;  // NaN / Inf pixels in the annulus and the core of every band
    for (int b = 0; b < kBands; ++b)
        for (std::size_t i = 0; i < kBandPix; i += 37 + b) holes[b * kBandPix + i] = std::numeric_limits<float>::quiet_NaN();
    holes[kBandPix * 1 + 50 * kSize + 50] = std::numeric_limits<float>::infinity();
    holes[kBandPix * 2 + 3 * kSize + 4] = -std::numeric_limits<float>::infinity();
    cases.push_back({"nan_pixels", holes, {2, 1, -1, 0}});
    auto dead = real;  // band g all NaN, band z constant: both zeroed and flagged
    std::fill(dead.begin(), dead.begin() + kBandPix, std::numeric_limits<float>::quiet_NaN());
    std::fill(dead.begin() + 2 * kBandPix, dead.end(), 7.5f);
    cases.push_back({"dead_bands", dead, {}});

    dhs::test::TempDir dir("learn_preprocess_");
    std::vector<std::string> args;
    std::vector<std::vector<float>> outputs;
    std::vector<int> flagged;
    for (std::size_t k = 0; k < cases.size(); ++k) {
        std::vector<float> out;
        flagged.push_back(prepare(cases[k].image, geometric_aug(), cases[k].draw, out));
        outputs.push_back(out);
        const auto in = dir.file(cases[k].name + ".in.f32");
        write_floats(in, cases[k].image);
        args.insert(args.end(), {in, dir.file(cases[k].name + ".ref.f32"),
                                 std::to_string(cases[k].draw.dihedral) + "," + std::to_string(cases[k].draw.shift_x) +
                                     "," + std::to_string(cases[k].draw.shift_y)});
    }
    const auto stdout_text = dhs::test::run_python(dir.path(), "reference.py", kNumpyReference, args);
    ASSERT_TRUE(stdout_text.has_value()) << "the numpy reference failed";
    std::istringstream ref_flags(*stdout_text);
    for (std::size_t k = 0; k < cases.size(); ++k) {
        SCOPED_TRACE(cases[k].name);
        int ref_flagged = -1;
        ref_flags >> ref_flagged;
        EXPECT_EQ(flagged[k], ref_flagged);
        const auto ref = read_floats(dir.file(cases[k].name + ".ref.f32"));
        ASSERT_EQ(ref.size(), outputs[k].size());
        double worst = 0;
        for (std::size_t i = 0; i < ref.size(); ++i)
            worst = std::max(worst, std::abs(double(outputs[k][i]) - ref[i]) / std::max(1.0, std::abs(double(ref[i]))));
        EXPECT_LT(worst, 1e-5);
    }
    EXPECT_EQ(flagged[0], 0);
    EXPECT_EQ(flagged.back(), 2);
    // The zeroed bands of "dead_bands" are exactly zero; the real band r is not.
    const auto& dead_out = outputs.back();
    EXPECT_TRUE(std::all_of(dead_out.begin(), dead_out.begin() + kCrop * kCrop, [](float v) { return v == 0.0f; }));
    EXPECT_TRUE(std::any_of(dead_out.begin() + kCrop * kCrop, dead_out.begin() + 2 * kCrop * kCrop,
                            [](float v) { return v != 0.0f; }));
}

TEST(LearnPreprocess, RawRobustBandClosedForm) {
    // Annulus pixels 0..3 repeated: median 1.5, MAD 1 -> s = 1.4826; the core is 100.
    std::vector<float> band(kBandPix);
    std::size_t k = 0;
    for (int y = 0; y < kSize; ++y)
        for (int x = 0; x < kSize; ++x) {
            const double r = std::hypot(x - 50.0, y - 50.0);
            band[y * kSize + x] = r >= 30.0 ? static_cast<float>(k++ % 4) : 100.0f;
        }
    ASSERT_EQ(k % 4, 0u) << "need equal counts of 0..3 for the closed form";
    std::vector<float> scratch;
    ASSERT_TRUE(dhs::learn::raw_robust_band(band.data(), kSize, kSize, {}, scratch));
    EXPECT_NEAR(band[50 * kSize + 50], std::min(50.0, (100 - 1.5) / 1.4826), 1e-5);
    EXPECT_NEAR(band[0], (0 - 1.5) / 1.4826, 1e-6);
}

TEST(LearnPreprocess, DihedralSourcesAreTheEightElementsOfD4) {
    const int n = 7;
    // Each element as the image of the n*n pixel indices.
    auto perm = [&](int d) {
        std::vector<int> p(n * n);
        for (int y = 0; y < n; ++y)
            for (int x = 0; x < n; ++x) {
                const auto [sy, sx] = dhs::learn::dihedral_source(d, n, y, x);
                EXPECT_TRUE(sy >= 0 && sy < n && sx >= 0 && sx < n);
                p[y * n + x] = sy * n + sx;
            }
        return p;
    };
    std::vector<std::vector<int>> elements;
    for (int d = 0; d < 8; ++d) elements.push_back(perm(d));
    EXPECT_EQ(std::set<std::vector<int>>(elements.begin(), elements.end()).size(), 8u);
    for (int i = 0; i < n * n; ++i) EXPECT_EQ(elements[0][i], i);
    // Composition: out_b(out_a(in)) reads in[p_a[p_b[i]]]; closed, with rot^4 = flip^2 = identity.
    auto compose = [&](const std::vector<int>& a, const std::vector<int>& b) {
        std::vector<int> c(n * n);
        for (int i = 0; i < n * n; ++i) c[i] = a[b[i]];
        return c;
    };
    for (int a = 0; a < 8; ++a)
        for (int b = 0; b < 8; ++b)
            EXPECT_NE(std::find(elements.begin(), elements.end(), compose(elements[a], elements[b])), elements.end());
    auto r = elements[1];
    EXPECT_EQ(compose(r, r), elements[2]);
    EXPECT_EQ(compose(compose(r, r), r), elements[3]);
    EXPECT_EQ(compose(compose(compose(r, r), r), r), elements[0]);
    EXPECT_EQ(compose(elements[4], elements[4]), elements[0]);
    // numpy.rot90 turns counter-clockwise: the top-right pixel goes to the top-left.
    EXPECT_EQ(dhs::learn::dihedral_source(1, n, 0, 0), std::make_pair(0, n - 1));
}

TEST(LearnPreprocess, AugmentDrawsAreDeterministicAndCoverTheirRanges) {
    AugmentSpec aug = geometric_aug();
    aug.max_shift_px = 3;
    std::set<int> dihedrals, shifts;
    std::set<std::uint64_t> keys;
    for (std::int64_t row = 0; row < 400; ++row) {
        const auto d = dhs::learn::draw_augment(aug, 7, 2, row);
        const auto again = dhs::learn::draw_augment(aug, 7, 2, row);
        EXPECT_EQ(d.dihedral, again.dihedral);
        EXPECT_EQ(d.shift_x, again.shift_x);
        EXPECT_EQ(d.shift_y, again.shift_y);
        EXPECT_EQ(d.noise_key, again.noise_key);
        EXPECT_GE(d.shift_x, -3);
        EXPECT_LE(d.shift_x, 3);
        dihedrals.insert(d.dihedral);
        shifts.insert(d.shift_x);
        shifts.insert(d.shift_y);
        keys.insert(d.noise_key);
    }
    EXPECT_EQ(dihedrals.size(), 8u);
    EXPECT_EQ(shifts.size(), 7u);
    EXPECT_EQ(keys.size(), 400u);
    EXPECT_NE(dhs::learn::draw_augment(aug, 7, 2, 5).noise_key, dhs::learn::draw_augment(aug, 7, 3, 5).noise_key);
    EXPECT_NE(dhs::learn::draw_augment(aug, 7, 2, 5).noise_key, dhs::learn::draw_augment(aug, 8, 2, 5).noise_key);

    aug.rotations = false;
    for (std::int64_t row = 0; row < 50; ++row) EXPECT_EQ(dhs::learn::draw_augment(aug, 7, 2, row).dihedral, 0);
    aug.enabled = false;
    const auto off = dhs::learn::draw_augment(aug, 7, 2, 11);
    EXPECT_EQ(off.dihedral, 0);
    EXPECT_EQ(off.shift_x, 0);
    EXPECT_EQ(off.shift_y, 0);
    EXPECT_EQ(off.noise_key, 0u);
}

TEST(LearnPreprocess, NoiseIsReproducibleAndDisabledAugmentationIsTheIdentity) {
    const auto image = real_stamp("ooi"), invvar = real_stamp("oow");
    AugmentSpec aug = geometric_aug();
    aug.noise_scale = 1.0;
    const auto d5 = dhs::learn::draw_augment(aug, 3, 0, 5), d6 = dhs::learn::draw_augment(aug, 3, 0, 6);
    std::vector<float> a, b, c, plain, scored;
    prepare(image, aug, d5, a, invvar);
    prepare(image, aug, d6, c, invvar);
    prepare(image, aug, d5, b, invvar);
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
    EXPECT_NE(a, c);
    AugmentSpec quiet = aug;
    quiet.noise_scale = 0.0;
    prepare(image, quiet, d5, plain, {});
    EXPECT_NE(a, plain);  // noise changed something
    // Augmentation off: the draw is ignored (scoring path), invvar may be empty.
    AugmentSpec none;
    std::vector<float> identity;
    prepare(image, none, {}, identity);
    prepare(image, none, d5, scored);
    EXPECT_EQ(identity, scored);
}

TEST(LearnPreprocess, NoiseSigmaFollowsInvvar) {
    // One band: the annulus is a fixed ramp with invvar 0 (no noise, known m and s), the core is
    // 0 with invvar 1/9 (sigma 3) and noise_scale 0.5: sigma 1.5 before normalisation.
    std::vector<float> image(kBands * kBandPix, 0.0f), invvar(kBands * kBandPix, 0.0f);
    std::vector<float> annulus;
    std::vector<std::size_t> core;
    for (int y = 0; y < kSize; ++y)
        for (int x = 0; x < kSize; ++x) {
            const std::size_t i = y * kSize + x;
            for (int b = 0; b < kBands; ++b) image[b * kBandPix + i] = static_cast<float>(x - y);
            if (std::hypot(x - 50.0, y - 50.0) >= 30.0) {
                annulus.push_back(static_cast<float>(x - y));
            } else {
                if (std::hypot(x - 50.0, y - 50.0) < 25.0) core.push_back(i);
                for (int b = 0; b < kBands; ++b) {
                    image[b * kBandPix + i] = 0.0f;
                    invvar[b * kBandPix + i] = b == 2 ? std::numeric_limits<float>::quiet_NaN() : 1.0f / 9.0f;
                }
            }
        }
    auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        const std::size_t n = v.size();
        return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    };
    const double m = median({annulus.begin(), annulus.end()});
    std::vector<double> dev;
    for (float v : annulus) dev.push_back(std::abs(v - m));
    const double s = 1.4826 * median(dev);

    AugmentSpec aug;
    aug.enabled = true;
    aug.rotations = false;
    aug.noise_scale = 0.5;
    PreprocessSpec full;
    full.crop = kSize;
    std::vector<float> out;
    prepare(image, aug, dhs::learn::draw_augment(aug, 1, 0, 0), out, invvar, full);
    for (int b = 0; b < kBands; ++b) {
        double sum = 0, sum2 = 0;
        for (std::size_t i : core) {
            const double v = out[b * kBandPix + i] * s + m;  // back to raw units
            sum += v;
            sum2 += v * v;
        }
        const double mean = sum / core.size(), sd = std::sqrt(sum2 / core.size() - mean * mean);
        if (b == 2) {
            EXPECT_NEAR(sd, 0.0, 1e-4) << "no noise where invvar is not finite";
        } else {
            EXPECT_NEAR(mean, 0.0, 0.1) << "band " << b;
            EXPECT_NEAR(sd, 1.5, 0.06) << "band " << b;  // ~1900 pixels: 2% standard error
        }
    }
    // Bands 0 and 1 draw independent noise (the counter includes the band).
    EXPECT_NE(out[core[0]], out[kBandPix + core[0]]);
}

TEST(LearnPreprocess, RejectsBadShapes) {
    std::vector<float> image(kBands * kBandPix, 1.0f), out(kBands * kCrop * kCrop), scratch;
    const PreprocessSpec pre;
    AugmentSpec noisy;
    noisy.enabled = true;
    noisy.noise_scale = 1.0;
    EXPECT_THROW(dhs::learn::prepare_stamp(image, {}, kBands, kSize, kSize - 1, pre, {}, {}, out, scratch),
                 std::invalid_argument);
    EXPECT_THROW(dhs::learn::prepare_stamp(image, {}, kBands, kSize, kSize, pre, noisy, {}, out, scratch),
                 std::invalid_argument);
    std::vector<float> small(10);
    EXPECT_THROW(dhs::learn::prepare_stamp(image, {}, kBands, kSize, kSize, pre, {}, {}, small, scratch),
                 std::invalid_argument);
}

// The radix-selection median and MAD against a sort: ties (integer pixels), odd and even
// counts (stamps of 61 and 62 px), negative values and signed zeros, many seeds.
TEST(LearnPreprocess, RobustStatisticsMatchASortOnTiesAndEvenCounts) {
    const dhs::learn::PreprocessSpec spec;
    std::vector<float> scratch;
    for (int size : {61, 62, 101}) {
        for (std::uint64_t seed = 1; seed <= 40; ++seed) {
            std::vector<float> band(static_cast<std::size_t>(size * size));
            std::uint64_t x = seed * 0x9E3779B97F4A7C15ull;
            for (auto& v : band) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                const double u = static_cast<double>(x >> 11) / 9007199254740992.0;
                v = seed % 3 == 0 ? static_cast<float>(std::floor(u * 7) - 3)           // heavy ties
                    : seed % 3 == 1 ? static_cast<float>((u - 0.5) * 1e-3)               // small, both signs
                                    : (u < 0.3 ? -0.0f : static_cast<float>(u * 10));   // signed zeros
            }
            // Reference: the outer finite pixels, sorted; numpy's median; 1.4826 MAD.
            const double c = 0.5 * (size - 1);
            std::vector<double> outer;
            for (int yy = 0; yy < size; ++yy)
                for (int xx = 0; xx < size; ++xx)
                    if ((yy - c) * (yy - c) + (xx - c) * (xx - c) >= 900.0)
                        outer.push_back(band[static_cast<std::size_t>(yy * size + xx)]);
            auto median = [](std::vector<double> v) {
                std::sort(v.begin(), v.end());
                const std::size_t n = v.size();
                return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
            };
            const double m = median(outer);
            std::vector<double> dev;
            for (double v : outer) dev.push_back(static_cast<double>(static_cast<float>(std::abs(v - m))));
            const double sd = 1.4826 * median(dev);
            std::vector<float> got(band);
            const bool ok = dhs::learn::raw_robust_band(got.data(), size, size, spec, scratch);
            ASSERT_EQ(ok, sd > 0) << "size " << size << " seed " << seed;
            if (!ok) continue;
            for (std::size_t i = 0; i < band.size(); i += 97) {
                const double want = std::clamp((band[i] - m) / sd, -50.0, 50.0);
                ASSERT_NEAR(got[i], want, 1e-5 * std::max(1.0, std::abs(want))) << "size " << size << " seed " << seed;
            }
        }
    }
}

}  // namespace
