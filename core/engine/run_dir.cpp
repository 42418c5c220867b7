// The run directory's lock, progress test, config differences and stage-file fingerprints
// (see run_dir.hpp).
#include "core/engine/run_dir.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <xxhash.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/mpi/comm.hpp"
#include "core/util/clock.hpp"

namespace fs = std::filesystem;

namespace dhs::engine {

namespace {

// What the lock file says of its holder, on one line ("host h, pid p, started t, command: c").
std::string read_holder(int fd) {
    std::string text;
    char buf[4096];
    for (off_t at = 0;;) {
        const ssize_t n = ::pread(fd, buf, sizeof buf, at);
        if (n <= 0) break;
        text.append(buf, static_cast<std::size_t>(n));
        at += n;
        if (text.size() > (1 << 16)) break;
    }
    std::string out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        if (end > pos) out += (out.empty() ? "" : ", ") + text.substr(pos, end - pos);
        pos = end + 1;
    }
    return out.empty() ? "holder not recorded yet" : out;
}

// Takes a write lock on the whole file without waiting: 0, or errno. Open-file-description
// locks (Linux) belong to this descriptor only, so no other open() of the file in this process
// can drop them; classic POSIX locks where the kernel or file system has no OFD locks.
int try_lock(int fd) {
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
#ifdef F_OFD_SETLK
    if (::fcntl(fd, F_OFD_SETLK, &fl) == 0) return 0;
    if (errno != EINVAL) return errno;
#endif
    return ::fcntl(fd, F_SETLK, &fl) == 0 ? 0 : errno;
}

// "section.key" -> the value in flow style, in document order.
void flatten(const YAML::Node& node, const std::string& prefix, std::vector<std::pair<std::string, std::string>>& out) {
    if (node.IsMap()) {
        for (const auto& kv : node) {
            const std::string key = kv.first.as<std::string>();
            flatten(kv.second, prefix.empty() ? key : prefix + "." + key, out);
        }
        return;
    }
    YAML::Emitter e;
    e.SetSeqFormat(YAML::Flow);
    e.SetMapFormat(YAML::Flow);
    e << node;
    out.emplace_back(prefix, e.c_str());
}

std::vector<std::pair<std::string, std::string>> flat_yaml(const std::string& text) {
    std::vector<std::pair<std::string, std::string>> out;
    try {
        flatten(YAML::Load(text), "", out);
    } catch (const YAML::Exception&) {
        out.clear();
    }
    return out;
}

std::string hex64(std::uint64_t h) { return fmt::format("{:016x}", h); }

}  // namespace

RunDirLock::RunDirLock(const std::string& run_dir, const std::string& command_line) {
    std::error_code ec;
    fs::create_directories(run_dir, ec);
    if (ec) throw Error(fmt::format("cannot create the run directory '{}': {}", run_dir, ec.message()));
    const std::string path = (fs::path(run_dir) / ".lock").string();
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Error(fmt::format("cannot open the run directory's lock file '{}': {}", path, std::strerror(errno)));
    const int err = try_lock(fd_);
    if (err == EAGAIN || err == EACCES) {
        const std::string holder = read_holder(fd_);
        ::close(fd_);
        fd_ = -1;
        throw RunDirError(fmt::format("run directory '{}' is in use by another dhs job ({}; lock {}): wait for it to "
                                      "end, or use another --out",
                                      run_dir, holder, path));
    }
    if (err != 0) {  // e.g. ENOLCK: a file system without locks; the run goes on unguarded
        spdlog::warn("cannot lock the run directory ({}: {}): nothing stops a second dhs job from using it at once",
                     path, std::strerror(err));
        return;
    }
    char host[256] = {0};
    ::gethostname(host, sizeof host - 1);
    const std::string holder =
        fmt::format("host {}\npid {}\nstarted {}\ncommand: {}\n", host, ::getpid(), util::utc_timestamp(), command_line);
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, holder.data(), holder.size(), 0) != static_cast<ssize_t>(holder.size()))
        spdlog::warn("cannot record this job in the run directory's lock file {}: {}", path, std::strerror(errno));
}

RunDirLock::~RunDirLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
}

