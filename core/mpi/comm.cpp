// Comm: the MPI implementation and the one-rank stand-in (see comm.hpp). Every MPI return
// code goes through check(), which turns it into an MpiError with MPI's own error string.
#include "core/mpi/comm.hpp"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <thread>

#include "core/error.hpp"

namespace dhs::mpi {

namespace {
void check(int code, const char* hint) {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING] = {0};
    int len = 0;
    MPI_Error_string(code, text, &len);
    throw MpiError(code, std::string(hint) + ": " + std::string(text, static_cast<std::size_t>(len)));
}
}  // namespace

class CommImpl {
public:
    virtual ~CommImpl() = default;
    virtual int rank() const = 0;
    virtual int size() const = 0;
    virtual bool standin() const = 0;
    virtual std::unique_ptr<CommImpl> split(int color, int key) const = 0;
    virtual std::unique_ptr<CommImpl> dup() const = 0;
    virtual void barrier() const = 0;
    virtual void allreduce(const void* in, void* out, int n, MPI_Datatype t, MPI_Op op) const = 0;
    virtual std::int64_t exscan_sum(std::int64_t v) const = 0;
    virtual void broadcast(std::string& bytes, int root) const = 0;
    virtual std::vector<std::string> gather(const std::string& bytes, int root, bool all) const = 0;
    virtual void send(const std::string& bytes, int dest, int tag) const = 0;
    virtual std::pair<int, int> recv(std::string& bytes, int source, int tag, bool polite) const = 0;
    virtual std::optional<std::pair<int, int>> iprobe(int source, int tag) const = 0;
    [[noreturn]] virtual void abort(int code) const = 0;
    virtual void* raw() const = 0;
    virtual std::unique_ptr<RequestImpl> isend(const void* data, std::size_t n, MPI_Datatype t, int dest, int tag) const = 0;
    virtual std::unique_ptr<RequestImpl> irecv(void* data, std::size_t n, MPI_Datatype t, int source, int tag) const = 0;
    virtual void broadcast_typed(void* data, std::size_t n, MPI_Datatype t, int root) const = 0;
};

/// A pending operation: test() completes it when done, setting the element count.
class RequestImpl {
public:
    virtual ~RequestImpl() = default;
    virtual bool test(std::int64_t& count) = 0;
    /// Blocks until done (the stand-in's receive throws when it could never complete).
    virtual std::int64_t wait(bool polite) = 0;
};

