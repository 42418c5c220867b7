// write_table_file (see table_file.hpp).
#include "core/engine/table_file.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "core/engine/spool.hpp"
#include "core/error.hpp"
#include "core/hdf5/parallel_file.hpp"
#include "core/mpi/comm.hpp"

namespace dhs::engine {

namespace {

std::size_t string_width(const Column& c) {
    std::size_t width = 1;
    if (c.dtype() == DType::string)
        for (const auto& s : c.strings()) width = std::max(width, s.size());
    return width;
}

}  // namespace

void write_table_file(const std::string& final_path, const std::vector<TableGroup>& groups, const GatherMeta& meta) {
    const std::string partial = final_path + ".partial";
    {
        const mpi::Comm self = mpi::Comm::self_standin();
        hdf5::ParallelFile file(partial, self);
        for (const auto& g : groups) {
            const std::string group = "/" + g.name;
            file.create_group(group);
            for (const auto& c : g.table.columns()) {
                const std::string path = group + "/" + c.name();
                file.create_dataset({.path = path, .dtype = c.dtype(), .rows = c.num_rows(), .cell_shape = c.shape(),
                                     .string_bytes = string_width(c)});
                file.write_rows(path, 0, c);
            }
            for (const auto& [k, v] : g.string_attrs) file.set_attribute(group, k, v);
            for (const auto& [k, v] : g.real_attrs) file.set_attribute(group, k, v);
        }
        write_provenance(file, meta);
        file.close();
    }
    fsync_file(partial);
    std::error_code ec;
    std::filesystem::rename(partial, final_path, ec);
    if (ec) throw Error(fmt::format("cannot rename '{}' to '{}': {}", partial, final_path, ec.message()));
    fsync_directory(std::filesystem::path(final_path).parent_path().string());
}

}  // namespace dhs::engine
