// The bounds-checked walk of an HCOMPRESS_1 tile stream (see hcompress_check.hpp), a port of
// the reading half of cfitsio's fits_hdecompress.c (decode, dodecode, qtree_decode,
// qtree_expand, qtree_copy, qtree_bitins, read_bdirect, input_huffman, qread and the bit input
// routines; cfitsio's licence, HEASARC / NASA, and R. White's hcompress, STScI), which defines
// the format. Every byte is read as cfitsio reads it, in the same order, but checked against
// the stream's end; of each coefficient only whether it is nonzero is kept, since that is all
// the sign bits at the stream's end depend on.
#include "core/fits/hcompress_check.hpp"

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <cstddef>
#include <vector>

namespace dhs::fits {
namespace {

/// cfitsio's input routines (qread, readint, start_inputing_bits, input_bit, input_nbits,
/// input_nybble, input_nnybble, input_huffman) over a span: a read past the end sets failed()
/// and gives zeros, where cfitsio reads whatever lies beyond its buffer.
class BitInput {
public:
    explicit BitInput(std::span<const std::uint8_t> in) : in_(in) {}

    bool failed() const noexcept { return failed_; }

    /// `n` whole bytes (n <= 8) as a big-endian number: qread, readint, readlonglong.
    std::uint64_t bytes(int n) {
        std::uint64_t v = 0;
        for (int i = 0; i < n; ++i) v = (v << 8) | next_byte();
        return v;
    }

    /// start_inputing_bits: the bits left in the buffer are dropped.
    void start() noexcept { bits_to_go_ = 0; }

    int bit() {
        if (bits_to_go_ == 0) {
            buffer_ = next_byte();
            bits_to_go_ = 8;
        }
        --bits_to_go_;
        return static_cast<int>((buffer_ >> bits_to_go_) & 1u);
    }

    /// input_nbits (n <= 8); input_nybble is nbits(4).
    int nbits(int n) {
        if (bits_to_go_ < n) {
            buffer_ = (buffer_ << 8) | next_byte();
            bits_to_go_ += 8;
        }
        bits_to_go_ -= n;
        return static_cast<int>((buffer_ >> bits_to_go_) & ((1u << n) - 1u));
    }

    int nybble() { return nbits(4); }

    /// input_nnybble: `n` nybbles into out[0, n), two a byte after the bits in the buffer.
    void nybbles(std::uint8_t* out, std::size_t n) {
        if (n == 1) {
            out[0] = static_cast<std::uint8_t>(nybble());
            return;
        }
        if (bits_to_go_ == 8 && pos_ > 0) {  // cfitsio backs up a byte; no read leaves 8 bits
            --pos_;
            bits_to_go_ = 0;
        }
        const int shift1 = bits_to_go_ + 4, shift2 = bits_to_go_;
        for (std::size_t k = 0; k + 1 < n && !failed_; k += 2) {  // n / 2 bytes
            buffer_ = (buffer_ << 8) | next_byte();
            out[k] = static_cast<std::uint8_t>((buffer_ >> shift1) & 15u);
            out[k + 1] = static_cast<std::uint8_t>((buffer_ >> shift2) & 15u);
        }
        if (n % 2 == 1) out[n - 1] = static_cast<std::uint8_t>(nybble());
    }

    /// input_huffman: one of the fixed codes of 3 to 6 bits for the nybbles 0..15.
    std::uint8_t huffman() {
        int c = nbits(3);
        if (c < 4) return static_cast<std::uint8_t>(1 << c);  // 1, 2, 4, 8
        c = bit() | (c << 1);
        switch (c) {
            case 8: return 3;
            case 9: return 5;
            case 10: return 10;
            case 11: return 12;
            case 12: return 15;
            default: break;
        }
        c = bit() | (c << 1);
        switch (c) {
            case 26: return 6;
            case 27: return 7;
            case 28: return 9;
            case 29: return 11;
            case 30: return 13;
            default: break;
        }
        c = bit() | (c << 1);
        return c == 62 ? 0 : 14;
    }

private:
    std::uint32_t next_byte() {
        if (pos_ >= in_.size()) {
            failed_ = true;
            return 0;
        }
        return in_[pos_++];
    }

