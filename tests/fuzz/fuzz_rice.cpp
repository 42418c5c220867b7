// fuzz_rice: the RICE_1 decoder and the float un-quantisation (core/fits/rice_codec.hpp) on
// any bytes, against cfitsio's own decoder (fits_rdecomp) as the oracle.
// Input layout: byte 0 picks the block size (16 or 32, else 1 + byte % 64), bytes 1-2 the
// pixel count (0..65535), byte 3 the dither (none, 1, 2) and null handling, bytes 4-11 a
// scale and zero seed; the rest is the RICE stream. When both decoders succeed their pixels
// must be identical (rice_codec.hpp promises bit-identical output); a stream one refuses and
// the other accepts is not a failure (cfitsio checks for the end of the stream once per block).
#include <fitsio.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/fits/rice_codec.hpp"

// cfitsio's RICE decoder (ricecomp.c), exported by libcfitsio but declared only in its private
// fitsio2.h.
extern "C" int fits_rdecomp(unsigned char* c, int clen, unsigned int array[], int nx, int nblock);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace dhs::fits;
    if (size < 12) return 0;
    const int block_size = data[0] == 0 ? 16 : data[0] == 1 ? 32 : 1 + data[0] % 64;
    const std::size_t n = static_cast<std::size_t>(data[1]) | (static_cast<std::size_t>(data[2]) << 8);
    const std::uint8_t mode = data[3];
    const std::vector<std::uint8_t> stream(data + 12, data + size);

    std::vector<std::int32_t> ours(n);
    const bool ok = rice_decode_int32(stream, ours, block_size);

    // cfitsio reads a few bytes past a malformed stream before it notices: give it padding.
    if (n > 0 && !stream.empty()) {
        std::vector<unsigned char> padded(stream.begin(), stream.end());
        padded.resize(stream.size() + 4096, 0xFF);
        std::vector<int> theirs(n);
        const int rc = fits_rdecomp(padded.data(), static_cast<int>(stream.size()), reinterpret_cast<unsigned int*>(theirs.data()),
                                    static_cast<int>(n), block_size);
        fits_clear_errmsg();
        if (ok && rc == 0 && std::memcmp(ours.data(), theirs.data(), n * sizeof(int)) != 0) {
            std::fprintf(stderr, "rice_decode_int32 and cfitsio's fits_rdecomp disagree\n");
            std::abort();
        }
    }
    if (!ok) return 0;

    // Un-quantise what was decoded, whole and as a box, as TileReader does.
    TileQuantization t;
    std::int16_t s = 0, z = 0;
    std::memcpy(&s, data + 4, 2);
    std::memcpy(&z, data + 6, 2);
    t.scale = std::ldexp(1.0, s % 64) * (1 + data[8]);
    t.zero = z;
    t.dither = mode % 3 == 0 ? Dither::none : mode % 3 == 1 ? Dither::subtractive_1 : Dither::subtractive_2;
    t.has_null = (mode & 4) != 0;
    t.null_value = ours.empty() ? 0 : ours[0];
    std::int32_t row = 0;
    std::memcpy(&row, data + 8, 4);
    t.dither_row = row;
    std::vector<float> out(n);
    unquantize_float(ours, 0, out, t);
    if (n >= 4) {
        const std::size_t width = 1 + data[9] % (n / 2), stride = width + data[10] % (n - width + 1);
        const std::size_t rows = stride > 0 ? (n - width) / stride + 1 : 1;
        std::vector<float> box(width * rows);
        unquantize_float_box(ours, 0, width, rows, stride, box.data(), width, t);
        for (std::size_t r = 0; r < rows; ++r)  // a box row must equal the same pixels un-quantised alone
            for (std::size_t k = 0; k < width; ++k) {
                const float a = box[r * width + k], b = out[r * stride + k];
                if (std::memcmp(&a, &b, sizeof a) != 0 && !(std::isnan(a) && std::isnan(b))) {
                    std::fprintf(stderr, "unquantize_float_box differs from unquantize_float at row %zu pixel %zu\n", r, k);
                    std::abort();
                }
            }
    }
    return 0;
}
