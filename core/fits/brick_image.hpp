// BrickImage: one 2-D image HDU of a FITS file (a plain image or an fpack'ed, tile-compressed
// `.fits.fz` coadd) read by pixel boxes, decompressing only the tiles a box touches, with its
// header keywords and its WCS. cfitsio stays out of this header.
//
// PIXEL CONVENTION: every pixel coordinate here is ZERO-BASED, as in BrickWcs: (0, 0) is the
// first pixel (FITS pixel (1, 1)); x runs along NAXIS1, y along NAXIS2. Boxes are returned
// row-major with y slowest: value (ix, iy) of an nx-by-ny box is at [iy * nx + ix].
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "core/fits/brick_wcs.hpp"
#include "core/fits/fits_file.hpp"

namespace dhs::fits {

/// @brief A 2-D image HDU opened for reading boxes of pixels. Move-only. Not thread-safe
/// (one cfitsio handle; reads move its state): one BrickImage per thread. Rank-local.
class BrickImage {
public:
    /// @brief Opens `path` and moves to the first HDU holding a 2-D image: the primary if
    /// NAXIS = 2, else the first image extension (for a `.fits.fz` file, the tile-compressed
    /// HDU, which cfitsio presents as an image).
    /// @throws FitsError naming the file for a missing, unreadable or non-FITS file, and
    /// when no HDU holds a 2-D image.
    static BrickImage open(const std::string& path);

    BrickImage(BrickImage&&) noexcept;
    BrickImage& operator=(BrickImage&&) noexcept;
    ~BrickImage();

    /// @brief The file path given to open().
    const std::string& path() const noexcept { return file_.path(); }
    /// @brief The open file, positioned at hdu() (for core/fits readers that go below the
    /// box API, such as TileReader's own decoding of compressed tiles).
    const FitsFile& file() const noexcept { return file_; }
    /// @brief The HDU read, 1-based as cfitsio counts (the primary is 1).
    int hdu() const noexcept { return hdu_; }
    /// @brief NAXIS1 in pixels (ZNAXIS1 for a compressed HDU), read from the header.
    long width() const noexcept { return width_; }
    /// @brief NAXIS2 in pixels (ZNAXIS2 for a compressed HDU), read from the header.
    long height() const noexcept { return height_; }
    /// @brief BITPIX of the image as stored (ZBITPIX for a compressed HDU): -32 for float32,
    /// 16 / 32 for int16 / int32, ...
    int bitpix() const noexcept { return bitpix_; }
    /// @brief True when the HDU is a tile-compressed image (a binary table underneath).
    bool is_compressed() const noexcept { return compressed_; }
    /// @brief {ZTILE1, ZTILE2} in pixels for a compressed HDU (the standard's default
    /// {width, 1} when absent); std::nullopt for a plain image. The unit a tile cache keys on.
    std::optional<std::array<long, 2>> tile_shape() const noexcept { return tile_; }
    /// @brief ZCMPTYPE as written (e.g. "RICE_1"; DR10 writes its synonym "RICE_ONE");
    /// empty for a plain image.
    const std::string& compression_type() const noexcept { return compression_; }
    /// @brief Number of compressed tiles a box (zero-based, clipped to the image) touches;
    /// 0 for a plain image or a box wholly outside. A 101x101 box with 100x100 tiles: 4.
    long tiles_touched(long x0, long y0, long nx, long ny) const;

    /// @brief The image header as 80-character cards ending with END. For a compressed HDU
    /// this is the header of the image it holds (as fits_convert_hdr2str gives it: ZNAXISn become NAXISn,
    /// compression keywords dropped), otherwise fits_hdr2str's copy. Made on first use (box
    /// reads do not need it). @throws FitsError when cfitsio cannot copy the header.
    const std::string& header_text() const;
    /// @brief Number of cards in header_text(), END included.
    int header_card_count() const;
    /// @brief The value of keyword `name` in header_text() (first occurrence; names are
    /// matched case-insensitively; HIERARCH names without the prefix). Strings come unquoted
    /// without trailing blanks ('' -> '), CONTINUE'd long strings joined; numbers as written;
    /// logicals as "T"/"F"; "" when the keyword has no value. std::nullopt when absent.
    /// Keywords of the primary HDU are not inherited (INHERIT is ignored).
    std::optional<std::string> keyword(const std::string& name) const;
    /// @brief Keyword as a double (Fortran 'D' exponents accepted); std::nullopt when absent
    /// or valueless. @throws FitsError when the value is not a number.
    std::optional<double> keyword_double(const std::string& name) const;
    /// @brief Keyword as an integer (an integral real such as "2000." is accepted);
    /// std::nullopt when absent or valueless. @throws FitsError when not an integer.
    std::optional<long long> keyword_int(const std::string& name) const;

    /// @brief The celestial WCS of this HDU, parsed from header_text() on first use; owned by
    /// this image (copy it to use it from another thread).
    /// @throws FitsError naming file and HDU when the header holds no usable WCS.
    const BrickWcs& wcs() const;

    /// @brief Reads the nx-by-ny box whose first pixel is (x0, y0), ZERO-BASED, as float32,
    /// row-major (y slowest). Pixels outside the image are NaN; blank/NaN pixels stay NaN.
    /// Only the part inside the image is read (fits_read_subset: for a compressed image only
    /// the tiles intersecting it are decompressed). `n_outside`, if given, receives the
    /// number of box pixels outside the image.
    /// @throws FitsError naming file and HDU on a read or decompression failure;
    /// std::invalid_argument for a negative size.
    std::vector<float> read_box(long x0, long y0, long nx, long ny, long* n_outside = nullptr) const;
    /// @brief As above into the caller's `out` (size nx * ny). @returns pixels outside.
    long read_box(long x0, long y0, long nx, long ny, std::span<float> out) const;
    /// @brief Integer box (maskbits: int16 / int32 images), pixels outside the image set to
    /// `fill`; no blank substitution. @returns the box; `n_outside` as for read_box.
    /// @throws FitsError if the image is floating point.
    std::vector<std::int32_t> read_box_int(long x0, long y0, long nx, long ny, std::int32_t fill = 0,
                                           long* n_outside = nullptr) const;
    /// @brief As above into the caller's `out` (size nx * ny). @returns pixels outside.
    long read_box_int(long x0, long y0, long nx, long ny, std::span<std::int32_t> out,
                      std::int32_t fill = 0) const;
    /// @brief The whole image as float32, row-major (decompresses every tile).
    std::vector<float> read_full() const;
    /// @brief The whole integer image as int32, row-major.
    std::vector<std::int32_t> read_full_int() const;

private:
    BrickImage() = default;
    void read_header();
    template <class T>
    long read_clipped(long x0, long y0, long nx, long ny, std::span<T> out, T fill) const;
    void check_tiles_before_cfitsio(long cx0, long cy0, long cx1, long cy1) const;

    FitsFile file_;
    int hdu_ = 0;
    long width_ = 0, height_ = 0;
    int bitpix_ = 0;
    bool compressed_ = false;
    std::optional<std::array<long, 2>> tile_;
    std::string compression_;
    void load_header_text() const;
    mutable bool header_loaded_ = false;
    mutable std::string header_;
    mutable int ncards_ = 0;
    mutable std::unique_ptr<BrickWcs> wcs_;
    mutable std::vector<unsigned char> scratch_;
    /// RICE, GZIP and HCOMPRESS tiles (0-based) whose streams were checked before cfitsio decodes them.
    mutable std::set<long> tiles_checked_;
};

}  // namespace dhs::fits
