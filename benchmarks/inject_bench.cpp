// Benchmark of one injection as the `inject` stage does it (mpi_stages/inject/tasks.cpp), on
// the parameter distribution of shared/bench/limits/injc.c and pyref/stage_c_inject.py
// (theta_E 0.8-2.5", lens q 0.5-0.95, shear |g| <= 0.05, source offset <= 0.3", Sersic n 0.7-2.5,
// r_e 0.15-0.6", source q 0.4-0.95; g, r, z Moffat beta 3.5 FWHM 1.5 / 1.35 / 1.25"): SIE + shear
// ray shooting at 4 x 4 rays per pixel (adaptive refinement off, or on), a 33 x 33 PSF kernel per
// band (FFT), scaling to the band fluxes, the add to a 3-band host stamp, arc_snr, annulus S/N,
// tangential stretch and edge flux. Reports injections/s on one core (items_per_second).
//
//   bench_inject [google-benchmark flags]
//   bench_inject --make-fixture DIR N_HOSTS   writes DIR/sample.h5 (/hosts) and DIR/cutouts.h5
//                                             (/stamps): hosts of 7 PSF x 5 depth bins, noise + a
//                                             galaxy per 101x101x3 stamp (for run_inject.sh)
#include <benchmark/benchmark.h>
#include <hdf5.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "core/hdf5/result_file.hpp"
#include "kernels/injection/injection_metrics.hpp"
#include "kernels/injection/injection_render.hpp"
#include "kernels/injection/injection_source.hpp"

