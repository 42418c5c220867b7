// Internal to kernels/ (not installed, not part of the API): argument checks shared by the
// image kernels in psf.cpp and fft_convolve.cpp.
#pragma once

#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>

namespace dhs::kernels::detail {

// Throws std::invalid_argument(std::string(where) + what) unless ok; `where` is the caller's
// message prefix, e.g. "dhs::kernels psf: ".
inline void require(bool ok, const char* where, const char* what) {
    if (!ok) throw std::invalid_argument(std::string(where) + what);
}

// Whether two non-empty spans share any element.
inline bool overlaps(std::span<const float> a, std::span<const float> b) {
    const float* a0 = a.data();
    const float* b0 = b.data();
    return !a.empty() && !b.empty() && a0 < b0 + b.size() && b0 < a0 + a.size();
}

// width * height as a size.
inline std::size_t pixels(int width, int height) {
    return static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
}

}  // namespace dhs::kernels::detail
