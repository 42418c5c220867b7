// The sweep rows of a mock brick (all 130 DR10 columns, values consistent with the pixels:
// FLUX = what was rendered, plus for lens hosts the share of the arc a fixed-shape fit absorbs;
// PSFSIZE / PSFDEPTH / GALDEPTH / NOBS from the brick's conditions; MASKBITS, ALLMASK_X,
// ANYMASK_X and WISEMASK_W1/W2 from the masks at the object's pixel; REF_CAT L3 for SGA-like large
// galaxies, GE for bright stars).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <numbers>

#include "core/error.hpp"
#include "kernels/sampling/photometry.hpp"
#include "kernels/rendering/psf.hpp"
#include "mpi_stages/mock_sky/mock_sky.hpp"
#include "mpi_stages/mock_sky/stamps.hpp"

namespace dhs::stages::mock_sky {

namespace {

std::int64_t repeat_of(const std::string& tform) {
    std::size_t k = 0;
    while (k < tform.size() && std::isdigit(static_cast<unsigned char>(tform[k]))) ++k;
    return k == 0 ? 1 : std::stoll(tform.substr(0, k));
}

std::string wise_coadd_id(double ra, double dec) {
    return fmt::format("{:04d}{}{:03d}", static_cast<int>(std::floor(ra * 10)) % 3600, dec < 0 ? 'm' : 'p',
                       std::min(900, static_cast<int>(std::floor(std::abs(dec) * 10))));
}

// The sweep columns being filled, by name: numbers (repeats flattened) and strings.
struct SweepColumns {
    std::map<std::string, std::vector<double>> num;
    std::map<std::string, std::vector<std::string>> str;
    SweepColumns(const std::vector<fits::FitsColumnSpec>& cols, std::size_t n) {
        for (const auto& c : cols) {
            if (c.tform.back() == 'A') str[c.name].assign(n, "");
            else num[c.name].assign(n * static_cast<std::size_t>(repeat_of(c.tform)), 0.0);
        }
    }
    void set(const std::string& name, std::size_t i, double v) { num.at(name)[i] = v; }
};

constexpr const char* kOptical[3] = {"G", "R", "Z"};
constexpr double kPi = std::numbers::pi;

// Fluxes, errors, depths, PSF sizes and fiber fluxes in g, r, z; returns the r-band S/N.
double optical_columns(const Params& p, const Conditions& cd, const std::array<double, 3>& nea,
                       const Object& o, std::size_t i, SweepColumns& w) {
    const bool psf = o.type == "PSF";
    double snr_r = 0;
    for (int b = 0; b < 3; ++b) {
        // Effective sigma^2 of the PSF (its NEA / 4 pi) plus the object's size.
        const double s_psf = std::sqrt(nea[static_cast<std::size_t>(b)] / (4 * kPi));
        const double s_obj2 = s_psf * s_psf + (psf ? 0.0 : std::pow(o.shape_r / 1.18, 2));
        const double nea_pix = 4 * kPi * s_obj2 / (p.pixscale * p.pixscale);
        const double ivar = 1.0 / (cd.sigma_pix[b] * cd.sigma_pix[b] * nea_pix);
        const std::string bb = kOptical[b];
        w.set("FLUX_" + bb, i, o.flux[b]);
        w.set("FLUX_IVAR_" + bb, i, ivar);
        w.set("MW_TRANSMISSION_" + bb, i, kernels::mw_transmission(kExtinction[b == 2 ? 3 : b], cd.ebv));
        w.set("NOBS_" + bb, i, cd.nobs[b]);
        w.set("RCHISQ_" + bb, i, 1.0);
        w.set("FRACIN_" + bb, i, 1.0);
        w.set("PSFSIZE_" + bb, i, cd.fwhm[b]);
        const double psf_ivar = 1.0 / std::pow(kernels::nanomaggies_from_mag(cd.depth[b]) / 5.0, 2);
        const double gal_s2 = s_psf * s_psf + std::pow(0.45 / 1.18, 2);
        w.set("PSFDEPTH_" + bb, i, psf_ivar);
        w.set("GALDEPTH_" + bb, i, psf_ivar * s_psf * s_psf / gal_s2);
        const double fiber_s2 = s_obj2;
        const double frac = 1.0 - std::exp(-0.75 * 0.75 / (2 * fiber_s2));
        w.set("FIBERFLUX_" + bb, i, o.flux[b] * frac);
        w.set("FIBERTOTFLUX_" + bb, i, o.flux[b] * frac);
        if (b == 1) snr_r = o.flux[b] * std::sqrt(ivar);
    }
    w.set("MW_TRANSMISSION_I", i, kernels::mw_transmission(kExtinction[2], cd.ebv));
    return snr_r;
}

void wise_columns(const Conditions& cd, const Object& o, std::size_t i, SweepColumns& w) {
    const char* W[4] = {"W1", "W2", "W3", "W4"};
    for (int k = 0; k < 4; ++k) {
        const std::string ww = W[k];
        const double sigma = k < 2 ? 0.3 * (k + 1) : 30.0 * (k - 1);  // typical unWISE errors, nanomaggies
        w.set("FLUX_" + ww, i, o.flux_wise[k]);
        w.set("FLUX_IVAR_" + ww, i, 1.0 / (sigma * sigma));
        w.set("MW_TRANSMISSION_" + ww, i, kernels::mw_transmission(kExtinction[4 + k], cd.ebv));
        w.set("NOBS_" + ww, i, 20 + 5 * k);
        w.set("RCHISQ_" + ww, i, 1.0);
    }
    w.set("PSFDEPTH_W1", i, 1.0 / (0.3 * 0.3));
    w.set("PSFDEPTH_W2", i, 1.0 / (0.6 * 0.6));
}

// Position errors, DCHISQ (the model drawn wins) and the shape with its errors.
void model_columns(const Conditions& cd, const Object& o, double snr_r, std::size_t i, SweepColumns& w) {
    const bool psf = o.type == "PSF";
    const double sigma_pos = cd.fwhm[1] / kernels::kGaussianFwhmPerSigma / std::max(snr_r, 1.0) / 3600.0;
    w.set("RA_IVAR", i, 1.0 / (sigma_pos * sigma_pos));
    w.set("DEC_IVAR", i, 1.0 / (sigma_pos * sigma_pos));
    const double chi2 = snr_r * snr_r;  // DCHISQ order: PSF, REX, DEV, EXP, SER
    const char* types[5] = {"PSF", "REX", "DEV", "EXP", "SER"};
    for (int k = 0; k < 5; ++k) w.num["DCHISQ"][i * 5 + k] = chi2 * (o.type == types[k] ? 1.0 : 0.97 - 0.01 * k);
    w.set("SHAPE_R", i, psf ? 0.0 : o.shape_r);
    w.set("SHAPE_E1", i, psf ? 0.0 : o.e1);
    w.set("SHAPE_E2", i, psf ? 0.0 : o.e2);
    if (!psf) {
        const double ivar = std::max(snr_r, 1.0) * std::max(snr_r, 1.0) / std::max(o.shape_r * o.shape_r, 0.01);
        w.set("SHAPE_R_IVAR", i, ivar);
        w.set("SHAPE_E1_IVAR", i, snr_r * snr_r);
        w.set("SHAPE_E2_IVAR", i, snr_r * snr_r);
    }
    w.set("SERSIC", i, psf ? 0.0 : o.sersic);
    w.set("SERSIC_IVAR", i, o.type == "SER" ? snr_r * snr_r : 0.0);
}

// Gaia-like reference stars and SGA-like large galaxies.
void reference_columns(const BrickDraw& draw, const Object& o, std::size_t i, SweepColumns& w) {
    const double ref_id = static_cast<double>((static_cast<std::uint64_t>(draw.brick.brickid) << 20) + o.objid);
    if (o.type == "PSF" && o.flux[1] > kernels::nanomaggies_from_mag(21.0)) {
        const double g = 22.5 - 2.5 * std::log10(o.flux[1]) + 0.3;
        w.str["REF_CAT"][i] = "GE";
        w.set("REF_ID", i, ref_id);
        w.set("REF_EPOCH", i, 2016.0);
        w.set("GAIA_PHOT_G_MEAN_MAG", i, g);
        w.set("GAIA_PHOT_G_MEAN_FLUX_OVER_ERROR", i, 1000.0 * std::pow(10, -0.2 * (g - 15)));
        w.set("GAIA_PHOT_BP_MEAN_MAG", i, g + 0.4);
        w.set("GAIA_PHOT_BP_MEAN_FLUX_OVER_ERROR", i, 300.0 * std::pow(10, -0.2 * (g - 15)));
        w.set("GAIA_PHOT_RP_MEAN_MAG", i, g - 0.5);
        w.set("GAIA_PHOT_RP_MEAN_FLUX_OVER_ERROR", i, 300.0 * std::pow(10, -0.2 * (g - 15)));
        w.set("GAIA_PHOT_BP_RP_EXCESS_FACTOR", i, 1.2);
        w.set("GAIA_ASTROMETRIC_PARAMS_SOLVED", i, 31);
        w.set("GAIA_ASTROMETRIC_SIGMA5D_MAX", i, 0.1);
        w.set("PARALLAX_IVAR", i, 100.0);
        w.set("PMRA_IVAR", i, 100.0);
        w.set("PMDEC_IVAR", i, 100.0);
    }
    if (o.large_galaxy) {  // SGA-like: Tractor keeps the SGA geometry and names the source
        w.str["REF_CAT"][i] = "L3";
        w.set("REF_ID", i, ref_id);
        w.set("REF_EPOCH", i, 0.0);
    }
}

// MASKBITS at the object's centre and the per-object DECam / WISE mask columns (bit 0: bad
// pixel in every exposure / bright-star mask), consistent with it.
void mask_columns(const BrickDraw& draw, const BrickGrid& grid, const BrickMasks& masks, const Object& o,
                  std::size_t i, SweepColumns& w) {
    const auto xy = grid.pixel(o.ra, o.dec);
    const std::int32_t bits = maskbits_at(grid, draw.brick, masks, static_cast<int>(std::lround(xy[0])),
                                          static_cast<int>(std::lround(xy[1])));
    w.set("MASKBITS", i, bits);
    const std::int32_t all[3] = {kAllmaskG, kAllmaskR, kAllmaskZ};
    for (int b = 0; b < 3; ++b) {
        const double v = (bits & all[b]) ? 1.0 : 0.0;
        w.set("ALLMASK_" + std::string(kOptical[b]), i, v);
        w.set("ANYMASK_" + std::string(kOptical[b]), i, v);
    }
    w.set("WISEMASK_W1", i, (bits & kWiseM1) ? 1.0 : 0.0);
    w.set("WISEMASK_W2", i, (bits & kWiseM2) ? 1.0 : 0.0);
}

Table to_table(const std::vector<fits::FitsColumnSpec>& cols, SweepColumns& w, std::size_t n) {
    Table t;
    for (const auto& c : cols) {
        if (c.tform.back() == 'A') {
            t.add(Column(c.name, std::move(w.str[c.name])));
        } else if (c.tform.back() == 'L') {
            std::vector<std::uint8_t> v(n, 0);
            t.add(Column(c.name, std::move(v), {}, DType::boolean));
        } else {
            const auto r = static_cast<std::size_t>(repeat_of(c.tform));
            t.add(Column(c.name, std::move(w.num[c.name]), r > 1 ? std::vector<std::size_t>{r} : std::vector<std::size_t>{}));
        }
    }
    return t;
}

}  // namespace

Table sweep_rows(const Params& p, const BrickDraw& draw) {
    const auto& cols = sweep_columns();
    const std::size_t n = draw.objects.size();
    SweepColumns w(cols, n);
    const auto& cd = draw.conditions;
    const BrickGrid grid = brick_grid(p, draw.brick);
    const BrickMasks masks = brick_masks(p, draw, grid);
    std::array<double, 3> nea{};  // PSF noise-equivalent areas, arcsec^2
    for (int b = 0; b < 3; ++b)
        nea[static_cast<std::size_t>(b)] = psf_nea_pixels(band_psf(p, cd, b), p.pixscale) * p.pixscale * p.pixscale;
    for (std::size_t i = 0; i < n; ++i) {
        const auto& o = draw.objects[i];
        w.str["BRICKNAME"][i] = draw.brick.name;
        w.str["TYPE"][i] = o.type;
        w.str["WISE_COADD_ID"][i] = wise_coadd_id(o.ra, o.dec);
        w.set("RELEASE", i, 10000);
        w.set("BRICKID", i, static_cast<double>(draw.brick.brickid));
        w.set("OBJID", i, o.objid);
        w.set("RA", i, o.ra);
        w.set("DEC", i, o.dec);
        w.set("EBV", i, cd.ebv);
        const double snr_r = optical_columns(p, cd, nea, o, i, w);
        wise_columns(cd, o, i, w);
        model_columns(cd, o, snr_r, i, w);
        reference_columns(draw, o, i, w);
        mask_columns(draw, grid, masks, o, i, w);
    }
    return to_table(cols, w, n);
}

}  // namespace dhs::stages::mock_sky
