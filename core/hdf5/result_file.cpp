// ResultReader / ResultAppender: serial access to finished dhs result files (see result_file.hpp).
#include "core/hdf5/result_file.hpp"

#include <algorithm>
#include <cstring>
#include <functional>

#include "core/error.hpp"
#include "core/hdf5/h5_handle.hpp"
#include "core/hdf5/h5_types.hpp"

namespace dhs::hdf5 {

namespace {

std::string join(const std::string& group, const std::string& name) {
    if (group.empty() || group == "/") return "/" + name;
    return group.back() == '/' ? group + name : group + "/" + name;
}

// The DType a stored dataset type maps back to.
DType dtype_of_stored(hid_t type, const std::string& file, const std::string& object) {
    const H5T_class_t cls = H5Tget_class(type);
    const std::size_t size = H5Tget_size(type);
    if (cls == H5T_STRING) {
        if (H5Tis_variable_str(type) > 0)
            throw HdfError(file, object, "variable-length strings are not supported (dhs writes fixed-length)", "");
        return DType::string;
    }
    if (cls == H5T_ENUM) return DType::boolean;  // dhs writes only the {FALSE, TRUE} enum
    if (cls == H5T_FLOAT) {
        if (size == 4) return DType::float32;
        if (size == 8) return DType::float64;
    }
    if (cls == H5T_INTEGER) {
        const bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
        switch (size) {
            case 1: return is_signed ? DType::int8 : DType::uint8;
            case 2: return is_signed ? DType::int16 : DType::uint16;
            case 4: return is_signed ? DType::int32 : DType::uint32;
            case 8: return is_signed ? DType::int64 : DType::uint64;
            default: break;
        }
    }
    throw HdfError(file, object, "unsupported element type (class " + std::to_string(static_cast<int>(cls)) +
                                     ", " + std::to_string(size) + " bytes)", "");
}

struct Opened {
    Handle ds, space, ftype;
    std::vector<hsize_t> dims;
};

Opened open_dataset(hid_t file, const std::string& fpath, const std::string& object) {
    Opened o;
    o.ds = Handle(check(H5Dopen2(file, object.c_str(), H5P_DEFAULT), fpath, object, "cannot open dataset"));
    o.space = Handle(check(H5Dget_space(o.ds.get()), fpath, object, "cannot get dataspace"));
    o.ftype = Handle(check(H5Dget_type(o.ds.get()), fpath, object, "cannot get type"));
    const int rank = H5Sget_simple_extent_ndims(o.space.get());
    if (rank < 1) throw DataError(fpath, object, "is a scalar dataset, not a table column");
    o.dims.resize(static_cast<std::size_t>(rank));
    H5Sget_simple_extent_dims(o.space.get(), o.dims.data(), nullptr);
    return o;
}

std::optional<std::string> read_string_attr(hid_t file, const std::string& fpath, const std::string& object,
                                            const std::string& name);

// Reads the selected rows (already selected in `fspace`, `n` rows) into a Column.
Column read_selection(const Opened& o, hid_t fspace, std::uint64_t n, const std::string& name,
                      const std::string& fpath, const std::string& object) {
    std::vector<std::size_t> cell;
    for (std::size_t i = 1; i < o.dims.size(); ++i) cell.push_back(static_cast<std::size_t>(o.dims[i]));
    std::size_t cell_size = 1;
    for (auto c : cell) cell_size *= c;
    const DType dtype = dtype_of_stored(o.ftype.get(), fpath, object);
    // The memory space has the selection's shape (n rows of the cell shape): with a flat one,
    // HDF5 1.10 maps a chunked selection element by element (~40 MB/s for stamps).
    std::vector<hsize_t> mdims{static_cast<hsize_t>(n)};
    for (auto c : cell) mdims.push_back(static_cast<hsize_t>(c));
    Handle mspace(H5Screate_simple(static_cast<int>(mdims.size()), mdims.data(), nullptr));
    if (n == 0) return Column(name, dtype, 0, cell);
    if (dtype == DType::string) {
        const std::size_t width = H5Tget_size(o.ftype.get());
        Handle mtype = string_type(width);
        H5Tset_cset(mtype.get(), H5Tget_cset(o.ftype.get()));  // ASCII files too (h5py's numpy bytes)
        std::vector<char> raw(n * cell_size * width);
        check(H5Dread(o.ds.get(), mtype.get(), mspace.get(), fspace, H5P_DEFAULT, raw.data()), fpath, object,
              "cannot read");
        std::vector<std::string> values(n * cell_size);
        for (std::size_t i = 0; i < values.size(); ++i) {
            const char* p = raw.data() + i * width;
            values[i].assign(p, strnlen(p, width));
        }
        return Column(name, std::move(values), cell);
    }
    Column col(name, dtype, static_cast<std::size_t>(n), cell);
    void* dst = col.raw_data();
    if (dtype == DType::boolean) {
        Handle mtype = bool_type();
        check(H5Dread(o.ds.get(), mtype.get(), mspace.get(), fspace, H5P_DEFAULT, dst), fpath, object, "cannot read");
    } else {
        check(H5Dread(o.ds.get(), native_type(dtype), mspace.get(), fspace, H5P_DEFAULT, dst), fpath, object,
              "cannot read");
    }
    return col;
}

void restore_column_attrs(Column& col, hid_t file, const std::string& fpath, const std::string& object) {
    if (auto u = read_string_attr(file, fpath, object, "units")) col.set_unit(*u);
    if (auto d = read_string_attr(file, fpath, object, "description")) col.set_description(*d);
}

template <class T>
std::optional<T> read_numeric_attr(hid_t file, const std::string& object, const std::string& name, hid_t mtype,
                                   const std::string& fpath) {
    if (H5Oexists_by_name(file, object.c_str(), H5P_DEFAULT) <= 0) return std::nullopt;
    if (H5Aexists_by_name(file, object.c_str(), name.c_str(), H5P_DEFAULT) <= 0) return std::nullopt;
    Handle a(check(H5Aopen_by_name(file, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT), fpath,
                   object + "@" + name, "cannot open attribute"));
    Handle t(H5Aget_type(a.get()));
    if (H5Tget_class(t.get()) == H5T_STRING) return std::nullopt;
    T value{};
    check(H5Aread(a.get(), mtype, &value), fpath, object + "@" + name, "cannot read attribute");
    return value;
}

std::optional<std::string> read_string_attr(hid_t file, const std::string& fpath, const std::string& object,
                                            const std::string& name) {
    if (H5Oexists_by_name(file, object.c_str(), H5P_DEFAULT) <= 0) return std::nullopt;
    if (H5Aexists_by_name(file, object.c_str(), name.c_str(), H5P_DEFAULT) <= 0) return std::nullopt;
    Handle a(check(H5Aopen_by_name(file, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT), fpath,
                   object + "@" + name, "cannot open attribute"));
    Handle t(check(H5Aget_type(a.get()), fpath, object + "@" + name, "cannot get attribute type"));
    const H5T_class_t cls = H5Tget_class(t.get());
    if (cls == H5T_STRING) {
        if (H5Tis_variable_str(t.get()) > 0) {
            char* p = nullptr;
            Handle mt(H5Tcopy(H5T_C_S1));
            H5Tset_size(mt.get(), H5T_VARIABLE);
            H5Tset_cset(mt.get(), H5Tget_cset(t.get()));  // h5py writes str attributes as variable-length UTF-8
            check(H5Aread(a.get(), mt.get(), &p), fpath, object + "@" + name, "cannot read attribute");
            std::string s = p ? p : "";
            H5free_memory(p);
            return s;
        }
        const std::size_t width = H5Tget_size(t.get());
        std::string buf(width, '\0');
        Handle mt = string_type(width);
        H5Tset_cset(mt.get(), H5Tget_cset(t.get()));
        check(H5Aread(a.get(), mt.get(), buf.data()), fpath, object + "@" + name, "cannot read attribute");
        buf.resize(strnlen(buf.data(), width));
        return buf;
    }
    if (cls == H5T_INTEGER) {
        std::int64_t v = 0;
        check(H5Aread(a.get(), H5T_NATIVE_INT64, &v), fpath, object + "@" + name, "cannot read attribute");
        return std::to_string(v);
    }
    if (cls == H5T_FLOAT) {
        double v = 0;
        check(H5Aread(a.get(), H5T_NATIVE_DOUBLE, &v), fpath, object + "@" + name, "cannot read attribute");
        char text[64];
        std::snprintf(text, sizeof text, "%.17g", v);
        return std::string(text);
    }
    return std::nullopt;
}


}  // namespace

// ----------------------------------------------------------------------------------------------
struct ResultReader::Impl {
    Handle file;
};

ResultReader::ResultReader(const std::string& path) : impl_(std::make_unique<Impl>()), path_(path) {
    silence_automatic_errors();
    impl_->file = Handle(check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), path, "", "cannot open"));
}
ResultReader::~ResultReader() = default;
ResultReader::ResultReader(ResultReader&&) noexcept = default;
ResultReader& ResultReader::operator=(ResultReader&&) noexcept = default;