    std::span<const std::uint8_t> in_;
    std::size_t pos_ = 0;
    std::uint32_t buffer_ = 0;  // only its low 15 bits are ever read
    int bits_to_go_ = 0;
    bool failed_ = false;
};

/// qtree_bitins: marks nonzero the coefficients of the nqx x nqy quadrant at `b` (rows `n`
/// apart) whose bit the 4-bit codes of `a` ((nqx+1)/2 x (nqy+1)/2, one a 2x2 block: bit 3
/// (i, j), bit 2 (i, j+1), bit 1 (i+1, j), bit 0 (i+1, j+1)) set.
void insert_bits(const std::uint8_t* a, int nqx, int nqy, std::uint8_t* b, std::size_t n) {
    std::size_t k = 0;
    for (int i = 0; i < nqx; i += 2)
        for (int j = 0; j < nqy; j += 2) {  // an odd last row or column has half a block
            const int v = a[k++];
            const std::size_t s00 = n * static_cast<std::size_t>(i) + static_cast<std::size_t>(j);
            const bool right = j + 1 < nqy, below = i + 1 < nqx;
            b[s00] |= (v >> 3) & 1;
            if (right) b[s00 + 1] |= (v >> 2) & 1;
            if (below) b[s00 + n] |= (v >> 1) & 1;
            if (right && below) b[s00 + n + 1] |= v & 1;
        }
}

/// qtree_copy in place (a = b, n = ny): the (nx+1)/2 x (ny+1)/2 codes at `s` become an
/// nx x ny array of their bits, each code a 2x2 block.
void expand_codes(std::uint8_t* s, int nx, int ny) {
    const std::size_t n = static_cast<std::size_t>(ny);
    const int nx2 = (nx + 1) / 2, ny2 = (ny + 1) / 2;
    std::size_t k = static_cast<std::size_t>(ny2) * static_cast<std::size_t>(nx2 - 1) + static_cast<std::size_t>(ny2 - 1);
    for (int i = nx2 - 1; i >= 0; --i) {  // from the end: a and b are one array
        std::size_t s00 = 2 * (n * static_cast<std::size_t>(i) + static_cast<std::size_t>(ny2 - 1));
        for (int j = ny2 - 1; j >= 0; --j, s00 -= 2) s[s00] = s[k--];
    }
    int i = 0;
    for (; i < nx - 1; i += 2) {
        std::size_t s00 = n * static_cast<std::size_t>(i);  // (i, j); s00 + n is (i+1, j)
        int j = 0;
        for (; j < ny - 1; j += 2, s00 += 2) {
            const int v = s[s00];
            s[s00 + n + 1] = static_cast<std::uint8_t>(v & 1);
            s[s00 + n] = static_cast<std::uint8_t>((v >> 1) & 1);
            s[s00 + 1] = static_cast<std::uint8_t>((v >> 2) & 1);
            s[s00] = static_cast<std::uint8_t>((v >> 3) & 1);
        }
        if (j < ny) {
            const int v = s[s00];
            s[s00 + n] = static_cast<std::uint8_t>((v >> 1) & 1);
            s[s00] = static_cast<std::uint8_t>((v >> 3) & 1);
        }
    }
    if (i < nx) {
        std::size_t s00 = n * static_cast<std::size_t>(i);
        int j = 0;
        for (; j < ny - 1; j += 2, s00 += 2) {
            const int v = s[s00];
            s[s00 + 1] = static_cast<std::uint8_t>((v >> 2) & 1);
            s[s00] = static_cast<std::uint8_t>((v >> 3) & 1);
        }
        if (j < ny) s[s00] = static_cast<std::uint8_t>((s[s00] >> 3) & 1);
    }
}

/// log2 of max(nqx, nqy) rounded up to a power of 2, computed as cfitsio computes it.
int levels(int nqmax) {
    int log2n = static_cast<int>(std::log(static_cast<double>(static_cast<float>(nqmax))) / std::log(2.0) + 0.5);
    if (nqmax > (1 << log2n)) ++log2n;
    return log2n;
}

/// qtree_decode: the `nbitplanes` bit planes of the nqx x nqy quadrant at `a` (rows `n`
/// apart), marking its nonzero coefficients. False when a plane code is neither 0x0 nor 0xF,
/// when an empty quadrant's plane is quadtree-coded (cfitsio would decode it into a zero-byte
/// scratch buffer) or when the stream ends early.
bool decode_quadrant(BitInput& in, std::uint8_t* a, std::size_t n, int nqx, int nqy, int nbitplanes,
                     std::vector<std::uint8_t>& scratch) {
    const bool empty = nqx <= 0 || nqy <= 0;
    const int log2n = empty ? 0 : levels(std::max(nqx, nqy));
    scratch.assign(static_cast<std::size_t>((nqx + 1) / 2) * static_cast<std::size_t>((nqy + 1) / 2), 0);
    for (int bit = nbitplanes - 1; bit >= 0 && !in.failed(); --bit) {
        const int code = in.nybble();
        if (code == 0) {  // read_bdirect: the plane's bits, 4 pixels a nybble
            in.nybbles(scratch.data(), scratch.size());
            insert_bits(scratch.data(), nqx, nqy, a, n);
            continue;
        }
        if (code != 0xF || empty) return false;
        scratch[0] = in.huffman();
        int nx = 1, ny = 1, nfx = nqx, nfy = nqy, c = 1 << log2n;
        for (int k = 1; k < log2n && !in.failed(); ++k) {  // n[k-1] = (n[k] + 1) / 2, n[log2n] = nqx or nqy
            c >>= 1;
            nx <<= 1;
            ny <<= 1;
            if (nfx <= c) --nx; else nfx -= c;
            if (nfy <= c) --ny; else nfy -= c;
            const std::size_t cells = static_cast<std::size_t>(nx) * static_cast<std::size_t>(ny);
            if (cells > scratch.size()) return false;  // cannot happen: the last step is scratch's size
            expand_codes(scratch.data(), nx, ny);
            for (std::size_t i = cells; i-- > 0;)  // qtree_expand: a new code for each nonzero one
                if (scratch[i] != 0) scratch[i] = in.huffman();
        }
        insert_bits(scratch.data(), nqx, nqy, a, n);
    }
    return !in.failed();
}

}  // namespace

bool hcompress_stream_complete(std::span<const std::uint8_t> in, long width, long height, int zbitpix) {
    if (width <= 0 || height <= 0 || width > INT_MAX / height) return false;  // cfitsio counts pixels in an int
    BitInput bits(in);
    if (bits.bytes(2) != 0xDD99u) return false;
    const auto nx = static_cast<std::int32_t>(bits.bytes(4));  // rows: the tile's height
    const auto ny = static_cast<std::int32_t>(bits.bytes(4));  // row length: the tile's width
    (void)bits.bytes(4);                                       // scale
    (void)bits.bytes(8);                                       // sum of all pixels
    std::array<int, 3> planes{};
    for (int& p : planes) p = static_cast<int>(bits.bytes(1));
    if (bits.failed() || nx != height || ny != width) return false;
    const int most = (zbitpix == 8 || zbitpix == 16) ? 31 : 63;  // fits_hdecompress: int; _64: long long
    if (std::any_of(planes.begin(), planes.end(), [most](int p) { return p > most; })) return false;

    // dodecode: the four quadrants, an end nybble 0, then a sign bit per nonzero coefficient.
    std::vector<std::uint8_t> nonzero(static_cast<std::size_t>(nx) * static_cast<std::size_t>(ny), 0), scratch;
    const auto n = static_cast<std::size_t>(ny);
    const int nx2 = (nx + 1) / 2, ny2 = (ny + 1) / 2;
    std::uint8_t* a = nonzero.data();
    bits.start();
    if (!decode_quadrant(bits, a, n, nx2, ny2, planes[0], scratch) ||
        !decode_quadrant(bits, a + ny2, n, nx2, ny / 2, planes[1], scratch) ||
        !decode_quadrant(bits, a + n * static_cast<std::size_t>(nx2), n, nx / 2, ny2, planes[1], scratch) ||
        !decode_quadrant(bits, a + n * static_cast<std::size_t>(nx2) + static_cast<std::size_t>(ny2), n, nx / 2, ny / 2,
                         planes[2], scratch))
        return false;
    if (bits.nybble() != 0) return false;
    bits.start();
    for (const std::uint8_t v : nonzero) {
        if (v != 0) (void)bits.bit();
        if (bits.failed()) return false;
    }
    return true;
}

}  // namespace dhs::fits
