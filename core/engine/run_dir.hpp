// The run directory's safeguards: one dhs job at a time (a lock on RUN_DIR/.lock that dies with
// its process), whether a directory holds work worth keeping, which config keys differ from the
// ones a run started with, and the size and checksum of a finished stage's file that
// journal/<stage>/COMPLETE records and a resume verifies.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace dhs::mpi {
class Comm;
}

namespace dhs::engine {

/// @brief The run directory cannot be used as asked: another job holds it, it holds another
/// run (no --resume), or --resume was given another configuration. Nothing was done; `dhs run`
/// exits with code 2.
class RunDirError : public Error {
public:
    explicit RunDirError(const std::string& message) : Error(message) {}
};

/// @brief An exclusive lock on RUN_DIR/.lock (an open-file-description fcntl lock) held for
/// this object's life. The kernel drops it when the process ends in any way (kill -9 included),
/// so it never goes stale. The file records the holder: host, pid, start time, command line.
/// Rank-local (rank 0 holds it for the job); move-only.
class RunDirLock {
public:
    /// @brief Creates RUN_DIR if missing and takes the lock.
    /// @throws RunDirError naming the holder when another process holds it; Error on I/O failure.
    RunDirLock(const std::string& run_dir, const std::string& command_line);
    ~RunDirLock();
    RunDirLock(RunDirLock&& other) noexcept;
    RunDirLock& operator=(RunDirLock&&) = delete;
    RunDirLock(const RunDirLock&) = delete;
    RunDirLock& operator=(const RunDirLock&) = delete;

private:
    int fd_ = -1;
};

/// @brief True when RUN_DIR holds work worth keeping: anything but config.yaml, .lock, logs/
/// and the journal's plan fingerprints (plan.sha256) and empty directories, i.e. a spool file,
/// a COMPLETE marker, a stage file, a checkpoint. Rank-local.
bool holds_progress(const std::string& run_dir);

/// @brief The keys whose values differ between two resolved configurations (the YAML
/// `Config::resolved_yaml()` writes), as "key: OLD -> NEW" ("(absent)" for a missing key), at
/// most `max` of them, in the order of `new_yaml` then `old_yaml`. Rank-local.
std::vector<std::string> config_differences(const std::string& old_yaml, const std::string& new_yaml,
                                            std::size_t max = 3);

/// @brief A stage file's size and checksum: XXH64 over the XXH64 of each block of
/// `kBlockBytes` (seed 0), so ranks hash blocks side by side and the value is the same for any
/// rank count.
struct FileFingerprint {
    static constexpr std::uint64_t kBlockBytes = std::uint64_t{64} << 20;
    std::uint64_t bytes = 0;
    std::string xxh64;  ///< 16 lowercase hex digits
    bool operator==(const FileFingerprint&) const = default;
};

/// @brief Size and checksum of `path`, every rank hashing its share of the blocks; the result
/// on every rank. @throws Error naming the file when it cannot be read. Collective.
FileFingerprint fingerprint_file(const mpi::Comm& comm, const std::string& path);

/// @brief The text of journal/<stage>/COMPLETE: completion time, the stage file's name, size,
/// block size and checksum (JSON).
std::string completion_record(const std::string& file_name, const FileFingerprint& fp);

/// @brief The fingerprint a COMPLETE marker records; nothing when it records none (a marker
/// of an older dhs, or a damaged one).
std::optional<FileFingerprint> read_completion_record(const std::string& text);

}  // namespace dhs::engine
