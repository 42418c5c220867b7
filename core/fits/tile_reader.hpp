// TileReader: many boxes cut from one 2-D image (a DR10 coadd `.fits.fz`), decoding each
// compressed tile at most once for all of them. RICE_1 float tiles (DR10 image and invvar) are
// decoded by rice_codec (bit-identical to cfitsio, faster); any other codec (HCOMPRESS maskbits,
// GZIP psfsize) through cfitsio one tile at a time; plain images box by box. A file laid out as
// DR10's (empty primary, then the compressed image) with RICE float tiles is read without
// cfitsio at all (its headers parsed here, the tile table and tiles read with pread): opening a
// coadd then costs microseconds, which matters at DR10's 1-3 targets per brick.
//
// Told the boxes in advance (plan()), it picks per tile the cheapest way: a tile only one box
// needs is decoded just as far as that box's last row and only that box's pixels are
// un-quantised, straight into the box; a tile several boxes need is decoded once, kept until its
// last box has been read, then freed; and when most tiles are needed the image is decoded whole
// once. Without a plan every tile read is kept until release().
//
// Decoded tiles, whole-image buffers and scratch are recycled through per-thread pools (a fresh
// allocation costs page faults on every file): a thread keeps at most one image-sized buffer per
// pixel type and 1024 tile buffers (~40 MB for 100x100 float tiles) after its readers are gone.
//
// PIXEL CONVENTION: ZERO-BASED, as BrickImage (boxes row-major, y slowest). Not thread-safe;
// rank-local.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/fits/brick_image.hpp"

namespace dhs::fits {

/// @brief A box of pixels: first pixel (x0, y0), ZERO-BASED, nx by ny pixels.
struct PixelBox {
    long x0 = 0, y0 = 0, nx = 0, ny = 0;
};

/// @brief What a TileReader decoded (for benchmarks and logs).
struct TileStats {
    std::int64_t tiles_decoded = 0;   ///< tile decodes of any kind (a partial one counts)
    std::int64_t tiles_partial = 0;   ///< of which stopped at the last row one box needed
    std::int64_t tiles_cfitsio = 0;   ///< of which decoded by cfitsio (no fast path for the codec)
    std::int64_t full_decodes = 0;    ///< whole-image decodes
    std::int64_t pixels_decoded = 0;  ///< pixels through an entropy decoder (RICE, cfitsio)
    std::int64_t bytes_read = 0;      ///< compressed bytes read by the fast path
};

/// @brief Box reads through a cache of decoded tiles. Move-only; not thread-safe.
class TileReader {
public:
    /// @brief Opens `path` as BrickImage::open does. @throws FitsError naming the file.
    static TileReader open(const std::string& path);
    /// @brief Takes over an open image; reads the tile index of a compressed one.
    /// @throws FitsError when the compressed HDU's table is unreadable.
    explicit TileReader(BrickImage image);
    TileReader(TileReader&&) noexcept;
    TileReader& operator=(TileReader&&) noexcept;
    ~TileReader();

    /// @brief The image through cfitsio (header, WCS). A DR10-layout RICE coadd is read
    /// without cfitsio (pread of the tile table and the tiles); its BrickImage is opened here on
    /// first use. @throws FitsError when it cannot be opened.
    const BrickImage& image() const;
    long width() const noexcept;
    long height() const noexcept;
    /// @brief True for a tile-compressed image (a cache of tiles is kept).
    bool is_tiled() const noexcept;
    /// @brief True when tiles are decoded by rice_codec (RICE_1, 4-byte pixels, quantised
    /// float with ZSCALE / ZZERO, no BSCALE / BZERO), not by cfitsio.
    bool fast_path() const noexcept;
    /// @brief True when the file is read without cfitsio (open() of a DR10-layout RICE coadd).
    bool direct() const noexcept;
    /// @brief Tile grid: tiles along x and y (1 x 1 for a plain image) and the tile size.
    long tiles_x() const noexcept;
    long tiles_y() const noexcept;
    long tile_width() const noexcept;
    long tile_height() const noexcept;
    /// @brief Number of distinct tiles the boxes touch (clipped to the image).
    long tiles_needed(std::span<const PixelBox> boxes) const;

    /// @brief Announces every box that will be read (in any order, repeats allowed), so that
    /// each tile is decoded the cheapest way and freed after its last box (see the file
    /// comment). When at least `full_decode_fraction` of all tiles are needed (and it is
    /// <= 1), the whole image is decoded now in one pass. Replaces an earlier plan.
    void plan(std::span<const PixelBox> boxes, double full_decode_fraction = 1.1);

    /// @brief Reads `box` as float32 into `out` (nx * ny values, row-major). Pixels outside
    /// the image are NaN; blank pixels NaN. @returns the number of pixels outside the image.
    /// @throws FitsError naming file, HDU and tile for an unreadable or corrupt tile;
    /// std::invalid_argument for a size mismatch.
    long read_box(const PixelBox& box, std::span<float> out);
    /// @brief Integer box (maskbits), pixels outside the image set to `fill`.
    /// @throws FitsError for a floating-point image, as BrickImage::read_box_int.
    long read_box_int(const PixelBox& box, std::span<std::int32_t> out, std::int32_t fill = 0);
    /// @brief One pixel (x, y) as float (NaN outside the image).
    float read_pixel(long x, long y);

    /// @brief Decodes every tile now into one image-sized buffer (a full decode).
    void decode_all();
    /// @brief Frees every decoded tile and the plan.
    void release();
    const TileStats& stats() const noexcept;

private:
    struct Impl;
    explicit TileReader(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace dhs::fits