namespace {

std::size_t type_bytes(MPI_Datatype t) {
    if (t == MPI_FLOAT) return 4;
    if (t == MPI_INT64_T || t == MPI_DOUBLE) return 8;
    return 1;
}

MPI_Datatype type_of_code(int code) { return code == 0 ? MPI_FLOAT : code == 1 ? MPI_INT64_T : MPI_UINT8_T; }

int checked_count(std::size_t n, const char* what) {
    if (n > static_cast<std::size_t>(INT32_MAX)) throw Error(std::string(what) + ": message over 2^31 elements");
    return static_cast<int>(n);
}

class MpiRequest final : public RequestImpl {
public:
    MpiRequest(MPI_Request r, MPI_Datatype t, std::int64_t send_count) : req_(r), type_(t), send_count_(send_count) {}
    ~MpiRequest() override {
        if (req_ != MPI_REQUEST_NULL) MPI_Wait(&req_, MPI_STATUS_IGNORE);
    }
    bool test(std::int64_t& count) override {
        int flag = 0;
        MPI_Status st;
        check(MPI_Test(&req_, &flag, &st), "MPI_Test");
        if (flag) count = count_of(st);
        return flag != 0;
    }
    std::int64_t wait(bool polite) override {
        std::int64_t count = 0;
        if (!polite) {
            MPI_Status st;
            check(MPI_Wait(&req_, &st), "MPI_Wait");
            return count_of(st);
        }
        auto nap = std::chrono::microseconds(10);
        while (!test(count)) {
            std::this_thread::sleep_for(nap);
            if (nap < std::chrono::microseconds(1000)) nap *= 2;
        }
        return count;
    }

private:
    std::int64_t count_of(const MPI_Status& st) const {
        if (send_count_ >= 0) return send_count_;  // a send's status has no count
        int c = 0;
        MPI_Get_count(&st, type_, &c);
        return c == MPI_UNDEFINED ? 0 : c;
    }
    MPI_Request req_;
    MPI_Datatype type_;
    std::int64_t send_count_;
};

class MpiImpl final : public CommImpl {
public:
    explicit MpiImpl(MPI_Comm c) : comm_(c) {
        check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
        check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
    }
    ~MpiImpl() override {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (!finalized && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
    }
    int rank() const override { return rank_; }
    int size() const override { return size_; }
    bool standin() const override { return false; }

    std::unique_ptr<CommImpl> split(int color, int key) const override {
        MPI_Comm out = MPI_COMM_NULL;
        check(MPI_Comm_split(comm_, color < 0 ? MPI_UNDEFINED : color, key, &out), "MPI_Comm_split");
        if (out == MPI_COMM_NULL) return nullptr;
        return std::make_unique<MpiImpl>(out);
    }
    std::unique_ptr<CommImpl> dup() const override {
        MPI_Comm out = MPI_COMM_NULL;
        check(MPI_Comm_dup(comm_, &out), "MPI_Comm_dup");
        return std::make_unique<MpiImpl>(out);
    }
    void barrier() const override { check(MPI_Barrier(comm_), "MPI_Barrier"); }
    void allreduce(const void* in, void* out, int n, MPI_Datatype t, MPI_Op op) const override {
        check(MPI_Allreduce(in, out, n, t, op, comm_), "MPI_Allreduce");
    }
    std::int64_t exscan_sum(std::int64_t v) const override {
        std::int64_t out = 0;
        check(MPI_Exscan(&v, &out, 1, MPI_INT64_T, MPI_SUM, comm_), "MPI_Exscan");
        return rank_ == 0 ? 0 : out;  // MPI leaves rank 0's result undefined
    }
    void broadcast(std::string& bytes, int root) const override {
        std::uint64_t n = bytes.size();
        check(MPI_Bcast(&n, 1, MPI_UINT64_T, root, comm_), "MPI_Bcast(size)");
        bytes.resize(n);
        bcast_chunks(bytes.data(), n, root);
    }
    std::vector<std::string> gather(const std::string& bytes, int root, bool all) const override {
        int n = static_cast<int>(bytes.size());
        if (bytes.size() > static_cast<std::size_t>(INT32_MAX)) throw Error("Comm::gather: message over 2 GiB");
        std::vector<int> counts(static_cast<std::size_t>(size_)), displs(static_cast<std::size_t>(size_));
        if (all)
            check(MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, comm_), "MPI_Allgather(counts)");
        else
            check(MPI_Gather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, root, comm_), "MPI_Gather(counts)");
        std::vector<std::string> out;
        std::string flat;
        if (all || rank_ == root) {
            long long total = 0;
            for (int r = 0; r < size_; ++r) {
                displs[r] = static_cast<int>(total);
                total += counts[r];
            }
            if (total > INT32_MAX) throw Error("Comm::gather: total over 2 GiB");
            flat.resize(static_cast<std::size_t>(total));
        }
        if (all)
            check(MPI_Allgatherv(bytes.data(), n, MPI_BYTE, flat.data(), counts.data(), displs.data(), MPI_BYTE,
                                 comm_),
                  "MPI_Allgatherv");
        else
            check(MPI_Gatherv(bytes.data(), n, MPI_BYTE, flat.data(), counts.data(), displs.data(), MPI_BYTE, root,
                              comm_),
                  "MPI_Gatherv");
        if (all || rank_ == root) {
            out.reserve(static_cast<std::size_t>(size_));
            for (int r = 0; r < size_; ++r) out.emplace_back(flat.substr(displs[r], counts[r]));
        }
        return out;
    }
    void send(const std::string& bytes, int dest, int tag) const override {
        if (bytes.size() > static_cast<std::size_t>(INT32_MAX)) throw Error("Comm::send: message over 2 GiB");
        check(MPI_Send(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, dest, tag, comm_), "MPI_Send");
    }
    std::pair<int, int> recv(std::string& bytes, int source, int tag, bool polite) const override {
        MPI_Status st;
        int src = source < 0 ? MPI_ANY_SOURCE : source;
        int tg = tag < 0 ? MPI_ANY_TAG : tag;
        if (polite) {
            // OpenMPI busy-polls inside blocking receives; probe and sleep instead so an idle
            // rank leaves its core to a working one. Back off up to 2 ms.
            int flag = 0;
            auto nap = std::chrono::microseconds(20);
            for (;;) {
                check(MPI_Iprobe(src, tg, comm_, &flag, &st), "MPI_Iprobe");
                if (flag) break;
                std::this_thread::sleep_for(nap);
                if (nap < std::chrono::microseconds(2000)) nap *= 2;
            }
        } else {
            check(MPI_Probe(src, tg, comm_, &st), "MPI_Probe");
        }
        int count = 0;
        check(MPI_Get_count(&st, MPI_BYTE, &count), "MPI_Get_count");
        bytes.resize(static_cast<std::size_t>(count));
        check(MPI_Recv(bytes.data(), count, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, comm_, MPI_STATUS_IGNORE),
              "MPI_Recv");
        return {st.MPI_SOURCE, st.MPI_TAG};
    }
    std::optional<std::pair<int, int>> iprobe(int source, int tag) const override {
        MPI_Status st;
        int flag = 0;
        check(MPI_Iprobe(source < 0 ? MPI_ANY_SOURCE : source, tag < 0 ? MPI_ANY_TAG : tag, comm_, &flag, &st),
              "MPI_Iprobe");
        if (!flag) return std::nullopt;
        return std::make_pair(st.MPI_SOURCE, st.MPI_TAG);
    }
    [[noreturn]] void abort(int code) const override {
        MPI_Abort(comm_, code);
        std::_Exit(code);
    }
    void* raw() const override { return const_cast<MPI_Comm*>(&comm_); }
    std::unique_ptr<RequestImpl> isend(const void* data, std::size_t n, MPI_Datatype t, int dest, int tag) const override {
        MPI_Request r = MPI_REQUEST_NULL;
        check(MPI_Isend(data, checked_count(n, "Comm::isend"), t, dest, tag, comm_, &r), "MPI_Isend");
        return std::make_unique<MpiRequest>(r, t, static_cast<std::int64_t>(n));
    }
    std::unique_ptr<RequestImpl> irecv(void* data, std::size_t n, MPI_Datatype t, int source, int tag) const override {
        MPI_Request r = MPI_REQUEST_NULL;
        check(MPI_Irecv(data, checked_count(n, "Comm::irecv"), t, source < 0 ? MPI_ANY_SOURCE : source,
                        tag < 0 ? MPI_ANY_TAG : tag, comm_, &r),
              "MPI_Irecv");
        return std::make_unique<MpiRequest>(r, t, -1);
    }
    void broadcast_typed(void* data, std::size_t n, MPI_Datatype t, int root) const override {
        bcast_chunks(static_cast<char*>(data), n * type_bytes(t), root);
    }

private:
    void bcast_chunks(char* data, std::uint64_t n, int root) const {
        constexpr std::uint64_t chunk = 1u << 30;
        for (std::uint64_t off = 0; off < n; off += chunk) {
            int len = static_cast<int>(std::min(chunk, n - off));
            check(MPI_Bcast(data + off, len, MPI_BYTE, root, comm_), "MPI_Bcast");
        }
    }
    MPI_Comm comm_;
    int rank_ = 0, size_ = 1;
};

