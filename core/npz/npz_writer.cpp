// NpzWriter (see npz_writer.hpp): NPY 1.0 members in a zip archive (local headers, central
// directory, end record; no zip64: members and archives stay far below 4 GiB), zlib raw deflate.
// Timestamps are fixed (1980-01-01) so the same arrays give the same bytes.
#include "core/npz/npz_writer.hpp"

#include <zlib.h>

#include <filesystem>
#include <limits>

#include <fmt/format.h>

#include "core/error.hpp"

namespace dhs::npz {

namespace {

void put16(std::string& s, std::uint16_t v) {
    s += static_cast<char>(v & 0xff);
    s += static_cast<char>(v >> 8);
}
void put32(std::string& s, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
}

constexpr std::uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01
constexpr std::uint16_t kVersion = 20;

std::string shape_text(const std::vector<std::size_t>& shape) {
    if (shape.empty()) return "()";
    std::string s = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + (shape.size() == 1 ? ",)" : ")");
}

std::size_t count(const std::vector<std::size_t>& shape) {
    std::size_t n = 1;
    for (auto d : shape) n *= d;
    return n;
}

/// UTF-8 -> code points (invalid sequences become U+FFFD).
std::vector<std::uint32_t> code_points(const std::string& s) {
    std::vector<std::uint32_t> out;
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        std::uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
        bool ok = len > 0 && i + static_cast<std::size_t>(len) <= s.size();
        for (int k = 1; ok && k < len; ++k) {
            const auto d = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
            ok = (d >> 6) == 2;
            cp = (cp << 6) | (d & 0x3f);
        }
        if (!ok) {
            out.push_back(0xFFFD);
            ++i;
            continue;
        }
        out.push_back(cp);
        i += static_cast<std::size_t>(len);
    }
    return out;
}

}  // namespace

NpzWriter::NpzWriter(std::string path, bool compress) : path_(std::move(path)), tmp_(path_ + ".tmp"), compress_(compress) {
    out_.open(tmp_, std::ios::binary | std::ios::trunc);
    if (!out_) throw Error(fmt::format("cannot create '{}'", tmp_));
}

NpzWriter::~NpzWriter() {
    if (!closed_) {
        out_.close();
        std::error_code ec;
        std::filesystem::remove(tmp_, ec);
    }
}

std::string NpzWriter::npy_header(const std::string& descr, const std::vector<std::size_t>& shape) {
    std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape_text(shape) + ", }";
    const std::size_t fixed = 10;  // magic (6) + version (2) + header length (2)
    std::size_t total = fixed + dict.size() + 1;
    total = (total + 63) / 64 * 64;
    dict.append(total - fixed - dict.size() - 1, ' ');
    dict += '\n';
    std::string h = "\x93NUMPY";
    h += '\x01';
    h += '\x00';
    put16(h, static_cast<std::uint16_t>(dict.size()));
    return h + dict;
}

void NpzWriter::add_member(const std::string& name, const std::string& descr, const std::vector<std::size_t>& shape,
                           const void* data, std::size_t bytes) {
    for (const auto& e : entries_)
        if (e.name == name + ".npy") throw Error(fmt::format("npz '{}': member '{}' written twice", path_, name));
    std::string raw = npy_header(descr, shape);
    raw.append(static_cast<const char*>(data), bytes);
    if (raw.size() > std::numeric_limits<std::uint32_t>::max() / 2)
        throw Error(fmt::format("npz '{}': member '{}' too large for a zip without zip64", path_, name));
    Entry e;
    e.name = name + ".npy";
    e.usize = static_cast<std::uint32_t>(raw.size());
    e.crc = static_cast<std::uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(raw.data()), static_cast<uInt>(raw.size())));
    std::string payload;
    if (compress_) {
        z_stream z{};
        if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            throw Error(fmt::format("npz '{}': deflateInit2 failed", path_));
        payload.resize(deflateBound(&z, static_cast<uLong>(raw.size())));
        z.next_in = reinterpret_cast<Bytef*>(raw.data());
        z.avail_in = static_cast<uInt>(raw.size());
        z.next_out = reinterpret_cast<Bytef*>(payload.data());
        z.avail_out = static_cast<uInt>(payload.size());
        const int rc = deflate(&z, Z_FINISH);
        payload.resize(z.total_out);
        deflateEnd(&z);
        if (rc != Z_STREAM_END) throw Error(fmt::format("npz '{}': deflate failed ({})", path_, rc));
        e.method = 8;
    } else {
        payload = std::move(raw);
        e.method = 0;
    }
    e.csize = static_cast<std::uint32_t>(payload.size());
    e.offset = static_cast<std::uint32_t>(pos_);
    std::string h;
    put32(h, 0x04034b50);
    put16(h, kVersion);
    put16(h, 0);  // flags
    put16(h, e.method);
    put16(h, 0);  // time
    put16(h, kDosDate);
    put32(h, e.crc);
    put32(h, e.csize);
    put32(h, e.usize);
    put16(h, static_cast<std::uint16_t>(e.name.size()));
    put16(h, 0);  // extra
    h += e.name;
    out_.write(h.data(), static_cast<std::streamsize>(h.size()));
    out_.write(payload.data(), static_cast<std::streamsize>(payload.size()));
    pos_ += h.size() + payload.size();
    if (pos_ > std::numeric_limits<std::uint32_t>::max())
        throw Error(fmt::format("npz '{}': archive too large for a zip without zip64", path_));
    if (!out_) throw Error(fmt::format("cannot write '{}'", tmp_));
    entries_.push_back(std::move(e));
}

