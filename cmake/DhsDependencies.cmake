# Finds every dependency by its real package (Debian 12 names in comments). A missing one
# fails the configure with the package to install; scripts/setup.sh installs them all.
find_package(PkgConfig REQUIRED)

function(dhs_require_found var pkg)
  if(NOT ${var})
    message(FATAL_ERROR "dhs: ${pkg} not found. Install it (Debian: apt-get install ${pkg}) or run scripts/setup.sh.")
  endif()
endfunction()

# MPI (openmpi-bin, libopenmpi-dev)
find_package(MPI REQUIRED COMPONENTS C CXX)

# Parallel HDF5 (libhdf5-openmpi-dev). The serial libhdf5-dev may be installed beside it.
set(HDF5_PREFER_PARALLEL TRUE)
find_package(HDF5 REQUIRED COMPONENTS C)
if(NOT HDF5_IS_PARALLEL)
  message(FATAL_ERROR
    "dhs: the HDF5 found (${HDF5_VERSION}, ${HDF5_C_LIBRARIES}) is serial; dhs needs parallel HDF5. "
    "Install libhdf5-openmpi-dev, or point HDF5_C_COMPILER_EXECUTABLE at its h5pcc "
    "(Debian: /usr/bin/h5pcc.openmpi).")
endif()
add_library(dhs_hdf5 INTERFACE)
target_include_directories(dhs_hdf5 SYSTEM INTERFACE ${HDF5_C_INCLUDE_DIRS})
target_link_libraries(dhs_hdf5 INTERFACE ${HDF5_C_LIBRARIES} MPI::MPI_C)
target_compile_definitions(dhs_hdf5 INTERFACE ${HDF5_C_DEFINITIONS} H5_USE_110_API)

# cfitsio (libcfitsio-dev), wcslib (wcslib-dev), healpix_cxx (libhealpix-cxx-dev), FFTW (libfftw3-dev), xxhash,
# libzip (libzip-dev: the .npz container)
pkg_check_modules(CFITSIO IMPORTED_TARGET cfitsio)
dhs_require_found(CFITSIO_FOUND libcfitsio-dev)
pkg_check_modules(WCSLIB IMPORTED_TARGET wcslib)
dhs_require_found(WCSLIB_FOUND wcslib-dev)
pkg_check_modules(HEALPIX IMPORTED_TARGET healpix_cxx)
dhs_require_found(HEALPIX_FOUND libhealpix-cxx-dev)
pkg_check_modules(FFTW3 IMPORTED_TARGET fftw3)
dhs_require_found(FFTW3_FOUND libfftw3-dev)
pkg_check_modules(XXHASH IMPORTED_TARGET libxxhash)
dhs_require_found(XXHASH_FOUND libxxhash-dev)
pkg_check_modules(LIBZIP IMPORTED_TARGET libzip)
dhs_require_found(LIBZIP_FOUND libzip-dev)

find_package(yaml-cpp REQUIRED)          # libyaml-cpp-dev, target yaml-cpp
find_package(fmt REQUIRED)               # libfmt-dev
find_package(spdlog REQUIRED)            # libspdlog-dev (built against the system fmt)
find_package(Boost REQUIRED COMPONENTS program_options)  # libboost-program-options-dev
find_package(nlohmann_json 3 REQUIRED)   # nlohmann-json3-dev
find_package(OpenSSL REQUIRED)           # libssl-dev (SHA-256 for splits and config digests)
find_package(Eigen3 3.3 REQUIRED NO_MODULE)  # libeigen3-dev
find_package(Threads REQUIRED)

if(DHS_BUILD_TESTS)
  find_package(GTest REQUIRED)           # libgtest-dev, libgmock-dev
endif()
if(DHS_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED)       # libbenchmark-dev
endif()

# libtorch: optional. Debian's libtorch-dev is CPU-only (1.13); an upstream CUDA libtorch
# is picked with -DTorch_DIR=/path/to/libtorch/share/cmake/Torch.
set(DHS_HAVE_TORCH 0)
set(DHS_HAVE_CUDA 0)
string(TOUPPER "${DHS_WITH_TORCH}" _dhs_torch)
if(_dhs_torch STREQUAL "ON" OR _dhs_torch STREQUAL "AUTO")
  if(_dhs_torch STREQUAL "ON")
    find_package(Torch REQUIRED)
  else()
    find_package(Torch QUIET)
  endif()
  if(Torch_FOUND)
    set(DHS_HAVE_TORCH 1)
    if(TORCH_CUDA_LIBRARIES OR CUDA_FOUND)
      set(DHS_HAVE_CUDA 1)
    endif()
    message(STATUS "dhs: libtorch ${Torch_VERSION} found (CUDA=${DHS_HAVE_CUDA})")
  else()
    message(STATUS "dhs: libtorch not found; training and scoring stages compiled out (DHS_WITH_TORCH=AUTO)")
  endif()
elseif(NOT _dhs_torch STREQUAL "OFF")
  message(FATAL_ERROR "dhs: DHS_WITH_TORCH must be ON, OFF or AUTO, not '${DHS_WITH_TORCH}'")
endif()
set(DHS_SANITIZE_01 0)
if(DHS_SANITIZE)
  set(DHS_SANITIZE_01 1)
endif()
