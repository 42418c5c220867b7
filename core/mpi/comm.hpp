// A move-only communicator value: MPI underneath, or a one-rank stand-in so that logic
// built on it (scheduling, reductions, logging) unit-tests without mpirun. The raw MPI_Comm
// appears only at the edge (as_mpi()). After ADIOS2's helper/adiosComm.h.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace dhs::mpi {

class CommImpl;
class RequestImpl;

/// @brief The element types typed messages carry (MPI_FLOAT, MPI_INT64_T, MPI_UINT8_T).
template <class T>
concept MessageElement = std::is_same_v<T, float> || std::is_same_v<T, std::int64_t> || std::is_same_v<T, std::uint8_t>;

/// @brief A pending non-blocking send or receive. Move-only; the buffer it names must outlive
/// it. Destroying a pending request waits for it (an MPI request is never leaked).
class Request {
public:
    Request();
    Request(Request&&) noexcept;
    Request& operator=(Request&&) noexcept;
    Request(const Request&) = delete;
    Request& operator=(const Request&) = delete;
    ~Request();

    /// @brief True when there is an operation to wait for.
    bool pending() const noexcept { return impl_ != nullptr; }
    /// @brief Waits for completion; a received message's element count is returned (sends
    /// return their own count). Sleeps between tests when `polite` (OpenMPI busy-polls in
    /// MPI_Wait), so a waiting rank leaves its core to a working one.
    std::int64_t wait(bool polite = true);
    /// @brief Completes the request if it is done (rank-local, never blocks). @returns true when done.
    bool test();

private:
    friend class Comm;
    explicit Request(std::unique_ptr<RequestImpl> impl);
    std::unique_ptr<RequestImpl> impl_;
    std::int64_t count_ = 0;
};

/// @brief A communicator. Every member that is not marked rank-local is collective over it.
class Comm {
public:
    /// @brief MPI_COMM_WORLD (a duplicate of it, so dhs traffic never meets a library's).
    /// MPI must be initialised (see Runtime).
    static Comm world();
    /// @brief A one-rank stand-in that needs no MPI at all: rank 0 of size 1; collectives
    /// return their input, point-to-point to self is queued in memory.
    static Comm self_standin();

    Comm();  ///< A null communicator; any use but assignment or destruction throws.
    Comm(Comm&&) noexcept;
    Comm& operator=(Comm&&) noexcept;
    Comm(const Comm&) = delete;
    Comm& operator=(const Comm&) = delete;
    ~Comm();

    explicit operator bool() const noexcept { return impl_ != nullptr; }

    int rank() const;   ///< rank-local
    int size() const;   ///< rank-local
    bool is_standin() const;  ///< rank-local: true for the one-rank stand-in

    /// @brief Splits into sub-communicators by `color` (ranks with equal colour share one),
    /// ordered by `key`. Collective. A negative colour returns a null Comm (MPI_UNDEFINED).
    Comm split(int color, int key) const;
    /// @brief A duplicate with its own message space. Collective.
    Comm dup() const;

    void barrier() const;

    std::int64_t allreduce_sum(std::int64_t v) const;
    double allreduce_sum(double v) const;
    std::int64_t allreduce_max(std::int64_t v) const;
    double allreduce_max(double v) const;
    std::int64_t allreduce_min(std::int64_t v) const;
    /// @brief Element-wise sum of equal-length vectors over all ranks.
    std::vector<std::int64_t> allreduce_sum(std::span<const std::int64_t> v) const;
    /// @brief Element-wise sum over all ranks, in place (gradient and statistics averaging).
    void allreduce_sum_inplace(std::span<float> v) const;
    void allreduce_sum_inplace(std::span<double> v) const;
    /// @brief Exclusive prefix sum: rank r gets the sum of v over ranks < r (0 on rank 0).
    std::int64_t exscan_sum(std::int64_t v) const;

