// FftConvolver (fft_convolve.hpp): FFTW r2c / c2r convolution with zero-padded, wrapped kernels
// (one forward transform of the image serves every kernel); and the tiled (overlap-save)
// convolution of large images. FFTW is a required dependency (cmake/DhsDependencies.cmake).
#include "kernels/rendering/fft_convolve.hpp"

#include "kernels/rendering/detail_image.hpp"
#include "kernels/rendering/psf.hpp"

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include <fftw3.h>

#include <mutex>
#include <new>

namespace dhs::kernels {
namespace {

using detail::overlaps;
using detail::pixels;

void require(bool ok, const char* what) { detail::require(ok, "dhs::kernels fft_convolve: ", what); }

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

}  // namespace



struct FftConvolver::Impl {
    int width = 0, height = 0, px = 0, py = 0, nc = 0;  // nc = px / 2 + 1 complex columns
    int ksize = 0;
    double* real = nullptr;                              // py x px
    fftw_complex* spectrum = nullptr;                    // py x nc, the image's transform
    fftw_complex* product = nullptr;                     // py x nc, spectrum x a kernel's
    std::vector<fftw_complex*> kernels;                  // py x nc each, kernel transform / (px py)
    fftw_plan forward = nullptr, backward = nullptr;

    ~Impl() {
        const std::lock_guard<std::mutex> lock(planner_mutex());
        if (forward) fftw_destroy_plan(forward);
        if (backward) fftw_destroy_plan(backward);
        fftw_free(real);
        fftw_free(spectrum);
        fftw_free(product);
        for (auto* k : kernels) fftw_free(k);
    }

    // Forward transform of the image (top-left corner, zeros elsewhere: the padding that makes
    // the circular convolution linear) into `spectrum`.
    void transform(std::span<const float> image) {
        for (int y = 0; y < py; ++y) {
            double* row = real + static_cast<std::size_t>(y) * px;
            int x = 0;
            if (y < height) {
                const float* src = image.data() + static_cast<std::size_t>(y) * width;
                for (; x < width; ++x) row[x] = src[x];
            }
            for (; x < px; ++x) row[x] = 0.0;
        }
        fftw_execute(forward);
    }

    // Kernel k's spectrum: the kernel wrapped so that its centre (h, h) sits at (0, 0), scaled by
    // 1 / (px py) so the unnormalised inverse transform comes out right.
    void load(std::size_t k, std::span<const float> kernel) {
        const std::size_t nreal = pixels(px, py), ncomplex = pixels(nc, py);
        const int h = ksize / 2;
        const double scale = 1.0 / static_cast<double>(nreal);
        for (std::size_t i = 0; i < nreal; ++i) real[i] = 0.0;
        for (int j = 0; j < ksize; ++j)
            for (int i = 0; i < ksize; ++i) {
                const int y = (j - h + py) % py, x = (i - h + px) % px;
                real[static_cast<std::size_t>(y) * px + x] = kernel[static_cast<std::size_t>(j) * ksize + i];
            }
        fftw_execute(forward);
        for (std::size_t i = 0; i < ncomplex; ++i) {
            kernels[k][i][0] = spectrum[i][0] * scale;
            kernels[k][i][1] = spectrum[i][1] * scale;
        }
    }

