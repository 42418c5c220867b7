// Spool files (see spool.hpp). Layout, native byte order:
//   "DHSSPOOL" u32 version u64 unit_index u32 n_groups
//   per group: str name, u64 rows, u32 n_columns, per column:
//     str name, u8 dtype, u32 ndim, u64 dims[ndim], str unit, str description, u64 max_string_bytes
//   then per group, per column: the values (numbers raw; strings as u32 length + bytes)
//   u64 xxh64 of every byte before it.
#include "core/engine/spool.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.hpp"

namespace dhs::engine {

namespace {

constexpr char kMagic[8] = {'D', 'H', 'S', 'S', 'P', 'O', 'O', 'L'};
constexpr std::uint32_t kVersion = 1;

class Writer {
public:
    template <class T>
    void put(T v) {
        const char* p = reinterpret_cast<const char*>(&v);
        buf_.append(p, sizeof v);
    }
    void put_str(const std::string& s) {
        put(static_cast<std::uint32_t>(s.size()));
        buf_ += s;
    }
    void put_bytes(const void* p, std::size_t n) { buf_.append(static_cast<const char*>(p), n); }
    std::string& buffer() { return buf_; }

private:
    std::string buf_;
};

class Reader {
public:
    Reader(const std::string& data, std::string path) : d_(data), path_(std::move(path)) {}
    template <class T>
    T get() {
        need(sizeof(T));
        T v;
        std::memcpy(&v, d_.data() + pos_, sizeof v);
        pos_ += sizeof v;
        return v;
    }
    std::string get_str() {
        auto n = get<std::uint32_t>();
        need(n);
        std::string s = d_.substr(pos_, n);
        pos_ += n;
        return s;
    }
    void get_bytes(void* p, std::size_t n) {
        need(n);
        std::memcpy(p, d_.data() + pos_, n);
        pos_ += n;
    }
    std::size_t pos() const { return pos_; }

private:
    void need(std::size_t n) {
        if (pos_ + n > d_.size()) throw DataError(path_, fmt::format("byte {}", pos_), "spool file is truncated");
    }
    const std::string& d_;
    std::string path_;
    std::size_t pos_ = 0;
};

std::string read_file(const std::string& path, std::size_t max_bytes = 0) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw DataError(path, "open", "cannot read spool file");
    std::string data;
    if (max_bytes == 0) {
        in.seekg(0, std::ios::end);
        data.resize(static_cast<std::size_t>(in.tellg()));
        in.seekg(0);
        in.read(data.data(), static_cast<std::streamsize>(data.size()));
    } else {
        data.resize(max_bytes);
        in.read(data.data(), static_cast<std::streamsize>(max_bytes));
        data.resize(static_cast<std::size_t>(in.gcount()));
    }
    return data;
}

std::uint64_t max_string_bytes(const Column& c) {
    std::uint64_t m = 0;
    if (c.dtype() == DType::string)
        for (const auto& s : c.strings()) m = std::max<std::uint64_t>(m, s.size());
    return m;
}

struct ColumnHeader {
    std::string name, unit, description;
    DType dtype;
    std::vector<std::size_t> shape;
    std::uint64_t max_str;
};
struct GroupHeader {
    std::string name;
    std::uint64_t rows;
    std::vector<ColumnHeader> columns;
};

std::pair<std::int64_t, std::vector<GroupHeader>> read_headers(Reader& r, const std::string& path) {
    char magic[8];
    r.get_bytes(magic, 8);
    if (std::memcmp(magic, kMagic, 8) != 0) throw DataError(path, "header", "not a dhs spool file");
    auto version = r.get<std::uint32_t>();
    if (version != kVersion) throw DataError(path, "header", fmt::format("spool version {} (expected {})", version, kVersion));
    auto index = r.get<std::int64_t>();
    auto ng = r.get<std::uint32_t>();
    std::vector<GroupHeader> groups(ng);
    for (auto& g : groups) {
        g.name = r.get_str();
        g.rows = r.get<std::uint64_t>();
        auto nc = r.get<std::uint32_t>();
        g.columns.resize(nc);
        for (auto& c : g.columns) {
            c.name = r.get_str();
            auto dt = r.get<std::uint8_t>();
            if (dt > static_cast<std::uint8_t>(DType::string)) throw DataError(path, "header", "bad dtype code");
            c.dtype = static_cast<DType>(dt);
            auto nd = r.get<std::uint32_t>();
            if (nd > 8) throw DataError(path, "header", "bad column rank");
            for (std::uint32_t i = 0; i < nd; ++i) c.shape.push_back(static_cast<std::size_t>(r.get<std::uint64_t>()));
            c.unit = r.get_str();
            c.description = r.get_str();
            c.max_str = r.get<std::uint64_t>();
        }
    }
    return {index, groups};
}

template <class T>
Column read_numeric(Reader& r, const ColumnHeader& h, std::uint64_t rows) {
    std::size_t cell = 1;
    for (auto d : h.shape) cell *= d;
    std::vector<T> v(static_cast<std::size_t>(rows) * cell);
    r.get_bytes(v.data(), v.size() * sizeof(T));
    return Column(h.name, std::move(v), h.shape, h.dtype);
}

Column read_column(Reader& r, const ColumnHeader& h, std::uint64_t rows) {
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
            std::size_t cell = 1;
            for (auto d : h.shape) cell *= d;
            std::vector<std::string> v(static_cast<std::size_t>(rows) * cell);
            for (auto& s : v) s = r.get_str();
            c = Column(h.name, std::move(v), h.shape);
            break;
        }
    }
    c.set_unit(h.unit);
    c.set_description(h.description);
    return c;
}

