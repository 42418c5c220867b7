// Process-wide settings of the HDF5 library (see library.hpp).
#include "core/hdf5/library.hpp"

#include <hdf5.h>

namespace dhs::hdf5 {

void no_close_at_exit() noexcept { H5dont_atexit(); }

}  // namespace dhs::hdf5
