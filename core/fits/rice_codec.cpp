// RICE_1 decoding and float un-quantisation (see rice_codec.hpp). The decoder keeps a 64-bit
// bit buffer refilled 8 bytes at a time and finds the unary part with count-leading-zeros,
// instead of cfitsio's byte-at-a-time loop; the arithmetic of both parts is cfitsio's, so the
// output is identical (tests/core/tile_reader_test.cpp checks it against cfitsio).
#include "core/fits/rice_codec.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

namespace dhs::fits {

namespace {

constexpr int kFsBits = 5;     // bits of the per-block code for 4-byte pixels
constexpr int kFsMax = 25;     // code of a block stored verbatim
constexpr int kRandomCount = 10000;
constexpr std::int32_t kZeroValue = -2147483646;  // SUBTRACTIVE_DITHER_2's exact zero

inline std::uint64_t load_be64(const std::uint8_t* p) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return __builtin_bswap64(v);
}

/// Undoes the zigzag mapping of a difference.
inline std::uint32_t unzigzag(std::uint32_t d) { return (d >> 1) ^ (0u - (d & 1u)); }

}  // namespace

namespace {

/// A big-endian bit reader with a 64-bit buffer: `buf` holds `cnt` < 64 unread bits MSB-aligned
/// (the bits below them are zero); refills load 8 bytes at once (byte by byte, with zeros
/// past the end, within 8 bytes of the end).
struct BitReader {
    const std::uint8_t* p;
    const std::uint8_t* end;
    const std::uint8_t* begin;
    std::uint64_t buf = 0;
    int cnt = 0;

    BitReader(const std::uint8_t* b, std::size_t len) : p(b), end(b + len), begin(b) {}
    /// Tops the buffer up to 49..63 bits (never 64: shifting a 64-bit buffer by 64 is
    /// undefined, and a full buffer holding only its last bit set would need that shift).
    void refill() {
        if (p + 8 <= end) [[likely]] {
            buf |= load_be64(p) >> cnt;
            p += (63 - cnt) >> 3;
            cnt |= 56;
        } else {
            while (cnt <= 48) {
                const std::uint64_t byte = p < end ? *p : 0u;
                buf |= byte << (56 - cnt);
                ++p;
                cnt += 8;
            }
        }
    }
    void skip(int k) {  // k <= cnt, k < 64
        buf <<= k;
        cnt -= k;
    }
    /// Bits consumed so far.
    std::uint64_t position() const { return static_cast<std::uint64_t>(p - begin) * 8 - static_cast<std::uint64_t>(cnt); }
    /// Moves to bit `pos` (anywhere) and refills.
    void seek(std::uint64_t pos) {
        p = begin + (pos >> 3);
        buf = 0;
        cnt = 0;
        refill();
        skip(static_cast<int>(pos & 7));
    }
};

}  // namespace

// Built twice, picked at load time (an ifunc): for x86-64-v3 CPUs (LZCNT makes the unary count a
// 1-cycle instruction; ~1.6x faster here) and for any x86-64. Not under ThreadSanitizer: the
// ifunc resolver runs (instrumented) while the dynamic loader relocates, before TSan's runtime
// is up, and crashes every program at start.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
#define DHS_CPU_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define DHS_CPU_CLONES
#endif

