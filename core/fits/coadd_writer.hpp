// Writers of DR10-layout coadd images (`legacysurvey-<brick>-<kind>.fits.fz`): an empty
// primary HDU, then one 2-D image HDU, tile-compressed (RICE_1 100x100 tiles with
// SUBTRACTIVE_DITHER_2 quantisation for floats, lossless for integers) or plain, with the
// header card layout of a real DR10 coadd (BRICK, BRICKID, RAMIN.., CORNn, TAN WCS, BUNIT).
// NaN pixels survive quantisation (written as cfitsio nulls -> ZBLANK). Files are written
// under `path + ".tmp"` and renamed when complete. Generic: knows nothing of lenses.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/fits/table_writer.hpp"
#include "kernels/geometry/brick_geometry.hpp"

namespace dhs::fits {

/// @brief Tile compression algorithm; `none` writes a plain (uncompressed) image HDU.
enum class CoaddCodec { none, rice, gzip, hcompress };

/// @brief Float quantisation dithering (ZQUANTIZ): NO_DITHER, SUBTRACTIVE_DITHER_1 or _2
/// (_2 keeps exact zeros exactly, as DR10).
enum class QuantizeMethod { no_dither, subtractive_dither_1, subtractive_dither_2 };

/// @brief How a coadd image is stored. The defaults are fpack's `-q 4` with DR10's tiling
/// and dithering; dr10_coadd_compression() gives legacypipe's per-kind settings.
struct CoaddCompression {
    CoaddCodec codec = CoaddCodec::rice;
    /// Tile size in pixels; enlarged (as legacypipe does) when the image would end in a
    /// partial tile narrower than 4 px. Images under 4 px on a side are written plain.
    long tile_width = 100, tile_height = 100;
    /// Floats only: q > 0 quantises each tile with step = (noise sigma) / q (fpack -q);
    /// q < 0 with the absolute step |q|; q = 0 stores floats losslessly, which cfitsio allows with gzip only.
    float quantize_level = 4.0f;
    QuantizeMethod method = QuantizeMethod::subtractive_dither_2;
    /// ZDITHER0, 1..10000; 0 derives it from BRICKID and band, so a brick always gets the
    /// same dither (deterministic output).
    int dither_seed = 0;
};

/// @brief legacypipe's compression per coadd kind ("image-r", "invvar-g", "maskbits",
/// "psfsize-z", ...): image and model RICE qz -1e-4; chi2 RICE qz -0.1; invvar RICE qz 16;
/// maskbits and nexp HCOMPRESS lossless; depth, galdepth and psfsize GZIP lossless; all with
/// 100x100 tiles and SUBTRACTIVE_DITHER_2. @throws dhs::Error for an unknown kind.
CoaddCompression dr10_coadd_compression(std::string_view kind);

/// @brief The header of one coadd image, written in the order of a real DR10 coadd header:
/// leading cards, BRICK, BRICKID, RAMIN, RAMAX, DECMIN, DECMAX, RA (hms), DEC (dms), CENTRA,
/// CENTDEC, CORN1RA..CORN4DEC, CTYPE1/2 (TAN), CRVAL1/2, CRPIX1/2, CD1_1, CD1_2, CD2_1,
/// CD2_2, EQUINOX, FILTERX, IMTYPE, PRODTYPE, MAGZERO, BUNIT, extra cards. Angles in degrees.
struct CoaddHeader {
    std::string brick;          ///< BRICK, e.g. "0489m442"
    std::int64_t brickid = 0;   ///< BRICKID
    double ramin = 0, ramax = 0, decmin = 0, decmax = 0;  ///< brick edges
    double centra = 0, centdec = 0;                       ///< brick centre (also RA/DEC as hms/dms)
    /// CORN1..4 RA/Dec: the centres of pixels (1,1), (W,1), (W,H), (1,H) (FITS 1-based).
    std::array<double, 4> corner_ra{}, corner_dec{};
    std::array<double, 2> crval{};  ///< CRVAL1, CRVAL2
    std::array<double, 2> crpix{};  ///< CRPIX1, CRPIX2 (FITS 1-based)
    std::array<double, 4> cd{};     ///< CD1_1, CD1_2, CD2_1, CD2_2 (deg/pixel)
    std::string band;               ///< FILTERX when not empty
    std::string imtype;             ///< IMTYPE and PRODTYPE when not empty ("image", "invvar"...)
    std::optional<double> magzero;  ///< MAGZERO when set (22.5 for nanomaggies)
    std::string bunit;              ///< BUNIT when not empty ("nanomaggy")
    std::vector<FitsCard> leading;  ///< cards before BRICK (LEGPIPEV, LSDR, SURVEY...)
    std::vector<FitsCard> extra;    ///< cards after BUNIT
};

/// @brief The header cards of `h` in the documented order (what the writers write).
std::vector<FitsCard> coadd_header_cards(const CoaddHeader& h);

/// @brief The DR10 header of a brick: CRVAL = brick centre, CRPIX = ((W+1)/2, (H+1)/2),
/// CD = diag(-pixscale, +pixscale)/3600, RAMIN..DECMAX = the brick edges, CENTRA/CENTDEC =
/// the centre, CORNn from this WCS, FILTERX = band, IMTYPE "image", MAGZERO 22.5 when
/// bunit is "nanomaggy". Matches the real 0489m442 header to its 15 printed digits.
CoaddHeader dr10_brick_header(const kernels::Brick& brick, const std::string& band, const std::string& bunit,
                              long width = 3600, long height = 3600, double pixscale_arcsec = 0.262);

/// @brief `<root>/coadd/<RRR>/<brick>/legacysurvey-<brick>-<kind>.fits.fz`.
std::string coadd_path(const std::string& root, const std::string& brickname, const std::string& kind);

/// @brief Writes a float32 image (row-major, y slowest, width * height pixels) to `path`
/// (parent directories created): empty primary HDU, then the image HDU as `c` says, with
/// the cards of `h`. NaN pixels read back as NaN (ZBLANK); +-Inf are refused when quantising.
/// @throws FitsError naming the file on a failure (no file is left under `path` then);
/// std::invalid_argument for a size mismatch.
void write_coadd_image(const std::string& path, std::span<const float> pixels, long width, long height,
                       const CoaddHeader& h, const CoaddCompression& c = {});
/// @brief As above for an int32 image (maskbits); stored losslessly, BITPIX 32.
void write_coadd_image(const std::string& path, std::span<const std::int32_t> pixels, long width, long height,
                       const CoaddHeader& h, const CoaddCompression& c = {});
/// @brief As above for an int16 image; BITPIX 16.
void write_coadd_image(const std::string& path, std::span<const std::int16_t> pixels, long width, long height,
                       const CoaddHeader& h, const CoaddCompression& c = {});

}  // namespace dhs::fits
