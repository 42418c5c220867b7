// A parallel HDF5 file written by every rank of a communicator through MPI-IO: collective
// creation of groups and datasets, collective hyperslab writes of rows (the only way HDF5
// 1.10 writes chunked datasets in parallel), attributes. Strings are fixed-length UTF-8
// (parallel HDF5 cannot write variable-length data), which h5py reads as bytes. Objects of
// 64 KiB or more (chunks, large datasets) start on a 4 KiB page boundary.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/table/table.hpp"

namespace dhs::mpi {
class Comm;
}

namespace dhs::hdf5 {

/// @brief How a column becomes a dataset: N rows of `cell_shape`, fixed string width.
struct DatasetSpec {
    std::string path;                     ///< "/group/name"
    DType dtype = DType::float64;
    std::uint64_t rows = 0;
    std::vector<std::size_t> cell_shape;  ///< per-row shape (empty: scalar)
    std::size_t string_bytes = 1;         ///< fixed width of string elements (>= 1)
};

class ParallelFile {
public:
    /// @brief Creates (truncating) `path` on every rank of `comm`. Collective.
    ParallelFile(const std::string& path, const mpi::Comm& comm);
    ~ParallelFile();  ///< closes (collective); errors are dropped, call close() to see them
    ParallelFile(const ParallelFile&) = delete;
    ParallelFile& operator=(const ParallelFile&) = delete;

    /// @brief Creates a group (parents must exist). Collective.
    void create_group(const std::string& path);
    /// @brief Creates a dataset: contiguous for scalar columns, chunked by a few rows (about
    /// 1 MiB) for array columns such as stamps. Collective, same spec on every rank.
    void create_dataset(const DatasetSpec& spec);
    /// @brief Writes `column`'s rows at row `offset` of dataset `path`. Collective: every
    /// rank calls it, with an empty column (zero rows) when it has nothing to write.
    void write_rows(const std::string& path, std::uint64_t offset, const Column& column);
    /// @brief Writes `nrows` rows at row `offset` of dataset `path` from `data`: row-major
    /// elements in native byte order (booleans one byte, 0 or 1; strings fixed-width slots of
    /// the dataset's string_bytes, NUL-padded). Collective: every rank calls it, with nrows 0
    /// (data may be null) when it has nothing to write.
    void write_rows_raw(const std::string& path, std::uint64_t offset, std::uint64_t nrows, const void* data);
    /// @brief Attributes (collective; every rank passes the same value).
    void set_attribute(const std::string& object, const std::string& name, const std::string& value);
    void set_attribute(const std::string& object, const std::string& name, std::int64_t value);
    void set_attribute(const std::string& object, const std::string& name, double value);
    /// @brief Closes the file, reporting failures. Collective.
    void close();

    const std::string& path() const { return path_; }

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::string path_;
};

}  // namespace dhs::hdf5