namespace {

namespace inj = dhs::kernels::injection;
using dhs::kernels::SieLens;
using dhs::kernels::SieParams;
using dhs::kernels::StampGeometry;

constexpr int S = 101;
constexpr std::size_t kPix = S * S;

struct Params {
    SieParams lens;
    double n, re, e, phi, x, y;
};

std::vector<Params> draw_params(int count) {
    std::mt19937_64 gen(5);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    auto U = [&](double a, double b) { return a + (b - a) * u(gen); };
    std::vector<Params> ps;
    for (int i = 0; i < count; ++i) {
        Params p;
        const double g1 = U(-0.05, 0.05), g2 = U(-0.05, 0.05);
        p.lens = {.theta_e = U(0.8, 2.5), .q = U(0.5, 0.95), .phi = U(0, std::numbers::pi),
                  .gamma_ext = std::hypot(g1, g2), .phi_ext = 0.5 * std::atan2(g2, g1)};
        p.x = U(-0.3, 0.3);
        p.y = U(-0.3, 0.3);
        const double qs = U(0.4, 0.95);
        p.e = (1 - qs) / (1 + qs);
        p.phi = U(0, std::numbers::pi);
        p.n = U(0.7, 2.5);
        p.re = U(0.15, 0.6);
        ps.push_back(p);
    }
    return ps;
}

void BM_Inject(benchmark::State& state) {
    const bool adaptive = state.range(0) != 0;
    const bool moffat = state.range(1) != 1;
    const bool new_psf = state.range(1) == 2;  // a new PSF set every injection (real hosts differ)
    const auto params = draw_params(256);
    std::mt19937_64 gen(1);
    std::normal_distribution<float> noise(0.0f, 0.01f);
    std::vector<float> host(3 * kPix), ivar(3 * kPix, 1e4f), image(3 * kPix), injection(3 * kPix);
    for (auto& v : host) v = noise(gen);
    StampGeometry g;
    const inj::RenderSettings settings{.oversample = 4, .max_oversample = adaptive ? 16 : 4};
    inj::PsfBandConvolver psfs(S, S, 0.262, 16);
    std::vector<dhs::kernels::Psf> psf;
    for (const double fwhm : {1.5, 1.35, 1.25})
        psf.push_back(moffat ? dhs::kernels::Psf(dhs::kernels::MoffatPsf::from_fwhm(fwhm, 3.5))
                             : dhs::kernels::Psf(dhs::kernels::GaussianPsf::from_fwhm(fwhm)));
    std::vector<float> bands(3 * kPix);
    const double flux[3] = {1.0, 1.0, 1.0};
    std::size_t k = 0;
    double check = 0;
    for (auto _ : state) {
        const Params& p = params[k++ % params.size()];
        const SieLens lens(p.lens);
        const inj::SersicSource src(1.0, p.re, p.n, p.e, p.phi, p.x, p.y);
        const auto lensed = inj::render_lensed_adaptive(lens, src, g, settings);
        if (new_psf)
            for (int b = 0; b < 3; ++b)
                psf[static_cast<std::size_t>(b)] = dhs::kernels::MoffatPsf::from_fwhm((1.5 - 0.1 * b) * (1 + 1e-3 * (k % 97)), 3.5);
        psfs.convolve(psf, lensed.image, bands);
        for (int b = 0; b < 3; ++b)
            for (std::size_t i = 0; i < kPix; ++i) {
                const float v = static_cast<float>(bands[b * kPix + i] * flux[b]);
                injection[b * kPix + i] = v;
                image[b * kPix + i] = host[b * kPix + i] + v;
            }
        const std::span<const float> inj_r(injection.data() + kPix, kPix), iv_r(ivar.data() + kPix, kPix),
            host_r(host.data() + kPix, kPix);
        check += inj::matched_filter_snr(inj_r, iv_r, host_r);
        check += inj::annulus_snr(inj_r, iv_r, host_r, S, S, 2, 10);
        check += inj::median_tangential_stretch(lens, g, lensed.image);
        check += inj::border_flux_fraction(lensed.image, S, S);
        check += inj::bad_pixel_fraction(image, ivar, S, S, 3);
        benchmark::DoNotOptimize(image.data());
    }
    benchmark::DoNotOptimize(check);
    state.SetItemsProcessed(state.iterations());
    state.SetLabel(std::string(adaptive ? "adaptive" : "os4") + (moffat ? ", Moffat 33x33" : ", Gaussian 33x33") +
                   (new_psf ? ", new PSF each" : ""));
}
// Args: adaptive sampling (0/1); PSF: 0 Moffat, 1 Gaussian, 2 Moffat with new FWHMs every injection.
BENCHMARK(BM_Inject)->Args({0, 0})->Args({1, 0})->Args({0, 1})->Args({0, 2})->Unit(benchmark::kMillisecond)->UseRealTime();

double ivar_of_depth(double depth) {
    const double sigma = std::pow(10.0, 9.0 - depth / 2.5) / 5.0;
    return 1.0 / (sigma * sigma);
}

int make_fixture(const std::string& dir, int n) {
    auto create = [](const std::string& path) {
        const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        if (f < 0) return false;
        H5Fclose(f);
        return true;
    };
    const std::string sample = dir + "/sample.h5", cutouts = dir + "/cutouts.h5";
    if (!create(sample) || !create(cutouts)) {
        std::fprintf(stderr, "cannot create %s/{sample,cutouts}.h5\n", dir.c_str());
        return 1;
    }
    std::vector<std::string> id, brick, split, set;
    std::vector<double> ra, dec, mg, mr, mz, pg, pr, pz, depth;
    std::vector<float> image(static_cast<std::size_t>(n) * 3 * kPix), invvar(image.size());
    std::vector<std::int32_t> mask(static_cast<std::size_t>(n) * kPix, 0);
    std::mt19937_64 gen(11);
    std::normal_distribution<double> noise(0.0, 1.0);
    for (int i = 0; i < n; ++i) {
        const int bin = i % 35, ip = bin / 5, id_ = bin % 5;
        const std::string b = "0001m00" + std::to_string(i % 4);
        id.push_back(b + "_" + std::to_string(i));
        brick.push_back(b);
        split.push_back(i % 3 ? "train" : "test");
        set.push_back("hosts");
        ra.push_back(0.1 + 1e-3 * i);
        dec.push_back(-0.2);
        const double r = 18.0 + 0.01 * (i % 200), fwhm = 0.9 + 0.15 * ip, dep = 22.5 + 0.5 * id_;
        mg.push_back(r + 1.5);
        mr.push_back(r);
        mz.push_back(r - 0.9);
        pg.push_back(fwhm + 0.1);
        pr.push_back(fwhm);
        pz.push_back(fwhm - 0.05);
        depth.push_back(ivar_of_depth(dep));
        const double sigma = std::pow(10.0, (22.5 - dep) / 2.5) / 5.0 / (1.5 * fwhm / 0.262);  // per pixel, roughly
        const dhs::kernels::SersicProfile gal(std::pow(10.0, (22.5 - r) / 2.5), 1.0, 4.0, {0.8, 0.5});
        for (int c = 0; c < 3; ++c) {
            std::span<float> plane(image.data() + (static_cast<std::size_t>(i) * 3 + c) * kPix, kPix);
            std::vector<float> galaxy(kPix);
            dhs::kernels::render_unlensed(gal, StampGeometry{}, 1, galaxy);
            std::copy(galaxy.begin(), galaxy.end(), plane.begin());
            for (auto& v : plane) v += static_cast<float>(sigma * noise(gen));
            std::fill_n(invvar.begin() + static_cast<std::ptrdiff_t>((static_cast<std::size_t>(i) * 3 + c) * kPix), kPix,
                        static_cast<float>(1.0 / (sigma * sigma)));
        }
    }
    dhs::Table h;
    h.add(dhs::Column("galaxy_id", id));
    h.add(dhs::Column("brickname", brick));
    h.add(dhs::Column("ra", ra));
    h.add(dhs::Column("dec", dec));
    h.add(dhs::Column("split", split));
    h.add(dhs::Column("mag_g", mg));
    h.add(dhs::Column("mag_r", mr));
    h.add(dhs::Column("mag_z", mz));
    h.add(dhs::Column("psfsize_g", pg));
    h.add(dhs::Column("psfsize_r", pr));
    h.add(dhs::Column("psfsize_z", pz));
    h.add(dhs::Column("psfdepth_r", depth));
    dhs::hdf5::ResultAppender a(sample);
    a.write_table("/hosts", h);
    a.close();
    dhs::Table st;
    st.add(dhs::Column("galaxy_id", id));
    st.add(dhs::Column("target_set", set));
    st.add(dhs::Column("psfsize_g", pg));
    st.add(dhs::Column("psfsize_r", pr));
    st.add(dhs::Column("psfsize_z", pz));
    st.add(dhs::Column("image", std::move(image), {3, S, S}));
    st.add(dhs::Column("invvar", std::move(invvar), {3, S, S}));
    st.add(dhs::Column("maskbits", std::move(mask), {S, S}));
    dhs::hdf5::ResultAppender c(cutouts);
    c.write_table("/stamps", st);
    c.close();
    std::printf("wrote %d hosts to %s and %s\n", n, sample.c_str(), cutouts.c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc >= 2 && std::strcmp(argv[1], "--make-fixture") == 0) {
        if (argc != 4) {
            std::fprintf(stderr, "usage: bench_inject --make-fixture DIR N_HOSTS\n");
            return 2;
        }
        return make_fixture(argv[2], std::atoi(argv[3]));
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