bool ResultReader::exists(const std::string& object) const {
    if (object.empty() || object == "/") return true;
    // Walk the path so that a missing parent is "absent", not an error.
    std::string prefix;
    std::size_t pos = 0;
    while (pos != std::string::npos) {
        const std::size_t next = object.find('/', pos + 1);
        prefix = object.substr(0, next);
        if (!prefix.empty() && prefix != "/" &&
            H5Lexists(impl_->file.get(), prefix.c_str(), H5P_DEFAULT) <= 0)
            return false;
        pos = next;
    }
    return true;
}

std::vector<std::string> ResultReader::datasets(const std::string& group) const {
    Handle g(check(H5Gopen2(impl_->file.get(), group.c_str(), H5P_DEFAULT), path_, group, "cannot open group"));
    H5G_info_t info{};
    check(H5Gget_info(g.get(), &info), path_, group, "cannot list group");
    std::vector<std::string> names;
    for (hsize_t i = 0; i < info.nlinks; ++i) {
        const ssize_t len = H5Lget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
        if (len < 0) continue;
        std::string name(static_cast<std::size_t>(len), '\0');
        H5Lget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size() + 1, H5P_DEFAULT);
        H5O_info_t oinfo{};
        if (H5Oget_info_by_name(g.get(), name.c_str(), &oinfo, H5P_DEFAULT) >= 0 &&
            oinfo.type == H5O_TYPE_DATASET)
            names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
}

