// The HDF5 element types dhs files use, shared by the parallel writer and the serial result
// reader/appender: native numeric types, booleans as h5py's int8 enum {FALSE, TRUE}, strings as
// fixed-length NUL-padded UTF-8. Include only from .cpp files (it pulls in hdf5.h).
#pragma once

#include <hdf5.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "core/hdf5/h5_handle.hpp"
#include "core/table/table.hpp"

namespace dhs::hdf5 {

/// @brief The native memory type of a numeric DType (booleans: uint8).
inline hid_t native_type(DType t) {
    switch (t) {
        case DType::boolean:
        case DType::uint8: return H5T_NATIVE_UINT8;
        case DType::int8: return H5T_NATIVE_INT8;
        case DType::int16: return H5T_NATIVE_INT16;
        case DType::uint16: return H5T_NATIVE_UINT16;
        case DType::int32: return H5T_NATIVE_INT32;
        case DType::uint32: return H5T_NATIVE_UINT32;
        case DType::int64: return H5T_NATIVE_INT64;
        case DType::uint64: return H5T_NATIVE_UINT64;
        case DType::float32: return H5T_NATIVE_FLOAT;
        case DType::float64: return H5T_NATIVE_DOUBLE;
        case DType::string: break;
    }
    return H5T_NATIVE_UINT8;
}

/// @brief Booleans as h5py writes them: an int8 enum {FALSE = 0, TRUE = 1}, read back as numpy bool.
inline Handle bool_type() {
    Handle t(H5Tenum_create(H5T_NATIVE_INT8));
    std::int8_t f = 0, tr = 1;
    H5Tenum_insert(t.get(), "FALSE", &f);
    H5Tenum_insert(t.get(), "TRUE", &tr);
    return t;
}

/// @brief Fixed-length, NUL-padded UTF-8 strings of `bytes` bytes (at least 1).
inline Handle string_type(std::size_t bytes) {
    Handle t(H5Tcopy(H5T_C_S1));
    H5Tset_size(t.get(), std::max<std::size_t>(bytes, 1));
    H5Tset_strpad(t.get(), H5T_STR_NULLPAD);
    H5Tset_cset(t.get(), H5T_CSET_UTF8);
    return t;
}

/// @brief Writes (replacing) the scalar attribute `name` of object `obj` in `file`, of `type`.
/// @throws HdfError naming the file and obj@name.
inline void write_attr(hid_t file, const std::string& fpath, const std::string& obj, const std::string& name,
                       hid_t type, const void* value) {
    Handle o(check(H5Oopen(file, obj.c_str(), H5P_DEFAULT), fpath, obj, "cannot open object for attribute"));
    if (H5Aexists(o.get(), name.c_str()) > 0) H5Adelete(o.get(), name.c_str());
    Handle space(H5Screate(H5S_SCALAR));
    Handle a(check(H5Acreate2(o.get(), name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT), fpath,
                   obj + "@" + name, "cannot create attribute"));
    check(H5Awrite(a.get(), type, value), fpath, obj + "@" + name, "cannot write attribute");
}

}  // namespace dhs::hdf5
