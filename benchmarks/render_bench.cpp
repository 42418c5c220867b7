// Benchmarks of the light-profile and PSF kernels on DR10-sized stamps (101 x 101 px at
// 0.262"/px, a 33 x 33 PSF kernel): ns per Sersic evaluation, per rendered pixel (generic and
// fast Sersic renderer), and per convolved pixel (direct, separable Gaussian, FFT when built with
// FFTW, three bands from one transform, tiled FFT of a large image).
#include "kernels/rendering/confuser_profiles.hpp"
#include "kernels/rendering/fft_convolve.hpp"
#include "kernels/rendering/profile_render.hpp"
#include "kernels/rendering/psf.hpp"
#include "kernels/lensing/ray_shooting.hpp"
#include "kernels/rendering/sersic.hpp"

#include <benchmark/benchmark.h>

#include <vector>

namespace {

using namespace dhs::kernels;
constexpr int kStamp = 101;
constexpr double kPixel = 0.262;

void BM_SersicEvaluation(benchmark::State& state) {
    const SersicProfile p = SersicProfile::from_tractor(10.0, 0.6, static_cast<double>(state.range(0)) / 2, 0.2, -0.1);
    double sink = 0.0;
    for (auto _ : state) {
        for (int j = 0; j < 64; ++j)
            for (int i = 0; i < 64; ++i) sink += p.surface_brightness(0.03 * i - 1.0, 0.03 * j - 1.0);
        benchmark::DoNotOptimize(sink);
    }
    state.SetItemsProcessed(state.iterations() * 64 * 64);
}
BENCHMARK(BM_SersicEvaluation)->Arg(2)->Arg(8)->Arg(5);  // n = 1, 4 (sqrt chains), 2.5 (pow)

template <class Profile>
void render(benchmark::State& state, const Profile& p) {
    std::vector<float> image(kStamp * kStamp);
    const int oversample = static_cast<int>(state.range(0));
    for (auto _ : state) {
        benchmark::DoNotOptimize(accumulate_profile(p, image, kStamp, kStamp, kPixel, 50.0, 50.0, oversample));
    }
    state.SetItemsProcessed(state.iterations() * kStamp * kStamp);  // pixels
}
void BM_RenderSersicStamp(benchmark::State& state) {
    render(state, SersicProfile::from_tractor(10.0, 0.6, 1.0, 0.2, -0.1));
}
BENCHMARK(BM_RenderSersicStamp)->Arg(1)->Arg(4)->Arg(8);
void BM_RenderSpiralStamp(benchmark::State& state) { render(state, SpiralArmsProfile(SpiralArmsParams{})); }

// The same Sersic stamp through the fast float32 renderer (render_unlensed on a SersicProfile).
void BM_RenderSersicStampFast(benchmark::State& state) {
    const SersicProfile p = SersicProfile::from_tractor(10.0, 0.6, 1.0, 0.2, -0.1);
    const StampGeometry g{.width = kStamp, .height = kStamp, .pixel_scale = kPixel};
    std::vector<float> image(g.size());
    const int oversample = static_cast<int>(state.range(0));
    for (auto _ : state) benchmark::DoNotOptimize(render_unlensed(p, g, oversample, image));
    state.SetItemsProcessed(state.iterations() * kStamp * kStamp);  // pixels
}
BENCHMARK(BM_RenderSersicStampFast)->Arg(1)->Arg(4)->Arg(8);
BENCHMARK(BM_RenderSpiralStamp)->Arg(4);

std::vector<float> stamp() {
    std::vector<float> image(kStamp * kStamp, 0.0f);
    accumulate_profile(SersicProfile::from_tractor(10.0, 0.6, 1.0, 0.2, -0.1), image, kStamp, kStamp,
                       kPixel, 50.0, 50.0, 4);
    return image;
}

void BM_ConvolveDirect33(benchmark::State& state) {
    const std::vector<float> image = stamp();
    const std::vector<float> k = psf_kernel(Psf{MoffatPsf::from_fwhm(1.3, 3.5)}, kPixel, 16, 5);
    std::vector<float> out(image.size());
    for (auto _ : state) {
        convolve(image, kStamp, kStamp, k, 33, out);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() * kStamp * kStamp);  // output pixels
}
BENCHMARK(BM_ConvolveDirect33);

void BM_ConvolveSeparable33(benchmark::State& state) {
    const std::vector<float> image = stamp();
    const std::vector<float> k = gaussian_kernel_1d(GaussianPsf::from_fwhm(1.3), kPixel, 16);
    std::vector<float> out(image.size()), scratch(image.size());
    for (auto _ : state) {
        convolve_separable(image, kStamp, kStamp, k, k, out, scratch);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() * kStamp * kStamp);
}
BENCHMARK(BM_ConvolveSeparable33);

void BM_ConvolveFft33(benchmark::State& state) {
    const std::vector<float> image = stamp();
    const std::vector<float> k = psf_kernel(Psf{MoffatPsf::from_fwhm(1.3, 3.5)}, kPixel, 16, 5);
    FftConvolver conv(kStamp, kStamp, k, 33);
    std::vector<float> out(image.size());
    for (auto _ : state) {
        conv.convolve(image, out);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() * kStamp * kStamp);
    state.SetLabel("fftw");
}
BENCHMARK(BM_ConvolveFft33);

// Three bands' Moffat kernels (FWHM 1.5", 1.35", 1.25") from one forward transform.
void BM_ConvolveFftAll3Bands33(benchmark::State& state) {
    const std::vector<float> image = stamp();
    std::vector<std::vector<float>> ks;
    for (double fwhm : {1.5, 1.35, 1.25}) ks.push_back(psf_kernel(Psf{MoffatPsf::from_fwhm(fwhm, 3.5)}, kPixel, 16, 5));
    FftConvolver conv(kStamp, kStamp, ks, 33);
    std::vector<float> out(3 * image.size());
    for (auto _ : state) {
        conv.convolve_all(image, out);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() * 3 * kStamp * kStamp);  // output pixels
}
BENCHMARK(BM_ConvolveFftAll3Bands33);

// A whole 1200 x 1200 image with a 33 x 33 Moffat, tiled FFT (as the mock sky's coadds).
void BM_ConvolveFftTiled1200(benchmark::State& state) {
    const int n = 1200;
    std::vector<float> image(static_cast<std::size_t>(n) * n, 0.0f), out(image.size());
    for (std::size_t i = 0; i < image.size(); i += 997) image[i] = 1.0f;
    const std::vector<float> k = psf_kernel(Psf{MoffatPsf::from_fwhm(1.3, 3.5)}, kPixel, 16, 5);
    for (auto _ : state) {
        convolve_fft_tiled(image, n, n, k, 33, out, static_cast<int>(state.range(0)));
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() * n * n);
}
BENCHMARK(BM_ConvolveFftTiled1200)->Arg(128)->Arg(256)->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond);

void BM_MoffatKernel33(benchmark::State& state) {
    const Psf psf = MoffatPsf::from_fwhm(1.3, 3.5);
    for (auto _ : state) benchmark::DoNotOptimize(psf_kernel(psf, kPixel, 16, 5));
}
BENCHMARK(BM_MoffatKernel33);

}  // namespace

BENCHMARK_MAIN();
