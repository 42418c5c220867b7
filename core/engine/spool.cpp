// Spool files (see spool.hpp). Layout, native byte order:
//   "DHSSPOOL" u32 version u64 unit_index u32 n_groups
//   per group: str name, u64 rows, u32 n_columns, per column:
//     str name, u8 dtype, u32 ndim, u64 dims[ndim], str unit, str description, u64 max_string_bytes
//   then per group, per column: the values (numbers raw; strings as u32 length + bytes)
//   u64 xxh64 of every byte before it.
#include "core/engine/spool.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>

#include "core/error.hpp"

namespace dhs::engine {

namespace {

constexpr char kMagic[8] = {'D', 'H', 'S', 'S', 'P', 'O', 'O', 'L'};
constexpr std::uint32_t kVersion = 1;

// Streams a spool file: small values gather in a buffer, large arrays (stamps) go straight from
// the column to the file; the XXH64 checksum runs over exactly the bytes written.
class Writer {
public:
    Writer(int fd, std::string path) : fd_(fd), path_(std::move(path)), state_(XXH64_createState(), &XXH64_freeState) {
        if (!state_ || XXH64_reset(state_.get(), 0) != XXH_OK) throw std::bad_alloc();
        buf_.reserve(kFlushBytes);
    }
    template <class T>
    void put(T v) {
        put_bytes(&v, sizeof v);
    }
    void put_str(const std::string& s) {
        put(static_cast<std::uint32_t>(s.size()));
        put_bytes(s.data(), s.size());
    }
    void put_bytes(const void* p, std::size_t n) {
        if (n >= kDirectBytes) {
            flush();
            emit(p, n);
        } else {
            buf_.append(static_cast<const char*>(p), n);
            if (buf_.size() >= kFlushBytes) flush();
        }
    }
    /// @brief Flushes and writes the checksum of everything before it.
    void finish() {
        flush();
        const std::uint64_t sum = XXH64_digest(state_.get());
        write_raw(&sum, sizeof sum);
    }

private:
    static constexpr std::size_t kFlushBytes = 1 << 20, kDirectBytes = 64 << 10;
    void flush() {
        if (!buf_.empty()) emit(buf_.data(), buf_.size());
        buf_.clear();
    }
    void emit(const void* p, std::size_t n) {
        XXH64_update(state_.get(), p, n);
        write_raw(p, n);
    }
    void write_raw(const void* p, std::size_t n) {
        const char* c = static_cast<const char*>(p);
        std::size_t off = 0;
        while (off < n) {
            ssize_t k = ::write(fd_, c + off, n - off);
            if (k < 0) {
                if (errno == EINTR) continue;
                const int err = errno;
                const std::string m = fmt::format("cannot write spool file '{}': {}", path_, std::strerror(err));
                if (ResourceError::is_resource_errno(err)) throw ResourceError(m);
                throw Error(m);
            }
            off += static_cast<std::size_t>(k);
        }
    }
    int fd_;
    std::string path_;
    std::string buf_;
    std::unique_ptr<XXH64_state_t, decltype(&XXH64_freeState)> state_;
};

std::uint64_t max_string_bytes(const Column& c) {
    std::uint64_t m = 0;
    if (c.dtype() == DType::string)
        for (const auto& s : c.strings()) m = std::max<std::uint64_t>(m, s.size());
    return m;
}

// a * b, or nullopt when it overflows 64 bits.
std::optional<std::uint64_t> mul(std::uint64_t a, std::uint64_t b) {
    if (a != 0 && b > UINT64_MAX / a) return std::nullopt;
    return a * b;
}

constexpr std::size_t kBufferBytes = 64 << 10;   // header and strings go through this
constexpr std::size_t kDirectPiece = 4 << 20;    // large values: read() into place, hash, repeat

}  // namespace

std::string spool_path(const std::string& dir, std::int64_t index) {
    return (std::filesystem::path(dir) / fmt::format("unit-{:09d}.spool", index)).string();
}

void fsync_directory(const std::string& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (fd < 0) throw Error(fmt::format("cannot open directory '{}': {}", dir, std::strerror(errno)));
    int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0) throw Error(fmt::format("cannot fsync directory '{}': {}", dir, std::strerror(errno)));
}

