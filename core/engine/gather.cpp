// gather_stage (see gather.hpp).
#include "core/engine/gather.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "core/engine/spool.hpp"
#include "core/error.hpp"
#include "core/hdf5/parallel_file.hpp"
#include "core/mpi/comm.hpp"

namespace dhs::engine {

namespace {

// Summaries of every done unit, read in parallel (unit i by rank i % size) and shared.
std::vector<SpoolSummary> all_summaries(const mpi::Comm& comm, const std::vector<std::int64_t>& done,
                                        const std::string& dir) {
    std::ostringstream mine;
    for (std::size_t i = static_cast<std::size_t>(comm.rank()); i < done.size(); i += static_cast<std::size_t>(comm.size())) {
        SpoolSummary s = read_spool_summary(spool_path(dir, done[i]));
        mine << i << ' ' << s.file_bytes << ' ' << s.rows.size();
        for (const auto& [g, n] : s.rows) mine << ' ' << g << ' ' << n;
        mine << ' ' << s.max_string_bytes.size();
        for (const auto& [k, n] : s.max_string_bytes) mine << ' ' << k << ' ' << n;
        mine << '\n';
    }
    std::vector<SpoolSummary> out(done.size());
    for (const auto& part : comm.allgather(mine.str())) {
        std::istringstream in(part);
        std::size_t i, ng, ns;
        while (in >> i) {
            SpoolSummary& s = out.at(i);
            s.unit_index = done[i];
            in >> s.file_bytes >> ng;
            for (std::size_t k = 0; k < ng; ++k) {
                std::string g;
                std::uint64_t n;
                in >> g >> n;
                s.rows[g] = n;
            }
            in >> ns;
            for (std::size_t k = 0; k < ns; ++k) {
                std::string key;
                std::uint64_t n;
                in >> key >> n;
                s.max_string_bytes[key] = n;
            }
        }
    }
    return out;
}

// Contiguous ranges of units per rank, balanced by spool bytes.
std::vector<std::size_t> partition(const std::vector<SpoolSummary>& s, int nranks) {
    std::uint64_t total = 0;
    for (const auto& x : s) total += x.file_bytes;
    std::vector<std::size_t> bounds(static_cast<std::size_t>(nranks) + 1, s.size());
    bounds[0] = 0;
    std::uint64_t acc = 0;
    int r = 1;
    for (std::size_t i = 0; i < s.size() && r < nranks; ++i) {
        acc += s[i].file_bytes;
        while (r < nranks && acc * static_cast<std::uint64_t>(nranks) >= total * static_cast<std::uint64_t>(r))
            bounds[static_cast<std::size_t>(r++)] = i + 1;
    }
    return bounds;
}

void check_schema(const Table& got, const Table& schema, const std::string& group, const std::string& file) {
    if (got.num_columns() != schema.num_columns())
        throw DataError(file, "group " + group,
                        fmt::format("unit has {} columns, the stage declares {}", got.num_columns(), schema.num_columns()));
    for (std::size_t c = 0; c < schema.num_columns(); ++c) {
        const Column &a = got.column(c), &b = schema.column(c);
        if (a.name() != b.name() || a.dtype() != b.dtype() || a.shape() != b.shape())
            throw DataError(file, "group " + group + " column " + b.name(),
                            fmt::format("unit column '{}' ({}) does not match the declared '{}' ({})", a.name(),
                                        dtype_name(a.dtype()), b.name(), dtype_name(b.dtype())));
    }
}

}  // namespace

void validate_unit_output(const UnitOutput& out, const std::vector<OutputGroup>& groups, const std::string& unit_id) {
    for (const auto& [g, t] : out) {
        auto gi = std::find_if(groups.begin(), groups.end(), [&](const OutputGroup& x) { return x.name == g; });
        if (gi == groups.end()) throw Error("unit '" + unit_id + "' produced group '" + g + "', which the stage does not declare");
        if (t.num_columns() == 0 && t.num_rows() == 0) continue;
        check_schema(t, gi->schema, g, "unit " + unit_id);
    }
}

std::map<std::string, std::uint64_t> gather_stage(const mpi::Comm& comm, const std::vector<OutputGroup>& groups,
                                                  const std::vector<std::int64_t>& done, const std::string& dir,
                                                  const std::string& final_path, const GatherMeta& meta) {
    using clock = std::chrono::steady_clock;
    auto tick = clock::now();
    std::map<std::string, double> phase;  // seconds per phase, logged at debug level
    auto lap = [&](const char* name) {
        auto now = clock::now();
        phase[name] += std::chrono::duration<double>(now - tick).count();
        tick = now;
    };
    const auto summaries = all_summaries(comm, done, dir);
    const auto bounds = partition(summaries, comm.size());
    const std::size_t my_begin = bounds[static_cast<std::size_t>(comm.rank())];
    const std::size_t my_end = bounds[static_cast<std::size_t>(comm.rank()) + 1];

    // Totals and string widths from the summaries (every rank computes the same).
    std::map<std::string, std::uint64_t> total_rows, my_rows;
    std::map<std::string, std::uint64_t> string_width;
    for (std::size_t i = 0; i < summaries.size(); ++i) {
        for (const auto& [g, n] : summaries[i].rows) {
            total_rows[g] += n;
            if (i >= my_begin && i < my_end) my_rows[g] += n;
        }
        for (const auto& [k, n] : summaries[i].max_string_bytes) string_width[k] = std::max(string_width[k], n);
    }
    std::map<std::string, std::uint64_t> my_offset;
    for (const auto& g : groups)
        my_offset[g.name] = static_cast<std::uint64_t>(comm.exscan_sum(static_cast<std::int64_t>(my_rows[g.name])));

    lap("summaries");
    const std::string partial = final_path + ".partial";
    {
        hdf5::ParallelFile file(partial, comm);
        for (const auto& g : groups) {
            file.create_group("/" + g.name);
            if (!g.description.empty()) file.set_attribute("/" + g.name, "description", g.description);
            for (const auto& c : g.schema.columns()) {
                std::string path = "/" + g.name + "/" + c.name();
                file.create_dataset({.path = path, .dtype = c.dtype(), .rows = total_rows[g.name], .cell_shape = c.shape(),
                                     .string_bytes = std::max<std::uint64_t>(1, string_width[g.name + "/" + c.name()])});
                file.set_attribute(path, "units", c.unit());
                file.set_attribute(path, "description", c.description());
                if (auto it = g.column_attributes.find(c.name()); it != g.column_attributes.end())
                    for (const auto& [k, v] : it->second) file.set_attribute(path, k, v);
            }
        }

        lap("create");
        // Rounds of collective writes: each rank holds up to buffer_bytes of consecutive units.
        std::vector<std::pair<std::size_t, std::size_t>> blocks;
        for (std::size_t i = my_begin; i < my_end;) {
            std::size_t j = i;
            std::uint64_t bytes = 0;
            while (j < my_end && (j == i || bytes + summaries[j].file_bytes <= meta.buffer_bytes)) bytes += summaries[j++].file_bytes;
            blocks.emplace_back(i, j);
            i = j;
        }
        const auto rounds = comm.allreduce_max(static_cast<std::int64_t>(blocks.size()));
        auto offset = my_offset;
        for (std::int64_t round = 0; round < rounds; ++round) {
            std::map<std::string, Table> rows;
            if (static_cast<std::size_t>(round) < blocks.size()) {
                for (std::size_t i = blocks[static_cast<std::size_t>(round)].first;
                     i < blocks[static_cast<std::size_t>(round)].second; ++i) {
                    const std::string sp = spool_path(dir, done[i]);
                    UnitOutput out = read_spool(sp);
                    for (auto& [g, t] : out) {
                        if (t.num_rows() == 0) continue;
                        auto gi = std::find_if(groups.begin(), groups.end(), [&](const OutputGroup& x) { return x.name == g; });
                        if (gi == groups.end()) throw DataError(sp, "group " + g, "the stage declares no such group");
                        check_schema(t, gi->schema, g, sp);
                        rows[g].append(t);
                    }
                }
            }
            lap("read spool");
            for (const auto& g : groups) {
                const Table& t = rows.count(g.name) ? rows[g.name] : g.schema;
                for (std::size_t c = 0; c < g.schema.num_columns(); ++c) {
                    const Column& col = t.num_rows() ? t.column(c) : g.schema.column(c);
                    file.write_rows("/" + g.name + "/" + col.name(), offset[g.name], col);
                }
                offset[g.name] += t.num_rows();
            }
            lap("write");
        }

        // Failures, in canonical unit order.
        file.create_group("/failures");
        Table f;
        {
            std::vector<std::int64_t> idx, rank;
            std::vector<std::string> id, msg;
            for (const auto& x : meta.failures) {
                idx.push_back(x.unit_index);
                rank.push_back(x.rank);
                id.push_back(x.unit_id);
                msg.push_back(x.message);
            }
            f.add(Column("unit_index", idx));
            f.add(Column("unit_id", id));
            f.add(Column("rank", rank));
            f.add(Column("message", msg));
        }
        for (const auto& c : f.columns()) {
            std::uint64_t width = 1;
            if (c.dtype() == DType::string)
                for (const auto& s : c.strings()) width = std::max<std::uint64_t>(width, s.size());
            file.create_dataset({.path = "/failures/" + c.name(), .dtype = c.dtype(), .rows = f.num_rows(),
                                 .cell_shape = {}, .string_bytes = width});
            // Rank 0 writes the whole (small) table; the others take part with nothing.
            file.write_rows("/failures/" + c.name(), 0, comm.rank() == 0 ? c : c.slice(0, 0));
        }
        file.set_attribute("/failures", "description", "work units quarantined after a retry: unit, rank, error message");

        for (const auto& [k, v] : meta.root_string_attrs) file.set_attribute("/", k, v);
        for (const auto& [k, v] : meta.root_int_attrs) file.set_attribute("/", k, v);
        file.set_attribute("/", "stage", meta.stage);
        file.set_attribute("/", "stage_description", meta.stage_description);
        file.create_group("/provenance");
        file.create_group("/provenance/run");
        for (const auto& [k, v] : meta.run_string_attrs) file.set_attribute("/provenance/run", k, v);
        for (const auto& [k, v] : meta.run_real_attrs) file.set_attribute("/provenance/run", k, v);
        file.close();
    }
    lap("close");
    comm.barrier();
    if (comm.rank() == 0) {
        // Durable before it is final: the spool files are deleted once the stage is complete.
        int fd = ::open(partial.c_str(), O_RDONLY);
        if (fd < 0 || ::fsync(fd) != 0) {
            if (fd >= 0) ::close(fd);
            throw Error(fmt::format("cannot fsync '{}': {}", partial, std::strerror(errno)));
        }
        ::close(fd);
        std::error_code ec;
        std::filesystem::rename(partial, final_path, ec);
        if (ec) throw Error(fmt::format("cannot rename '{}' to '{}': {}", partial, final_path, ec.message()));
        fsync_directory(std::filesystem::path(final_path).parent_path().string());
    }
    lap("fsync+rename");
    comm.barrier();
    std::string timing;
    for (const auto& [k, v] : phase) timing += fmt::format(" {} {:.3f}s", k, v);
    spdlog::debug("gather {}:{}", final_path, timing);
    return total_rows;
}

}  // namespace dhs::engine
