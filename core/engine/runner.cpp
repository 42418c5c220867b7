// run_pipeline and plan_report (see runner.hpp).
#include "core/engine/runner.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <nlohmann/json.hpp>
#include <cstring>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "core/engine/gather.hpp"
#include "core/engine/plan_table.hpp"
#include "core/engine/progress.hpp"
#include "core/engine/run_dir.hpp"
#include "core/engine/scheduler.hpp"
#include "core/engine/service.hpp"
#include "core/engine/spool.hpp"
#include "core/error.hpp"
#include "core/logging/log.hpp"
#include "core/mpi/comm.hpp"
#include "core/util/clock.hpp"
#include "core/util/sha256.hpp"
#include "core/util/utf8.hpp"
#include "dhs/config.hpp"

namespace fs = std::filesystem;

namespace dhs::engine {

namespace {

std::string plan_to_json(const std::vector<WorkUnit>& plan) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& u : plan)
        j.push_back({{"index", u.index}, {"id", u.id}, {"kind", u.kind}, {"cost", u.cost}, {"payload", u.payload},
                     {"bytes_in", u.bytes_in}, {"rows_out", u.rows_out}});
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);  // ids may name any bytes
}

std::vector<WorkUnit> plan_from_json(const std::string& text) {
    std::vector<WorkUnit> plan;
    for (const auto& x : nlohmann::json::parse(text))
        plan.push_back({x["index"], x["id"], x["kind"], x["cost"], x["payload"], x["bytes_in"], x["rows_out"]});
    return plan;
}

// Plans on rank 0 and broadcasts; an error on rank 0 is re-thrown on every rank.
std::vector<WorkUnit> collective_plan(const mpi::Comm& comm, const Stage& stage, const StageContext& ctx) {
    std::string msg;
    if (comm.rank() == 0) {
        try {
            auto plan = stage.plan(ctx);
            for (std::size_t i = 0; i < plan.size(); ++i)
                if (plan[i].index != static_cast<std::int64_t>(i))
                    throw Error(fmt::format("stage '{}' planned unit {} with index {} (indices must be 0..N-1 in order)",
                                            stage.name(), i, plan[i].index));
            msg = "P" + plan_to_json(plan);
        } catch (const std::exception& e) {
            msg = std::string("E") + e.what();
        }
    }
    comm.broadcast(msg);
    // Every rank throws the same error here, before the stage opens anything collective.
    if (msg.empty() || msg[0] == 'E')
        throw CollectiveError(fmt::format("planning stage '{}' failed: {}", stage.name(), msg.substr(1)));
    return plan_from_json(msg.substr(1));
}

void write_text_atomically(const std::string& path, const std::string& text) {
    std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << text;
        if (!out) throw Error("cannot write '" + tmp + "'");
    }
    fs::rename(tmp, path);
    fsync_directory(fs::path(path).parent_path().string());
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// The ranks' host names: the distinct ones, sorted ("hosts"), and each rank's in rank order
// ("rank_hosts"). Collective.
std::pair<std::string, std::string> hostnames(const mpi::Comm& comm) {
    char host[256] = {0};
    ::gethostname(host, sizeof host - 1);
    const std::vector<std::string> all = comm.allgather(host);
    const std::set<std::string> uniq(all.begin(), all.end());
    std::string out, per_rank;
    for (const auto& h : uniq) out += (out.empty() ? "" : ",") + h;
    for (const auto& h : all) per_rank += (per_rank.empty() ? "" : ",") + h;
    return {out, per_rank};
}