std::uint64_t ResultReader::rows(const std::string& object) const {
    return open_dataset(impl_->file.get(), path_, object).dims.front();
}

std::uint64_t ResultReader::table_rows(const std::string& group) const {
    std::optional<std::uint64_t> n;
    std::string first;
    for (const auto& name : datasets(group)) {
        const std::uint64_t r = rows(join(group, name));
        if (!n) {
            n = r;
            first = name;
        } else if (*n != r) {
            throw DataError(path_, group,
                            "datasets disagree on the row count: " + first + " has " + std::to_string(*n) + ", " +
                                name + " has " + std::to_string(r));
        }
    }
    return n.value_or(0);
}

Column ResultReader::read_column(const std::string& object, std::uint64_t first,
                                 std::optional<std::uint64_t> count) const {
    Opened o = open_dataset(impl_->file.get(), path_, object);
    const std::uint64_t total = o.dims.front();
    if (first > total || (count && *count > total - first))
        throw DataError(path_, object,
                        "rows [" + std::to_string(first) + ", " + std::to_string(first + count.value_or(0)) +
                            ") out of range (dataset has " + std::to_string(total) + " rows)");
    const std::uint64_t n = count.value_or(total - first);
    Handle fspace(H5Scopy(o.space.get()));
    std::vector<hsize_t> start(o.dims.size(), 0), cnt = o.dims;
    start[0] = first;
    cnt[0] = n;
    if (n > 0)
        check(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, cnt.data(), nullptr), path_,
              object, "cannot select rows");
    const std::string name = object.substr(object.find_last_of('/') + 1);
    Column col = read_selection(o, fspace.get(), n, name, path_, object);
    restore_column_attrs(col, impl_->file.get(), path_, object);
    return col;
}