void fsync_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) {
        const int err = errno;
        if (fd >= 0) ::close(fd);
        throw Error(fmt::format("cannot fsync '{}': {}", path, std::strerror(err)));
    }
    ::close(fd);
}

void write_spool(const std::string& dir, std::int64_t index, const UnitOutput& out) {
    const std::string final_path = spool_path(dir, index);
    const std::string tmp = final_path + fmt::format(".tmp{}", ::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw Error(fmt::format("cannot create spool file '{}': {}", tmp, std::strerror(errno)));
    try {
        Writer w(fd, tmp);
        w.put_bytes(kMagic, 8);
        w.put(kVersion);
        w.put(index);
        w.put(static_cast<std::uint32_t>(out.size()));
        for (const auto& [name, t] : out) {
            w.put_str(name);
            w.put(static_cast<std::uint64_t>(t.num_rows()));
            w.put(static_cast<std::uint32_t>(t.num_columns()));
            for (const auto& c : t.columns()) {
                w.put_str(c.name());
                w.put(static_cast<std::uint8_t>(c.dtype()));
                w.put(static_cast<std::uint32_t>(c.shape().size()));
                for (auto d : c.shape()) w.put(static_cast<std::uint64_t>(d));
                w.put_str(c.unit());
                w.put_str(c.description());
                w.put(max_string_bytes(c));
            }
        }
        for (const auto& [name, t] : out) {
            for (const auto& c : t.columns()) {
                std::visit(
                    [&](const auto& v) {
                        using E = typename std::decay_t<decltype(v)>::value_type;
                        if constexpr (std::is_same_v<E, std::string>) {
                            for (const auto& s : v) w.put_str(s);
                        } else {
                            w.put_bytes(v.data(), v.size() * sizeof(E));
                        }
                    },
                    c.storage());
            }
        }
        w.finish();
        // No fsync: the rename makes the file visible whole or not at all to this and later
        // processes (kill -9 included), and a file that a machine crash tears is caught by its
        // checksum on --resume, where its unit runs again. Syncing each unit cost the stamp
        // stages a third of their time (benchmarks/run_pipeline.sh); the stage file is
        // fsynced before any spool file is removed.
    } catch (...) {
        ::close(fd);
        ::unlink(tmp.c_str());
        throw;
    }
    ::close(fd);
    if (::rename(tmp.c_str(), final_path.c_str()) != 0)
        throw Error(fmt::format("cannot rename spool file to '{}': {}", final_path, std::strerror(errno)));
}

struct SpoolReader::HashState {
    XXH64_state_t* state = XXH64_createState();
    ~HashState() { XXH64_freeState(state); }
};

std::size_t SpoolReader::ColumnInfo::cell_size() const noexcept {
    std::size_t n = 1;
    for (auto d : shape) n *= d;
    return n;
}

SpoolReader::SpoolReader(const std::string& path) : path_(path), hash_(std::make_unique<HashState>()) {
    if (hash_->state == nullptr || XXH64_reset(hash_->state, 0) != XXH_OK) throw std::bad_alloc();
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
        const int err = errno;
        throw DataError(path, "open", fmt::format("cannot read spool file: {}", std::strerror(err)));
    }
    try {
        struct stat st {};
        if (::fstat(fd_, &st) != 0) {
            const int err = errno;
            throw DataError(path, "open", fmt::format("cannot stat spool file: {}", std::strerror(err)));
        }
        file_bytes_ = static_cast<std::uint64_t>(st.st_size);
        buf_.reset(new char[kBufferBytes]);

        char magic[8];
        take(magic, 8);
        if (std::memcmp(magic, kMagic, 8) != 0) throw DataError(path, "header", "not a dhs spool file");
        auto version = get<std::uint32_t>();
        if (version != kVersion)
            throw DataError(path, "header", fmt::format("spool version {} (expected {})", version, kVersion));
        unit_index_ = get<std::int64_t>();
        auto ng = get<std::uint32_t>();
        for (std::uint32_t gi = 0; gi < ng; ++gi) {  // grown as parsed: a bad count hits the end of the file
            GroupInfo g;
            g.name = get_str();
            g.rows = get<std::uint64_t>();
            auto nc = get<std::uint32_t>();
            for (std::uint32_t ci = 0; ci < nc; ++ci) {
                ColumnInfo c;
                c.name = get_str();
                auto dt = get<std::uint8_t>();
                if (dt > static_cast<std::uint8_t>(DType::string)) throw DataError(path, "header", "bad dtype code");
                c.dtype = static_cast<DType>(dt);
                auto nd = get<std::uint32_t>();
                if (nd > 8) throw DataError(path, "header", "bad column rank");
                std::uint64_t cell = 1;
                for (std::uint32_t i = 0; i < nd; ++i) {
                    auto d = get<std::uint64_t>();
                    auto m = mul(cell, d);
                    if (!m) throw DataError(path, "header", "bad column shape");
                    cell = *m;
                    c.shape.push_back(static_cast<std::size_t>(d));
                }
                c.unit = get_str();
                c.description = get_str();
                c.max_string_bytes = get<std::uint64_t>();
                g.columns.push_back(std::move(c));
            }
            groups_.push_back(std::move(g));
        }
        // The values must fit in what is left of the file (numbers exactly, strings at 4 bytes
        // or more each), so the declared sizes can size buffers.
        if (file_bytes_ < consumed_ + 8) truncated();
        const std::uint64_t left = file_bytes_ - consumed_ - 8;
        std::uint64_t need = 0;
        bool strings = false;
        for (const auto& g : groups_)
            for (const auto& c : g.columns) {
                const bool str = c.dtype == DType::string;
                strings |= str;
                auto n = mul(g.rows, c.cell_size());
                auto b = n ? mul(*n, str ? 4 : dtype_size(c.dtype)) : std::nullopt;
                if (!b || *b > left || need + *b > left)
                    throw DataError(path, "header", "the declared rows do not fit in the file (torn or corrupt)");
                need += *b;
            }
        if (!strings && need != left)
            throw DataError(path, "header",
                            fmt::format("the declared rows take {} bytes, the file holds {} (torn or corrupt)", need, left));
        advance();
    } catch (...) {
        ::close(fd_);
        fd_ = -1;
        throw;
    }
}