// The provenance every stage file carries (the gather and collective stages alike). Collective.
GatherMeta stage_meta(const mpi::Comm& comm, const Stage& stage, const StageContext& ctx, const RunOptions& opt,
                      const std::string& command_line) {
    const config::Config& cfg = ctx.config;
    GatherMeta meta;
    meta.stage = stage.name();
    meta.stage_description = stage.description();
    meta.root_string_attrs = {{"dhs_version", DHS_VERSION_STRING}, {"git_commit", DHS_GIT_COMMIT},
                              {"config_sha256", cfg.sha256()}, {"config", cfg.resolved_yaml()}};
    meta.root_int_attrs = {{"seed", ctx.seed}};
    meta.buffer_bytes = static_cast<std::uint64_t>(cfg.get_int("run.gather_buffer_mb")) << 20;
    const auto [hosts, rank_hosts] = hostnames(comm);
    meta.run_string_attrs = {{"hosts", hosts}, {"rank_hosts", rank_hosts}, {"finished", util::utc_timestamp()},
                             {"command", command_line}, {"resumed", opt.resume ? "yes" : "no"}};
    meta.run_real_attrs = {{"ranks", static_cast<double>(comm.size())}};
    return meta;
}

// Where a stage keeps its journal and its output in the run directory.
struct StagePaths {
    std::string journal, spool_dir, complete_marker, output;
    StagePaths(const StageContext& ctx, const Stage& stage)
        : journal((fs::path(ctx.run_dir) / "journal" / stage.name()).string()),
          spool_dir(journal + "/spool"),
          complete_marker(journal + "/COMPLETE"),
          output((fs::path(ctx.run_dir) / stage.output_file()).string()) {}
};

// A unit stage's file made durable on rank 0 while the stage's reduce runs: fsync()ed in the
// background as soon as the gather has renamed it, then again (the reduce's writes: quick) with
// its directory before the COMPLETE marker is written and the spool files are removed. Until
// then a file that a machine crash tears is gathered again from the spool files on --resume.
class DurableOutput {
public:
    DurableOutput(const mpi::Comm& comm, std::string path) : path_(std::move(path)) {
        if (comm.rank() == 0) first_ = std::async(std::launch::async, [p = path_] { fsync_file(p); });
    }
    DurableOutput(const DurableOutput&) = delete;
    DurableOutput& operator=(const DurableOutput&) = delete;
    ~DurableOutput() {
        if (first_.valid()) first_.wait();
    }
    /// Rank-local: rank 0 waits for the file to be durable. @throws Error when an fsync fails.
    void finish() {
        if (!first_.valid()) return;
        first_.get();
        fsync_file(path_);
        fsync_directory(fs::path(path_).parent_path().string());
    }

private:
    std::string path_;
    std::future<void> first_;
};

// journal/<stage>/COMPLETE, recording the stage file's size and checksum for a resume to verify
// (a stage that left no file gets a bare time stamp, which no resume trusts), written once
// `durable` (when given) has made the file durable. Collective.
void mark_complete(const mpi::Comm& comm, const Stage& stage, const StagePaths& at, DurableOutput* durable = nullptr) {
    std::string exists = fs::exists(at.output) ? "1" : "0";
    comm.broadcast(exists);
    std::optional<FileFingerprint> fp;
    if (exists == "1") fp = fingerprint_file(comm, at.output);
    mpi::on_rank0(comm, [&] {
        if (durable != nullptr) durable->finish();
        write_text_atomically(at.complete_marker,
                              fp ? completion_record(stage.output_file(), *fp) : util::utc_timestamp() + "\n");
    });
}

// A stage's seconds in its closing log line: to the millisecond below a minute (benchmarks
// read the stage's own time there), else as format_duration.
std::string stage_seconds_text(double x) { return x < 60 ? fmt::format("{:.3f}s", x) : format_duration(x); }

