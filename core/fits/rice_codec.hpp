// The RICE_1 tile codec of tile-compressed FITS images (the `.fits.fz` coadds of DR10) and the
// float un-quantisation that follows it, written for speed and bit-for-bit agreement with
// cfitsio (ricecomp.c fits_rdecomp, imcompress.c unquantize_i4r4 / fits_init_randoms).
// No cfitsio here: these work on bytes already read from the file (tile_reader.hpp does that).
//
// RICE_1 stream of 32-bit pixels: 4 bytes (big-endian) hold the first pixel; then blocks of
// `block_size` pixels, each starting with a 5-bit code fs+1: 0 = every difference is zero,
// 26 = differences stored as raw 32-bit values, else each difference is a unary count of
// leading zeros (terminated by a 1) followed by fs bits. Differences are zigzag-mapped
// (even: d/2, odd: ~(d/2)) and summed modulo 2^32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace dhs::fits {

/// @brief Decodes the first out.size() pixels of a RICE_1 stream of 32-bit pixels (ZVAL2 /
/// BYTEPIX = 4) into `out`. A prefix may be decoded (out smaller than the tile): decoding
/// stops there. `block_size` is ZVAL1 (32 in DR10).
/// @returns false when the stream ends before out.size() pixels are decoded or is malformed
/// (what cfitsio reports as "hit end of compressed byte stream"); `out` is then unspecified.
bool rice_decode_int32(std::span<const std::uint8_t> in, std::span<std::int32_t> out, int block_size);

/// @brief Whether a RICE_1 stream of `bytepix`-byte pixels (1, 2 or 4) holds `n` pixels in
/// blocks of `block_size` within its `in.size()` bytes, every block code valid: the check made
/// before cfitsio's own decoder (fits_rdecomp and its _short / _byte twins) sees a tile, since
/// that decoder reads past the end of a malformed stream. Walks the bits only; decodes nothing.
bool rice_stream_complete(std::span<const std::uint8_t> in, std::size_t n, int block_size, int bytepix);

/// @brief ZQUANTIZ of a quantised float tile.
enum class Dither { none, subtractive_1, subtractive_2 };

/// @brief How the integers of one tile map back to floats: value = (q - r + 0.5) * scale +
/// zero with the dither sequence r (r = 0.5 for Dither::none, i.e. q * scale + zero);
/// q == null_value -> NaN when has_null; q == -2147483646 -> 0 for subtractive_2.
struct TileQuantization {
    double scale = 1.0;           ///< ZSCALE of the tile
    double zero = 0.0;            ///< ZZERO of the tile
    Dither dither = Dither::none;
    bool has_null = false;        ///< ZBLANK present
    std::int32_t null_value = 0;  ///< ZBLANK
    /// The tile's dither row: its 1-based table row + ZDITHER0 - 1 (cfitsio's `row`).
    long dither_row = 1;
};

/// @brief cfitsio's 10,000 dither values (fits_init_randoms: Park-Miller, float), built once.
std::span<const float> dither_sequence();

/// @brief Un-quantises tile pixels [first, first + n) from `q` (the tile's integers, indexed
/// from the tile's first pixel) into out[0, n), exactly as cfitsio's unquantize_i4r4 does for
/// the same pixels of the whole tile (the dither sequence is advanced to `first`).
void unquantize_float(std::span<const std::int32_t> q, std::size_t first, std::span<float> out,
                      const TileQuantization& t);

/// @brief As above for pixels that are not consecutive in the tile: `rows` runs of `width`
/// pixels, run r starting at tile pixel first + r * stride, written to out + r * out_stride.
/// This is how a box is cut out of a tile (one run per box row).
void unquantize_float_box(std::span<const std::int32_t> q, std::size_t first, std::size_t width, std::size_t rows,
                          std::size_t stride, float* out, std::size_t out_stride, const TileQuantization& t);

}  // namespace dhs::fits