Column ResultReader::read_rows(const std::string& object, const std::vector<std::uint64_t>& indices) const {
    Opened o = open_dataset(impl_->file.get(), path_, object);
    const std::uint64_t total = o.dims.front();
    for (auto i : indices)
        if (i >= total)
            throw DataError(path_, object,
                            "row " + std::to_string(i) + " out of range (dataset has " + std::to_string(total) +
                                " rows)");
    const std::string name = object.substr(object.find_last_of('/') + 1);
    if (indices.empty()) {
        Handle fspace(H5Scopy(o.space.get()));
        H5Sselect_none(fspace.get());
        Column col = read_selection(o, fspace.get(), 0, name, path_, object);
        restore_column_attrs(col, impl_->file.get(), path_, object);
        return col;
    }
    // Callers usually pass rows already sorted and distinct (the sampling reduce reads ~60
    // columns at the same rows): checked in one pass, sorted only when they are not.
    std::vector<std::uint64_t> sorted(indices);
    if (std::adjacent_find(sorted.begin(), sorted.end(), std::greater_equal<>()) != sorted.end()) {
        std::sort(sorted.begin(), sorted.end());
        sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    }

    // The rows are read as spans [first, last] of nearby rows (gaps below ~256 KiB, spans up to
    // ~16 MiB), each in one hyperslab read, and the wanted rows copied out before any string is
    // made: far faster than a union of single-row hyperslabs, or than converting whole blocks.
    std::vector<std::size_t> cell;
    std::size_t cell_size = 1;
    for (std::size_t i = 1; i < o.dims.size(); ++i) {
        cell.push_back(static_cast<std::size_t>(o.dims[i]));
        cell_size *= cell.back();
    }
    const DType dtype = dtype_of_stored(o.ftype.get(), path_, object);
    const std::size_t width = dtype == DType::string ? H5Tget_size(o.ftype.get()) : dtype_size(dtype);
    Handle owned;
    hid_t mtype = -1;
    if (dtype == DType::string) {
        owned = string_type(width);
        mtype = owned.get();
    } else if (dtype == DType::boolean) {
        owned = bool_type();
        mtype = owned.get();
    } else {
        mtype = native_type(dtype);
    }
    const std::size_t row_bytes = std::max<std::size_t>(1, cell_size * width);
    // A gap is read through only when it is small (rows of small tables): a stamp-sized gap
    // costs more to copy than the extra read call it saves.
    const std::uint64_t max_gap = std::max<std::uint64_t>(1, (std::uint64_t{64} << 10) / row_bytes);
    const std::uint64_t max_span = std::max<std::uint64_t>(1, (std::uint64_t{16} << 20) / row_bytes);
    // Numeric rows are read straight into the column's storage; strings through a byte buffer.
    const std::size_t nvals = sorted.size() * cell_size;
    Column unique;
    std::vector<unsigned char> picked_strings, span_buf;
    unsigned char* picked = nullptr;
    if (dtype == DType::string) {
        picked_strings.resize(sorted.size() * row_bytes);
        picked = picked_strings.data();
    } else {
        unique = Column(name, dtype, sorted.size(), cell);
        picked = static_cast<unsigned char*>(unique.raw_data());
    }
    Handle fspace(H5Scopy(o.space.get()));
    std::vector<hsize_t> start(o.dims.size(), 0), cnt = o.dims;
    for (std::size_t i = 0; i < sorted.size();) {
        std::size_t j = i + 1;
        while (j < sorted.size() && sorted[j] - sorted[j - 1] <= max_gap && sorted[j] - sorted[i] < max_span) ++j;
        const std::uint64_t first = sorted[i], span = sorted[j - 1] - first + 1;
        start[0] = first;
        cnt[0] = span;
        check(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, cnt.data(), nullptr), path_,
              object, "cannot select rows");
        std::vector<hsize_t> mdims{span};
        for (auto c : cell) mdims.push_back(static_cast<hsize_t>(c));
        Handle mspace(H5Screate_simple(static_cast<int>(mdims.size()), mdims.data(), nullptr));
        const bool dense = span == j - i;  // every row of the span wanted: read straight into place
        unsigned char* dst = picked + i * row_bytes;
        if (!dense) {
            span_buf.resize(span * row_bytes);
            dst = span_buf.data();
        }
        check(H5Dread(o.ds.get(), mtype, mspace.get(), fspace.get(), H5P_DEFAULT, dst), path_, object,
              "cannot read");
        if (!dense)
            for (std::size_t k = i; k < j; ++k)
                std::memcpy(picked + k * row_bytes, span_buf.data() + (sorted[k] - first) * row_bytes,
                            row_bytes);
        i = j;
    }
    if (dtype == DType::string) {
        std::vector<std::string> values(nvals);
        for (std::size_t v = 0; v < nvals; ++v) {
            const char* p = reinterpret_cast<const char*>(picked) + v * width;
            values[v].assign(p, strnlen(p, width));
        }
        unique = Column(name, std::move(values), cell);
    }
    // Back to the requested order (duplicates allowed); nothing to do for sorted unique indices.
    Column col;
    if (sorted == indices) {
        col = std::move(unique);
    } else {
        std::vector<std::uint64_t> take(indices.size());
        for (std::size_t i = 0; i < indices.size(); ++i)
            take[i] = static_cast<std::uint64_t>(std::lower_bound(sorted.begin(), sorted.end(), indices[i]) -
                                                 sorted.begin());
        col = unique.take(take);
    }
    restore_column_attrs(col, impl_->file.get(), path_, object);
    return col;
}