// A collective stage: one call on every rank; complete when it returns. Its checkpoints are
// its journal, so a resume is handed to it rather than to the unit machinery.
void run_collective_stage(const mpi::Comm& comm, const CollectiveStage& stage, const StageContext& ctx,
                          const RunOptions& opt, bool resuming, const std::string& command_line) {
    const StagePaths at(ctx, stage);
    mpi::on_rank0(comm, [&] {
        fs::create_directories(at.journal);
        fs::remove(at.complete_marker);
    });
    auto t0 = std::chrono::steady_clock::now();
    CollectiveRun run{resuming, at.output, stage_meta(comm, stage, ctx, opt, command_line)};
    stage.run(ctx, comm, run);
    comm.barrier();
    mark_complete(comm, stage, at);
    if (comm.rank() == 0)
        spdlog::info("stage {}: wrote {} in {}", stage.name(), at.output,
                     stage_seconds_text(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()));
}

struct StageOutcome {
    bool ran = false;       // processed or gathered in this invocation
    std::int64_t quarantined = 0;
};

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// True on every rank when resuming, the journal marks the stage complete, and the stage file
// still has the size and checksum its COMPLETE marker recorded. A file that does not match (or
// a marker that records nothing to check) is never trusted: a warning names the file and the
// stage runs again, from its spool files where they are intact. Collective.
bool complete_in_journal(const mpi::Comm& comm, const Stage& stage, const StagePaths& at, bool resuming) {
    std::string expected;  // "bytes xxh64" on rank 0 when there is a record to check
    if (comm.rank() == 0 && resuming && fs::exists(at.complete_marker)) {
        const auto rec = read_completion_record(read_text(at.complete_marker));
        std::error_code ec;
        const auto bytes = fs::file_size(at.output, ec);
        if (ec)
            spdlog::warn("stage {}: the journal marks it complete but {} is missing or unreadable; the stage runs again",
                         stage.name(), at.output);
        else if (!rec)
            spdlog::warn("stage {}: {} records no size and checksum of {} (written by an older dhs, or damaged); the "
                         "file is not trusted and the stage runs again",
                         stage.name(), at.complete_marker, at.output);
        else if (rec->bytes != bytes)
            spdlog::warn("stage {}: {} is {} bytes but was {} bytes when the stage completed ({}): truncated or "
                         "changed; it is not trusted and the stage runs again (from its spool files where intact)",
                         stage.name(), at.output, bytes, rec->bytes, at.complete_marker);
        else
            expected = fmt::format("{} {}", rec->bytes, rec->xxh64);
    }
    comm.broadcast(expected);
    if (expected.empty()) return false;
    FileFingerprint now;
    try {
        now = fingerprint_file(comm, at.output);
    } catch (const Error& e) {
        if (comm.rank() == 0)
            spdlog::warn("stage {}: cannot verify {} ({}); the stage runs again", stage.name(), at.output, e.what());
        return false;
    }
    if (fmt::format("{} {}", now.bytes, now.xxh64) == expected) return true;
    if (comm.rank() == 0)
        spdlog::warn("stage {}: {} does not match the checksum recorded when the stage completed ({}: xxh64 {}, now "
                     "{}): it is not trusted and the stage runs again (from its spool files where intact)",
                     stage.name(), at.output, at.complete_marker, expected.substr(expected.find(' ') + 1), now.xxh64);
    return false;
}

// The units of the plan whose spool files check out (a torn or corrupt one runs again).
// Rank-local (rank 0).
std::set<std::int64_t> units_in_journal(const Stage& stage, const StagePaths& at, std::size_t planned) {
    std::set<std::int64_t> done;
    for (auto idx : list_spooled_units(at.spool_dir)) {
        if (idx >= static_cast<std::int64_t>(planned)) continue;
        if (verify_spool(spool_path(at.spool_dir, idx)))
            done.insert(idx);
        else
            spdlog::warn("stage {}: spool file of unit {} is torn or corrupt; the unit runs again", stage.name(), idx);
    }
    return done;
}