class StandinImpl final : public CommImpl {
public:
    int rank() const override { return 0; }
    int size() const override { return 1; }
    bool standin() const override { return true; }
    std::unique_ptr<CommImpl> split(int color, int) const override {
        if (color < 0) return nullptr;
        return std::make_unique<StandinImpl>();
    }
    std::unique_ptr<CommImpl> dup() const override { return std::make_unique<StandinImpl>(); }
    void barrier() const override {}
    void allreduce(const void* in, void* out, int n, MPI_Datatype t, MPI_Op) const override {
        std::size_t width = (t == MPI_DOUBLE || t == MPI_INT64_T) ? 8 : 4;
        std::memcpy(out, in, width * static_cast<std::size_t>(n));
    }
    std::int64_t exscan_sum(std::int64_t) const override { return 0; }
    void broadcast(std::string&, int) const override {}
    std::vector<std::string> gather(const std::string& bytes, int, bool) const override { return {bytes}; }
    void send(const std::string& bytes, int dest, int tag) const override {
        if (dest != 0) throw Error("stand-in Comm: send to rank " + std::to_string(dest) + " of a 1-rank comm");
        queue_.emplace_back(tag, bytes);
    }
    std::pair<int, int> recv(std::string& bytes, int, int tag, bool) const override {
        for (auto it = queue_.begin(); it != queue_.end(); ++it) {
            if (tag < 0 || it->first == tag) {
                int t = it->first;
                bytes = std::move(it->second);
                queue_.erase(it);
                return {0, t};
            }
        }
        throw Error("stand-in Comm: recv with no matching message queued (would deadlock)");
    }
    std::optional<std::pair<int, int>> iprobe(int, int tag) const override {
        for (const auto& m : queue_)
            if (tag < 0 || m.first == tag) return std::make_pair(0, m.first);
        return std::nullopt;
    }
    [[noreturn]] void abort(int code) const override { std::exit(code); }
    void* raw() const override { throw Error("the one-rank stand-in Comm has no MPI_Comm"); }
    std::unique_ptr<RequestImpl> isend(const void* data, std::size_t n, MPI_Datatype t, int dest, int tag) const override {
        send(std::string(static_cast<const char*>(data), n * type_bytes(t)), dest, tag);
        return std::make_unique<DoneRequest>(static_cast<std::int64_t>(n));
    }
    std::unique_ptr<RequestImpl> irecv(void* data, std::size_t n, MPI_Datatype t, int, int tag) const override {
        return std::make_unique<SelfRecv>(*this, data, n, type_bytes(t), tag);
    }
    void broadcast_typed(void*, std::size_t, MPI_Datatype, int) const override {}

private:
    struct DoneRequest final : RequestImpl {
        explicit DoneRequest(std::int64_t n) : n_(n) {}
        bool test(std::int64_t& count) override { return count = n_, true; }
        std::int64_t wait(bool) override { return n_; }
        std::int64_t n_;
    };
    // A receive from self completes once a matching send has been queued.
    struct SelfRecv final : RequestImpl {
        SelfRecv(const StandinImpl& c, void* d, std::size_t n, std::size_t w, int t) : comm(c), data(d), cap(n), width(w), tag(t) {}
        bool test(std::int64_t& count) override {
            if (!comm.iprobe(0, tag)) return false;
            std::string bytes;
            comm.recv(bytes, 0, tag, false);
            if (bytes.size() > cap * width)
                throw Error("stand-in Comm: message of " + std::to_string(bytes.size() / width) +
                            " elements for a receive buffer of " + std::to_string(cap));
            std::memcpy(data, bytes.data(), bytes.size());
            count = static_cast<std::int64_t>(bytes.size() / width);
            return true;
        }
        std::int64_t wait(bool) override {
            std::int64_t count = 0;
            if (!test(count)) throw Error("stand-in Comm: receive with no matching message queued (would deadlock)");
            return count;
        }
        const StandinImpl& comm;
        void* data;
        std::size_t cap, width;
        int tag;
    };
    mutable std::deque<std::pair<int, std::string>> queue_;
};

}  // namespace