DHS_CPU_CLONES bool rice_decode_int32(std::span<const std::uint8_t> in, std::span<std::int32_t> out, int block_size) {
    const std::size_t n = out.size();
    if (n == 0) return true;
    if (in.size() < 4 || block_size <= 0) return false;
    const std::uint8_t* c = in.data();
    std::uint32_t last = (std::uint32_t{c[0]} << 24) | (std::uint32_t{c[1]} << 16) | (std::uint32_t{c[2]} << 8) | c[3];
    const std::size_t len = in.size() - 4;
    const std::uint64_t total_bits = static_cast<std::uint64_t>(len) * 8;
    BitReader r(c + 4, len);
    auto* o = reinterpret_cast<std::uint32_t*>(out.data());
    const auto bs = static_cast<std::size_t>(block_size);
    for (std::size_t i = 0; i < n;) {
        r.refill();
        const int fs = static_cast<int>(r.buf >> (64 - kFsBits)) - 1;
        r.skip(kFsBits);
        // Codes 27..31 are no RICE block (cfitsio would decode them into garbage with its
        // 32-bit bit buffer overflowing): the stream is corrupt.
        if (fs > kFsMax) return false;
        const std::size_t imax = std::min(i + bs, n);
        if (fs < 0) {
            for (; i < imax; ++i) o[i] = last;  // every difference zero
        } else if (fs == kFsMax) {
            for (; i < imax; ++i) {  // differences stored verbatim, 32 bits each
                r.refill();
                const auto d = static_cast<std::uint32_t>(r.buf >> 32);
                r.skip(32);
                last += unzigzag(d);
                o[i] = last;
            }
        } else {
            const int keep = 63 - fs;  // ((buf << (lead + 1)) >> 1) >> keep: the fs bits after the 1
            for (; i < imax; ++i) {
                if (r.cnt < 32) r.refill();
                const int lead = r.buf != 0 ? __builtin_clzll(r.buf) : 64;
                std::uint32_t d;
                if (lead + 1 + fs <= r.cnt) [[likely]] {
                    const auto bits = static_cast<std::uint32_t>(((r.buf << (lead + 1)) >> 1) >> keep);
                    r.skip(lead + 1 + fs);
                    d = (static_cast<std::uint32_t>(lead) << fs) | bits;
                } else {
                    // A long run of zeros (a huge difference, or a corrupt stream): count them
                    // across refills, then take the fs bits.
                    std::uint64_t pos = r.position(), nz = 0;
                    for (;;) {
                        r.seek(pos);
                        if (r.buf != 0) break;
                        pos += 48;  // at least 49 bits were in the buffer, all zero
                        nz += 48;
                        if (pos > total_bits) return false;
                    }
                    const int l = __builtin_clzll(r.buf);
                    nz += static_cast<std::uint64_t>(l);
                    r.seek(pos + static_cast<std::uint64_t>(l) + 1);
                    const auto bits = static_cast<std::uint32_t>((r.buf >> 1) >> keep);
                    r.skip(fs);
                    // As cfitsio: (nzero << fs) | bits in 32-bit unsigned arithmetic.
                    d = (static_cast<std::uint32_t>(nz) << fs) | bits;
                }
                last += unzigzag(d);
                o[i] = last;
            }
        }
        if (r.position() > total_bits) return false;
    }
    return true;
}

bool rice_stream_complete(std::span<const std::uint8_t> in, std::size_t n, int block_size, int bytepix) {
    if (n == 0) return true;
    // cfitsio's fsbits, fsmax and bits per raw difference for 1-, 2- and 4-byte pixels.
    int fsbits = 0, fsmax = 0, bbits = 0;
    switch (bytepix) {
        case 1: fsbits = 3; fsmax = 6; bbits = 8; break;
        case 2: fsbits = 4; fsmax = 14; bbits = 16; break;
        case 4: fsbits = kFsBits; fsmax = kFsMax; bbits = 32; break;
        default: return false;
    }
    if (block_size <= 0 || in.size() < static_cast<std::size_t>(bytepix)) return false;
    const std::uint64_t total = static_cast<std::uint64_t>(in.size()) * 8;
    std::uint64_t pos = static_cast<std::uint64_t>(bytepix) * 8;  // after the first pixel
    auto bit = [&](std::uint64_t p) { return (in[static_cast<std::size_t>(p >> 3)] >> (7 - (p & 7))) & 1u; };
    const auto bs = static_cast<std::size_t>(block_size);
    for (std::size_t i = 0; i < n; i += bs) {
        if (pos + static_cast<std::uint64_t>(fsbits) > total) return false;
        int code = 0;
        for (int k = 0; k < fsbits; ++k) code = (code << 1) | static_cast<int>(bit(pos++));
        const int fs = code - 1;
        const std::size_t m = std::min(bs, n - i);
        if (fs < 0) continue;  // every difference zero: no bits
        if (fs > fsmax) return false;
        if (fs == fsmax) {
            pos += static_cast<std::uint64_t>(m) * static_cast<std::uint64_t>(bbits);
            if (pos > total) return false;
            continue;
        }
        for (std::size_t j = 0; j < m; ++j) {
            while (pos < total && bit(pos) == 0) ++pos;  // the unary part, ended by a 1
            pos += 1 + static_cast<std::uint64_t>(fs);
            if (pos > total) return false;
        }
    }
    return true;
}

