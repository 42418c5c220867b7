// run_schedule (see scheduler.hpp). Idle (serving) ranks take no units; rank 0's main loop
// pumps their service for its own unit thread. Protocol on a duplicated communicator:
//   rank 0 -> worker: kWork (int64 unit indices) | kStop
//   worker -> rank 0: kReport (one UnitReport)
// Rank 0's own units run on a std::thread that never calls MPI (MPI_THREAD_FUNNELED).
#include "core/engine/scheduler.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "core/engine/progress.hpp"
#include "core/error.hpp"
#include "core/mpi/comm.hpp"
#include "core/util/utf8.hpp"

namespace dhs::engine {

namespace {

constexpr int kWork = 11, kReport = 12, kStop = 13;

std::string encode_indices(const std::vector<std::int64_t>& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(std::int64_t));
}
std::vector<std::int64_t> decode_indices(const std::string& s) {
    std::vector<std::int64_t> v(s.size() / sizeof(std::int64_t));
    if (!v.empty()) std::memcpy(v.data(), s.data(), v.size() * sizeof(std::int64_t));  // never memcpy to null
    return v;
}

std::string encode_report(const UnitReport& r) {
    std::string s(sizeof(std::int64_t) * 2 + sizeof(int) * 3 + sizeof(double), '\0');
    char* p = s.data();
    auto put = [&](const auto& v) {
        std::memcpy(p, &v, sizeof v);
        p += sizeof v;
    };
    int ok = r.fatal ? 2 : r.ok ? 1 : 0;
    put(r.index);
    put(r.rows);
    put(ok);
    put(r.rank);
    put(r.attempts);
    put(r.seconds);
    return s + r.message;
}
UnitReport decode_report(const std::string& s) {
    UnitReport r;
    const char* p = s.data();
    auto get = [&](auto& v) {
        std::memcpy(&v, p, sizeof v);
        p += sizeof v;
    };
    int ok = 0;
    get(r.index);
    get(r.rows);
    get(ok);
    get(r.rank);
    get(r.attempts);
    get(r.seconds);
    r.ok = ok == 1;
    r.fatal = ok == 2;
    r.message = s.substr(static_cast<std::size_t>(p - s.data()));
    return r;
}

// One unit with one retry; never throws.
UnitReport run_unit(const WorkUnit& u, int rank, const std::function<std::uint64_t(const WorkUnit&)>& work) {
    UnitReport r;
    r.index = u.index;
    r.rank = rank;
    auto t0 = std::chrono::steady_clock::now();
    for (r.attempts = 1; r.attempts <= 2; ++r.attempts) {
        try {
            r.rows = work(u);
            r.ok = true;
            r.message.clear();
            break;
        } catch (const ResourceError& e) {
            // The machine, not the unit: no retry, and the schedule stops (see run_schedule).
            r.message = util::to_valid_utf8(e.what());
            r.fatal = true;
            spdlog::error("unit {} '{}' stopped the stage: {}", u.index, u.id, r.message);
            break;
        } catch (const std::exception& e) {
            // Messages may quote file contents (cfitsio quotes a header's bytes): made valid
            // UTF-8 here, since they go into JSON and into the UTF-8 strings of /failures.
            r.message = util::to_valid_utf8(e.what());
        } catch (...) {
            r.message = "unknown exception";
        }
        if (r.attempts == 1)
            spdlog::warn("unit {} '{}' failed, retrying once: {}", u.index, u.id, r.message);
        else
            spdlog::error("unit {} '{}' quarantined after 2 attempts: {}", u.index, u.id, r.message);
    }
    if (r.attempts > 2) r.attempts = 2;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

// Rank 0's worker thread: a queue in, reports out.
class LocalWorker {
public:
    LocalWorker(const std::vector<WorkUnit>& plan, const std::function<std::uint64_t(const WorkUnit&)>& work)
        : plan_(plan), work_(work), thread_([this] { loop(); }) {}
    ~LocalWorker() {
        {
            std::lock_guard lock(m_);
            stop_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }
    void give(std::int64_t index) {
        {
            std::lock_guard lock(m_);
            queue_.push_back(index);
        }
        cv_.notify_all();
    }
    std::vector<UnitReport> take_reports() {
        std::lock_guard lock(m_);
        std::vector<UnitReport> out(reports_.begin(), reports_.end());
        reports_.clear();
        return out;
    }

private:
    void loop() {
        for (;;) {
            std::int64_t idx;
            {
                std::unique_lock lock(m_);
                cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
                if (queue_.empty()) return;
                idx = queue_.front();
                queue_.pop_front();
            }
            UnitReport r = run_unit(plan_[static_cast<std::size_t>(idx)], 0, work_);
            std::lock_guard lock(m_);
            reports_.push_back(std::move(r));
        }
    }
    const std::vector<WorkUnit>& plan_;
    const std::function<std::uint64_t(const WorkUnit&)>& work_;
    std::mutex m_;
    std::condition_variable cv_;
    std::deque<std::int64_t> queue_;
    std::deque<UnitReport> reports_;
    bool stop_ = false;
    std::thread thread_;
};

void worker_loop(const mpi::Comm& comm, const std::vector<WorkUnit>& plan,
                 const std::function<std::uint64_t(const WorkUnit&)>& work) {
    std::deque<std::int64_t> queue;
    bool stopped = false;
    auto handle = [&](const std::string& msg, int tag) {
        if (tag == kStop) stopped = true;
        if (tag == kWork)
            for (auto i : decode_indices(msg)) queue.push_back(i);
    };
    std::string msg;
    for (;;) {
        while (auto p = comm.iprobe(0, -1)) {
            auto [src, tag] = comm.recv(msg, 0, p->second);
            handle(msg, tag);
        }
        if (queue.empty()) {
            if (stopped) return;
            auto [src, tag] = comm.recv(msg, 0, -1, /*polite=*/true);
            handle(msg, tag);
            continue;
        }
        std::int64_t idx = queue.front();
        queue.pop_front();
        UnitReport r = run_unit(plan.at(static_cast<std::size_t>(idx)), comm.rank(), work);
        comm.send(encode_report(r), 0, kReport);
    }
}

}  // namespace

std::vector<std::int64_t> dispatch_order(const std::vector<WorkUnit>& plan, const std::vector<std::int64_t>& todo) {
    std::vector<std::int64_t> order = todo;
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
        double ca = plan.at(static_cast<std::size_t>(a)).cost, cb = plan.at(static_cast<std::size_t>(b)).cost;
        return ca != cb ? ca > cb : a < b;
    });
    return order;
}

