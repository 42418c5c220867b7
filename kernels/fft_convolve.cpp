// FftConvolver (fft_convolve.hpp): FFTW r2c / c2r convolution with a zero-padded, wrapped
// kernel when DHS_HAVE_FFTW is defined, else the direct convolve() of psf.hpp.
#include "kernels/fft_convolve.hpp"

#include "kernels/detail_image.hpp"
#include "kernels/psf.hpp"

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(DHS_HAVE_FFTW)
#include <fftw3.h>

#include <mutex>
#include <new>
#endif

namespace dhs::kernels {
namespace {

using detail::overlaps;
using detail::pixels;

void require(bool ok, const char* what) { detail::require(ok, "dhs::kernels fft_convolve: ", what); }

#if defined(DHS_HAVE_FFTW)
// The FFTW planner (plan creation and destruction) is not thread-safe; execution is.
std::mutex& planner_mutex() {
    static std::mutex m;
    return m;
}

// Smallest n' >= n whose prime factors are all 2, 3, 5 or 7 (fast FFTW sizes).
int fft_size(int n) {
    for (int m = n;; ++m) {
        int r = m;
        for (int p : {2, 3, 5, 7})
            while (r % p == 0) r /= p;
        if (r == 1) return m;
    }
}
#endif

}  // namespace

#if defined(DHS_HAVE_FFTW)

bool fft_available() noexcept { return true; }

struct FftConvolver::Impl {
    int width = 0, height = 0, px = 0, py = 0, nc = 0;  // nc = px / 2 + 1 complex columns
    double* real = nullptr;                              // py x px
    fftw_complex* spectrum = nullptr;                    // py x nc, the image's transform
    fftw_complex* kernel = nullptr;                      // py x nc, kernel transform / (px py)
    fftw_plan forward = nullptr, backward = nullptr;

