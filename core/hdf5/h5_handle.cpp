// HDF5 identifier ownership and error-stack capture (see h5_handle.hpp).
#include "core/hdf5/h5_handle.hpp"

#include "core/error.hpp"

namespace dhs::hdf5 {

namespace {
herr_t collect(unsigned n, const H5E_error2_t* e, void* data) {
    auto* out = static_cast<std::string*>(data);
    if (!out->empty()) *out += "; ";
    *out += (e->func_name ? std::string(e->func_name) : std::string("?")) + ": " +
            (e->desc ? std::string(e->desc) : std::string());
    (void)n;
    return 0;
}
}  // namespace

std::string error_stack() {
    std::string out;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect, &out);
    H5Eclear2(H5E_DEFAULT);
    return out;
}

hid_t check(hid_t id_or_status, const std::string& file, const std::string& object, const std::string& what) {
    if (id_or_status < 0) throw HdfError(file, object, what, error_stack());
    return id_or_status;
}

void silence_automatic_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

void Handle::reset() noexcept {
    if (id_ < 0) return;
    switch (H5Iget_type(id_)) {
        case H5I_FILE: H5Fclose(id_); break;
        case H5I_GROUP: H5Gclose(id_); break;
        case H5I_DATASET: H5Dclose(id_); break;
        case H5I_DATASPACE: H5Sclose(id_); break;
        case H5I_DATATYPE: H5Tclose(id_); break;
        case H5I_ATTR: H5Aclose(id_); break;
        case H5I_GENPROP_LST: H5Pclose(id_); break;
        default: H5Idec_ref(id_); break;
    }
    id_ = H5I_INVALID_HID;
}

}  // namespace dhs::hdf5