RunDirLock::RunDirLock(RunDirLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

bool holds_progress(const std::string& run_dir) {
    std::error_code ec;
    if (!fs::is_directory(run_dir, ec)) return false;
    try {
        for (const auto& e : fs::recursive_directory_iterator(run_dir)) {
            if (e.is_directory() && !e.is_symlink()) continue;
            const fs::path rel = e.path().lexically_relative(run_dir);
            const std::string first = rel.begin()->string();
            const std::string name = rel.filename().string();
            if (rel == "config.yaml" || rel == "config.yaml.tmp" || rel == ".lock" || first == "logs") continue;
            if (first == "journal" && (name == "plan.sha256" || name == "plan.sha256.tmp")) continue;
            return true;
        }
    } catch (const fs::filesystem_error&) {
        return true;  // unreadable: assume there is something to keep
    }
    return false;
}

std::vector<std::string> config_differences(const std::string& old_yaml, const std::string& new_yaml,
                                            std::size_t max) {
    const auto older = flat_yaml(old_yaml), newer = flat_yaml(new_yaml);
    const std::map<std::string, std::string> old_map(older.begin(), older.end()), new_map(newer.begin(), newer.end());
    std::vector<std::string> out;
    for (const auto& [key, value] : newer) {
        if (out.size() >= max) return out;
        const auto it = old_map.find(key);
        if (it == old_map.end()) out.push_back(fmt::format("{}: (absent) -> {}", key, value));
        else if (it->second != value) out.push_back(fmt::format("{}: {} -> {}", key, it->second, value));
    }
    for (const auto& [key, value] : older) {
        if (out.size() >= max) return out;
        if (!new_map.count(key)) out.push_back(fmt::format("{}: {} -> (absent)", key, value));
    }
    return out;
}

FileFingerprint fingerprint_file(const mpi::Comm& comm, const std::string& path) {
    // Rank 0's size, so every rank hashes the same blocks.
    std::string size_msg;
    if (comm.rank() == 0) {
        std::error_code ec;
        const auto n = fs::file_size(path, ec);
        size_msg = ec ? "E" + ec.message() : "S" + std::to_string(n);
    }
    comm.broadcast(size_msg);
    if (size_msg.empty() || size_msg[0] != 'S')
        throw Error(fmt::format("cannot read the size of '{}': {}", path, size_msg.empty() ? "" : size_msg.substr(1)));
    FileFingerprint fp;
    fp.bytes = std::stoull(size_msg.substr(1));
    const std::uint64_t B = FileFingerprint::kBlockBytes;
    const std::uint64_t n_blocks = (fp.bytes + B - 1) / B;
    const auto ranks = static_cast<std::uint64_t>(comm.size()), me = static_cast<std::uint64_t>(comm.rank());

    // This rank's blocks: me, me + ranks, ...; each block's XXH64 in canonical (big-endian) bytes.
    std::string mine = "O";
    if (me < n_blocks) {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) mine = "E" + std::string(std::strerror(errno));
        constexpr std::size_t kPiece = 4 << 20;
        std::unique_ptr<char[]> buf(new char[kPiece]);
        std::unique_ptr<XXH64_state_t, decltype(&XXH64_freeState)> st(XXH64_createState(), &XXH64_freeState);
        for (std::uint64_t b = me; fd >= 0 && b < n_blocks && mine[0] == 'O'; b += ranks) {
            XXH64_reset(st.get(), 0);
            const std::uint64_t begin = b * B, end = std::min(fp.bytes, begin + B);
            for (std::uint64_t at = begin; at < end;) {
                const ssize_t k = ::pread(fd, buf.get(), static_cast<std::size_t>(std::min<std::uint64_t>(kPiece, end - at)),
                                          static_cast<off_t>(at));
                if (k <= 0) {
                    mine = "E" + std::string(k < 0 ? std::strerror(errno) : "shorter than its size");
                    break;
                }
                XXH64_update(st.get(), buf.get(), static_cast<std::size_t>(k));
                at += static_cast<std::uint64_t>(k);
            }
            XXH64_canonical_t c;
            XXH64_canonicalFromHash(&c, XXH64_digest(st.get()));
            mine.append(reinterpret_cast<const char*>(c.digest), sizeof c.digest);
        }
        if (fd >= 0) ::close(fd);
    }
    const auto parts = comm.allgather(mine);
    for (const auto& p : parts)
        if (p.empty() || p[0] != 'O') throw Error(fmt::format("cannot read '{}': {}", path, p.empty() ? "" : p.substr(1)));
    std::unique_ptr<XXH64_state_t, decltype(&XXH64_freeState)> all(XXH64_createState(), &XXH64_freeState);
    XXH64_reset(all.get(), 0);
    for (std::uint64_t b = 0; b < n_blocks; ++b)
        XXH64_update(all.get(), parts[b % ranks].data() + 1 + 8 * (b / ranks), 8);
    fp.xxh64 = hex64(XXH64_digest(all.get()));
    return fp;
}

std::string completion_record(const std::string& file_name, const FileFingerprint& fp) {
    const nlohmann::json j = {{"completed", util::utc_timestamp()},  {"file", file_name},
                              {"bytes", fp.bytes},       {"block_bytes", FileFingerprint::kBlockBytes},
                              {"xxh64_of_blocks", fp.xxh64}};
    return j.dump() + "\n";
}

std::optional<FileFingerprint> read_completion_record(const std::string& text) {
    try {
        const auto j = nlohmann::json::parse(text);
        if (!j.is_object() || j.value("block_bytes", std::uint64_t{0}) != FileFingerprint::kBlockBytes ||
            !j.contains("bytes") || !j.contains("xxh64_of_blocks"))
            return std::nullopt;
        return FileFingerprint{j.at("bytes").get<std::uint64_t>(), j.at("xxh64_of_blocks").get<std::string>()};
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

}  // namespace dhs::engine
