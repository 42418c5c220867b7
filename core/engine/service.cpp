// Serving ranks (see service.hpp). Protocol on the service's own communicator:
//   client -> server: kRequest int64 [payload length, header...], then kPayload float[length]
//                     (rank 0 -> server: kRequest [-1] = stop)
//   server -> client: kAnswer int64 [status, n], then kAnswerData float[n] (status 0) or
//                     kAnswerError uint8[n], the failure's message (status 1)
// A client has one request in flight at a time, so answers need no identifiers.
#include "core/engine/service.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include "core/error.hpp"
#include "core/util/utf8.hpp"

namespace dhs::engine {

namespace {

constexpr int kRequest = 21, kPayload = 22, kAnswer = 23, kAnswerData = 24, kAnswerError = 25;
constexpr std::size_t kHeaderBuffer = ServiceClient::kMaxHeader + 1;

std::vector<std::int64_t> request_header(std::span<const std::int64_t> header, std::size_t payload) {
    if (header.size() > ServiceClient::kMaxHeader)
        throw Error(fmt::format("service request header of {} values (at most {})", header.size(),
                                ServiceClient::kMaxHeader));
    std::vector<std::int64_t> h{static_cast<std::int64_t>(payload)};
    h.insert(h.end(), header.begin(), header.end());
    return h;
}

// The answer's second message, once its first ([status, n]) has arrived.
std::vector<float> receive_answer_body(const mpi::Comm& comm, int server, const std::int64_t (&head)[2]) {
    const auto n = static_cast<std::size_t>(head[1]);
    if (head[0] == 0) {
        std::vector<float> out(n);
        comm.recv(std::span<float>(out), server, kAnswerData);
        return out;
    }
    std::vector<std::uint8_t> msg(n);
    comm.recv(std::span<std::uint8_t>(msg), server, kAnswerError);
    throw Error(fmt::format("serving rank {}: {}", server, std::string(msg.begin(), msg.end())));
}

std::vector<float> receive_answer(const mpi::Comm& comm, int server) {
    std::int64_t head[2] = {0, 0};
    comm.recv(std::span<std::int64_t>(head), server, kAnswer, /*polite=*/true);
    return receive_answer_body(comm, server, head);
}

void send_answer(const mpi::Comm& comm, int client, const std::vector<float>& values) {
    const std::int64_t head[2] = {0, static_cast<std::int64_t>(values.size())};
    comm.send(std::span<const std::int64_t>(head), client, kAnswer);
    comm.send(std::span<const float>(values), client, kAnswerData);
}

void send_failure(const mpi::Comm& comm, int client, const std::string& message) {
    const std::string m = util::to_valid_utf8(message);
    const std::int64_t head[2] = {1, static_cast<std::int64_t>(m.size())};
    comm.send(std::span<const std::int64_t>(head), client, kAnswer);
    comm.send(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(m.data()), m.size()), client,
              kAnswerError);
}

}  // namespace

// A processing rank other than 0: asks from the thread that processes units (the main one).
class Service::Direct final : public ServiceClient {
public:
    Direct(const mpi::Comm& comm, int server) : comm_(comm), server_(server) {}
    std::vector<float> call(std::span<const std::int64_t> header, std::span<const float> payload) override {
        const auto h = request_header(header, payload.size());
        comm_.send(std::span<const std::int64_t>(h), server_, kRequest);
        comm_.send(payload, server_, kPayload);
        return receive_answer(comm_, server_);
    }
    int server() const override { return server_; }

private:
    const mpi::Comm& comm_;
    int server_;
};

// Rank 0: its unit thread posts a request and sleeps; the main thread (pump) sends it and
// brings the answer back.
class Service::Mailbox final : public ServiceClient {
public:
    Mailbox(const mpi::Comm& comm, int server) : comm_(comm), server_(server) {}
    std::vector<float> call(std::span<const std::int64_t> header, std::span<const float> payload) override {
        std::unique_lock lock(m_);
        header_ = request_header(header, payload.size());
        payload_ = payload;
        state_ = State::posted;
        cv_.wait(lock, [&] { return state_ == State::answered; });
        state_ = State::idle;
        if (!failure_.empty()) throw Error(std::exchange(failure_, {}));
        return std::move(answer_);
    }
    int server() const override { return server_; }