    ~Impl() {
        const std::lock_guard<std::mutex> lock(planner_mutex());
        if (forward) fftw_destroy_plan(forward);
        if (backward) fftw_destroy_plan(backward);
        fftw_free(real);
        fftw_free(spectrum);
        fftw_free(kernel);
    }
};

FftConvolver::FftConvolver(int width, int height, std::span<const float> kernel, int ksize)
    : impl_(std::make_unique<Impl>()) {
    require(width > 0 && height > 0, "image width and height must be > 0");
    require(ksize > 0 && ksize % 2 == 1 && kernel.size() == pixels(ksize, ksize),
            "kernel must be ksize x ksize with ksize odd");
    Impl& m = *impl_;
    m.width = width;
    m.height = height;
    m.px = fft_size(width + ksize - 1);
    m.py = fft_size(height + ksize - 1);
    m.nc = m.px / 2 + 1;
    const std::size_t nreal = pixels(m.px, m.py), ncomplex = pixels(m.nc, m.py);
    {
        const std::lock_guard<std::mutex> lock(planner_mutex());
        m.real = fftw_alloc_real(nreal);
        m.spectrum = fftw_alloc_complex(ncomplex);
        m.kernel = fftw_alloc_complex(ncomplex);
        if (!m.real || !m.spectrum || !m.kernel) throw std::bad_alloc();
        m.forward = fftw_plan_dft_r2c_2d(m.py, m.px, m.real, m.spectrum, FFTW_ESTIMATE);
        m.backward = fftw_plan_dft_c2r_2d(m.py, m.px, m.spectrum, m.real, FFTW_ESTIMATE);
        if (!m.forward || !m.backward) throw std::runtime_error("fft_convolve: FFTW planning failed");
    }
    // The kernel wrapped so that its centre (h, h) sits at (0, 0); scaled by 1 / (px py) so the
    // unnormalised inverse transform comes out right.
    const int h = ksize / 2;
    for (std::size_t i = 0; i < nreal; ++i) m.real[i] = 0.0;
    for (int j = 0; j < ksize; ++j)
        for (int i = 0; i < ksize; ++i) {
            const int y = (j - h + m.py) % m.py, x = (i - h + m.px) % m.px;
            m.real[static_cast<std::size_t>(y) * m.px + x] = kernel[static_cast<std::size_t>(j) * ksize + i];
        }
    fftw_execute(m.forward);
    const double scale = 1.0 / static_cast<double>(nreal);
    for (std::size_t i = 0; i < ncomplex; ++i) {
        m.kernel[i][0] = m.spectrum[i][0] * scale;
        m.kernel[i][1] = m.spectrum[i][1] * scale;
    }
}

void FftConvolver::convolve(std::span<const float> image, std::span<float> out) {
    Impl& m = *impl_;
    require(image.size() == pixels(m.width, m.height) && out.size() == image.size(),
            "image and out must hold width * height pixels");
    require(!overlaps(image, out), "out must not overlap the image");
    // Image in the top-left corner, zeros elsewhere (the padding that makes it linear).
    for (int y = 0; y < m.py; ++y) {
        double* row = m.real + static_cast<std::size_t>(y) * m.px;
        int x = 0;
        if (y < m.height) {
            const float* src = image.data() + static_cast<std::size_t>(y) * m.width;
            for (; x < m.width; ++x) row[x] = src[x];
        }
        for (; x < m.px; ++x) row[x] = 0.0;
    }
    fftw_execute(m.forward);
    const std::size_t ncomplex = pixels(m.nc, m.py);
    for (std::size_t i = 0; i < ncomplex; ++i) {
        const double ar = m.spectrum[i][0], ai = m.spectrum[i][1];
        const double br = m.kernel[i][0], bi = m.kernel[i][1];
        m.spectrum[i][0] = ar * br - ai * bi;
        m.spectrum[i][1] = ar * bi + ai * br;
    }
    fftw_execute(m.backward);
    for (int y = 0; y < m.height; ++y) {
        const double* row = m.real + static_cast<std::size_t>(y) * m.px;
        float* dst = out.data() + static_cast<std::size_t>(y) * m.width;
        for (int x = 0; x < m.width; ++x) dst[x] = static_cast<float>(row[x]);
    }
}

#else  // no FFTW: the direct convolution

bool fft_available() noexcept { return false; }

struct FftConvolver::Impl {
    int width = 0, height = 0, ksize = 0;
    std::vector<float> kernel;
};

FftConvolver::FftConvolver(int width, int height, std::span<const float> kernel, int ksize)
    : impl_(std::make_unique<Impl>()) {
    require(width > 0 && height > 0, "image width and height must be > 0");
    require(ksize > 0 && ksize % 2 == 1 && kernel.size() == pixels(ksize, ksize),
            "kernel must be ksize x ksize with ksize odd");
    impl_->width = width;
    impl_->height = height;
    impl_->ksize = ksize;
    impl_->kernel.assign(kernel.begin(), kernel.end());
}

void FftConvolver::convolve(std::span<const float> image, std::span<float> out) {
    require(image.size() == pixels(impl_->width, impl_->height) && out.size() == image.size(),
            "image and out must hold width * height pixels");
    require(!overlaps(image, out), "out must not overlap the image");
    dhs::kernels::convolve(image, impl_->width, impl_->height, impl_->kernel, impl_->ksize, out);
}

#endif

FftConvolver::~FftConvolver() = default;
FftConvolver::FftConvolver(FftConvolver&&) noexcept = default;
FftConvolver& FftConvolver::operator=(FftConvolver&&) noexcept = default;

int FftConvolver::width() const noexcept { return impl_->width; }
int FftConvolver::height() const noexcept { return impl_->height; }

void convolve_fft(std::span<const float> image, int width, int height,
                  std::span<const float> kernel, int ksize, std::span<float> out) {
    FftConvolver conv(width, height, kernel, ksize);
    conv.convolve(image, out);
}

}  // namespace dhs::kernels