SpoolReader::~SpoolReader() {
    if (fd_ >= 0) ::close(fd_);
}

void SpoolReader::truncated() const {
    throw DataError(path_, fmt::format("byte {}", consumed_), "spool file is truncated");
}

void SpoolReader::read_failed(std::uint64_t at) const {
    const int err = errno;
    throw DataError(path_, fmt::format("byte {}", at), fmt::format("cannot read spool file: {}", std::strerror(err)));
}

void SpoolReader::fill() {
    buf_pos_ = 0;
    buf_len_ = 0;
    for (;;) {
        ssize_t n = ::read(fd_, buf_.get(), kBufferBytes);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) read_failed(consumed_);
        if (n == 0) truncated();
        buf_len_ = static_cast<std::size_t>(n);
        return;
    }
}

// Hands out the next n bytes of the file: buffered for small pieces, read() straight into
// dest for large ones (hashed piece by piece while they are still in cache).
void SpoolReader::take(void* dest, std::size_t n, bool hash) {
    if (n > file_bytes_ - std::min(consumed_, file_bytes_)) truncated();
    char* d = static_cast<char*>(dest);
    while (n > 0) {
        if (buf_pos_ == buf_len_ && n >= kBufferBytes) {
            std::size_t want = std::min(n, kDirectPiece), got = 0;
            while (got < want) {
                ssize_t r = ::read(fd_, d + got, want - got);
                if (r < 0 && errno == EINTR) continue;
                if (r < 0) read_failed(consumed_ + got);
                if (r == 0) truncated();
                got += static_cast<std::size_t>(r);
            }
            if (hash) XXH64_update(hash_->state, d, got);
            d += got;
            n -= got;
            consumed_ += got;
            continue;
        }
        if (buf_pos_ == buf_len_) fill();
        std::size_t k = std::min(n, buf_len_ - buf_pos_);
        std::memcpy(d, buf_.get() + buf_pos_, k);
        if (hash) XXH64_update(hash_->state, buf_.get() + buf_pos_, k);
        buf_pos_ += k;
        d += k;
        n -= k;
        consumed_ += k;
    }
}

