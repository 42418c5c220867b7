// NpzWriter: NumPy `.npz` archives (what numpy.savez / savez_compressed write and numpy.load
// opens): a zip file of `<name>.npy` members, each a NPY 1.0 array (little-endian, C order),
// deflated or stored. The zip container is libzip's (zip64 when needed); the NPY header is
// written here (numpy's format, a few lines). Members are held in memory until close(), which
// suits the per-stamp archives of `dhs export-npz`. Knows nothing of stamps. Rank-local; not
// thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

struct zip;  // libzip's archive handle (zip_t)

namespace dhs::npz {

/// @brief One archive being written to `path` (as `path + ".tmp"`, renamed by close()).
class NpzWriter {
public:
    /// @brief `compress`: deflate members as numpy.savez_compressed does; else store them.
    /// @throws dhs::Error naming the file when it cannot be created.
    explicit NpzWriter(std::string path, bool compress = true);
    ~NpzWriter();  ///< an archive never closed is removed
    NpzWriter(const NpzWriter&) = delete;
    NpzWriter& operator=(const NpzWriter&) = delete;

    /// @brief A float32 / float64 / int32 / int64 array of `shape` (row-major; empty shape: a
    /// 0-d array, i.e. a scalar). @throws dhs::Error when data and shape disagree or the name repeats.
    void add(const std::string& name, std::span<const float> data, const std::vector<std::size_t>& shape);
    void add(const std::string& name, std::span<const double> data, const std::vector<std::size_t>& shape);
    void add(const std::string& name, std::span<const std::int32_t> data, const std::vector<std::size_t>& shape);
    void add(const std::string& name, std::span<const std::int64_t> data, const std::vector<std::size_t>& shape);
    /// @brief Scalars, as numpy stores np.asarray(value): float64, float32, int64, and a
    /// string as a 0-d '<U<n>' array (UTF-32, n code points; invalid UTF-8 becomes U+FFFD).
    void add_scalar(const std::string& name, double v);
    void add_scalar(const std::string& name, float v);
    void add_scalar(const std::string& name, std::int64_t v);
    void add_scalar(const std::string& name, const std::string& utf8);

    /// @brief Writes the zip directory and renames the file into place.
    /// @throws dhs::Error naming the file on a write failure.
    void close();

    /// @brief The NPY 1.0 header of an array: magic, version, length, the dict padded with
    /// spaces and a newline to a multiple of 64 bytes (as numpy writes it).
    static std::string npy_header(const std::string& descr, const std::vector<std::size_t>& shape);

private:
    void add_member(const std::string& name, const std::string& descr, const std::vector<std::size_t>& shape,
                    const void* data, std::size_t bytes);

    std::string path_, tmp_;
    bool compress_;
    ::zip* zip_ = nullptr;
    std::vector<std::string> members_;
    bool closed_ = false;
};

}  // namespace dhs::npz
