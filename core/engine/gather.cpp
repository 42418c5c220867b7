// gather_stage (see gather.hpp). Each rank streams its spool files (SpoolReader) straight
// into per-column round buffers allocated once, writes the round with one collective
// H5Dwrite per dataset and starts the kernel's writeback before reading the next round.
#include "core/engine/gather.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <new>
#include <sstream>

#include "core/engine/spool.hpp"
#include "core/error.hpp"
#include "core/hdf5/parallel_file.hpp"
#include "core/mpi/comm.hpp"
#include "core/util/utf8.hpp"

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

void check_schema(const SpoolReader::GroupInfo& got, const Table& schema, const std::string& file) {
    if (got.columns.size() != schema.num_columns())
        throw DataError(file, "group " + got.name,
                        fmt::format("unit has {} columns, the stage declares {}", got.columns.size(), schema.num_columns()));
    for (std::size_t c = 0; c < schema.num_columns(); ++c) {
        const SpoolReader::ColumnInfo& a = got.columns[c];
        const Column& b = schema.column(c);
        if (a.name != b.name() || a.dtype != b.dtype() || a.shape != b.shape())
            throw DataError(file, "group " + got.name + " column " + b.name(),
                            fmt::format("unit column '{}' ({}) does not match the declared '{}' ({})", a.name,
                                        dtype_name(a.dtype), b.name(), dtype_name(b.dtype())));
    }
}

// The round buffers: allocated once, reused every round. Anonymous memory advised to be
// huge pages: a first touch of fresh 4 KiB pages costs more than the copy that fills them
// (about 3 ns/byte on some VMs, 10x less with 2 MiB pages), and the spool data is read
// straight into these pages.
class RoundMemory {
public:
    explicit RoundMemory(std::size_t bytes) : bytes_(bytes) {
        if (bytes_ == 0) return;
        void* p = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
        ::madvise(p, bytes_, MADV_HUGEPAGE);  // a hint; without it the buffers work the same
#endif
        data_ = static_cast<char*>(p);
    }
    ~RoundMemory() {
        if (data_ != nullptr) ::munmap(data_, bytes_);
    }
    RoundMemory(const RoundMemory&) = delete;
    RoundMemory& operator=(const RoundMemory&) = delete;
    char* data() const noexcept { return data_; }

private:
    std::size_t bytes_ = 0;
    char* data_ = nullptr;
};

