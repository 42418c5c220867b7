// fuzz_tile_reader: TileReader (core/fits/tile_reader.*) on any file: the headers and tile
// index of a tile-compressed image (read without cfitsio for a DR10-layout RICE coadd, through
// cfitsio otherwise), then boxes cut as the cutout stage cuts them: a planned read of a few
// boxes (decoded tile by tile, partial tiles for a tile's last box), unplanned reads (whole
// tiles kept), an integer read, and a whole-image decode of an image of DR10 size or less.
// A dhs::Error (FitsError, DataError) is the right answer to a bad file. Every codec is
// fuzzed, HCOMPRESS included (its tiles are walked by core/fits/hcompress_check first).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/fits/tile_reader.hpp"
#include "fuzz_util.hpp"

namespace {

using dhs::fits::PixelBox;
using dhs::fits::TileReader;

void read_boxes(TileReader& r, const std::vector<PixelBox>& boxes) {
    for (const auto& b : boxes) {
        std::vector<float> out(static_cast<std::size_t>(b.nx * b.ny));
        r.read_box(b, out);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const dhs::fuzz::ScratchFile file("tile", ".fits.fz");
    file.write(data, size);
    try {
        TileReader r = TileReader::open(file.path());
        const long W = r.width(), H = r.height();
        if (W <= 0 || H <= 0) return 0;
        // Boxes as stamps: a corner, the centre, one across the far edge, one pixel.
        const long s = 17;
        const std::vector<PixelBox> boxes = {
            {0, 0, s, s}, {W / 2 - s / 2, H / 2 - s / 2, s, s}, {W - s / 2, H - s / 2, s, s}, {W - 1, 0, 1, 1}};
        r.plan(boxes);
        read_boxes(r, boxes);
        read_boxes(r, boxes);  // again, unplanned: whole tiles now, kept
        (void)r.read_pixel(W / 3, H / 3);
        r.release();
        try {
            std::vector<std::int32_t> ints(static_cast<std::size_t>(s * s));
            r.read_box_int(boxes[0], ints);
        } catch (const dhs::FitsError&) {  // a float image refuses an integer read
        }
        // The whole image (the cutout stage decodes it whole when most tiles are needed), up to
        // DR10's 3600 x 3600.
        if (W <= 3600 && H <= 3600) {
            r.plan(boxes, 0.0);
            read_boxes(r, boxes);
        }
    } catch (const dhs::Error&) {
    }
    return 0;
}
