// DR10-layout coadd image writers (see coadd_writer.hpp).
#include "core/fits/coadd_writer.hpp"

#include <cmath>
#include <filesystem>
#include <stdexcept>
#include <type_traits>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/fits/brick_wcs.hpp"
#include "core/fits/cfitsio_handle.hpp"

namespace dhs::fits {

namespace fs = std::filesystem;

namespace {

/// "HH:MM:SS.sss" of an RA in degrees (milliseconds of time rounded, 24h wrapped).
std::string ra_hms(double ra_deg) {
    long long ms = std::llround(kernels::wrap_ra(ra_deg) / 15.0 * 3600.0 * 1000.0) % (24LL * 3600 * 1000);
    return fmt::format("{:02}:{:02}:{:02}.{:03}", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60, ms % 1000);
}

/// "-DD:MM:SS.sss" (or "+...") of a Dec in degrees (milliarcseconds rounded).
std::string dec_dms(double dec_deg) {
    const long long mas = std::llround(std::fabs(dec_deg) * 3600.0 * 1000.0);
    return fmt::format("{}{:02}:{:02}:{:02}.{:03}", dec_deg < 0 ? '-' : '+', mas / 3600000, mas / 60000 % 60,
                       mas / 1000 % 60, mas % 1000);
}

/// legacypipe's tile size rule: grow the tile until the last partial tile is >= 4 px.
long fit_tile(long tile, long n) {
    while (tile <= n) {
        const long remain = n % tile;
        if (remain == 0 || remain >= 4) break;
        ++tile;
    }
    return tile;
}

template <class T>
constexpr int bitpix_of() {
    if constexpr (std::is_same_v<T, float>) return FLOAT_IMG;
    else if constexpr (std::is_same_v<T, std::int32_t>) return LONG_IMG;
    else return SHORT_IMG;
}

template <class T>
constexpr int datatype_of() {
    if constexpr (std::is_same_v<T, float>) return TFLOAT;
    else if constexpr (std::is_same_v<T, std::int32_t>) return TINT;
    else return TSHORT;
}

int derived_seed(const CoaddHeader& h) {
    std::uint64_t x = static_cast<std::uint64_t>(h.brickid) * 1000003ULL;
    for (char ch : h.band) x = x * 131 + static_cast<unsigned char>(ch);
    return 1 + static_cast<int>(x % 10000);
}

template <class T>
void write_image(const std::string& path, std::span<const T> pixels, long width, long height, const CoaddHeader& h,
                 const CoaddCompression& c) {
    if (width <= 0 || height <= 0 || pixels.size() != static_cast<std::size_t>(width) * static_cast<std::size_t>(height))
        throw std::invalid_argument(fmt::format("write_coadd_image({}): {} pixels for a {}x{} image", path,
                                                pixels.size(), width, height));
    const bool compress = c.codec != CoaddCodec::none && width >= 4 && height >= 4;
    const bool is_float = std::is_same_v<T, float>;
    const bool quantised = compress && is_float && c.quantize_level != 0.0f;
    const long tile_w = compress ? fit_tile(std::max(1L, c.tile_width), width) : width;
    const long tile_h = compress ? fit_tile(std::max(1L, c.tile_height), height) : 1;

    const fs::path parent = fs::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty()) fs::create_directories(parent, ec);
    const std::string tmp = path + ".tmp";
    try {
        FitsFile file = FitsFile::create(tmp);
        fitsfile* f = fptr(file);
        int status = 0;
        long naxes[2] = {width, height};
        // Empty primary (BITPIX 16, NAXIS 0, as DR10); cfitsio would add one by itself
        // before a compressed HDU, but not before a plain image extension.
        fits_create_img(f, SHORT_IMG, 0, nullptr, &status);
        if (compress) {
            const int type = c.codec == CoaddCodec::rice ? RICE_1 : c.codec == CoaddCodec::gzip ? GZIP_1 : HCOMPRESS_1;
            long tile[2] = {tile_w, tile_h};
            fits_set_compression_type(f, type, &status);
            fits_set_tile_dim(f, 2, tile, &status);
            if (is_float) {
                fits_set_quantize_level(f, c.quantize_level, &status);
                const int method = c.method == QuantizeMethod::no_dither              ? NO_DITHER
                                   : c.method == QuantizeMethod::subtractive_dither_1 ? SUBTRACTIVE_DITHER_1
                                                                                     : SUBTRACTIVE_DITHER_2;
                fits_set_quantize_method(f, method, &status);
                const int seed = c.dither_seed != 0 ? c.dither_seed : derived_seed(h);
                if (seed < 1 || seed > 10000)
                    throw FitsError(path, 0, "", 0, fmt::format("dither seed {} is not in 1..10000", seed), "");
                fits_set_dither_seed(f, seed, &status);
            }
            if (c.codec == CoaddCodec::hcompress) fits_set_hcomp_scale(f, 0.0f, &status);  // lossless
        }
        fits_create_img(f, bitpix_of<T>(), 2, naxes, &status);
        file.check(status, "cannot create the image HDU");
        for (const auto& card : coadd_header_cards(h)) write_card(file, card);

        // Pixels go in blocks of whole tile rows. Quantised floats: NaN becomes cfitsio's
        // null value and fits_write_imgnull flags it (-> ZBLANK); fits_write_img would
        // quantise NaN into garbage.
        const long rows_per_block = compress ? tile_h : std::max(1L, (1L << 20) / width);
        std::vector<float> block;
        constexpr float kNull = FLOATNULLVALUE;
        for (long y0 = 0; y0 < height; y0 += rows_per_block) {
            const long ny = std::min(rows_per_block, height - y0);
            const std::size_t first = static_cast<std::size_t>(y0) * static_cast<std::size_t>(width);
            const std::size_t n = static_cast<std::size_t>(ny) * static_cast<std::size_t>(width);
            if constexpr (std::is_same_v<T, float>) {
                if (quantised) {
                    block.assign(pixels.begin() + first, pixels.begin() + first + n);
                    for (std::size_t i = 0; i < n; ++i) {
                        float& v = block[i];
                        if (std::isnan(v)) v = kNull;
                        else if (std::isinf(v) || v == kNull)
                            throw FitsError(path, 2, "", 0,
                                            fmt::format("pixel ({}, {}) = {} cannot be quantised", (first + i) % width,
                                                        (first + i) / width, v),
                                            "");
                    }
                    float nul = kNull;
                    fits_write_imgnull(f, TFLOAT, static_cast<LONGLONG>(first) + 1, static_cast<LONGLONG>(n),
                                       block.data(), &nul, &status);
                    file.check(status, fmt::format("cannot write image rows {}..{}", y0, y0 + ny - 1));
                    continue;
                }
            }
            fits_write_img(f, datatype_of<T>(), static_cast<LONGLONG>(first) + 1, static_cast<LONGLONG>(n),
                           const_cast<T*>(pixels.data() + first), &status);
            file.check(status, fmt::format("cannot write image rows {}..{}", y0, y0 + ny - 1));
        }
        file.close();
        fs::rename(tmp, path);
    } catch (const FitsError&) {
        fs::remove(tmp, ec);  // the error names the temporary file, path + ".tmp"
        throw;
    } catch (const std::filesystem::filesystem_error& e) {
        fs::remove(tmp, ec);
        throw FitsError(path, 0, "", 0, std::string("cannot finish the file: ") + e.what(), "");
    }
}

}  // namespace