Table ResultReader::read_table(const std::string& group, const std::vector<std::string>& columns, std::uint64_t first,
                               std::optional<std::uint64_t> count) const {
    const std::vector<std::string> names = columns.empty() ? datasets(group) : columns;
    Table t;
    for (const auto& name : names) {
        const std::string object = join(group, name);
        if (!exists(object)) throw DataError(path_, object, "column missing in group " + group);
        t.add(read_column(object, first, count));
    }
    return t;
}

std::optional<std::string> ResultReader::string_attribute(const std::string& object, const std::string& name) const {
    return read_string_attr(impl_->file.get(), path_, object, name);
}
std::optional<std::int64_t> ResultReader::int_attribute(const std::string& object, const std::string& name) const {
    return read_numeric_attr<std::int64_t>(impl_->file.get(), object, name, H5T_NATIVE_INT64, path_);
}
std::optional<double> ResultReader::real_attribute(const std::string& object, const std::string& name) const {
    return read_numeric_attr<double>(impl_->file.get(), object, name, H5T_NATIVE_DOUBLE, path_);
}

// ----------------------------------------------------------------------------------------------
struct ResultAppender::Impl {
    Handle file;
};

ResultAppender::ResultAppender(const std::string& path) : impl_(std::make_unique<Impl>()), path_(path) {
    silence_automatic_errors();
    impl_->file = Handle(check(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), path, "", "cannot open for update"));
}
ResultAppender::~ResultAppender() = default;
ResultAppender::ResultAppender(ResultAppender&&) noexcept = default;
ResultAppender& ResultAppender::operator=(ResultAppender&&) noexcept = default;

void ResultAppender::ensure_group(const std::string& group) {
    if (group.empty() || group == "/") return;
    std::size_t pos = 0;
    while (pos != std::string::npos) {
        const std::size_t next = group.find('/', pos + 1);
        const std::string prefix = group.substr(0, next);
        if (!prefix.empty() && prefix != "/" && H5Lexists(impl_->file.get(), prefix.c_str(), H5P_DEFAULT) <= 0) {
            Handle g(check(H5Gcreate2(impl_->file.get(), prefix.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), path_,
                           prefix, "cannot create group"));
        }
        pos = next;
    }
}

void ResultAppender::remove(const std::string& object) {
    if (H5Lexists(impl_->file.get(), object.c_str(), H5P_DEFAULT) > 0)
        check(H5Ldelete(impl_->file.get(), object.c_str(), H5P_DEFAULT), path_, object, "cannot remove");
}

namespace {
constexpr std::size_t kDeflateMinWidth = 32;         // bytes per string
constexpr std::size_t kDeflateMinBytes = 1u << 20;   // bytes in the column
}  // namespace

