// Process-wide settings of the HDF5 library, for the executable's main() (no hdf5.h here).
#pragma once

namespace dhs::hdf5 {

/// @brief Tells HDF5 not to close what is still open when the process exits (H5dont_atexit).
/// Call first, before any other HDF5 call. dhs closes its files itself; the one file the exit
/// handler would find open is one whose close failed (a full disk), and HDF5 1.10 then crashes
/// closing it a second time (H5F__close_cb, rc 139): exiting with the error is what is wanted.
void no_close_at_exit() noexcept;

}  // namespace dhs::hdf5