CoaddCompression dr10_coadd_compression(std::string_view kind) {
    const std::string_view base = kind.substr(0, kind.find('-'));
    CoaddCompression c;
    if (base == "image" || base == "model") c.quantize_level = -1e-4f;
    else if (base == "chi2") c.quantize_level = -0.1f;
    else if (base == "invvar") c.quantize_level = 16.0f;
    else if (base == "maskbits" || base == "nexp") {
        c.codec = CoaddCodec::hcompress;
        c.quantize_level = 0.0f;
    } else if (base == "depth" || base == "galdepth" || base == "psfsize") {
        c.codec = CoaddCodec::gzip;
        c.quantize_level = 0.0f;
    } else {
        throw Error("dr10_coadd_compression: unknown coadd kind '" + std::string(kind) + "'");
    }
    return c;
}

std::vector<FitsCard> coadd_header_cards(const CoaddHeader& h) {
    std::vector<FitsCard> v = h.leading;
    auto add = [&v](std::string name, FitsKeyValue value, std::string comment) {
        v.push_back({std::move(name), std::move(value), std::move(comment)});
    };
    add("BRICK", h.brick, "LegacySurveys brick RRRr[pm]DDd");
    add("BRICKID", h.brickid, "LegacySurveys brick id");
    add("RAMIN", h.ramin, "Brick RA min (deg)");
    add("RAMAX", h.ramax, "Brick RA max (deg)");
    add("DECMIN", h.decmin, "Brick Dec min (deg)");
    add("DECMAX", h.decmax, "Brick Dec max (deg)");
    add("RA", ra_hms(h.centra), "Brick center RA (hms)");
    add("DEC", dec_dms(h.centdec), "Brick center DEC (dms)");
    add("CENTRA", h.centra, "Brick center RA (deg)");
    add("CENTDEC", h.centdec, "Brick center Dec (deg)");
    for (int i = 0; i < 4; ++i) {
        add(fmt::format("CORN{}RA", i + 1), h.corner_ra[i], "Brick corner RA (deg)");
        add(fmt::format("CORN{}DEC", i + 1), h.corner_dec[i], "Brick corner Dec (deg)");
    }
    add("CTYPE1", std::string("RA---TAN"), "TANgent plane");
    add("CTYPE2", std::string("DEC--TAN"), "TANgent plane");
    add("CRVAL1", h.crval[0], "Reference RA");
    add("CRVAL2", h.crval[1], "Reference Dec");
    add("CRPIX1", h.crpix[0], "Reference x");
    add("CRPIX2", h.crpix[1], "Reference y");
    add("CD1_1", h.cd[0], "CD matrix");
    add("CD1_2", h.cd[1], "CD matrix");
    add("CD2_1", h.cd[2], "CD matrix");
    add("CD2_2", h.cd[3], "CD matrix");
    add("EQUINOX", 2000.0, "WCS epoch");
    if (!h.band.empty()) add("FILTERX", h.band, "Filter short name");
    if (!h.imtype.empty()) {
        add("IMTYPE", h.imtype, "LegacySurveys image type");
        add("PRODTYPE", h.imtype, "NOAO image type");
    }
    if (h.magzero) add("MAGZERO", *h.magzero, "Magnitude zeropoint");
    if (!h.bunit.empty()) add("BUNIT", h.bunit, h.bunit == "nanomaggy" ? "AB mag = 22.5 - 2.5*log10(nanomaggy)" : "");
    v.insert(v.end(), h.extra.begin(), h.extra.end());
    return v;
}

