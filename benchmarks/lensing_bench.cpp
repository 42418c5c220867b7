// Google Benchmark of kernels/ray_shooting: render_lensed of a 101x101 stamp at 4x4 oversampling
// (404x404 rays) through an SIE + external shear, for a few sources defined here (Gaussian,
// exponential, Sersic n in [0.7, 2.5] as shared/bench/limits/injc.c) through the generic double
// renderer, plus the lens alone (trivial source) and the source alone (no lens); and the fast
// Sersic renderer (SersicProfile overloads: float32 SIMD, truncation, block skipping) on the same
// cases, by SIMD width, with and without skipping, and for three bands at once. Parameters are drawn like injc.c's and cycled.
// Reports ns_per_os_pixel (ns per oversampled pixel = per ray; injc.c: 9.1 ns) and renders/s
// (items_per_second); BM_RayShootRow/<lanes> times the lens equation alone per SIMD kernel width.
// Units: arcsec, nanomaggies.
#include <benchmark/benchmark.h>

#include <cmath>
#include <numbers>
#include <random>
#include <vector>

#include "kernels/rendering/fft_convolve.hpp"
#include "kernels/rendering/psf.hpp"
#include "kernels/lensing/ray_shooting.hpp"

namespace {

using dhs::kernels::SieLens;
using dhs::kernels::SieParams;
using dhs::kernels::StampGeometry;

constexpr int kOversample = 4;
constexpr double kPi = std::numbers::pi;

// Elliptical source geometry: r = sqrt(q u^2 + v^2 / q) (intermediate-axis radius, as injc.c).
struct EllipticalFrame {
    double x0, y0, c, s, q;
    double radius2(double x, double y) const {
        const double dx = x - x0, dy = y - y0;
        const double u = c * dx + s * dy, v = -s * dx + c * dy;
        return q * u * u + v * v / q;
    }
};

struct GaussianSource {
    EllipticalFrame f;
    double amp, inv2s2;  // flux / (2 pi sigma^2), 1 / (2 sigma^2)
    double surface_brightness(double x, double y) const { return amp * std::exp(-f.radius2(x, y) * inv2s2); }
};

struct ExponentialSource {  // Sersic n = 1
    EllipticalFrame f;
    double amp, b_over_re;
    double surface_brightness(double x, double y) const {
        return amp * std::exp(-b_over_re * std::sqrt(f.radius2(x, y)));
    }
};

struct SersicSource {  // general n: exp(-b_n ((r/re)^(1/n) - 1)), the power as exp(log) like injc.c
    EllipticalFrame f;
    double amp, bn, inv_re2, half_inv_n;
    double surface_brightness(double x, double y) const {
        return amp * std::exp(-bn * (std::exp(half_inv_n * std::log(f.radius2(x, y) * inv_re2)) - 1.0));
    }
};

struct TrivialSource {  // the lens alone: keeps the ray but costs ~nothing
    double surface_brightness(double x, double y) const { return x * y; }
};

struct Case {
    SieLens lens;
    EllipticalFrame frame;
    double n, re;
};

const std::vector<Case>& cases() {
    static const std::vector<Case> all = [] {
        std::mt19937_64 rng(5);
        auto u = [&rng](double a, double b) { return std::uniform_real_distribution<double>(a, b)(rng); };
        std::vector<Case> v;
        for (int i = 0; i < 64; ++i) {
            const SieParams p{.theta_e = u(0.8, 2.5), .q = u(0.5, 0.95), .phi = u(0, kPi),
                              .gamma_ext = u(0.0, 0.07), .phi_ext = u(0, kPi)};
            const double phis = u(0, kPi);
            v.push_back({SieLens(p), {u(-0.3, 0.3), u(-0.3, 0.3), std::cos(phis), std::sin(phis), u(0.4, 0.95)},
                         u(0.7, 2.5), u(0.15, 0.6)});
        }
        return v;
    }();
    return all;
}

// ns_per_os_pixel: CPU ns per oversampled pixel (= per ray), printed in seconds with an SI prefix
// ("17.4n" is 17.4 ns).
void set_counters(benchmark::State& state, double rays_per_iteration) {
    state.counters["ns_per_os_pixel"] = benchmark::Counter(
        rays_per_iteration, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

template <class MakeSource>
void run(benchmark::State& state, MakeSource make, bool lensed) {
    const StampGeometry g{};
    std::vector<float> img(g.size());
    std::size_t k = 0;
    for (auto _ : state) {
        const Case& c = cases()[k++ % cases().size()];
        const auto src = make(c);
        if (lensed) {
            benchmark::DoNotOptimize(dhs::kernels::render_lensed(c.lens, src, g, kOversample, img));
        } else {
            benchmark::DoNotOptimize(dhs::kernels::render_unlensed(src, g, kOversample, img));
        }
        benchmark::ClobberMemory();
    }
    set_counters(state, static_cast<double>(g.size()) * kOversample * kOversample);
    state.SetItemsProcessed(state.iterations());  // renders/s
}

// The lens equation alone on the 404 x 404 rays of a stamp, with a chosen kernel width (1 scalar,
// 2 SSE2/NEON, 4 AVX2, 8 AVX-512F); skipped where the CPU lacks it.
void BM_RayShootRow(benchmark::State& state) {
    const int lanes = static_cast<int>(state.range(0));
    const int n = 101 * kOversample;
    const double step = 0.262 / kOversample, origin = -0.5 * (n - 1) * step;
    std::vector<double> bx(n), by(n);
    if (!dhs::kernels::detail::sie_ray_shoot_row_lanes(cases()[0].lens, lanes, origin, step, 0, n, 0.0, bx.data(),
                                                       by.data())) {
        state.SkipWithError("kernel width not available on this CPU");
        return;
    }
    std::size_t k = 0;
    for (auto _ : state) {
        const SieLens& lens = cases()[k++ % cases().size()].lens;
        for (int j = 0; j < n; ++j)
            dhs::kernels::detail::sie_ray_shoot_row_lanes(lens, lanes, origin, step, 0, n, origin + j * step, bx.data(),
                                                          by.data());
        benchmark::DoNotOptimize(bx.data());
        benchmark::DoNotOptimize(by.data());
        benchmark::ClobberMemory();
    }
    set_counters(state, static_cast<double>(n) * n);
}

GaussianSource gaussian(const Case& c) {
    return {c.frame, 1.0 / (2 * kPi * c.re * c.re), 1.0 / (2 * c.re * c.re)};
}
ExponentialSource exponential(const Case& c) { return {c.frame, 1.0, 1.6783469900166612 / c.re}; }
SersicSource sersic(const Case& c) {
    const double bn = 2 * c.n - 1.0 / 3 + 4.0 / (405 * c.n) + 46.0 / (25515 * c.n * c.n);
    return {c.frame, 1.0, bn, 1.0 / (c.re * c.re), 0.5 / c.n};
}

void BM_LensedGaussian(benchmark::State& s) { run(s, gaussian, true); }
void BM_LensedExponential(benchmark::State& s) { run(s, exponential, true); }
void BM_LensedSersic(benchmark::State& s) { run(s, sersic, true); }
void BM_LensOnly(benchmark::State& s) { run(s, [](const Case&) { return TrivialSource{}; }, true); }
void BM_UnlensedSersic(benchmark::State& s) { run(s, sersic, false); }

// The fast Sersic renderer (render_lensed on a SersicProfile: float32 SIMD, truncated profile,
// block skipping) on the same cases: r_e along the major axis = injc's intermediate-axis radius /
// sqrt(q). Arguments: SIMD lanes (0: widest), block skipping (1) or not (0), lens (1) or none (0).
dhs::kernels::SersicProfile profile(const Case& c) {
    const double phi = std::atan2(c.frame.s, c.frame.c);
    return dhs::kernels::SersicProfile(1.0, c.re / std::sqrt(c.frame.q), c.n, {c.frame.q, phi}, c.frame.x0, c.frame.y0);
}

void BM_FastLensedSersic(benchmark::State& state) {
    const StampGeometry g{};
    std::vector<float> img(g.size());
    const dhs::kernels::detail::SersicRenderOptions opt{.lanes = static_cast<int>(state.range(0)),
                                                       .skip_blocks = state.range(1) != 0};
    if (opt.lanes > dhs::kernels::detail::sersic_render_widest_lanes()) {
        state.SkipWithError("lane width not available on this CPU");
        return;
    }
    std::vector<dhs::kernels::SersicProfile> profiles;
    for (const Case& c : cases()) profiles.push_back(profile(c));
    const double w = 1.0;
    std::size_t k = 0;
    for (auto _ : state) {
        const std::size_t i = k++ % cases().size();
        benchmark::DoNotOptimize(dhs::kernels::detail::render_sersic_components(
            state.range(2) ? &cases()[i].lens : nullptr, {&profiles[i], 1}, {&w, 1}, g, kOversample, img, opt));
        benchmark::ClobberMemory();
    }
    set_counters(state, static_cast<double>(g.size()) * kOversample * kOversample);
    state.SetItemsProcessed(state.iterations());
}

// One ray shoot, three bands (render_lensed_bands, weights F_g, F_r, F_z).
void BM_FastLensedSersic3Bands(benchmark::State& state) {
    const StampGeometry g{};
    std::vector<float> img(3 * g.size());
    std::vector<dhs::kernels::SersicProfile> profiles;
    for (const Case& c : cases()) profiles.push_back(profile(c));
    const double w[3] = {0.8, 1.0, 1.3};
    std::size_t k = 0;
    for (auto _ : state) {
        const std::size_t i = k++ % cases().size();
        benchmark::DoNotOptimize(dhs::kernels::render_lensed_bands(cases()[i].lens, {&profiles[i], 1}, w, g, kOversample, img));
        benchmark::ClobberMemory();
    }
    set_counters(state, static_cast<double>(g.size()) * kOversample * kOversample);
    state.SetItemsProcessed(state.iterations());
}

// A whole 3-band injection as injc.c's and stage_c_inject.py's "inject 3 bands": the fast render
// (101x101 at oversampling 4, unit flux), a 33x33 Moffat (beta 3.5; FWHM 1.5", 1.35", 1.25" in g,
// r, z) per band by FFT from one forward transform (FftConvolver::convolve_all), each band scaled
// by its flux and added into a 101x101x3 cutout (HWC, as injc.c).
void BM_Inject3Bands(benchmark::State& state) {
    const StampGeometry g{};
    const int n = g.width;
    std::vector<std::vector<float>> kernels;
    for (double fwhm : {1.5, 1.35, 1.25})
        kernels.push_back(dhs::kernels::psf_kernel(dhs::kernels::MoffatPsf::from_fwhm(fwhm, 3.5), 0.262, 16, 5));
    dhs::kernels::FftConvolver conv(n, n, kernels, 33);
    std::vector<dhs::kernels::SersicProfile> profiles;
    for (const Case& c : cases()) profiles.push_back(profile(c));
    std::vector<float> img(g.size()), planes(3 * g.size()), cutout(3 * g.size(), 0.0f);
    const float flux[3] = {1.0f, 1.3f, 1.6f};
    std::size_t k = 0;
    for (auto _ : state) {
        const std::size_t i = k++ % cases().size();
        dhs::kernels::render_lensed(cases()[i].lens, profiles[i], g, kOversample, img);
        conv.convolve_all(img, planes);
        for (int b = 0; b < 3; ++b)
            for (std::size_t p = 0; p < g.size(); ++p) cutout[p * 3 + b] += flux[b] * planes[b * g.size() + p];
        benchmark::DoNotOptimize(cutout.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations());  // injections/s
}

// Wall-clock time, as the Python and C baselines measure theirs (run_render.sh).
BENCHMARK(BM_FastLensedSersic)->Args({0, 1, 1})->Args({0, 0, 1})->Args({0, 0, 0})->Args({16, 1, 1})->Args({8, 1, 1})->Args({4, 1, 1})->Args({1, 1, 1})
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_FastLensedSersic3Bands)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Inject3Bands)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LensedGaussian)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LensedExponential)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LensedSersic)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LensOnly)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_UnlensedSersic)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RayShootRow)->Arg(1)->Arg(2)->Arg(4)->Arg(8)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
