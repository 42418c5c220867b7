// A bounds-checked walk of one HCOMPRESS_1 tile stream (DR10 maskbits and nexp coadds), made
// before cfitsio's own decoder sees the tile: fits_hdecompress / fits_hdecompress64 take no
// input length and trust the stream, so a corrupt tile made them read past its bytes (a SEGV
// found by tests/fuzz/fuzz_tile_reader) and a stream whose image size disagrees with the tile
// made them write past their output; the malformed streams they detect themselves hang the
// reentrant cfitsio (they report the error while holding its lock: a deadlock). No cfitsio
// here: this works on the bytes of one tile.
//
// The format is defined by cfitsio's fits_hdecompress.c (R. White's hcompress, STScI): the
// magic 0xDD 0x99; nx, ny and scale as 4-byte big-endian ints (nx counts rows, ny is the row
// length: the tile's height and width); the sum of all pixels (8 bytes); the number of bit
// planes of the three kinds of quadrant (3 bytes); each of the 4 quadrants' bit planes, each
// written directly (code 0x0, 4 pixels a nybble) or quadtree-coded (code 0xF, Huffman-coded
// nybbles); an end nybble 0; then, from the next byte, one sign bit per nonzero coefficient.
#pragma once

#include <cstdint>
#include <span>

namespace dhs::fits {

/// @brief Whether `in` holds a whole HCOMPRESS_1 stream of a `width` x `height` tile
/// (pixels along NAXIS1 x along NAXIS2) that cfitsio's decoder for ZBITPIX `zbitpix`
/// (fits_hdecompress for 8 and 16, fits_hdecompress64 otherwise) reads within its
/// in.size() bytes and decodes into the tile's pixels: the magic; the stream's rows and row
/// length equal to the tile's height and width; at most 31 bit planes (63 for the 64-bit
/// decoder: what its coefficients hold); every plane code 0x0 or 0xF; the end nybble 0; and
/// every byte cfitsio would read, down to the last sign bit, inside `in`. A quadtree-coded
/// plane of an empty quadrant (a tile 1 pixel wide or high, which cfitsio's writer never makes)
/// is refused too: cfitsio decodes it into a zero-byte scratch buffer. Walks the stream as
/// cfitsio reads it, decoding which coefficients are nonzero (not their values, nor the
/// inverse H-transform). Bytes after the stream are allowed, as cfitsio ignores them.
bool hcompress_stream_complete(std::span<const std::uint8_t> in, long width, long height, int zbitpix);

}  // namespace dhs::fits
