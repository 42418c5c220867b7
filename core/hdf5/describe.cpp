// describe_file: walks an HDF5 file for `dhs inspect` (see describe.hpp).
#include "core/hdf5/describe.hpp"

#include <fmt/format.h>

#include <vector>

#include "core/error.hpp"
#include "core/hdf5/h5_handle.hpp"

namespace dhs::hdf5 {

namespace {

std::string type_text(hid_t type) {
    switch (H5Tget_class(type)) {
        case H5T_INTEGER:
            return fmt::format("{}int{}", H5Tget_sign(type) == H5T_SGN_NONE ? "u" : "", 8 * H5Tget_size(type));
        case H5T_FLOAT: return fmt::format("float{}", 8 * H5Tget_size(type));
        case H5T_STRING:
            if (H5Tis_variable_str(type) > 0)
                return fmt::format("string (variable, {})", H5Tget_cset(type) == H5T_CSET_UTF8 ? "UTF-8" : "ASCII");
            return fmt::format("string ({} bytes)", H5Tget_size(type));
        case H5T_ENUM: return H5Tget_nmembers(type) == 2 && H5Tget_size(type) == 1 ? "bool" : "enum";
        case H5T_COMPOUND: return "compound";
        case H5T_ARRAY: return "array";
        default: return "other";
    }
}

std::vector<hsize_t> shape_of(hid_t space) {
    int rank = H5Sget_simple_extent_ndims(space);
    std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0)));
    if (rank > 0) H5Sget_simple_extent_dims(space, dims.data(), nullptr);
    return dims;
}

std::string shape_text(const std::vector<hsize_t>& dims) {
    std::string s = "(";
    for (std::size_t i = 0; i < dims.size(); ++i) s += fmt::format("{}{}", i ? ", " : "", dims[i]);
    return s + (dims.size() == 1 ? ",)" : ")");
}

std::string attribute_value(hid_t attr, std::size_t max_chars) {
    Handle type(H5Aget_type(attr)), space(H5Aget_space(attr));
    hssize_t n = H5Sget_simple_extent_npoints(space.get());
    std::string out;
    H5T_class_t cls = H5Tget_class(type.get());
    if (cls == H5T_STRING) {
        if (H5Tis_variable_str(type.get()) > 0) {
            std::vector<char*> v(static_cast<std::size_t>(n), nullptr);
            Handle mem(H5Tcopy(H5T_C_S1));
            H5Tset_size(mem.get(), H5T_VARIABLE);
            H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
            if (H5Aread(attr, mem.get(), v.data()) >= 0) {
                for (hssize_t i = 0; i < n; ++i) out += fmt::format("{}\"{}\"", i ? ", " : "", v[i] ? v[i] : "");
                H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, v.data());
            }
        } else {
            std::size_t sz = H5Tget_size(type.get());
            std::string buf(sz * static_cast<std::size_t>(n), '\0');
            if (H5Aread(attr, type.get(), buf.data()) >= 0)
                for (hssize_t i = 0; i < n; ++i) {
                    std::string s = buf.substr(static_cast<std::size_t>(i) * sz, sz);
                    s = s.substr(0, s.find('\0'));
                    out += fmt::format("{}\"{}\"", i ? ", " : "", s);
                }
        }
    } else if (cls == H5T_INTEGER || cls == H5T_FLOAT) {
        std::vector<double> v(static_cast<std::size_t>(n));
        if (H5Aread(attr, H5T_NATIVE_DOUBLE, v.data()) >= 0)
            for (hssize_t i = 0; i < n; ++i) out += fmt::format("{}{}", i ? ", " : "", v[i]);
        if (n > 1) out = "[" + out + "]";
    } else {
        out = "<" + type_text(type.get()) + ">";
    }
    for (auto& c : out)
        if (c == '\n') c = ' ';
    if (max_chars > 0 && out.size() > max_chars) out = out.substr(0, max_chars) + "...";
    return out;
}