template <class T>
T SpoolReader::get() {
    T v;
    take(&v, sizeof v);
    return v;
}

std::string SpoolReader::get_str() {
    auto n = get<std::uint32_t>();
    if (n > file_bytes_ - consumed_) truncated();  // before allocating
    std::string s(n, '\0');
    take(s.data(), n);
    return s;
}

void SpoolReader::advance() {
    while (group_ < groups_.size() && column_ >= groups_[group_].columns.size()) {
        ++group_;
        column_ = 0;
    }
}

std::size_t SpoolReader::column_bytes(const ColumnInfo& c) const {
    return static_cast<std::size_t>(groups_[group_].rows) * c.cell_size() * dtype_size(c.dtype);
}

void SpoolReader::read_raw(void* dest, std::size_t bytes) {
    if (at_end()) throw std::logic_error("SpoolReader::read_raw past the last column of " + path_);
    const ColumnInfo& c = next_column();
    if (c.dtype == DType::string || bytes != column_bytes(c))
        throw std::logic_error(fmt::format("SpoolReader::read_raw: {} bytes asked for column '{}' ({}) of {}", bytes,
                                           c.name, dtype_name(c.dtype), path_));
    take(dest, bytes);
    ++column_;
    advance();
}

void SpoolReader::read_strings(std::string* dest, std::size_t count) {
    if (at_end()) throw std::logic_error("SpoolReader::read_strings past the last column of " + path_);
    const ColumnInfo& c = next_column();
    if (c.dtype != DType::string || count != groups_[group_].rows * c.cell_size())
        throw std::logic_error(fmt::format("SpoolReader::read_strings: {} strings asked for column '{}' ({}) of {}",
                                           count, c.name, dtype_name(c.dtype), path_));
    for (std::size_t i = 0; i < count; ++i) dest[i] = get_str();
    ++column_;
    advance();
}

void SpoolReader::read_strings_fixed(char* dest, std::size_t width) {
    if (at_end()) throw std::logic_error("SpoolReader::read_strings_fixed past the last column of " + path_);
    const ColumnInfo& c = next_column();
    if (c.dtype != DType::string)
        throw std::logic_error(fmt::format("SpoolReader::read_strings_fixed: column '{}' ({}) of {}", c.name,
                                           dtype_name(c.dtype), path_));
    const std::size_t count = static_cast<std::size_t>(groups_[group_].rows) * c.cell_size();
    for (std::size_t i = 0; i < count; ++i) {
        auto n = get<std::uint32_t>();
        if (n > width)
            throw DataError(path_, "column " + c.name,
                            fmt::format("string of {} bytes, longer than the header's maximum {} (corrupt)", n, width));
        take(dest + i * width, n);
        std::memset(dest + i * width + n, 0, width - n);
    }
    ++column_;
    advance();
}

void SpoolReader::skip() {
    if (at_end()) throw std::logic_error("SpoolReader::skip past the last column of " + path_);
    const ColumnInfo& c = next_column();
    if (c.dtype == DType::string) {
        const std::size_t count = static_cast<std::size_t>(groups_[group_].rows) * c.cell_size();
        for (std::size_t i = 0; i < count; ++i) get_str();
    } else {
        std::size_t n = column_bytes(c);
        char scratch[4096];
        while (n > 0) {
            std::size_t k = std::min(n, sizeof scratch);
            take(scratch, k);
            n -= k;
        }
    }
    ++column_;
    advance();
}

void SpoolReader::finish() {
    if (!at_end()) throw std::logic_error("SpoolReader::finish before the last column of " + path_);
    const std::uint64_t sum = XXH64_digest(hash_->state);
    std::uint64_t stored = 0;
    take(&stored, 8, false);
    if (consumed_ != file_bytes_ || buf_pos_ != buf_len_) throw DataError(path_, "size", "spool file has trailing bytes");
    char extra;
    ssize_t r;
    do r = ::read(fd_, &extra, 1);
    while (r < 0 && errno == EINTR);
    if (r > 0) throw DataError(path_, "size", "spool file has trailing bytes");
    if (sum != stored) throw DataError(path_, "checksum", "spool file is corrupt or torn (checksum mismatch)");
}

