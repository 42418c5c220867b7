// Hand-built stamp files for the validation stage's tests and benchmark (header-only, test
// code only): a cutouts.h5 with group /stamps (image, invvar, maskbits, target_set, galaxy_id,
// split, size_ok) and an injections.h5 with group /injections (image, injection, invvar,
// injection_id, is_control), laid out as the cutouts and inject stages write them. Galaxies
// are elliptical Gaussians of log-normal brightness with Gaussian noise of log-normal depth;
// lenses and injections add a compact 30-degree arc at 11-15 px. Switches plant shortcuts (brighter cores, noisier stamps) and
// bad stamps (NaN core, saturated core, wrong size flag, NaN edge). Deterministic in the seed.
#pragma once

#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "core/hdf5/result_file.hpp"
#include "core/table/table.hpp"

namespace dhs::test {

struct StampFixture {
    int positives = 60, negatives = 120, hosts = 6;  ///< cutouts.h5 rows by target_set
    int injections = 60, controls = 60;              ///< injections.h5 rows
    bool core_shortcut = false;    ///< positives and injections get 1.5x brighter galaxies (a core shortcut)
    bool noise_shortcut = false;   ///< positives and injections get 1.8x the noise (a noise shortcut)
    bool bad_stamps = true;        ///< negatives 3, 5, 7, 9: NaN core, SATUR_R core, size_ok false, NaN edge
    bool injection_split = false;  ///< write a split column into injections.h5 (else none: hashed fallback)
    std::string bogus_target_at;   ///< non-empty: this target_set value at cutouts row 150 (a bad row)
    unsigned seed = 2024;
    int size = 101;
};

inline constexpr int kFixtureBands = 3;

// One stamp (3 x size x size): galaxy of peak `amp` (random axis ratio and angle) + noise of
// sigma `noise_sigma` (per band times the band's colour) + optionally a compact arc (30 degrees
// of a ring at radius 11-15 px, 3 sigma per pixel: it lifts one azimuthal sector, barely the
// stamp's MAD or the central 16 x 16 box).
inline void draw_stamp(std::vector<float>& out, std::size_t offset, int size, std::mt19937_64& rng, double amp,
                       bool arc, double noise_sigma) {
    std::normal_distribution<double> g(0, 1);
    std::uniform_real_distribution<double> u(0, 1);
    const double q = 0.8 + 0.2 * u(rng), t = std::numbers::pi * u(rng);
    const double arc_phi = 2 * std::numbers::pi * u(rng), arc_r = 11 + 4 * u(rng);
    const double sig = 2.5, ct = std::cos(t), st = std::sin(t);
    const double colour[kFixtureBands] = {0.5, 1.0, 1.5}, arc_colour[kFixtureBands] = {1.2, 1.0, 0.7};
    const int c = size / 2;
    for (int b = 0; b < kFixtureBands; ++b)
        for (int y = 0; y < size; ++y)
            for (int x = 0; x < size; ++x) {
                const double dx = x - c, dy = y - c;
                const double xr = dx * ct + dy * st, yr = (-dx * st + dy * ct) / q;
                double v = amp * colour[b] * std::exp(-(xr * xr + yr * yr) / (2 * sig * sig));
                if (arc) {
                    const double r = std::hypot(dx, dy);
                    const double dphi = std::remainder(std::atan2(dy, dx) - arc_phi, 2 * std::numbers::pi);
                    if (std::fabs(dphi) < std::numbers::pi / 12)
                        v += 3.0 * noise_sigma * arc_colour[b] * std::exp(-(r - arc_r) * (r - arc_r) / (2 * 0.64));
                }
                out[offset + (static_cast<std::size_t>(b) * size + y) * size + x] =
                    static_cast<float>(v + noise_sigma * colour[b] * g(rng));
            }
}

// An empty HDF5 file (ResultAppender opens existing files only).
inline void create_empty_h5(const std::string& path) {
    const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
}

// Writes cutouts.h5 (if any cutout rows) and injections.h5 (if any injection rows) into dir.
inline void write_stamp_fixture(const std::string& dir, const StampFixture& fx) {
    std::mt19937_64 rng(fx.seed);
    std::lognormal_distribution<double> amp(std::log(0.5), 0.15);
    std::lognormal_distribution<double> depth(0.0, 0.15);  // per-stamp noise scatter (survey depth)
    const std::size_t cell = static_cast<std::size_t>(kFixtureBands) * fx.size * fx.size;
    const std::size_t plane = static_cast<std::size_t>(fx.size) * fx.size;
    const int c = fx.size / 2;
    const double noise = 0.01;
    const char* splits[10] = {"train", "train", "train", "train", "train", "train", "val", "test", "test", "test"};

    const int ncut = fx.positives + fx.negatives + fx.hosts;
    if (ncut > 0) {
        std::vector<float> image(ncut * cell), invvar(ncut * cell, 1.0f / static_cast<float>(noise * noise));
        std::vector<std::int32_t> mask(ncut * plane, 0);
        std::vector<std::string> target(ncut), gid(ncut), split(ncut);
        std::vector<std::uint8_t> size_ok(ncut, 1);
        // Class layout: a positive at every i % 3 == 0 while they last, negatives between, hosts last.
        int np = 0, nn = 0;
        for (int i = 0; i < ncut; ++i) {
            if (i >= fx.positives + fx.negatives) target[i] = "hosts";
            else if (np < fx.positives && (i % 3 == 0 || nn >= fx.negatives)) target[i] = "positives", ++np;
            else target[i] = "negatives", ++nn;
        }
        nn = 0;
        for (int i = 0; i < ncut; ++i) {
            const bool pos = target[i] == "positives";
            const double a = amp(rng) * (pos && fx.core_shortcut ? 1.5 : 1.0);
            const double sigma = noise * depth(rng) * (pos && fx.noise_shortcut ? 1.8 : 1.0);
            draw_stamp(image, i * cell, fx.size, rng, a, pos, sigma);
            gid[i] = "gal_" + std::to_string(1000 + i);
            split[i] = splits[i % 10];
            if (target[i] == "negatives") {
                if (fx.bad_stamps) {
                    if (nn == 3) image[i * cell + plane + c * fx.size + c] = NAN;  // r-band centre
                    if (nn == 5) mask[i * plane + c * fx.size + c + 1] = 8;         // SATUR_R in the core
                    if (nn == 7) size_ok[i] = 0;
                    if (nn == 9)
                        for (int y = 0; y < 40; ++y)
                            for (int x = 0; x < 40; ++x)
                                for (int b = 0; b < kFixtureBands; ++b)
                                    image[i * cell + b * plane + y * fx.size + x] = NAN;  // 16% of the stamp
                }
                ++nn;
            }
        }
        if (!fx.bogus_target_at.empty() && ncut > 150) target[150] = fx.bogus_target_at;
        Table t;
        t.add(Column("image", image, {kFixtureBands, static_cast<std::size_t>(fx.size), static_cast<std::size_t>(fx.size)}));
        t.add(Column("invvar", invvar, {kFixtureBands, static_cast<std::size_t>(fx.size), static_cast<std::size_t>(fx.size)}));
        t.add(Column("maskbits", mask, {static_cast<std::size_t>(fx.size), static_cast<std::size_t>(fx.size)}));
        t.add(Column("target_set", target));
        t.add(Column("galaxy_id", gid));
        t.add(Column("split", split));
        t.add(Column("size_ok", size_ok, {}, DType::boolean));
        const std::string path = dir + "/cutouts.h5";
        create_empty_h5(path);
        hdf5::ResultAppender app(path);
        app.write_table("/stamps", t);
        app.set_attribute("/stamps/image", "layout", std::string("NCHW"));
        app.close();
    }

    const int ninj = fx.injections + fx.controls;
    if (ninj > 0) {
        std::vector<float> image(ninj * cell), injection(ninj * cell, 0.0f),
            invvar(ninj * cell, 1.0f / static_cast<float>(noise * noise));
        std::vector<std::string> id(ninj), split(ninj);
        std::vector<std::uint8_t> control(ninj);
        for (int i = 0; i < ninj; ++i) {
            // Alternating while both last, then the class that remains.
            const int pairs = std::min(fx.injections, fx.controls);
            control[i] = i < 2 * pairs ? i % 2 == 1 : fx.controls > fx.injections;
            const bool inj = !control[i];
            const double a = amp(rng) * (inj && fx.core_shortcut ? 1.5 : 1.0);
            const double sigma = noise * depth(rng) * (inj && fx.noise_shortcut ? 1.8 : 1.0);
            draw_stamp(image, i * cell, fx.size, rng, a, inj, sigma);
            id[i] = "inj_" + std::to_string(i);
            split[i] = splits[i % 10];
        }
        Table t;
        t.add(Column("image", image, {kFixtureBands, static_cast<std::size_t>(fx.size), static_cast<std::size_t>(fx.size)}));
        t.add(Column("injection", injection, {kFixtureBands, static_cast<std::size_t>(fx.size), static_cast<std::size_t>(fx.size)}));
        t.add(Column("invvar", invvar, {kFixtureBands, static_cast<std::size_t>(fx.size), static_cast<std::size_t>(fx.size)}));
        t.add(Column("injection_id", id));
        t.add(Column("is_control", control, {}, DType::boolean));
        if (fx.injection_split) t.add(Column("split", split));
        const std::string path = dir + "/injections.h5";
        create_empty_h5(path);
        hdf5::ResultAppender app(path);
        app.write_table("/injections", t);
        app.close();
    }
}

}  // namespace dhs::test