std::span<const float> dither_sequence() {
    static const std::array<float, kRandomCount> values = [] {
        std::array<float, kRandomCount> v{};
        const double a = 16807.0, m = 2147483647.0;
        double seed = 1;
        for (int i = 0; i < kRandomCount; ++i) {
            const double temp = a * seed;
            seed = temp - m * static_cast<double>(static_cast<int>(temp / m));
            v[static_cast<std::size_t>(i)] = static_cast<float>(seed / m);
        }
        return v;
    }();
    return values;
}

namespace {

/// Position in cfitsio's dither sequence: the seed index and the next value's index.
struct DitherState {
    int iseed = 0;
    int next = 0;
    void start(long dither_row, const float* r) {
        iseed = static_cast<int>((dither_row - 1) % kRandomCount);
        if (iseed < 0) iseed += kRandomCount;
        next = static_cast<int>(r[iseed] * 500);
    }
    void advance(std::size_t k, const float* r) {
        while (k > 0) {
            const auto room = static_cast<std::size_t>(kRandomCount - next);
            if (k < room) {
                next += static_cast<int>(k);
                return;
            }
            k -= room;
            iseed = iseed + 1 == kRandomCount ? 0 : iseed + 1;
            next = static_cast<int>(r[iseed] * 500);
        }
    }
};

/// One run of consecutive tile pixels with the dither continuing from `st`. No FMA contraction
/// (cfitsio's x86-64 build multiplies and adds separately; the results must be its own).
__attribute__((optimize("fp-contract=off"))) inline void unquantize_run(const std::int32_t* q, std::size_t n, float* out, const TileQuantization& t, DitherState& st,
                    const float* r) {
    const double scale = t.scale, zero = t.zero;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const std::int32_t null_value = t.null_value;
    const bool has_null = t.has_null;
    if (t.dither == Dither::none) {
        if (scale == 1.0 && zero == 0.0) {
            for (std::size_t j = 0; j < n; ++j) {
                const float f = static_cast<float>(q[j]);
                out[j] = has_null && q[j] == null_value ? nan : f;
            }
        } else {
            for (std::size_t j = 0; j < n; ++j) {
                const float f = static_cast<float>(q[j] * scale + zero);
                out[j] = has_null && q[j] == null_value ? nan : f;
            }
        }
        return;
    }
    const bool keep_zero = t.dither == Dither::subtractive_2;
    while (n > 0) {
        const std::size_t seg = std::min(n, static_cast<std::size_t>(kRandomCount - st.next));
        const float* rp = r + st.next;
        for (std::size_t j = 0; j < seg; ++j) {
            const std::int32_t v = q[j];
            float f = static_cast<float>((static_cast<double>(v) - static_cast<double>(rp[j]) + 0.5) * scale + zero);
            f = keep_zero && v == kZeroValue ? 0.0f : f;
            out[j] = has_null && v == null_value ? nan : f;
        }
        q += seg;
        out += seg;
        n -= seg;
        st.advance(seg, r);
    }
}

}  // namespace

void unquantize_float(std::span<const std::int32_t> q, std::size_t first, std::span<float> out,
                      const TileQuantization& t) {
    unquantize_float_box(q, first, out.size(), 1, out.size(), out.data(), out.size(), t);
}

DHS_CPU_CLONES __attribute__((optimize("fp-contract=off"))) void unquantize_float_box(
    std::span<const std::int32_t> q, std::size_t first, std::size_t width, std::size_t rows, std::size_t stride,
    float* out, std::size_t out_stride, const TileQuantization& t) {
    if (width == 0 || rows == 0) return;
    const float* r = dither_sequence().data();
    DitherState st;
    if (t.dither != Dither::none) {
        st.start(t.dither_row, r);
        st.advance(first, r);
    }
    for (std::size_t row = 0; row < rows; ++row) {
        const std::size_t at = first + row * stride;
        unquantize_run(q.data() + at, width, out + row * out_stride, t, st, r);
        if (t.dither != Dither::none && row + 1 < rows) st.advance(stride - width, r);
    }
}

}  // namespace dhs::fits