void NpzWriter::add(const std::string& name, std::span<const float> data, const std::vector<std::size_t>& shape) {
    if (data.size() != count(shape)) throw Error(fmt::format("npz '{}': '{}' has {} values for shape {}", path_, name, data.size(), shape_text(shape)));
    add_member(name, "<f4", shape, data.data(), data.size_bytes());
}
void NpzWriter::add(const std::string& name, std::span<const double> data, const std::vector<std::size_t>& shape) {
    if (data.size() != count(shape)) throw Error(fmt::format("npz '{}': '{}' has {} values for shape {}", path_, name, data.size(), shape_text(shape)));
    add_member(name, "<f8", shape, data.data(), data.size_bytes());
}
void NpzWriter::add(const std::string& name, std::span<const std::int32_t> data, const std::vector<std::size_t>& shape) {
    if (data.size() != count(shape)) throw Error(fmt::format("npz '{}': '{}' has {} values for shape {}", path_, name, data.size(), shape_text(shape)));
    add_member(name, "<i4", shape, data.data(), data.size_bytes());
}
void NpzWriter::add(const std::string& name, std::span<const std::int64_t> data, const std::vector<std::size_t>& shape) {
    if (data.size() != count(shape)) throw Error(fmt::format("npz '{}': '{}' has {} values for shape {}", path_, name, data.size(), shape_text(shape)));
    add_member(name, "<i8", shape, data.data(), data.size_bytes());
}
void NpzWriter::add_scalar(const std::string& name, double v) { add(name, std::span<const double>(&v, 1), {}); }
void NpzWriter::add_scalar(const std::string& name, float v) { add(name, std::span<const float>(&v, 1), {}); }
void NpzWriter::add_scalar(const std::string& name, std::int64_t v) { add(name, std::span<const std::int64_t>(&v, 1), {}); }
void NpzWriter::add_scalar(const std::string& name, const std::string& utf8) {
    auto cps = code_points(utf8);
    if (cps.empty()) cps.push_back(0);  // numpy stores '' as '<U1'
    add_member(name, "<U" + std::to_string(cps.size()), {}, cps.data(), cps.size() * sizeof(std::uint32_t));
}

void NpzWriter::close() {
    if (closed_) return;
    std::string cd;
    for (const auto& e : entries_) {
        put32(cd, 0x02014b50);
        put16(cd, kVersion);  // made by
        put16(cd, kVersion);  // needed
        put16(cd, 0);
        put16(cd, e.method);
        put16(cd, 0);
        put16(cd, kDosDate);
        put32(cd, e.crc);
        put32(cd, e.csize);
        put32(cd, e.usize);
        put16(cd, static_cast<std::uint16_t>(e.name.size()));
        put16(cd, 0);  // extra
        put16(cd, 0);  // comment
        put16(cd, 0);  // disk
        put16(cd, 0);  // internal attributes
        put32(cd, 0);  // external attributes
        put32(cd, e.offset);
        cd += e.name;
    }
    std::string end;
    put32(end, 0x06054b50);
    put16(end, 0);
    put16(end, 0);
    put16(end, static_cast<std::uint16_t>(entries_.size()));
    put16(end, static_cast<std::uint16_t>(entries_.size()));
    put32(end, static_cast<std::uint32_t>(cd.size()));
    put32(end, static_cast<std::uint32_t>(pos_));
    put16(end, 0);
    out_.write(cd.data(), static_cast<std::streamsize>(cd.size()));
    out_.write(end.data(), static_cast<std::streamsize>(end.size()));
    out_.close();
    if (!out_) throw Error(fmt::format("cannot write '{}'", tmp_));
    std::error_code ec;
    std::filesystem::rename(tmp_, path_, ec);
    if (ec) throw Error(fmt::format("cannot rename '{}' to '{}': {}", tmp_, path_, ec.message()));
    closed_ = true;
}

}  // namespace dhs::npz
