// ParallelFile: MPI-IO parallel HDF5 writing (see parallel_file.hpp).
#include "core/hdf5/parallel_file.hpp"

#include <mpi.h>

#include <cstring>
#include <map>

#include "core/error.hpp"
#include "core/hdf5/h5_handle.hpp"
#include "core/hdf5/h5_types.hpp"
#include "core/mpi/comm.hpp"

namespace dhs::hdf5 {

struct ParallelFile::Impl {
    struct Dataset {
        DatasetSpec spec;
        Handle ds, mtype;  // open from creation to close; memory type (booleans, strings)
    };
    Handle file, dxpl;
    std::map<std::string, Dataset> datasets;
    const mpi::Comm* comm = nullptr;  // the file's communicator (outlives the file)
    bool mpio = false;
    bool broken = false;  // a collective write failed on some rank: the file is abandoned, not closed
};

ParallelFile::ParallelFile(const std::string& path, const mpi::Comm& comm) : impl_(std::make_unique<Impl>()), path_(path) {
    silence_automatic_errors();
    Handle fapl(check(H5Pcreate(H5P_FILE_ACCESS), path, "", "H5Pcreate"));
    // The one-rank stand-in (a run without an MPI launcher) writes through the default POSIX
    // driver with independent I/O: the same file layout, no MPI-IO underneath.
    const bool mpio = !comm.is_standin();
    impl_->comm = &comm;
    impl_->mpio = mpio;
    if (mpio) {
        MPI_Comm c = *static_cast<MPI_Comm*>(comm.as_mpi());
        check(H5Pset_fapl_mpio(fapl.get(), c, MPI_INFO_NULL), path, "", "H5Pset_fapl_mpio");
    }
    // Large objects (chunks, big contiguous datasets) start on a page: no page of the page
    // cache is shared by two ranks' writes or holds both data and metadata. Measured ~30%
    // faster collective writes of stamps (bench_gather); costs < 4 KiB per object >= 64 KiB.
    check(H5Pset_alignment(fapl.get(), 64 << 10, 4096), path, "", "H5Pset_alignment");
    if (mpio) {
        check(H5Pset_all_coll_metadata_ops(fapl.get(), true), path, "", "H5Pset_all_coll_metadata_ops");
        check(H5Pset_coll_metadata_write(fapl.get(), true), path, "", "H5Pset_coll_metadata_write");
    }
    impl_->file = Handle(check(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), path, "", "cannot create"));
    impl_->dxpl = Handle(check(H5Pcreate(H5P_DATASET_XFER), path, "", "H5Pcreate(xfer)"));
    if (mpio) check(H5Pset_dxpl_mpio(impl_->dxpl.get(), H5FD_MPIO_COLLECTIVE), path, "", "H5Pset_dxpl_mpio");
}

ParallelFile::~ParallelFile() {
    if (!impl_) return;
    if (impl_->broken) {
        // After a failed collective write HDF5's ranks disagree about the file's state, and a
        // collective close would wait forever (one rank in a metadata flush, another in the
        // truncate). Abandon the identifiers: the partial file is left as it is, never renamed
        // into place, and --resume writes it again from the spool.
        for (auto& [name, d] : impl_->datasets) (void)d.ds.release(), (void)d.mtype.release();
        (void)impl_->dxpl.release();
        (void)impl_->file.release();
        return;
    }
    impl_->datasets.clear();
    impl_->file.reset();
}

void ParallelFile::close() {
    if (!impl_->file) return;
    impl_->datasets.clear();
    impl_->dxpl.reset();
    hid_t id = impl_->file.release();  // released first so a failure is reported once
    check(H5Fclose(id), path_, "", "closing failed (data may not be on disk)");
}

void ParallelFile::create_group(const std::string& p) {
    Handle g(check(H5Gcreate2(impl_->file.get(), p.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), path_, p,
                   "cannot create group"));
}

void ParallelFile::create_dataset(const DatasetSpec& spec) {
    std::vector<hsize_t> dims{spec.rows};
    for (auto d : spec.cell_shape) dims.push_back(d);
    Handle space(check(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), path_, spec.path,
                       "H5Screate_simple"));
    Handle dcpl(check(H5Pcreate(H5P_DATASET_CREATE), path_, spec.path, "H5Pcreate"));
    std::size_t cell = 1;
    for (auto d : spec.cell_shape) cell *= d;
    std::size_t elem = spec.dtype == DType::string ? spec.string_bytes : dtype_size(spec.dtype);
    if (!spec.cell_shape.empty() && spec.rows > 0) {
        // A few rows per chunk, about 1 MiB: one stamp-sized cell or a handful.
        hsize_t k = std::max<hsize_t>(1, (1u << 20) / std::max<std::size_t>(1, cell * elem));
        k = std::min<hsize_t>(k, spec.rows);
        std::vector<hsize_t> chunk = dims;
        chunk[0] = k;
        check(H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()), path_, spec.path, "H5Pset_chunk");
    }
    // Parallel HDF5 allocates storage at creation anyway; say so, so that the POSIX driver of
    // the one-rank stand-in lays the file out the same way.
    check(H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY), path_, spec.path, "H5Pset_alloc_time");
    check(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), path_, spec.path, "H5Pset_fill_time");
    Handle stype;
    hid_t type = native_type(spec.dtype);
    if (spec.dtype == DType::string) {
        stype = string_type(spec.string_bytes);
        type = stype.get();
    } else if (spec.dtype == DType::boolean) {
        stype = bool_type();
        type = stype.get();
    }
    Handle ds(check(H5Dcreate2(impl_->file.get(), spec.path.c_str(), type, space.get(), H5P_DEFAULT, dcpl.get(),
                               H5P_DEFAULT),
                    path_, spec.path, "cannot create dataset"));
    impl_->datasets[spec.path] = Impl::Dataset{spec, std::move(ds), std::move(stype)};
}