void write_all(int fd, const std::string& data, const std::string& path) {
    std::size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::write(fd, data.data() + off, data.size() - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw Error(fmt::format("cannot write spool file '{}': {}", path, std::strerror(errno)));
        }
        off += static_cast<std::size_t>(n);
    }
}

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

void write_spool(const std::string& dir, std::int64_t index, const UnitOutput& out) {
    Writer w;
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
    std::uint64_t sum = XXH64(w.buffer().data(), w.buffer().size(), 0);
    w.put(sum);

    const std::string final_path = spool_path(dir, index);
    const std::string tmp = final_path + fmt::format(".tmp{}", ::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw Error(fmt::format("cannot create spool file '{}': {}", tmp, std::strerror(errno)));
    try {
        write_all(fd, w.buffer(), tmp);
        if (::fsync(fd) != 0) throw Error(fmt::format("cannot fsync spool file '{}': {}", tmp, std::strerror(errno)));
    } catch (...) {
        ::close(fd);
        ::unlink(tmp.c_str());
        throw;
    }
    ::close(fd);
    if (::rename(tmp.c_str(), final_path.c_str()) != 0)
        throw Error(fmt::format("cannot rename spool file to '{}': {}", final_path, std::strerror(errno)));
    fsync_directory(dir);
}

UnitOutput read_spool(const std::string& path) {
    std::string data = read_file(path);
    if (data.size() < 8 + 8) throw DataError(path, "size", "spool file is truncated");
    std::uint64_t stored;
    std::memcpy(&stored, data.data() + data.size() - 8, 8);
    if (XXH64(data.data(), data.size() - 8, 0) != stored)
        throw DataError(path, "checksum", "spool file is corrupt or torn (checksum mismatch)");
    Reader r(data, path);
    auto [index, groups] = read_headers(r, path);
    UnitOutput out;
    for (const auto& g : groups) {
        Table t;
        for (const auto& h : g.columns) t.add(read_column(r, h, g.rows));
        out[g.name] = std::move(t);
    }
    if (r.pos() != data.size() - 8) throw DataError(path, "size", "spool file has trailing bytes");
    return out;
}

SpoolSummary read_spool_summary(const std::string& path) {
    std::string data = read_file(path, 1 << 20);
    SpoolSummary s;
    s.file_bytes = std::filesystem::file_size(path);
    Reader r(data, path);
    auto [index, groups] = read_headers(r, path);
    s.unit_index = index;
    for (const auto& g : groups) {
        s.rows[g.name] = g.rows;
        for (const auto& c : g.columns)
            if (c.dtype == DType::string) s.max_string_bytes[g.name + "/" + c.name] = c.max_str;
    }
    return s;
}

bool verify_spool(const std::string& path) noexcept {
    try {
        std::string data = read_file(path);
        if (data.size() < 16) return false;
        std::uint64_t stored;
        std::memcpy(&stored, data.data() + data.size() - 8, 8);
        return XXH64(data.data(), data.size() - 8, 0) == stored && std::memcmp(data.data(), kMagic, 8) == 0;
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
