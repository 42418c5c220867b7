// NpzWriter (see npz_writer.hpp): NPY 1.0 members in a zip archive written by libzip.
// Member timestamps are fixed (1980-01-01 00:00) so the same arrays give the same bytes.
#include "core/npz/npz_writer.hpp"

#include <zip.h>

#include <cstdlib>
#include <cstring>
#include <ctime>

#include <filesystem>
#include <cerrno>
#include <cstdio>

#include <fmt/format.h>

#include "core/error.hpp"

namespace dhs::npz {

namespace {

void put16(std::string& s, std::uint16_t v) {
    s += static_cast<char>(v & 0xff);
    s += static_cast<char>(v >> 8);
}

// 1980-01-01 00:00 local time: the earliest zip (DOS) time, as libzip writes it back.
std::time_t fixed_mtime() {
    std::tm t{};
    t.tm_year = 80, t.tm_mon = 0, t.tm_mday = 1, t.tm_isdst = -1;
    return std::mktime(&t);
}

std::string zip_message(zip_t* z) { return zip_strerror(z); }

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
    // libzip creates the file only when it is closed: create it now, so that a path that cannot
    // be written fails here, before any work.
    if (std::FILE* f = std::fopen(tmp_.c_str(), "wb"); f != nullptr) std::fclose(f);
    else throw Error(fmt::format("cannot create '{}': {}", tmp_, std::strerror(errno)));
    int err = 0;
    zip_ = zip_open(tmp_.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (zip_ == nullptr) {
        zip_error_t e;
        zip_error_init_with_code(&e, err);
        const std::string why = zip_error_strerror(&e);
        zip_error_fini(&e);
        throw Error(fmt::format("cannot create '{}': {}", tmp_, why));
    }
}

NpzWriter::~NpzWriter() {
    if (!closed_) {
        if (zip_ != nullptr) zip_discard(zip_);
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
    const std::string member = name + ".npy";
    for (const auto& m : members_)
        if (m == member) throw Error(fmt::format("npz '{}': member '{}' written twice", path_, name));
    const std::string header = npy_header(descr, shape);
    // libzip reads the member at close(): it owns a copy (freed by libzip).
    auto* buf = static_cast<char*>(std::malloc(header.size() + bytes));
    if (buf == nullptr) throw Error(fmt::format("npz '{}': out of memory for member '{}'", path_, name));
    std::memcpy(buf, header.data(), header.size());
    if (bytes > 0) std::memcpy(buf + header.size(), data, bytes);
    zip_source_t* src = zip_source_buffer(zip_, buf, header.size() + bytes, 1);
    if (src == nullptr) {
        std::free(buf);
        throw Error(fmt::format("npz '{}': member '{}': {}", path_, name, zip_message(zip_)));
    }
    const zip_int64_t index = zip_file_add(zip_, member.c_str(), src, ZIP_FL_ENC_UTF_8);
    if (index < 0) {
        zip_source_free(src);
        throw Error(fmt::format("npz '{}': member '{}': {}", path_, name, zip_message(zip_)));
    }
    const auto i = static_cast<zip_uint64_t>(index);
    if (zip_set_file_compression(zip_, i, compress_ ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0) != 0 ||
        zip_file_set_mtime(zip_, i, fixed_mtime(), 0) != 0)
        throw Error(fmt::format("npz '{}': member '{}': {}", path_, name, zip_message(zip_)));
    members_.push_back(member);
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
    if (members_.empty()) {  // libzip writes no file for an empty archive; numpy's is the bare end record
        zip_discard(zip_);
        zip_ = nullptr;
        std::FILE* f = std::fopen(tmp_.c_str(), "wb");
        const char end[22] = {'P', 'K', 5, 6};
        if (f == nullptr || std::fwrite(end, 1, sizeof end, f) != sizeof end || std::fclose(f) != 0)
            throw Error(fmt::format("cannot write '{}'", tmp_));
    } else if (zip_close(zip_) != 0) {
        throw Error(fmt::format("cannot write '{}': {}", tmp_, zip_message(zip_)));  // zip_ still open: the destructor discards it
    }
    zip_ = nullptr;
    closed_ = true;  // the archive exists as tmp_ now
    std::error_code ec;
    std::filesystem::rename(tmp_, path_, ec);
    if (ec) throw Error(fmt::format("cannot rename '{}' to '{}': {}", tmp_, path_, ec.message()));
}

}  // namespace dhs::npz
