// FFT convolution of images with a fixed PSF kernel (FFTW 3, double precision), for kernels too
// large for the direct O(ksize^2) loop and not separable (Moffat). Same definition and result
// as psf.hpp convolve(): zero padding, output the size of the input, kernel centre (h, h).
// FFTW (Debian libfftw3-dev, pkg-config fftw3) is a required dependency.
//
// Units: images and kernels are dimensionless float arrays here (flux per pixel in, flux per
// pixel out; the kernel sums to 1 to conserve flux). Pure numerics: no I/O, no MPI, no logging.
#pragma once

#include <memory>
#include <span>
#include <vector>

namespace dhs::kernels {

/// @brief Convolves width x height row-major float images with one ksize x ksize kernel (ksize
/// odd) by FFT: zero-padded to at least (width + ksize - 1) x (height + ksize - 1) (sizes with
/// factors 2, 3, 5, 7), so the circular convolution equals the linear one; the kernel's
/// spectrum, FFTW plans and buffers are made once in the constructor and convolve() allocates
/// nothing. Agrees with convolve() to ~1e-7 of the image's largest |value| x kernel sum (double
/// FFT round-off, then float output). One object per thread (convolve() uses its buffers);
/// construction and destruction are thread-safe (the FFTW planner is serialised).
class FftConvolver {
public:
    /// @brief Throws std::invalid_argument for width or height <= 0, ksize even or
    /// kernel.size() != ksize^2.
    FftConvolver(int width, int height, std::span<const float> kernel, int ksize);
    /// @brief Several kernels of one size (e.g. the PSF of each band): convolve() uses the first,
    /// convolve_all() every one from a single forward transform of the image. Throws as above,
    /// and for no kernels.
    FftConvolver(int width, int height, std::span<const std::vector<float>> kernels, int ksize);
    ~FftConvolver();
    FftConvolver(FftConvolver&&) noexcept;
    FftConvolver& operator=(FftConvolver&&) noexcept;
    FftConvolver(const FftConvolver&) = delete;
    FftConvolver& operator=(const FftConvolver&) = delete;

    /// @brief out = image convolved with the (first) kernel; both width * height, not overlapping.
    /// Throws std::invalid_argument on bad sizes or overlap.
    void convolve(std::span<const float> image, std::span<float> out);
    /// @brief out[k * width * height + ...] = image convolved with kernel k, for every kernel, from
    /// one forward transform (each plane as convolve() with that kernel alone would give it).
    /// out holds kernels() x width x height floats and must not overlap the image.
    void convolve_all(std::span<const float> image, std::span<float> out);
    /// @brief Number of kernels.
    int kernels() const noexcept;
    /// @brief Replaces the kernels (as many as constructed, of the constructed ksize) keeping the
    /// FFTW plans and buffers: one forward transform per kernel, no planning (a new PSF per stamp
    /// costs ~0.1 ms instead of a new convolver's ~3 ms). Throws std::invalid_argument otherwise.
    void set_kernels(std::span<const std::vector<float>> kernels);

    int width() const noexcept;
    int height() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// @brief One-shot FFT convolution (builds an FftConvolver): same contract as convolve().
void convolve_fft(std::span<const float> image, int width, int height,
                  std::span<const float> kernel, int ksize, std::span<float> out);

/// @brief FFT convolution of a large image (a 3600 x 3600 coadd) in tiles, overlap-save: each
/// output tile of side `tile` (the last ones smaller) is the centre of the convolution of its
/// input tile grown by the kernel half size h on every side (zeros outside the image), which the
/// pixels of the tile depend on alone; so the result equals convolve() (zero padding) to FFT
/// round-off, with O(tile^2) memory. Same contract as convolve(); tile >= 1 (256 is fastest for a
/// 33 x 33 kernel here: 17 ms per 1200^2 image vs 25 ms at 512 and 200 ms at 1024, bench_render).
void convolve_fft_tiled(std::span<const float> image, int width, int height, std::span<const float> kernel,
                        int ksize, std::span<float> out, int tile = 256);

}  // namespace dhs::kernels