CoaddHeader dr10_brick_header(const kernels::Brick& brick, const std::string& band, const std::string& bunit,
                              long width, long height, double pixscale_arcsec) {
    CoaddHeader h;
    h.brick = brick.name;
    h.brickid = brick.brickid;
    h.ramin = brick.ra1;
    h.ramax = brick.ra2;
    h.decmin = brick.dec1;
    h.decmax = brick.dec2;
    h.centra = brick.ra;
    h.centdec = brick.dec;
    h.crval = {brick.ra, brick.dec};
    h.crpix = {(width + 1) / 2.0, (height + 1) / 2.0};
    const double s = pixscale_arcsec / 3600.0;
    h.cd = {-s, 0.0, 0.0, s};
    h.band = band;
    h.imtype = "image";
    h.bunit = bunit;
    if (bunit == "nanomaggy") h.magzero = 22.5;
    // Corners through wcslib, from the same WCS at full precision.
    std::string cards;
    auto card = [&cards](const std::string& text) { cards += fmt::format("{:<80}", text); };
    card("CTYPE1  = 'RA---TAN'");
    card("CTYPE2  = 'DEC--TAN'");
    card(fmt::format("CRVAL1  = {:.17G}", h.crval[0]));
    card(fmt::format("CRVAL2  = {:.17G}", h.crval[1]));
    card(fmt::format("CRPIX1  = {:.17G}", h.crpix[0]));
    card(fmt::format("CRPIX2  = {:.17G}", h.crpix[1]));
    card(fmt::format("CD1_1   = {:.17G}", h.cd[0]));
    card("CD1_2   = 0.0");
    card("CD2_1   = 0.0");
    card(fmt::format("CD2_2   = {:.17G}", h.cd[3]));
    card("END");
    const BrickWcs wcs = BrickWcs::from_header(cards, "dr10_brick_header(" + brick.name + ")");
    const double xs[4] = {0.0, width - 1.0, width - 1.0, 0.0}, ys[4] = {0.0, 0.0, height - 1.0, height - 1.0};
    for (int i = 0; i < 4; ++i) {
        const SkyRaDec p = wcs.pixel_to_sky(xs[i], ys[i]);
        h.corner_ra[i] = p.ra;
        h.corner_dec[i] = p.dec;
    }
    return h;
}

std::string coadd_path(const std::string& root, const std::string& brickname, const std::string& kind) {
    return (fs::path(root) / "coadd" / kernels::coadd_dir_prefix(brickname) / brickname /
            ("legacysurvey-" + brickname + "-" + kind + ".fits.fz"))
        .string();
}

void write_coadd_image(const std::string& path, std::span<const float> pixels, long width, long height,
                       const CoaddHeader& h, const CoaddCompression& c) {
    write_image<float>(path, pixels, width, height, h, c);
}

void write_coadd_image(const std::string& path, std::span<const std::int32_t> pixels, long width, long height,
                       const CoaddHeader& h, const CoaddCompression& c) {
    write_image<std::int32_t>(path, pixels, width, height, h, c);
}

void write_coadd_image(const std::string& path, std::span<const std::int16_t> pixels, long width, long height,
                       const CoaddHeader& h, const CoaddCompression& c) {
    write_image<std::int16_t>(path, pixels, width, height, h, c);
}

}  // namespace dhs::fits