// The journal: the plan's fingerprint, then one spool file per finished unit. On a resume the
// fingerprint must match and the finished units are kept; otherwise the spool is cleared.
// @returns the units still to run, on every rank. Collective.
std::vector<std::int64_t> open_journal(const mpi::Comm& comm, const Stage& stage, const StagePaths& at,
                                       const std::vector<WorkUnit>& plan, bool resuming) {
    const std::string plan_sha = util::sha256_hex(plan_to_json(plan));
    std::vector<std::int64_t> todo;
    mpi::on_rank0(comm, [&] {
        fs::create_directories(at.spool_dir);
        const std::string plan_file = at.journal + "/plan.sha256";
        if (resuming && fs::exists(plan_file)) {
            std::string old = read_text(plan_file);
            if (old != plan_sha)
                throw Error(fmt::format("stage '{}': the work plan differs from the one in the journal ({}); the "
                                        "inputs or config changed since the run started: use a new run directory",
                                        stage.name(), at.journal));
        }
        std::set<std::int64_t> done;
        if (resuming) done = units_in_journal(stage, at, plan.size());
        else
            for (auto idx : list_spooled_units(at.spool_dir)) fs::remove(spool_path(at.spool_dir, idx));
        fs::remove(at.complete_marker);
        write_text_atomically(plan_file, plan_sha);
        for (std::int64_t i = 0; i < static_cast<std::int64_t>(plan.size()); ++i)
            if (!done.count(i)) todo.push_back(i);
    });
    return comm.broadcast_vector(todo);
}

// Runs the units `todo` under the scheduler; each unit's rows are spooled before it counts as
// done. @returns every unit's report on rank 0 (empty elsewhere). Collective.
std::vector<UnitReport> process_units(const mpi::Comm& comm, const Stage& stage, const StageContext& ctx,
                                      const std::vector<OutputGroup>& groups, const std::vector<WorkUnit>& plan,
                                      const std::vector<std::int64_t>& todo, const std::string& spool_dir,
                                      double& spool_seconds) {
    const config::Config& cfg = ctx.config;
    std::atomic<std::int64_t> spool_ns{0};
    Service service(comm, stage.serving_ranks(ctx, comm));
    StageContext unit_ctx = ctx;
    unit_ctx.service = service.client();
    if (comm.rank() == 0 && service.active())
        spdlog::info("stage {}: serving ranks [{}] answer the {} processing ranks", stage.name(), fmt::join(service.servers(), ","),
                     comm.size() - static_cast<int>(service.servers().size()));
    auto work = [&](const WorkUnit& u) -> std::uint64_t {
        UnitOutput out = stage.process(u, unit_ctx);
        validate_unit_output(out, groups, u.id);
        std::uint64_t rows = 0;
        for (const auto& [g, t] : out) rows += t.num_rows();
        const auto ts = std::chrono::steady_clock::now();
        write_spool(spool_dir, u.index, out);
        spool_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - ts).count();
        return rows;
    };
    ScheduleOptions options{.in_flight = static_cast<int>(cfg.get_int("run.units_in_flight"))};
    if (service.active()) {
        options.idle_ranks = service.servers();
        options.idle = [&] {
            service.serve([&](std::span<const std::int64_t> h, std::span<const float> x) { return stage.serve(h, x, ctx); });
        };
        options.pump = [&] { return service.pump(); };
        options.units_done = [&] { service.stop_servers(); };
    }
    std::unique_ptr<Progress> progress;
    if (comm.rank() == 0)
        progress = std::make_unique<Progress>("stage " + stage.name(), static_cast<std::int64_t>(todo.size()),
                                              cfg.get_real("run.progress_interval_s"));
    auto reports = run_schedule(comm, plan, todo, work, options, progress.get());
    if (progress) progress->finish();
    spool_seconds = comm.allreduce_max(static_cast<double>(spool_ns.load()) * 1e-9);  // the slowest rank's
    return reports;
}

// Which units are done and which were quarantined (in unit order), on every rank.
struct UnitsSettled {
    std::vector<std::int64_t> done;
    std::vector<Failure> failures;
};

