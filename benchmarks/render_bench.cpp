// Benchmarks of the light-profile and PSF kernels on DR10-sized stamps (101 x 101 px at
// 0.262"/px, a 33 x 33 PSF kernel): ns per Sersic evaluation, per rendered pixel, and per
// convolved pixel (direct, separable Gaussian, FFT when built with FFTW).
#include "kernels/confuser_profiles.hpp"
#include "kernels/fft_convolve.hpp"
#include "kernels/profile_render.hpp"
#include "kernels/psf.hpp"
#include "kernels/sersic.hpp"

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
    state.SetLabel(fft_available() ? "fftw" : "no FFTW: direct fallback");
}
BENCHMARK(BM_ConvolveFft33);

void BM_MoffatKernel33(benchmark::State& state) {
    const Psf psf = MoffatPsf::from_fwhm(1.3, 3.5);
    for (auto _ : state) benchmark::DoNotOptimize(psf_kernel(psf, kPixel, 16, 5));
}
BENCHMARK(BM_MoffatKernel33);

}  // namespace

BENCHMARK_MAIN();
