// BrickWcs: the celestial WCS of one image HDU (a coadd brick's TAN, a DECam CCD's TPV),
// mapping pixels <-> (RA, Dec) through wcslib. wcslib stays out of this header (pimpl).
//
// PIXEL CONVENTION: every pixel coordinate here is ZERO-BASED. The centre of the first pixel
// of the image is (0, 0), i.e. the FITS (1-based) pixel coordinate minus 1 on both axes;
// x runs along NAXIS1 (columns), y along NAXIS2 (rows). Only crpix() returns FITS 1-based
// values, exactly as written in the header. Sky coordinates are ICRS-like degrees as the
// header defines them (RA in [0, 360), Dec in [-90, 90]).
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <span>
#include <string>

namespace dhs::fits {

/// @brief A zero-based pixel position (x along NAXIS1, y along NAXIS2; first pixel centre = 0,0).
struct PixelXY {
    double x = 0;
    double y = 0;
};

/// @brief A sky position in degrees (RA in [0, 360), Dec in [-90, 90]).
struct SkyRaDec {
    double ra = 0;
    double dec = 0;
};

/// @brief The primary celestial WCS of one FITS header, evaluated by wcslib (TAN, TPV and
/// anything else wcslib understands; TPV is turned by wcslib into TAN plus a polynomial
/// distortion). All pixel coordinates are ZERO-BASED (FITS pixel - 1).
///
/// Copying makes an independent deep copy (wcslib's wcssub). NOT thread-safe: wcslib
/// keeps scratch state inside the struct, so even const calls on ONE object must not run
/// concurrently; give each thread its own copy. A moved-from BrickWcs may only be destroyed
/// or assigned to. Rank-local.
class BrickWcs {
public:
    /// @brief Parses `ncards` 80-character header cards (`cards` as returned by cfitsio's
    /// fits_hdr2str / fits_convert_hdr2str, END card allowed) with wcspih, applies wcsfix
    /// and wcsset. `origin` (usually the file path) and `hdu` (1-based, 0 if unknown) only
    /// label error messages.
    /// @throws FitsError naming `origin` when the header holds no celestial WCS or wcslib
    /// rejects it (wcslib's own message included); DegenerateWcsError (file, HDU, the CD or
    /// PC/CDELT keywords and values) when the linear part is singular, e.g. an all-zero CD matrix.
    static BrickWcs from_header(const std::string& cards, int ncards, const std::string& origin,
                                int hdu = 0);
    /// @brief As above with ncards = cards.size() / 80.
    static BrickWcs from_header(const std::string& cards, const std::string& origin, int hdu = 0);

    BrickWcs(const BrickWcs& other);
    BrickWcs& operator=(const BrickWcs& other);
    BrickWcs(BrickWcs&& other) noexcept;
    BrickWcs& operator=(BrickWcs&& other) noexcept;
    ~BrickWcs();

    /// @brief Sky (degrees) -> ZERO-BASED pixel. Returns NaN coordinates when the point has
    /// no valid projection (e.g. the far hemisphere of a TAN image).
    /// @throws FitsError on any other wcslib failure.
    PixelXY sky_to_pixel(double ra_deg, double dec_deg) const;
    /// @brief ZERO-BASED pixel -> sky (degrees, RA in [0, 360)). NaN when invalid.
    SkyRaDec pixel_to_sky(double x, double y) const;

    /// @brief Batch sky -> ZERO-BASED pixel over equal-length spans (one wcss2p call per
    /// chunk). Invalid points get NaN. @returns the number of invalid points.
    /// @throws std::invalid_argument if the spans differ in length.
    std::size_t sky_to_pixel(std::span<const double> ra_deg, std::span<const double> dec_deg,
                             std::span<double> x, std::span<double> y) const;
    /// @brief Batch ZERO-BASED pixel -> sky (degrees, one wcsp2s call per chunk). Invalid
    /// points get NaN. @returns the number of invalid points.
    std::size_t pixel_to_sky(std::span<const double> x, std::span<const double> y,
                             std::span<double> ra_deg, std::span<double> dec_deg) const;

    /// @brief Local pixel scale in arcsec/pixel at the reference pixel: sqrt(|det J|) of the
    /// pixel -> tangent-plane Jacobian (distortion included), by central differences.
    double pixel_scale_arcsec() const;
    /// @brief CRPIX1, CRPIX2 exactly as in the header: FITS 1-BASED (see reference_pixel()).
    std::array<double, 2> crpix() const;
    /// @brief The reference pixel ZERO-BASED: crpix() - 1.
    PixelXY reference_pixel() const;
    /// @brief CRVAL1, CRVAL2 in degrees (RA, Dec of the reference point).
    std::array<double, 2> crval() const;
    /// @brief The CTYPE1 value as wcslib holds it after wcsset (a TPV header reads "RA---TAN").
    std::string ctype1() const;
    /// @brief True when a distortion (TPV, SIP, ...) is applied on top of the projection.
    bool has_distortion() const;
    /// @brief The label given at construction (usually the file path).
    const std::string& origin() const;

private:
    struct Impl;
    explicit BrickWcs(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace dhs::fits