    bool pump() {
        std::lock_guard lock(m_);
        switch (state_) {
            case State::posted:
                sends_[0] = comm_.isend(std::span<const std::int64_t>(header_), server_, kRequest);
                sends_[1] = comm_.isend(payload_, server_, kPayload);
                state_ = State::sent;
                return true;
            case State::sent: {
                if (!sends_[0].test() || !sends_[1].test() || !comm_.iprobe(server_, kAnswer)) return false;
                std::int64_t head[2] = {0, 0};
                comm_.recv(std::span<std::int64_t>(head), server_, kAnswer);
                try {
                    answer_ = receive_answer_body(comm_, server_, head);
                } catch (const std::exception& e) {
                    failure_ = e.what();
                }
                state_ = State::answered;
                cv_.notify_all();
                return true;
            }
            default:
                return false;
        }
    }

private:
    enum class State { idle, posted, sent, answered };
    const mpi::Comm& comm_;
    int server_;
    std::mutex m_;
    std::condition_variable cv_;
    State state_ = State::idle;
    std::vector<std::int64_t> header_;
    std::span<const float> payload_;
    mpi::Request sends_[2];
    std::vector<float> answer_;
    std::string failure_;
};

int Service::server_of(int rank, int world_size, const std::vector<int>& servers) {
    int j = 0;  // rank's position among the processing ranks
    for (int r = 0; r < rank && r < world_size; ++r) j += std::find(servers.begin(), servers.end(), r) == servers.end();
    return servers.at(static_cast<std::size_t>(j) % servers.size());
}

Service::Service(const mpi::Comm& world, std::vector<int> servers) : comm_(world.dup()), servers_(std::move(servers)) {
    std::sort(servers_.begin(), servers_.end());
    for (int s : servers_)
        if (s <= 0 || s >= comm_.size())
            throw Error(fmt::format("serving rank {} is not one of ranks 1..{} (rank 0 schedules)", s, comm_.size() - 1));
    if (servers_.empty()) return;
    const int me = comm_.rank();
    is_server_ = std::binary_search(servers_.begin(), servers_.end(), me);
    if (is_server_) return;
    const int server = server_of(me, comm_.size(), servers_);
    if (me == 0) {
        auto box = std::make_unique<Mailbox>(comm_, server);
        mailbox_ = box.get();
        client_ = std::move(box);
    } else {
        client_ = std::make_unique<Direct>(comm_, server);
    }
}

Service::~Service() = default;

bool Service::pump() { return mailbox_ != nullptr && mailbox_->pump(); }

void Service::serve(const ServeFn& answer) const {
    std::vector<std::int64_t> head(kHeaderBuffer);
    std::vector<float> payload;
    auto nap = std::chrono::microseconds(20);
    for (;;) {
        const auto probe = comm_.iprobe(-1, kRequest);
        if (!probe) {
            std::this_thread::sleep_for(nap);  // a waiting server leaves its core to the data ranks
            nap = std::min(nap * 2, std::chrono::microseconds(1000));
            continue;
        }
        nap = std::chrono::microseconds(20);
        const int client = probe->first;
        const auto n = comm_.recv(std::span<std::int64_t>(head), client, kRequest);
        if (n < 1 || head[0] < 0) return;  // rank 0: every unit is done
        payload.resize(static_cast<std::size_t>(head[0]));
        comm_.recv(std::span<float>(payload), client, kPayload);
        std::vector<float> out;
        try {
            out = answer(std::span<const std::int64_t>(head).subspan(1, static_cast<std::size_t>(n - 1)), payload);
        } catch (const std::exception& e) {
            send_failure(comm_, client, e.what());
            continue;
        }
        send_answer(comm_, client, out);
    }
}

void Service::stop_servers() const {
    const std::int64_t stop[1] = {-1};
    for (int s : servers_) comm_.send(std::span<const std::int64_t>(stop), s, kRequest);
}

}  // namespace dhs::engine
