// Serving ranks: a unit stage may set some ranks aside to answer requests from the ranks that
// process its units, instead of taking units themselves (the scoring rank group: data ranks
// read and prepare stamps, learner ranks on GPUs infer). A request is a short int64 header and
// a float payload; the answer is floats. Each processing rank talks to one server (the j-th
// processing rank to server j % S). Rank 0 processes its units on a thread that may not call
// MPI (MPI_THREAD_FUNNELED), so its requests go through a mailbox that the scheduler's main
// loop pumps. Knows nothing of what is asked: that is the stage's (Stage::serve).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "core/mpi/comm.hpp"

namespace dhs::engine {

/// @brief What a processing rank's Stage::process uses to ask its server. Thread-safe for one
/// caller at a time per rank (a unit is processed by one thread).
class ServiceClient {
public:
    virtual ~ServiceClient() = default;
    /// @brief Sends `header` (at most kMaxHeader values) and `payload` to this rank's server and
    /// waits for the answer. @throws Error with the server's message when it failed.
    virtual std::vector<float> call(std::span<const std::int64_t> header, std::span<const float> payload) = 0;
    /// @brief The world rank answering this rank's requests.
    virtual int server() const = 0;
    static constexpr std::size_t kMaxHeader = 31;
};

/// @brief A server's handler: the answer to one request. May throw: the caller gets the message.
using ServeFn = std::function<std::vector<float>(std::span<const std::int64_t> header, std::span<const float> payload)>;

/// @brief The service of one stage run: its own communicator, the server ranks, this rank's
/// role. Constructed on every rank (collective: it duplicates `world`).
class Service {
public:
    /// @param servers world ranks that serve, ascending, never rank 0 (@throws Error otherwise).
    Service(const mpi::Comm& world, std::vector<int> servers);
    ~Service();
    Service(const Service&) = delete;
    Service& operator=(const Service&) = delete;

    bool active() const { return !servers_.empty(); }
    bool is_server() const { return is_server_; }
    const std::vector<int>& servers() const { return servers_; }
    /// @brief The server of world rank `rank` (a processing rank). Pure.
    static int server_of(int rank, int world_size, const std::vector<int>& servers);

    /// @brief On a server: answers requests with `answer` until rank 0 says stop. Rank-local.
    void serve(const ServeFn& answer) const;
    /// @brief On rank 0 once every unit is done: tells each server to stop. Rank-local.
    void stop_servers() const;

    /// @brief This processing rank's client (null when the service is inactive or on a server).
    /// On rank 0 it is the mailbox that pump() serves.
    ServiceClient* client() { return client_.get(); }
    /// @brief Rank 0's main thread: moves the mailbox's request and answer one step on.
    /// Never blocks for long. @returns true when something moved.
    bool pump();

private:
    class Direct;
    class Mailbox;
    mpi::Comm comm_;
    std::vector<int> servers_;
    bool is_server_ = false;
    std::unique_ptr<ServiceClient> client_;
    Mailbox* mailbox_ = nullptr;  ///< client_ on rank 0
};

}  // namespace dhs::engine