// Rank 0 tells everyone which units are done and which were quarantined. Collective.
UnitsSettled settle_units(const mpi::Comm& comm, const Stage& stage, const std::vector<WorkUnit>& plan,
                          std::vector<UnitReport> reports) {
    // A unit that met a ResourceError (disk full...) stopped the schedule: no stage file, and
    // nothing quarantined; every rank stops here alike, the spool kept for --resume.
    std::string fatal;
    if (comm.rank() == 0)
        for (const auto& r : reports)
            if (r.fatal) {
                fatal = fmt::format("unit {} '{}' (rank {}): {}", r.index,
                                    util::to_valid_utf8(plan[static_cast<std::size_t>(r.index)].id), r.rank, r.message);
                break;
            }
    comm.broadcast(fatal);
    if (!fatal.empty())
        throw CollectiveError(fmt::format("stage {} stopped: {}. The finished units are kept: free the space (or fix "
                                          "the cause) and run again with --resume",
                                          stage.name(), fatal));
    std::vector<std::int64_t> done;
    std::string fail_msg;
    if (comm.rank() == 0) {
        std::set<std::int64_t> failed;
        nlohmann::json fj = nlohmann::json::array();
        std::sort(reports.begin(), reports.end(), [](const UnitReport& a, const UnitReport& b) { return a.index < b.index; });
        for (const auto& r : reports)
            if (!r.ok) {
                failed.insert(r.index);
                fj.push_back({{"index", r.index}, {"id", util::to_valid_utf8(plan[static_cast<std::size_t>(r.index)].id)},
                              {"rank", r.rank}, {"message", util::to_valid_utf8(r.message)}});
            }
        for (std::int64_t i = 0; i < static_cast<std::int64_t>(plan.size()); ++i)
            if (!failed.count(i)) done.push_back(i);
        fail_msg = fj.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    UnitsSettled units;
    units.done = comm.broadcast_vector(done);
    comm.broadcast(fail_msg);
    for (const auto& x : nlohmann::json::parse(fail_msg))
        units.failures.push_back({x["index"], x["id"], x["rank"], x["message"]});
    for (const auto& f : units.failures)
        if (comm.rank() == 0) spdlog::error("stage {}: quarantined unit {} '{}' (rank {}): {}", stage.name(), f.unit_index, f.unit_id, f.rank, f.message);
    return units;
}

// Seconds spent in each part of a unit stage, for its log line and provenance. `plan` (the
// stage's plan and the journal) and `spool` (writing the units' spool files, the slowest
// rank's total) are parts of `process`.
struct StageSeconds {
    double process = 0, gather = 0, reduce = 0, plan = 0, spool = 0;
};

// The stage's closing log line on rank 0: rows per group, seconds per part, quarantined units.
void log_stage_done(const Stage& stage, const StagePaths& at, const std::map<std::string, std::uint64_t>& totals,
                    const StageSeconds& s, std::size_t quarantined) {
    std::string rows;
    for (const auto& [g, n] : totals) rows += fmt::format(" /{}={}", g, n);
    const auto secs = stage_seconds_text;
    spdlog::info("stage {}: wrote {} (rows:{}) in {} (process {} [plan {}, spool {}], gather {}, reduce {}); {} "
                 "quarantined",
                 stage.name(), at.output, rows, secs(s.process + s.gather + s.reduce), secs(s.process), secs(s.plan),
                 secs(s.spool), secs(s.gather), secs(s.reduce), quarantined);
}

// A unit stage: plan, journal, process (resumable unit by unit), gather into RUN_DIR/<stage>.h5,
// reduce; complete only when no unit was quarantined.
StageOutcome run_unit_stage(const mpi::Comm& comm, const Stage& stage, const StageContext& ctx, const RunOptions& opt,
                            bool resuming, const std::string& command_line, const StagePaths& at) {
    const config::Config& cfg = ctx.config;
    auto t0 = std::chrono::steady_clock::now();
    const auto plan = collective_plan(comm, stage, ctx);
    const auto groups = stage.output_groups(ctx);  // after the plan: a stage may read its inputs for it
    const auto todo = open_journal(comm, stage, at, plan, resuming);
    StageSeconds s;
    s.plan = seconds_since(t0);
    if (comm.rank() == 0)
        spdlog::info("stage {}: {} units planned, {} already done (journal), {} to run on {} ranks", stage.name(),
                     plan.size(), plan.size() - todo.size(), todo.size(), comm.size());
    const auto units =
        settle_units(comm, stage, plan, process_units(comm, stage, ctx, groups, plan, todo, at.spool_dir, s.spool));

    GatherMeta meta = stage_meta(comm, stage, ctx, opt, command_line);
    meta.root_int_attrs = {{"seed", ctx.seed},
                           {"units_planned", static_cast<std::int64_t>(plan.size())},
                           {"units_quarantined", static_cast<std::int64_t>(units.failures.size())}};
    meta.failures = units.failures;
    s.process = seconds_since(t0);
    meta.run_real_attrs["process_seconds"] = s.process;
    meta.run_real_attrs["units_from_journal"] = static_cast<double>(plan.size() - todo.size());
    auto tg = std::chrono::steady_clock::now();
    auto totals = gather_stage(comm, groups, units.done, at.spool_dir, at.output, meta);
    s.gather = seconds_since(tg);
    DurableOutput durable(comm, at.output);
    auto tr = std::chrono::steady_clock::now();
    stage.reduce(ctx, comm, at.output);
    s.reduce = seconds_since(tr);

    const bool complete = units.failures.empty();
    if (complete) mark_complete(comm, stage, at, &durable);
    mpi::on_rank0(comm, [&] {
        if (!cfg.get_bool("run.keep_spool") && complete) fs::remove_all(at.spool_dir);
    });
    if (comm.rank() == 0) log_stage_done(stage, at, totals, s, units.failures.size());
    return {true, static_cast<std::int64_t>(units.failures.size())};
}

StageOutcome run_stage(const mpi::Comm& comm, const Stage& stage, const StageContext& ctx, const RunOptions& opt,
                       bool upstream_changed, const std::string& command_line) {
    const StagePaths at(ctx, stage);
    const bool resuming = opt.resume && !upstream_changed;
    // A finished stage is skipped on resume.
    if (complete_in_journal(comm, stage, at, resuming)) {
        spdlog::info("stage {}: complete in the journal, skipped ({}: size and checksum verified)", stage.name(),
                     at.output);
        return {};
    }
    if (const auto* collective = dynamic_cast<const CollectiveStage*>(&stage)) {
        run_collective_stage(comm, *collective, ctx, opt, resuming, command_line);
        return {true, 0};
    }
    return run_unit_stage(comm, stage, ctx, opt, resuming, command_line, at);
}

// Each stage checks its parameters from the config alone, on every rank (they all read the same
// config, so all throw alike). Only a ConfigError stops the run here: anything else (an input
// an earlier run left, unreadable) is left for the stage's plan to report in its context.
void check_stage_configs(const StageRegistry& registry, const std::vector<std::string>& names,
                         const StageContext& ctx) {
    for (const auto& name : names) {
        try {
            registry.create(name)->check_config(ctx);
        } catch (const ConfigError&) {
            throw;
        } catch (const std::exception& e) {
            spdlog::debug("stage {}: config check left to the plan: {}", name, e.what());
        }
    }
}

// The run directory, on rank 0: the lock (held in `lock` for the job's life), logs/ and journal/,
// and config.yaml, the config exactly as used. A directory with work in it (holds_progress) needs
// --resume and the same config; one without (a run that stopped before any unit or stage
// finished) is simply started again. A refusal is a RunDirError (exit 2) on every rank. Collective.
void open_run_dir(const mpi::Comm& comm, const std::string& run_dir, const config::Config& config,
                  const RunOptions& options, std::optional<RunDirLock>& lock) {
    std::string err;  // "R..." a refusal, "E..." any other failure
    if (comm.rank() == 0) {
        try {
            lock.emplace(run_dir, options.command_line);
            fs::create_directories(fs::path(run_dir) / "logs");
            fs::create_directories(fs::path(run_dir) / "journal");
            const std::string cfg_path = (fs::path(run_dir) / "config.yaml").string();
            if (fs::exists(cfg_path) && holds_progress(run_dir)) {
                if (!options.resume)
                    throw RunDirError(fmt::format("run directory '{}' already holds a run (config.yaml and its "
                                                  "journal): use --resume to continue it, or another --out",
                                                  run_dir));
                const std::string old = read_text(cfg_path);
                if (old != config.resolved_yaml()) {
                    auto diffs = config_differences(old, config.resolved_yaml(), 4);  // three named, then "..."
                    if (diffs.size() > 3) diffs.back() = "...";
                    throw RunDirError(fmt::format(
                        "--resume: the configuration differs from the one in '{}' ({}); resume with the same config "
                        "and --set values, or start a new run directory",
                        cfg_path, diffs.empty() ? "the text differs" : fmt::format("{}", fmt::join(diffs, "; "))));
                }
            } else {
                if (fs::exists(cfg_path)) {  // its journal holds plan fingerprints at most: start afresh
                    spdlog::info("run directory {} holds no finished work yet (no spool file, stage file or COMPLETE "
                                 "marker): starting it afresh",
                                 run_dir);
                    fs::remove_all(fs::path(run_dir) / "journal");
                    fs::create_directories(fs::path(run_dir) / "journal");
                }
                write_text_atomically(cfg_path, config.resolved_yaml());
            }
        } catch (const RunDirError& e) {
            err = std::string("R") + e.what();
        } catch (const std::exception& e) {
            err = std::string("E") + e.what();
            if (err.size() == 1) err += "unknown error";
        }
    }
    comm.broadcast(err);
    if (err.empty()) return;
    if (err[0] == 'R') throw RunDirError(err.substr(1));
    throw Error(err.substr(1));
}

}  // namespace