    /// @brief Broadcasts `bytes` from `root` to all ranks (resized on receivers).
    void broadcast(std::string& bytes, int root = 0) const;
    /// @brief Broadcasts `data` from `root` into every rank's buffer of the same length.
    template <MessageElement T>
    void broadcast(std::span<T> data, int root = 0) const { broadcast_raw(data.data(), data.size(), code_of<T>(), root); }
    /// @brief Rank `root`'s `v` on every rank (a copy; `v` is read on root only).
    template <class T>
        requires std::is_trivially_copyable_v<T>
    std::vector<T> broadcast_vector(const std::vector<T>& v, int root = 0) const {
        std::string bytes(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
        broadcast(bytes, root);
        std::vector<T> out(bytes.size() / sizeof(T));
        if (!out.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());  // never memcpy to null
        return out;
    }
    /// @brief Gathers each rank's `bytes` on `root` in rank order (empty on other ranks).
    std::vector<std::string> gather(const std::string& bytes, int root = 0) const;
    /// @brief Every rank gets every rank's `bytes` in rank order.
    std::vector<std::string> allgather(const std::string& bytes) const;

    /// @brief Point-to-point: sends `bytes` to `dest` with `tag` (blocking, buffered). Rank-local.
    void send(const std::string& bytes, int dest, int tag) const;
    /// @brief Receives a message; `source`/`tag` < 0 mean any. @returns (source, tag).
    /// Waits without busy-polling the CPU (sleeps between probes) when `polite` is set.
    std::pair<int, int> recv(std::string& bytes, int source = -1, int tag = -1, bool polite = false) const;
    /// @brief Typed point-to-point (rank-local). `isend` / `irecv` return at once; the span must
    /// stay valid until the Request completes. A receive's buffer may be longer than the
    /// message: Request::wait() returns the elements received. Messages between one pair of
    /// ranks with one tag arrive in the order they were sent.
    template <MessageElement T>
    Request isend(std::span<const T> data, int dest, int tag) const { return isend_raw(data.data(), data.size(), code_of<T>(), dest, tag); }
    template <MessageElement T>
    Request irecv(std::span<T> data, int source, int tag) const { return irecv_raw(data.data(), data.size(), code_of<T>(), source, tag); }
    template <MessageElement T>
    void send(std::span<const T> data, int dest, int tag) const { isend(data, dest, tag).wait(); }
    /// @returns the elements received.
    template <MessageElement T>
    std::int64_t recv(std::span<T> data, int source, int tag, bool polite = true) const { return irecv(data, source, tag).wait(polite); }

    /// @brief Non-blocking probe: the (source, tag) of a pending message, if any. Rank-local.
    std::optional<std::pair<int, int>> iprobe(int source = -1, int tag = -1) const;

    /// @brief Aborts every rank of the job with `code` (MPI_Abort); the stand-in calls std::exit.
    [[noreturn]] void abort(int code) const;

    /// @brief The raw MPI_Comm (as an opaque pointer-sized handle; cast with MPI's type).
    /// Only for edges that must hand a communicator to another library (parallel HDF5).
    /// @throws Error on the stand-in.
    void* as_mpi() const;

private:
    template <class T>
    static constexpr int code_of() { return std::is_same_v<T, float> ? 0 : std::is_same_v<T, std::int64_t> ? 1 : 2; }
    Request isend_raw(const void* data, std::size_t n, int type_code, int dest, int tag) const;
    Request irecv_raw(void* data, std::size_t n, int type_code, int source, int tag) const;
    void broadcast_raw(void* data, std::size_t n, int type_code, int root) const;
    explicit Comm(std::unique_ptr<CommImpl> impl);
    const CommImpl& impl() const;
    std::unique_ptr<CommImpl> impl_;
};

/// @brief True when an MPI launcher started this process: mpirun/mpiexec (Open MPI, MPICH,
/// Intel MPI), or a Slurm step of more than one task (srun). Read from the environment
/// (OMPI_COMM_WORLD_SIZE, PMIX_RANK, PMI_RANK, PMI_SIZE, MPI_LOCALNRANKS, SLURM_STEP_NUM_TASKS > 1).
bool launched_by_mpi_launcher() noexcept;

/// @brief MPI for the life of the object. It initialises MPI (MPI_THREAD_FUNNELED) when an MPI
/// launcher started the process or DHS_MPI=1 is set; a plain `dhs ...` (DHS_MPI unset or
/// "auto") runs on the one-rank stand-in instead, without MPI_Init: Open MPI's singleton start
/// forks a runtime daemon and costs about half a second. DHS_MPI=0 never initialises MPI and
/// refuses a launcher's world of more than one rank. `always_mpi` initialises MPI whatever the
/// environment (test drivers, benchmarks that call MPI themselves). Not copyable. Safe to construct when MPI is
/// already initialised (then it does not finalise).
class Runtime {
public:
    Runtime(int& argc, char**& argv, bool always_mpi = false);
    ~Runtime();
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    /// @brief True when MPI is initialised (by this object or before it).
    bool mpi() const noexcept { return mpi_; }
    /// @brief The world: Comm::world() under MPI, else the one-rank stand-in.
    Comm world() const;

private:
    bool owns_ = false;
    bool mpi_ = false;
};

/// @brief Runs `step` on rank 0 of `comm` only; every rank then learns whether it failed, and a
/// failure (its message prefixed by `context` and ": " when given) is thrown as Error on every
/// rank, so that none is left waiting in a later collective. Collective.
void on_rank0(const Comm& comm, const std::function<void()>& step, const std::string& context = "");

/// @brief This rank's index and the rank count on its node, from the launcher's environment
/// (Open MPI's OMPI_COMM_WORLD_LOCAL_*, Slurm's SLURM_LOCALID / SLURM_NTASKS_PER_NODE, MPICH and
/// Intel MPI's MPI_LOCALRANKID / MPI_LOCALNRANKS); `fallback` when none says. Rank-local.
int node_local_rank(int fallback) noexcept;
int node_local_size(int fallback) noexcept;
/// @brief Compute threads for one rank: `requested` when > 0, else the node's cores over its
/// ranks (at least 1), so that the ranks of a node never run more busy threads than cores.
int threads_per_rank(long long requested, int world_size) noexcept;

/// @brief Rank in MPI_COMM_WORLD if MPI is initialised, else 0. Rank-local, never throws.
int world_rank_or_zero() noexcept;

}  // namespace dhs::mpi