std::vector<UnitReport> run_schedule(const mpi::Comm& world, const std::vector<WorkUnit>& plan,
                                     const std::vector<std::int64_t>& todo,
                                     const std::function<std::uint64_t(const WorkUnit&)>& work,
                                     const ScheduleOptions& options, Progress* progress) {
    mpi::Comm comm = world.dup();  // scheduler traffic never meets anything else
    std::vector<char> takes_units(static_cast<std::size_t>(comm.size()), 1);
    for (int r : options.idle_ranks)
        if (r > 0 && r < comm.size()) takes_units[static_cast<std::size_t>(r)] = 0;
    if (comm.rank() != 0) {
        if (takes_units[static_cast<std::size_t>(comm.rank())])
            worker_loop(comm, plan, work);
        else if (options.idle)
            options.idle();
        comm.barrier();
        return {};
    }

    const auto order = dispatch_order(plan, todo);
    const int nranks = comm.size();
    const int in_flight = std::max(1, options.in_flight);
    std::size_t next = 0;
    std::vector<UnitReport> reports;
    reports.reserve(order.size());
    std::int64_t failed = 0;
    std::uint64_t rows = 0;
    {
        LocalWorker local(plan, work);
        // Initial fill, round-robin so every rank starts at once.
        std::vector<std::vector<std::int64_t>> first(static_cast<std::size_t>(nranks));
        for (int k = 0; k < in_flight; ++k)
            for (int r = 0; r < nranks && next < order.size(); ++r)
                if (takes_units[static_cast<std::size_t>(r)]) first[static_cast<std::size_t>(r)].push_back(order[next++]);
        for (auto i : first[0]) local.give(i);
        for (int r = 1; r < nranks; ++r)
            if (!first[static_cast<std::size_t>(r)].empty())
                comm.send(encode_indices(first[static_cast<std::size_t>(r)]), r, kWork);

        bool stopping = false;  // a unit met a ResourceError: no more units are handed out
        auto give_next = [&](int r) {
            if (stopping || next >= order.size()) return;
            if (r == 0)
                local.give(order[next++]);
            else
                comm.send(encode_indices({order[next++]}), r, kWork);
        };
        auto record = [&](UnitReport&& rep) {
            if (rep.fatal) stopping = true;
            failed += rep.ok || rep.fatal ? 0 : 1;  // a fatal unit is not quarantined
            rows += rep.rows;
            int r = rep.rank;
            reports.push_back(std::move(rep));
            give_next(r);
            if (progress) progress->update(static_cast<std::int64_t>(reports.size()), failed, rows);
        };

        std::string msg;
        auto nap = std::chrono::microseconds(50);
        while (reports.size() < next) {  // every unit handed out has reported
            bool any = options.pump && options.pump();
            for (auto& rep : local.take_reports()) {
                record(std::move(rep));
                any = true;
            }
            while (auto p = comm.iprobe(-1, kReport)) {
                comm.recv(msg, p->first, kReport);
                record(decode_report(msg));
                any = true;
            }
            if (any) {
                nap = std::chrono::microseconds(50);
            } else {
                // Wait without spinning: rank 0's core belongs to its worker thread.
                std::this_thread::sleep_for(nap);
                nap = std::min(nap * 2, std::chrono::microseconds(2000));
                if (progress) progress->update(static_cast<std::int64_t>(reports.size()), failed, rows);
            }
        }
    }
    for (int r = 1; r < nranks; ++r)
        if (takes_units[static_cast<std::size_t>(r)]) comm.send("", r, kStop);
    if (options.units_done) options.units_done();
    comm.barrier();
    return reports;
}

}  // namespace dhs::engine