// Starts the kernel's writeback of the stage file after each round (every rank: the page
// cache is per node), so the fsync at the end finds most of it on disk already. A hint.
class Writeback {
public:
    explicit Writeback(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {}
    ~Writeback() {
        if (fd_ >= 0) ::close(fd_);
    }
    Writeback(const Writeback&) = delete;
    Writeback& operator=(const Writeback&) = delete;
    void start() noexcept {
        if (fd_ >= 0) (void)::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
    }

private:
    int fd_;
};

// Seconds per phase of a gather, for the debug log. `timed` when that log is on: the caller
// then separates the phases with barriers (a write's time without this rank waiting for the others).
class PhaseClock {
public:
    bool timed() const noexcept { return timed_; }
    void lap(const char* name) {
        const auto now = clock::now();
        seconds_[name] += std::chrono::duration<double>(now - tick_).count();
        tick_ = now;
    }
    std::string text() const {
        std::string out;
        for (const auto& [k, v] : seconds_) out += fmt::format(" {} {:.3f}s", k, v);
        return out;
    }

private:
    using clock = std::chrono::steady_clock;
    bool timed_ = spdlog::should_log(spdlog::level::debug);
    clock::time_point tick_ = clock::now();
    std::map<std::string, double> seconds_;
};

// What every rank knows before the file is written (each computes the same): every done
// unit's spool summary, this rank's contiguous range of them, each group's rows in all and
// this rank's first row in it, and each string column's width.
struct GatherPlan {
    std::vector<SpoolSummary> summaries;
    std::size_t my_begin = 0, my_end = 0;
    std::map<std::string, std::uint64_t> total_rows, my_offset;
    std::map<std::string, std::uint64_t> string_width;  ///< per "group/column"
};

GatherPlan plan_gather(const mpi::Comm& comm, const std::vector<OutputGroup>& groups,
                       const std::vector<std::int64_t>& done, const std::string& dir) {
    GatherPlan plan;
    plan.summaries = all_summaries(comm, done, dir);
    const auto bounds = partition(plan.summaries, comm.size());
    plan.my_begin = bounds[static_cast<std::size_t>(comm.rank())];
    plan.my_end = bounds[static_cast<std::size_t>(comm.rank()) + 1];
    std::map<std::string, std::uint64_t> my_rows;
    for (std::size_t i = 0; i < plan.summaries.size(); ++i) {
        for (const auto& [g, n] : plan.summaries[i].rows) {
            plan.total_rows[g] += n;
            if (i >= plan.my_begin && i < plan.my_end) my_rows[g] += n;
        }
        for (const auto& [k, n] : plan.summaries[i].max_string_bytes)
            plan.string_width[k] = std::max(plan.string_width[k], n);
    }
    for (const auto& g : groups)
        plan.my_offset[g.name] = static_cast<std::uint64_t>(comm.exscan_sum(static_cast<std::int64_t>(my_rows[g.name])));
    return plan;
}

// Every group's datasets, sized for all its rows, with their units and descriptions. Collective.
void create_datasets(hdf5::ParallelFile& file, const std::vector<OutputGroup>& groups, GatherPlan& plan) {
    for (const auto& g : groups) {
        file.create_group("/" + g.name);
        if (!g.description.empty()) file.set_attribute("/" + g.name, "description", g.description);
        for (const auto& c : g.schema.columns()) {
            std::string path = "/" + g.name + "/" + c.name();
            file.create_dataset({.path = path, .dtype = c.dtype(), .rows = plan.total_rows[g.name], .cell_shape = c.shape(),
                                 .string_bytes = std::max<std::uint64_t>(1, plan.string_width[g.name + "/" + c.name()])});
            file.set_attribute(path, "units", c.unit());
            file.set_attribute(path, "description", c.description());
            if (auto it = g.column_attributes.find(c.name()); it != g.column_attributes.end())
                for (const auto& [k, v] : it->second) file.set_attribute(path, k, v);
        }
    }
}

// This rank's units as blocks [first, end) of consecutive units, each up to buffer_bytes of
// spool files (at least one unit): one block a round of collective writes.
std::vector<std::pair<std::size_t, std::size_t>> round_blocks(const GatherPlan& plan, std::uint64_t buffer_bytes) {
    std::vector<std::pair<std::size_t, std::size_t>> blocks;
    for (std::size_t i = plan.my_begin; i < plan.my_end;) {
        std::size_t j = i;
        std::uint64_t bytes = 0;
        while (j < plan.my_end && (j == i || bytes + plan.summaries[j].file_bytes <= buffer_bytes))
            bytes += plan.summaries[j++].file_bytes;
        blocks.emplace_back(i, j);
        i = j;
    }
    return blocks;
}

// One buffer per (group, column), sized for the largest round: the spool values are read
// straight into it at their row, then written from it (strings as the dataset's fixed-width
// slots). The buffers are slices of one arena.
struct Slot {
    std::string path;          // dataset
    std::size_t row_bytes = 0; // bytes of one row in the buffer
    std::size_t width = 0;     // string columns: fixed width
    std::size_t at = 0;        // offset in the arena
    char* data = nullptr;
};

struct RoundSlots {
    std::map<std::string, std::size_t> group_index;
    std::vector<std::vector<Slot>> slots;  // [group][column]
    std::size_t arena_bytes = 0;
    void bind(char* arena) {
        for (auto& gs : slots)
            for (auto& sl : gs) sl.data = arena + sl.at;
    }
};

RoundSlots plan_slots(const std::vector<OutputGroup>& groups, GatherPlan& plan,
                      const std::vector<std::pair<std::size_t, std::size_t>>& blocks) {
    RoundSlots rs;
    rs.slots.resize(groups.size());
    std::vector<std::uint64_t> max_round_rows(groups.size(), 0);
    for (std::size_t k = 0; k < groups.size(); ++k) {
        rs.group_index[groups[k].name] = k;
        for (const auto& [b, e] : blocks) {
            std::uint64_t n = 0;
            for (std::size_t i = b; i < e; ++i)
                if (auto it = plan.summaries[i].rows.find(groups[k].name); it != plan.summaries[i].rows.end()) n += it->second;
            max_round_rows[k] = std::max(max_round_rows[k], n);
        }
    }
    for (std::size_t k = 0; k < groups.size(); ++k)
        for (const auto& c : groups[k].schema.columns()) {
            Slot sl;
            sl.path = "/" + groups[k].name + "/" + c.name();
            if (c.dtype() == DType::string) {
                sl.width = static_cast<std::size_t>(std::max<std::uint64_t>(1, plan.string_width[groups[k].name + "/" + c.name()]));
                sl.row_bytes = c.cell_size() * sl.width;
            } else {
                sl.row_bytes = c.cell_size() * dtype_size(c.dtype());
            }
            sl.at = rs.arena_bytes;
            rs.arena_bytes += (static_cast<std::size_t>(max_round_rows[k]) * sl.row_bytes + 4095) / 4096 * 4096;
            rs.slots[k].push_back(std::move(sl));
        }
    return rs;
}

// Streams one unit's spool file into the slots after the rows `filled` so far this round.
void read_unit(const SpoolSummary& summary, const std::string& path, const std::vector<OutputGroup>& groups,
               RoundSlots& rs, const std::vector<std::uint64_t>& round_rows, std::vector<std::uint64_t>& filled) {
    SpoolReader r(path);
    const std::string& sp = r.path();
    for (const auto& G : r.groups()) {
        if (G.rows == 0) {
            for (std::size_t c = 0; c < G.columns.size(); ++c) r.skip();
            continue;
        }
        auto gi = rs.group_index.find(G.name);
        if (gi == rs.group_index.end()) throw DataError(sp, "group " + G.name, "the stage declares no such group");
        const std::size_t k = gi->second;
        check_schema(G, groups[k].schema, sp);
        auto si = summary.rows.find(G.name);
        if (si == summary.rows.end() || si->second != G.rows || filled[k] + G.rows > round_rows[k])
            throw DataError(sp, "group " + G.name, "the file changed during the gather (rows differ)");
        for (std::size_t c = 0; c < G.columns.size(); ++c) {
            Slot& sl = rs.slots[k][c];
            char* dest = sl.data + static_cast<std::size_t>(filled[k]) * sl.row_bytes;
            if (sl.width > 0) {
                r.read_strings_fixed(dest, sl.width);
            } else {
                r.read_raw(dest, static_cast<std::size_t>(G.rows) * sl.row_bytes);
            }
        }
        filled[k] += G.rows;
    }
    r.finish();
    // Its pages are left in the page cache (no POSIX_FADV_DONTNEED): on a spool file not yet
    // written back that call starts its writeback, and the spool files, removed once the stage
    // is complete, then went to disk beside the stage file (3.9 GB written instead of 1.95 GB
    // for 5,000 injections; 16.0 -> 13.8 s for the command on the project's VM).
}

// Reads the spool files of units [b, e) into the slots. @returns the rows per group.
std::vector<std::uint64_t> read_round(const GatherPlan& plan, std::pair<std::size_t, std::size_t> block,
                                      const std::vector<OutputGroup>& groups, RoundSlots& rs,
                                      const std::vector<std::int64_t>& done, const std::string& dir) {
    const auto [b, e] = block;
    std::vector<std::uint64_t> round_rows(groups.size(), 0), filled(groups.size(), 0);
    for (std::size_t i = b; i < e; ++i)
        for (const auto& [g, n] : plan.summaries[i].rows)
            if (auto it = rs.group_index.find(g); it != rs.group_index.end()) round_rows[it->second] += n;
    for (std::size_t i = b; i < e; ++i) read_unit(plan.summaries[i], spool_path(dir, done[i]), groups, rs, round_rows, filled);
    for (std::size_t k = 0; k < groups.size(); ++k)
        if (filled[k] != round_rows[k])
            throw Error(fmt::format("gather of group '{}': {} rows read, the spool headers said {}", groups[k].name,
                                    filled[k], round_rows[k]));
    return round_rows;
}

// The rows: rounds of collective writes, each rank holding up to buffer_bytes of consecutive
// units a round (a rank with fewer rounds takes part in the others with no rows). Collective.
void write_rows(const mpi::Comm& comm, hdf5::ParallelFile& file, const std::vector<OutputGroup>& groups,
                GatherPlan& plan, const std::vector<std::int64_t>& done, const std::string& dir,
                std::uint64_t buffer_bytes, PhaseClock& clock) {
    const auto blocks = round_blocks(plan, buffer_bytes);
    const auto rounds = comm.allreduce_max(static_cast<std::int64_t>(blocks.size()));
    RoundSlots rs = plan_slots(groups, plan, blocks);
    RoundMemory arena(rs.arena_bytes);
    Writeback writeback(file.path());
    rs.bind(arena.data());
    auto offset = plan.my_offset;
    for (std::int64_t round = 0; round < rounds; ++round) {
        std::vector<std::uint64_t> round_rows(groups.size(), 0);
        if (static_cast<std::size_t>(round) < blocks.size())
            round_rows = read_round(plan, blocks[static_cast<std::size_t>(round)], groups, rs, done, dir);
        clock.lap("read spool");
        if (clock.timed()) {  // phases apart: the write's time without this rank waiting for the others
            comm.barrier();
            clock.lap("wait");
        }
        for (std::size_t k = 0; k < groups.size(); ++k) {
            for (const auto& sl : rs.slots[k]) file.write_rows_raw(sl.path, offset[groups[k].name], round_rows[k], sl.data);
            offset[groups[k].name] += round_rows[k];
        }
        clock.lap("write");
        writeback.start();
        clock.lap("writeback");
    }
}

// The quarantined units, in canonical unit order: rank 0 writes the whole (small) table, the
// others take part with nothing. Collective.
void write_failures(const mpi::Comm& comm, hdf5::ParallelFile& file, const std::vector<Failure>& failures) {
    file.create_group("/failures");
    Table f;
    {
        std::vector<std::int64_t> idx, rank;
        std::vector<std::string> id, msg;
        for (const auto& x : failures) {
            idx.push_back(x.unit_index);
            rank.push_back(x.rank);
            id.push_back(util::to_valid_utf8(x.unit_id));  // the datasets are tagged UTF-8
            msg.push_back(util::to_valid_utf8(x.message));
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
        file.write_rows("/failures/" + c.name(), 0, comm.rank() == 0 ? c : c.slice(0, 0));
    }
    file.set_attribute("/failures", "description", "work units quarantined after a retry: unit, rank, error message");
}

// Makes the finished `partial` file final under its name. Rank-local (rank 0). Not fsynced:
// until the runner has made it durable and written the stage's COMPLETE marker (with its
// checksum) the spool files stay, so a file that a machine crash tears is gathered again on
// --resume.
void publish(const std::string& partial, const std::string& final_path) {
    std::error_code ec;
    std::filesystem::rename(partial, final_path, ec);
    if (ec) throw Error(fmt::format("cannot rename '{}' to '{}': {}", partial, final_path, ec.message()));
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
    PhaseClock clock;
    GatherPlan plan = plan_gather(comm, groups, done, dir);
    clock.lap("summaries");
    const std::string partial = final_path + ".partial";
    {
        hdf5::ParallelFile file(partial, comm);
        clock.lap("open");
        create_datasets(file, groups, plan);
        clock.lap("create");
        write_rows(comm, file, groups, plan, done, dir, meta.buffer_bytes, clock);
        write_failures(comm, file, meta.failures);
        write_provenance(file, meta);
        file.close();
    }
    clock.lap("close");
    comm.barrier();
    if (comm.rank() == 0) publish(partial, final_path);
    clock.lap("rename");
    comm.barrier();
    spdlog::debug("gather {}:{}", final_path, clock.text());
    return plan.total_rows;
}

void write_provenance(hdf5::ParallelFile& file, const GatherMeta& meta) {
    for (const auto& [k, v] : meta.root_string_attrs) file.set_attribute("/", k, v);
    for (const auto& [k, v] : meta.root_int_attrs) file.set_attribute("/", k, v);
    file.set_attribute("/", "stage", meta.stage);
    file.set_attribute("/", "stage_description", meta.stage_description);
    file.create_group("/provenance");
    file.create_group("/provenance/run");
    for (const auto& [k, v] : meta.run_string_attrs) file.set_attribute("/provenance/run", k, v);
    for (const auto& [k, v] : meta.run_real_attrs) file.set_attribute("/provenance/run", k, v);
}

}  // namespace dhs::engine