    // out = the inverse transform of spectrum x kernel k, cropped to the image.
    void apply(std::size_t k, float* out) {
        const std::size_t ncomplex = pixels(nc, py);
        const fftw_complex* kern = kernels[k];
        for (std::size_t i = 0; i < ncomplex; ++i) {
            const double ar = spectrum[i][0], ai = spectrum[i][1];
            const double br = kern[i][0], bi = kern[i][1];
            product[i][0] = ar * br - ai * bi;
            product[i][1] = ar * bi + ai * br;
        }
        fftw_execute(backward);  // product -> real (destroys product)
        for (int y = 0; y < height; ++y) {
            const double* row = real + static_cast<std::size_t>(y) * px;
            float* dst = out + static_cast<std::size_t>(y) * width;
            for (int x = 0; x < width; ++x) dst[x] = static_cast<float>(row[x]);
        }
    }
};

FftConvolver::FftConvolver(int width, int height, std::span<const float> kernel, int ksize)
    : FftConvolver(width, height, std::vector<std::vector<float>>{std::vector<float>(kernel.begin(), kernel.end())},
                   ksize) {}

FftConvolver::FftConvolver(int width, int height, std::span<const std::vector<float>> kernels, int ksize)
    : impl_(std::make_unique<Impl>()) {
    require(width > 0 && height > 0, "image width and height must be > 0");
    require(!kernels.empty(), "at least one kernel");
    for (const auto& kernel : kernels)
        require(ksize > 0 && ksize % 2 == 1 && kernel.size() == pixels(ksize, ksize),
                "kernel must be ksize x ksize with ksize odd");
    Impl& m = *impl_;
    m.width = width;
    m.height = height;
    m.ksize = ksize;
    m.px = fft_size(width + ksize - 1);
    m.py = fft_size(height + ksize - 1);
    m.nc = m.px / 2 + 1;
    const std::size_t nreal = pixels(m.px, m.py), ncomplex = pixels(m.nc, m.py);
    {
        const std::lock_guard<std::mutex> lock(planner_mutex());
        m.real = fftw_alloc_real(nreal);
        m.spectrum = fftw_alloc_complex(ncomplex);
        m.product = fftw_alloc_complex(ncomplex);
        if (!m.real || !m.spectrum || !m.product) throw std::bad_alloc();
        for (std::size_t k = 0; k < kernels.size(); ++k) {
            m.kernels.push_back(fftw_alloc_complex(ncomplex));
            if (!m.kernels.back()) throw std::bad_alloc();
        }
        m.forward = fftw_plan_dft_r2c_2d(m.py, m.px, m.real, m.spectrum, FFTW_ESTIMATE);
        m.backward = fftw_plan_dft_c2r_2d(m.py, m.px, m.product, m.real, FFTW_ESTIMATE);
        if (!m.forward || !m.backward) throw std::runtime_error("fft_convolve: FFTW planning failed");
    }
    for (std::size_t k = 0; k < kernels.size(); ++k) m.load(k, kernels[k]);
}

void FftConvolver::set_kernels(std::span<const std::vector<float>> kernels) {
    Impl& m = *impl_;
    require(kernels.size() == m.kernels.size(), "set_kernels needs as many kernels as the convolver has");
    for (const auto& kernel : kernels)
        require(kernel.size() == pixels(m.ksize, m.ksize), "set_kernels needs kernels of the constructed ksize");
    for (std::size_t k = 0; k < kernels.size(); ++k) m.load(k, kernels[k]);
}

void FftConvolver::convolve(std::span<const float> image, std::span<float> out) {
    Impl& m = *impl_;
    require(image.size() == pixels(m.width, m.height) && out.size() == image.size(),
            "image and out must hold width * height pixels");
    require(!overlaps(image, out), "out must not overlap the image");
    m.transform(image);
    m.apply(0, out.data());
}

void FftConvolver::convolve_all(std::span<const float> image, std::span<float> out) {
    Impl& m = *impl_;
    const std::size_t n = pixels(m.width, m.height);
    require(image.size() == n && out.size() == n * m.kernels.size(),
            "image must hold width * height pixels and out kernels x width x height");
    require(!overlaps(image, out), "out must not overlap the image");
    m.transform(image);
    for (std::size_t k = 0; k < m.kernels.size(); ++k) m.apply(k, out.data() + k * n);
}

int FftConvolver::kernels() const noexcept { return static_cast<int>(impl_->kernels.size()); }

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

void convolve_fft_tiled(std::span<const float> image, int width, int height, std::span<const float> kernel,
                        int ksize, std::span<float> out, int tile) {
    require(width > 0 && height > 0, "image width and height must be > 0");
    require(ksize > 0 && ksize % 2 == 1 && kernel.size() == pixels(ksize, ksize),
            "kernel must be ksize x ksize with ksize odd");
    require(image.size() == pixels(width, height) && out.size() == image.size(),
            "image and out must hold width * height pixels");
    require(!overlaps(image, out), "out must not overlap the image");
    require(tile >= 1, "tile must be >= 1");
    const int h = ksize / 2;
    const int tw = std::min(tile, width), th = std::min(tile, height);
    const int rw = tw + 2 * h, rh = th + 2 * h;  // input region of a tile
    FftConvolver conv(rw, rh, kernel, ksize);
    std::vector<float> region(pixels(rw, rh)), result(region.size());
    for (int y0 = 0; y0 < height; y0 += th) {
        const int ny = std::min(th, height - y0);
        for (int x0 = 0; x0 < width; x0 += tw) {
            const int nx = std::min(tw, width - x0);
            for (int j = 0; j < rh; ++j) {
                const int y = y0 - h + j;
                float* row = region.data() + static_cast<std::size_t>(j) * rw;
                for (int i = 0; i < rw; ++i) {
                    const int x = x0 - h + i;
                    row[i] = (y >= 0 && y < height && x >= 0 && x < width)
                                 ? image[static_cast<std::size_t>(y) * width + x]
                                 : 0.0f;
                }
            }
            conv.convolve(region, result);
            for (int j = 0; j < ny; ++j)
                for (int i = 0; i < nx; ++i)
                    out[static_cast<std::size_t>(y0 + j) * width + (x0 + i)] =
                        result[static_cast<std::size_t>(h + j) * rw + (h + i)];
        }
    }
}

}  // namespace dhs::kernels
