// Helpers shared by the libFuzzer harnesses of tests/fuzz: the input written to a scratch file
// (for readers that take a path), and the rule every harness applies: a dhs::Error (the
// project's documented error types, core/error.hpp) is the correct answer to bad bytes and is
// swallowed; anything else escapes and libFuzzer reports it (uncaught exception = abort), as it
// does crashes, sanitizer reports, leaks, timeouts and out-of-memory.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace dhs::fuzz {

/// @brief A per-process scratch file (in /dev/shm when there is one), rewritten for each
/// input and removed at exit. `suffix` matters to cfitsio (".gz" would be decompressed).
class ScratchFile {
public:
    explicit ScratchFile(const std::string& name, const std::string& suffix) {
        const char* dir = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        path_ = std::string(dir) + "/dhs-fuzz-" + name + "-" + std::to_string(::getpid()) + suffix;
    }
    ~ScratchFile() { ::unlink(path_.c_str()); }
    ScratchFile(const ScratchFile&) = delete;
    ScratchFile& operator=(const ScratchFile&) = delete;

    /// @brief Replaces the file's bytes with data[0, size); aborts when it cannot (a harness fault).
    const std::string& write(const std::uint8_t* data, std::size_t size) const {
        std::FILE* f = std::fopen(path_.c_str(), "wb");
        if (f == nullptr || (size > 0 && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0) {
            std::perror(path_.c_str());
            std::abort();
        }
        return path_;
    }
    const std::string& path() const noexcept { return path_; }

private:
    std::string path_;
};

}  // namespace dhs::fuzz