Comm::Comm() = default;
Comm::Comm(std::unique_ptr<CommImpl> impl) : impl_(std::move(impl)) {}
Comm::Comm(Comm&&) noexcept = default;
Comm& Comm::operator=(Comm&&) noexcept = default;
Comm::~Comm() = default;

Comm Comm::world() {
    int init = 0;
    MPI_Initialized(&init);
    if (!init) throw Error("Comm::world(): MPI is not initialised (construct dhs::mpi::Runtime first)");
    MPI_Comm c = MPI_COMM_NULL;
    check(MPI_Comm_dup(MPI_COMM_WORLD, &c), "MPI_Comm_dup(MPI_COMM_WORLD)");
    MPI_Comm_set_errhandler(c, MPI_ERRORS_RETURN);
    return Comm(std::make_unique<MpiImpl>(c));
}

Comm Comm::self_standin() { return Comm(std::make_unique<StandinImpl>()); }

const CommImpl& Comm::impl() const {
    if (!impl_) throw Error("use of a null dhs::mpi::Comm");
    return *impl_;
}

int Comm::rank() const { return impl().rank(); }
int Comm::size() const { return impl().size(); }
bool Comm::is_standin() const { return impl().standin(); }
Comm Comm::split(int color, int key) const { return Comm(impl().split(color, key)); }
Comm Comm::dup() const { return Comm(impl().dup()); }
void Comm::barrier() const { impl().barrier(); }