std::vector<std::string> stages_to_run(const StageRegistry& registry, const config::Config& config,
                                       const RunOptions& options) {
    std::vector<std::string> names = options.stages.empty() ? config.get_strings("run.stages") : options.stages;
    if (names.empty()) names = registry.default_run();
    if (names.empty()) throw Error("no stages to run: name them in run.stages or --stages");
    const std::string key = options.stages.empty() ? "run.stages" : "--stages";
    const std::string origin = options.stages.empty() ? config.origin_of("run.stages") : "command line";
    for (const auto& n : names) {
        try {
            (void)registry.create(n);
        } catch (const Error& e) {  // unknown or compiled out: a configuration error, before any work
            throw ConfigError(key, origin, 0, e.what());
        }
    }
    return names;
}

int run_pipeline(const mpi::Comm& comm, const StageRegistry& registry, const config::Config& config,
                 const RunOptions& options) {
    const std::string run_dir = fs::absolute(options.run_dir).lexically_normal().string();
    const auto names = stages_to_run(registry, config, options);

    // Every stage's parameters are checked before anything is created (a ConfigError: exit 2).
    StageContext ctx{config, run_dir, config.get_int("run.seed")};
    check_stage_configs(registry, names, ctx);
    // One job at a time: rank 0 holds RUN_DIR/.lock until the job ends (the kernel drops it if
    // the job dies); then config.yaml and the journal are set up (open_run_dir).
    std::optional<RunDirLock> lock;
    open_run_dir(comm, run_dir, config, options, lock);
    comm.barrier();
    log::init({.rank = comm.rank(), .size = comm.size(),
               .level = options.log_level.empty() ? config.get_string("run.log_level") : options.log_level,
               .log_dir = (fs::path(run_dir) / "logs").string(), .console = true});
    spdlog::info("dhs {} ({}) run into {} on {} ranks{}: stages {}", DHS_VERSION_STRING, DHS_GIT_COMMIT, run_dir,
                 comm.size(), options.resume ? " (resume)" : "", fmt::format("{}", fmt::join(names, ", ")));

    bool upstream_changed = false;
    std::int64_t quarantined = 0;
    for (const auto& name : names) {
        auto stage = registry.create(name);
        StageOutcome o = run_stage(comm, *stage, ctx, options, upstream_changed, options.command_line);
        upstream_changed = upstream_changed || o.ran;
        quarantined += o.quarantined;
    }
    log::flush();
    return quarantined > 0 ? 3 : 0;
}