struct Walk {
    std::string file;
    std::size_t max_chars;
    std::string text;
};

void describe_attributes(hid_t obj, int depth, Walk& w) {
    H5O_info_t info;
    if (H5Oget_info(obj, &info) < 0) return;
    for (hsize_t i = 0; i < info.num_attrs; ++i) {
        Handle a(H5Aopen_by_idx(obj, ".", H5_INDEX_NAME, H5_ITER_INC, i, H5P_DEFAULT, H5P_DEFAULT));
        if (!a) continue;
        char name[256] = {0};
        H5Aget_name(a.get(), sizeof name, name);
        w.text += fmt::format("{:{}}@{} = {}\n", "", 2 * depth, name, attribute_value(a.get(), w.max_chars));
    }
}

void describe_dataset(hid_t ds, const std::string& path, int depth, Walk& w) {
    Handle type(H5Dget_type(ds)), space(H5Dget_space(ds)), dcpl(H5Dget_create_plist(ds));
    std::string extra;
    if (H5Pget_layout(dcpl.get()) == H5D_CHUNKED) {
        int r = H5Sget_simple_extent_ndims(space.get());
        std::vector<hsize_t> chunk(static_cast<std::size_t>(std::max(r, 0)));
        H5Pget_chunk(dcpl.get(), r, chunk.data());
        extra += " chunks " + shape_text(chunk);
        int nf = H5Pget_nfilters(dcpl.get());
        for (int f = 0; f < nf; ++f) {
            unsigned flags = 0, cd[8];
            std::size_t ncd = 8;
            char fname[64] = {0};
            H5Pget_filter2(dcpl.get(), static_cast<unsigned>(f), &flags, &ncd, cd, sizeof fname, fname, nullptr);
            extra += fmt::format(" {}", fname);
        }
    }
    w.text += fmt::format("{:{}}{}  {} {}{}\n", "", 2 * depth, path, type_text(type.get()),
                          shape_text(shape_of(space.get())), extra);
    describe_attributes(ds, depth + 1, w);
}

void describe_group(hid_t group, const std::string& path, int depth, Walk& w) {
    w.text += fmt::format("{:{}}{}/\n", "", 2 * depth, path == "/" ? "" : path);
    describe_attributes(group, depth + 1, w);
    H5G_info_t info;
    check(H5Gget_info(group, &info), w.file, path, "cannot list group");
    for (hsize_t i = 0; i < info.nlinks; ++i) {
        char name[1024] = {0};
        H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT);
        std::string child = (path == "/" ? "" : path) + "/" + name;
        H5O_info_t oinfo;
        if (H5Oget_info_by_name(group, name, &oinfo, H5P_DEFAULT) < 0) continue;
        if (oinfo.type == H5O_TYPE_GROUP) {
            Handle g(check(H5Gopen2(group, name, H5P_DEFAULT), w.file, child, "cannot open group"));
            describe_group(g.get(), child, depth + 1, w);
        } else if (oinfo.type == H5O_TYPE_DATASET) {
            Handle d(check(H5Dopen2(group, name, H5P_DEFAULT), w.file, child, "cannot open dataset"));
            describe_dataset(d.get(), child, depth + 1, w);
        }
    }
}

}  // namespace

bool is_hdf5(const std::string& path) {
    silence_automatic_errors();
    htri_t r = H5Fis_hdf5(path.c_str());
    H5Eclear2(H5E_DEFAULT);
    return r > 0;
}

std::string describe_file(const std::string& path, std::size_t max_attr_chars) {
    silence_automatic_errors();
    Handle f(check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), path, "", "cannot open"));
    Walk w{path, max_attr_chars, fmt::format("HDF5 file {}\n", path)};
    Handle root(check(H5Gopen2(f.get(), "/", H5P_DEFAULT), path, "/", "cannot open root group"));
    describe_group(root.get(), "/", 0, w);
    return w.text;
}

}  // namespace dhs::hdf5