std::int64_t Comm::allreduce_sum(std::int64_t v) const {
    std::int64_t o = 0;
    impl().allreduce(&v, &o, 1, MPI_INT64_T, MPI_SUM);
    return o;
}
double Comm::allreduce_sum(double v) const {
    double o = 0;
    impl().allreduce(&v, &o, 1, MPI_DOUBLE, MPI_SUM);
    return o;
}
std::int64_t Comm::allreduce_max(std::int64_t v) const {
    std::int64_t o = 0;
    impl().allreduce(&v, &o, 1, MPI_INT64_T, MPI_MAX);
    return o;
}
double Comm::allreduce_max(double v) const {
    double o = 0;
    impl().allreduce(&v, &o, 1, MPI_DOUBLE, MPI_MAX);
    return o;
}
std::int64_t Comm::allreduce_min(std::int64_t v) const {
    std::int64_t o = 0;
    impl().allreduce(&v, &o, 1, MPI_INT64_T, MPI_MIN);
    return o;
}
std::vector<std::int64_t> Comm::allreduce_sum(std::span<const std::int64_t> v) const {
    std::vector<std::int64_t> o(v.size());
    if (!v.empty()) impl().allreduce(v.data(), o.data(), static_cast<int>(v.size()), MPI_INT64_T, MPI_SUM);
    return o;
}
void Comm::allreduce_sum_inplace(std::span<float> v) const {
    if (v.empty() || is_standin()) return;
    impl().allreduce(MPI_IN_PLACE, v.data(), checked_count(v.size(), "Comm::allreduce_sum_inplace"), MPI_FLOAT, MPI_SUM);
}
void Comm::allreduce_sum_inplace(std::span<double> v) const {
    if (v.empty() || is_standin()) return;
    impl().allreduce(MPI_IN_PLACE, v.data(), checked_count(v.size(), "Comm::allreduce_sum_inplace"), MPI_DOUBLE, MPI_SUM);
}
std::int64_t Comm::exscan_sum(std::int64_t v) const { return impl().exscan_sum(v); }
Request Comm::isend_raw(const void* data, std::size_t n, int code, int dest, int tag) const {
    Request r(impl().isend(data, n, type_of_code(code), dest, tag));
    r.count_ = static_cast<std::int64_t>(n);
    return r;
}
Request Comm::irecv_raw(void* data, std::size_t n, int code, int source, int tag) const {
    return Request(impl().irecv(data, n, type_of_code(code), source, tag));
}
void Comm::broadcast_raw(void* data, std::size_t n, int code, int root) const {
    impl().broadcast_typed(data, n, type_of_code(code), root);
}

