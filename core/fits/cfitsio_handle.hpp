// For .cpp files of core/fits only: brings in <fitsio.h> and turns a FitsFile back into the
// `fitsfile*` cfitsio wants. Public headers never include this (cfitsio stays out of them).
#pragma once

#include <fitsio.h>

#include "core/fits/fits_file.hpp"

namespace dhs::fits {

inline fitsfile* fptr(const FitsFile& f) noexcept { return static_cast<fitsfile*>(f.raw()); }

}  // namespace dhs::fits