void ResultAppender::write_table(const std::string& group, const Table& table) {
    ensure_group(group);
    const hid_t file = impl_->file.get();
    for (const auto& col : table.columns()) {
        const std::string object = join(group, col.name());
        remove(object);
        std::vector<hsize_t> dims{static_cast<hsize_t>(col.num_rows())};
        for (auto c : col.shape()) dims.push_back(static_cast<hsize_t>(c));
        Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
        Handle ftype, mtype;
        std::vector<char> strings;
        const void* data = nullptr;
        if (col.dtype() == DType::string) {
            const auto v = col.values<std::string>();
            std::size_t width = 1;
            for (const auto& s : v) width = std::max(width, s.size());
            ftype = string_type(width);
            mtype = string_type(width);
            strings.assign(v.size() * width, '\0');
            for (std::size_t i = 0; i < v.size(); ++i) std::memcpy(strings.data() + i * width, v[i].data(), v[i].size());
            data = strings.data();
        } else {
            if (col.dtype() == DType::boolean) {
                ftype = bool_type();
                mtype = bool_type();
            } else {
                ftype = Handle(H5Tcopy(native_type(col.dtype())));
                mtype = Handle(H5Tcopy(native_type(col.dtype())));
            }
            data = std::visit([](const auto& v) -> const void* { return static_cast<const void*>(v.data()); },
                              col.storage());
        }
        // Array columns (stamps) are chunked by rows of about 1 MiB, as the gather writes them.
        Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
        if (!col.shape().empty() && col.num_rows() > 0) {
            const std::size_t elem = H5Tget_size(ftype.get());
            const std::size_t row_bytes = std::max<std::size_t>(1, col.cell_size() * elem);
            std::vector<hsize_t> chunk = dims;
            chunk[0] = std::clamp<hsize_t>((1u << 20) / row_bytes, 1, dims[0]);
            H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data());
        } else if (col.dtype() == DType::string && col.shape().empty()) {
            // Wide string columns (a lens reference list, a git commit on every row) are mostly
            // NUL padding: chunks of ~1 MiB deflated at level 1 (fast; read back transparently by
            // HDF5, h5py and dhs). lenscat's /lenses: 93 MB -> a few MB.
            const std::size_t width = H5Tget_size(ftype.get());
            if (width >= kDeflateMinWidth && width * col.num_rows() >= kDeflateMinBytes) {
                const hsize_t chunk = std::clamp<hsize_t>((1u << 20) / width, 1, dims[0]);
                H5Pset_chunk(dcpl.get(), 1, &chunk);
                H5Pset_deflate(dcpl.get(), 1);
            }
        }
        Handle ds(check(H5Dcreate2(file, object.c_str(), ftype.get(), space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                        path_, object, "cannot create dataset"));
        if (col.num_rows() > 0)
            check(H5Dwrite(ds.get(), mtype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data), path_, object, "cannot write");
        ds.reset();
        if (!col.unit().empty()) set_attribute(object, "units", col.unit());
        if (!col.description().empty()) set_attribute(object, "description", col.description());
    }
}

void ResultAppender::set_attribute(const std::string& obj, const std::string& name, const std::string& value) {
    Handle t = string_type(value.size());
    std::string padded = value.empty() ? std::string(1, '\0') : value;
    write_attr(impl_->file.get(), path_, obj, name, t.get(), padded.data());
}
void ResultAppender::set_attribute(const std::string& obj, const std::string& name, std::int64_t value) {
    write_attr(impl_->file.get(), path_, obj, name, H5T_NATIVE_INT64, &value);
}
void ResultAppender::set_attribute(const std::string& obj, const std::string& name, double value) {
    write_attr(impl_->file.get(), path_, obj, name, H5T_NATIVE_DOUBLE, &value);
}

void ResultAppender::close() {
    if (!impl_ || !impl_->file) return;
    check(H5Fflush(impl_->file.get(), H5F_SCOPE_LOCAL), path_, "", "cannot flush");
    const hid_t id = impl_->file.release();
    check(H5Fclose(id), path_, "", "cannot close");
}

}  // namespace dhs::hdf5