Request::Request() = default;
Request::Request(std::unique_ptr<RequestImpl> impl) : impl_(std::move(impl)) {}
Request::Request(Request&&) noexcept = default;
Request& Request::operator=(Request&& o) noexcept {
    if (this != &o) {
        if (impl_) {
            try {
                impl_->wait(false);
            } catch (...) {
            }
        }
        impl_ = std::move(o.impl_);
        count_ = o.count_;
    }
    return *this;
}
Request::~Request() {
    if (!impl_) return;
    try {
        impl_->wait(false);
    } catch (...) {
    }
}
std::int64_t Request::wait(bool polite) {
    if (!impl_) return count_;
    count_ = impl_->wait(polite);
    impl_.reset();
    return count_;
}
bool Request::test() {
    if (!impl_) return true;
    if (!impl_->test(count_)) return false;
    impl_.reset();
    return true;
}
void Comm::broadcast(std::string& bytes, int root) const { impl().broadcast(bytes, root); }
std::vector<std::string> Comm::gather(const std::string& bytes, int root) const {
    return impl().gather(bytes, root, false);
}
std::vector<std::string> Comm::allgather(const std::string& bytes) const { return impl().gather(bytes, 0, true); }
void Comm::send(const std::string& bytes, int dest, int tag) const { impl().send(bytes, dest, tag); }
std::pair<int, int> Comm::recv(std::string& bytes, int source, int tag, bool polite) const {
    return impl().recv(bytes, source, tag, polite);
}
std::optional<std::pair<int, int>> Comm::iprobe(int source, int tag) const { return impl().iprobe(source, tag); }
void Comm::abort(int code) const {
    impl().abort(code);
    std::abort();  // unreachable: both implementations end the process
}
void* Comm::as_mpi() const { return impl().raw(); }

namespace {

long env_long(const char* name) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') return -1;
    char* end = nullptr;
    const long x = std::strtol(v, &end, 10);
    return end != nullptr && *end == '\0' ? x : -1;
}

bool env_set(const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0';
}

}  // namespace

int node_local_rank(int fallback) noexcept {
    for (const char* v : {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID"})
        if (const long x = env_long(v); x >= 0) return static_cast<int>(x);
    return fallback;
}

int node_local_size(int fallback) noexcept {
    for (const char* v : {"OMPI_COMM_WORLD_LOCAL_SIZE", "SLURM_NTASKS_PER_NODE", "MPI_LOCALNRANKS"})
        if (const long x = env_long(v); x > 0) return static_cast<int>(x);
    return fallback;
}

int threads_per_rank(long long requested, int world_size) noexcept {
    if (requested > 0) return static_cast<int>(requested);
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    return std::max(1, cores / std::max(1, node_local_size(world_size)));
}

bool launched_by_mpi_launcher() noexcept {
    return env_set("OMPI_COMM_WORLD_SIZE") || env_set("PMIX_RANK") || env_set("PMI_RANK") ||
           env_set("PMI_SIZE") || env_set("MPI_LOCALNRANKS") || env_long("SLURM_STEP_NUM_TASKS") > 1;
}

Runtime::Runtime(int& argc, char**& argv, bool always_mpi) {
    int init = 0;
    MPI_Initialized(&init);
    if (init) {
        mpi_ = true;
        return;
    }
    const char* mode = std::getenv("DHS_MPI");
    const std::string m = mode == nullptr ? "auto" : mode;
    if (m != "auto" && m != "" && m != "0" && m != "1")
        throw Error("DHS_MPI='" + m + "': expected auto (default), 1 (always initialise MPI) or 0 (never)");
    const bool launched = launched_by_mpi_launcher();
    if (m == "0" && !always_mpi) {
        const long n = std::max({env_long("OMPI_COMM_WORLD_SIZE"), env_long("PMI_SIZE"), env_long("SLURM_STEP_NUM_TASKS")});
        if (n > 1)
            throw Error("DHS_MPI=0 but an MPI launcher started " + std::to_string(n) +
                        " ranks: every one would act as rank 0 (unset DHS_MPI)");
        return;
    }
    if (m != "1" && !launched && !always_mpi) return;  // plain `dhs ...`: the one-rank stand-in
    int provided = 0;
    check(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    owns_ = true;
    mpi_ = true;
}

Comm Runtime::world() const { return mpi_ ? Comm::world() : Comm::self_standin(); }

Runtime::~Runtime() {
    if (!owns_) return;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
}

void on_rank0(const Comm& comm, const std::function<void()>& step, const std::string& context) {
    std::string err;
    if (comm.rank() == 0) {
        try {
            step();
        } catch (const std::exception& e) {
            err = e.what();
            if (err.empty()) err = "unknown error";
        }
    }
    comm.broadcast(err);
    if (!err.empty()) throw Error(context.empty() ? err : context + ": " + err);
}

int world_rank_or_zero() noexcept {
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (!init || fin) return 0;
    int r = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

}  // namespace dhs::mpi