namespace {

template <class T>
Column read_numeric(SpoolReader& r, const SpoolReader::ColumnInfo& h, std::uint64_t rows) {
    std::vector<T> v(static_cast<std::size_t>(rows) * h.cell_size());
    r.read_raw(v.data(), v.size() * sizeof(T));
    return Column(h.name, std::move(v), h.shape, h.dtype);
}

Column read_column(SpoolReader& r) {
    const SpoolReader::ColumnInfo h = r.next_column();
    const std::uint64_t rows = r.next_group().rows;
    Column c;
    switch (h.dtype) {
        case DType::boolean:
        case DType::uint8: c = read_numeric<std::uint8_t>(r, h, rows); break;
        case DType::int8: c = read_numeric<std::int8_t>(r, h, rows); break;
        case DType::int16: c = read_numeric<std::int16_t>(r, h, rows); break;
        case DType::uint16: c = read_numeric<std::uint16_t>(r, h, rows); break;
        case DType::int32: c = read_numeric<std::int32_t>(r, h, rows); break;
        case DType::uint32: c = read_numeric<std::uint32_t>(r, h, rows); break;
        case DType::int64: c = read_numeric<std::int64_t>(r, h, rows); break;
        case DType::uint64: c = read_numeric<std::uint64_t>(r, h, rows); break;
        case DType::float32: c = read_numeric<float>(r, h, rows); break;
        case DType::float64: c = read_numeric<double>(r, h, rows); break;
        case DType::string: {
            std::vector<std::string> v(static_cast<std::size_t>(rows) * h.cell_size());
            r.read_strings(v.data(), v.size());
            c = Column(h.name, std::move(v), h.shape);
            break;
        }
    }
    c.set_unit(h.unit);
    c.set_description(h.description);
    return c;
}

}  // namespace

UnitOutput read_spool(const std::string& path) {
    SpoolReader r(path);
    UnitOutput out;
    for (const auto& g : r.groups()) {
        Table t;
        for (std::size_t c = 0; c < g.columns.size(); ++c) t.add(read_column(r));
        out[g.name] = std::move(t);
    }
    r.finish();
    return out;
}

SpoolSummary read_spool_summary(const std::string& path) {
    SpoolReader r(path);
    SpoolSummary s;
    s.file_bytes = r.file_bytes();
    s.unit_index = r.unit_index();
    for (const auto& g : r.groups()) {
        s.rows[g.name] = g.rows;
        for (const auto& c : g.columns)
            if (c.dtype == DType::string) s.max_string_bytes[g.name + "/" + c.name] = c.max_string_bytes;
    }
    return s;
}

bool verify_spool(const std::string& path) noexcept {
    try {
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return false;
        struct Closer {
            int fd;
            ~Closer() { ::close(fd); }
        } closer{fd};
        struct stat st {};
        if (::fstat(fd, &st) != 0 || st.st_size < 16) return false;
        const auto body = static_cast<std::uint64_t>(st.st_size) - 8;
        auto state = std::unique_ptr<XXH64_state_t, decltype(&XXH64_freeState)>(XXH64_createState(), &XXH64_freeState);
        if (!state || XXH64_reset(state.get(), 0) != XXH_OK) return false;
        char magic[8];
        if (::pread(fd, magic, 8, 0) != 8 || std::memcmp(magic, kMagic, 8) != 0) return false;
        std::vector<char> buf(1 << 20);
        std::uint64_t off = 0;
        while (off < body) {
            const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), body - off));
            ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(off));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return false;
            XXH64_update(state.get(), buf.data(), static_cast<std::size_t>(n));
            off += static_cast<std::uint64_t>(n);
        }
        std::uint64_t stored = 0;
        if (::pread(fd, &stored, 8, static_cast<off_t>(body)) != 8) return false;
        return XXH64_digest(state.get()) == stored;
    } catch (...) {
        return false;
    }
}

std::vector<std::int64_t> list_spooled_units(const std::string& dir) {
    std::vector<std::int64_t> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        const std::string n = e.path().filename().string();
        if (n.size() == 20 && n.rfind("unit-", 0) == 0 && n.substr(14) == ".spool")
            out.push_back(std::stoll(n.substr(5, 9)));
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace dhs::engine