void ParallelFile::write_rows(const std::string& p, std::uint64_t offset, const Column& column) {
    auto it = impl_->datasets.find(p);
    if (it == impl_->datasets.end()) throw HdfError(path_, p, "write to a dataset not created here", "");
    const DatasetSpec& spec = it->second.spec;
    const std::uint64_t n = column.num_rows();
    if (spec.dtype == DType::string) {
        std::string packed(static_cast<std::size_t>(n) * column.cell_size() * spec.string_bytes, '\0');
        const auto& strs = column.strings();
        for (std::size_t i = 0; i < strs.size(); ++i) {
            if (strs[i].size() > spec.string_bytes) throw HdfError(path_, p, "string longer than the dataset width", "");
            std::memcpy(packed.data() + i * spec.string_bytes, strs[i].data(), strs[i].size());
        }
        write_rows_raw(p, offset, n, packed.data());
        return;
    }
    const void* data = std::visit(
        [](const auto& v) -> const void* { return v.empty() ? nullptr : static_cast<const void*>(v.data()); },
        column.storage());
    write_rows_raw(p, offset, n, data);
}

void ParallelFile::write_rows_raw(const std::string& p, std::uint64_t offset, std::uint64_t n, const void* data) {
    auto it = impl_->datasets.find(p);
    if (it == impl_->datasets.end()) throw HdfError(path_, p, "write to a dataset not created here", "");
    const Impl::Dataset& d = it->second;
    const DatasetSpec& spec = d.spec;
    if (spec.rows == 0) return;  // nothing to write on any rank (and no storage to write to)
    if (n > 0 && (offset + n > spec.rows || data == nullptr))
        throw HdfError(path_, p, "rows beyond the dataset's end (engine bug)", "");
    Handle fspace(check(H5Dget_space(d.ds.get()), path_, p, "H5Dget_space"));
    std::vector<hsize_t> start{offset}, count{n};
    for (auto c : spec.cell_shape) {
        start.push_back(0);
        count.push_back(c);
    }
    Handle mspace;
    if (n == 0) {
        // Take part in the collective call with nothing selected on either side (an
        // H5S_NULL memory space makes HDF5 1.10 write stray bytes at offset 0).
        check(H5Sselect_none(fspace.get()), path_, p, "H5Sselect_none");
        std::vector<hsize_t> one(count.size(), 1);
        mspace = Handle(H5Screate_simple(static_cast<int>(one.size()), one.data(), nullptr));
        check(H5Sselect_none(mspace.get()), path_, p, "H5Sselect_none(memory)");
    } else {
        check(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr), path_, p,
              "H5Sselect_hyperslab");
        mspace = Handle(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr));
    }
    static const double dummy[8] = {};  // a valid address for an empty selection
    const hid_t mtype = d.mtype ? d.mtype.get() : native_type(spec.dtype);
    const herr_t status = H5Dwrite(d.ds.get(), mtype, mspace.get(), fspace.get(), impl_->dxpl.get(), n > 0 ? data : dummy);
    // Every rank learns whether any rank's part failed (a full disk may fail one rank's MPI-IO
    // write only): all then throw here together, so the collective closes that follow the
    // unwinding match on every rank instead of one rank waiting in the next write forever.
    const bool failed_here = status < 0;
    const std::string stack = failed_here ? error_stack() : std::string();
    const bool failed_anywhere =
        impl_->mpio ? impl_->comm->allreduce_max(std::int64_t{failed_here}) > 0 : failed_here;
    if (!failed_anywhere) return;
    impl_->broken = impl_->mpio;
    if (!failed_here) throw HdfError(path_, p, "collective write failed on another rank (its error is in its log)", "");
    throw HdfError(path_, p, "collective write failed", stack);
}

void ParallelFile::set_attribute(const std::string& obj, const std::string& name, const std::string& value) {
    Handle t = string_type(value.size());
    std::string padded = value.empty() ? std::string(1, '\0') : value;
    write_attr(impl_->file.get(), path_, obj, name, t.get(), padded.data());
}
void ParallelFile::set_attribute(const std::string& obj, const std::string& name, std::int64_t value) {
    write_attr(impl_->file.get(), path_, obj, name, H5T_NATIVE_INT64, &value);
}
void ParallelFile::set_attribute(const std::string& obj, const std::string& name, double value) {
    write_attr(impl_->file.get(), path_, obj, name, H5T_NATIVE_DOUBLE, &value);
}

}  // namespace dhs::hdf5