namespace {
// A stage's output groups; none when they depend on inputs that are missing (the estimate then
// gives its bytes written itself).
std::vector<OutputGroup> output_groups_or_none(const Stage& stage, const StageContext& ctx) {
    try {
        return stage.output_groups(ctx);
    } catch (const std::exception&) {
        return {};
    }
}
// A collective stage's plan lines; estimated ones (marked so) when its inputs do not exist yet.
std::string collective_text(const CollectiveStage& stage, const StageContext& ctx, int ranks,
                            const PlanEstimates& estimates) {
    try {
        return stage.plan_text(ctx, ranks);
    } catch (const Error& e) {
        std::string estimate;
        try {
            estimate = stage.estimate_text(ctx, ranks, estimates);
        } catch (const std::exception& ex) {
            spdlog::debug("stage {}: no estimate: {}", stage.name(), ex.what());
        }
        if (estimate.empty()) return fmt::format("not plannable yet: {}\n", e.what());
        return "  ~ estimated (its inputs do not exist yet) from the earlier stages' figures:\n" + estimate;
    }
}

}  // namespace

PlanReport plan_report(const mpi::Comm& comm, const StageRegistry& registry, const config::Config& config,
                       const RunOptions& options) {
    const auto names = stages_to_run(registry, config, options);
    StageContext ctx{config, fs::absolute(options.run_dir).lexically_normal().string(), config.get_int("run.seed")};
    check_stage_configs(registry, names, ctx);
    PlanTable table(comm.size(), ctx.run_dir, static_cast<int>(config.get_int("run.units_in_flight")),
                    config.get_int("run.gather_buffer_mb") << 20);
    PlanEstimates estimates;  // rank 0's
    // Rank 0 estimates; its failure is reported in the table (not thrown), as a plan's is.
    auto estimate = [&](const Stage& stage, const std::vector<WorkUnit>* plan, std::string& why) {
        std::optional<StageEstimate> e;
        if (comm.rank() != 0) return e;
        try {
            e = stage.estimate(ctx, estimates, plan);
            if (e) {
                e->estimated = e->estimated || plan == nullptr;
                estimates[stage.name()] = *e;
            }
        } catch (const std::exception& ex) {
            why += fmt::format(" (no estimate either: {})", util::to_valid_utf8(ex.what()));
        }
        return e;
    };
    for (const auto& name : names) {
        auto stage = registry.create(name);
        if (const auto* collective = dynamic_cast<const CollectiveStage*>(stage.get())) {
            if (comm.rank() == 0) table.add_collective(name, collective_text(*collective, ctx, comm.size(), estimates));
            continue;
        }
        std::vector<WorkUnit> plan;
        std::string why;
        bool planned = true;
        try {
            plan = collective_plan(comm, *stage, ctx);
        } catch (const Error& e) {
            planned = false;
            why = e.what();
        }
        const auto e = estimate(*stage, planned ? &plan : nullptr, why);
        if (comm.rank() != 0) continue;
        if (e)
            table.add(name, *e, output_groups_or_none(*stage, ctx));
        else
            table.add_unplannable(name, why);
    }
    return {table.text(), comm.rank() == 0 ? table.json().dump(1) : ""};
}

}  // namespace dhs::engine
