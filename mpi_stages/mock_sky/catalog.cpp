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
#include "kernels/photometry.hpp"
#include "kernels/psf.hpp"
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

}  // namespace

Table sweep_rows(const Params& p, const BrickDraw& draw) {
    const auto& cols = sweep_columns();
    const std::size_t n = draw.objects.size();
    std::map<std::string, std::vector<double>> num;
    std::map<std::string, std::vector<std::string>> str;
    for (const auto& c : cols) {
        if (c.tform.back() == 'A') str[c.name].assign(n, "");
        else num[c.name].assign(n * static_cast<std::size_t>(repeat_of(c.tform)), 0.0);
    }
    auto set = [&](const char* name, std::size_t i, double v) { num.at(name)[i] = v; };
    const auto& cd = draw.conditions;
    const BrickGrid grid = brick_grid(p, draw.brick);
    const BrickMasks masks = brick_masks(p, draw, grid);
    std::array<double, 3> nea{};  // PSF noise-equivalent areas, arcsec^2
    for (int b = 0; b < 3; ++b)
        nea[static_cast<std::size_t>(b)] = psf_nea_pixels(band_psf(p, cd, b), p.pixscale) * p.pixscale * p.pixscale;
    const char* B[3] = {"G", "R", "Z"};
    const char* W[4] = {"W1", "W2", "W3", "W4"};
    const double pi = std::numbers::pi;
    for (std::size_t i = 0; i < n; ++i) {
        const auto& o = draw.objects[i];
        str["BRICKNAME"][i] = draw.brick.name;
        str["TYPE"][i] = o.type;
        str["WISE_COADD_ID"][i] = wise_coadd_id(o.ra, o.dec);
        set("RELEASE", i, 10000);
        set("BRICKID", i, static_cast<double>(draw.brick.brickid));
        set("OBJID", i, o.objid);
        set("RA", i, o.ra);
        set("DEC", i, o.dec);
        set("EBV", i, cd.ebv);
        const bool psf = o.type == "PSF";
        // Effective sigma^2 (arcsec^2) of the object seen through the PSF, for errors.
        double snr_r = 0;
        for (int b = 0; b < 3; ++b) {
            // Effective sigma^2 of the PSF (its NEA / 4 pi) plus the object's size.
            const double s_psf = std::sqrt(nea[static_cast<std::size_t>(b)] / (4 * pi));
            const double s_obj2 = s_psf * s_psf + (psf ? 0.0 : std::pow(o.shape_r / 1.18, 2));
            const double nea_pix = 4 * pi * s_obj2 / (p.pixscale * p.pixscale);
            const double ivar = 1.0 / (cd.sigma_pix[b] * cd.sigma_pix[b] * nea_pix);
            const std::string bb = B[b];
            set(("FLUX_" + bb).c_str(), i, o.flux[b]);
            set(("FLUX_IVAR_" + bb).c_str(), i, ivar);
            set(("MW_TRANSMISSION_" + bb).c_str(), i, kernels::mw_transmission(kExtinction[b == 2 ? 3 : b], cd.ebv));
            set(("NOBS_" + bb).c_str(), i, cd.nobs[b]);
            set(("RCHISQ_" + bb).c_str(), i, 1.0);
            set(("FRACIN_" + bb).c_str(), i, 1.0);
            set(("PSFSIZE_" + bb).c_str(), i, cd.fwhm[b]);
            const double psf_ivar = 1.0 / std::pow(kernels::nanomaggies_from_mag(cd.depth[b]) / 5.0, 2);
            const double gal_s2 = s_psf * s_psf + std::pow(0.45 / 1.18, 2);
            set(("PSFDEPTH_" + bb).c_str(), i, psf_ivar);
            set(("GALDEPTH_" + bb).c_str(), i, psf_ivar * s_psf * s_psf / gal_s2);
            const double fiber_s2 = s_obj2;
            const double frac = 1.0 - std::exp(-0.75 * 0.75 / (2 * fiber_s2));
            set(("FIBERFLUX_" + bb).c_str(), i, o.flux[b] * frac);
            set(("FIBERTOTFLUX_" + bb).c_str(), i, o.flux[b] * frac);
            if (b == 1) snr_r = o.flux[b] * std::sqrt(ivar);
        }
        set("MW_TRANSMISSION_I", i, kernels::mw_transmission(kExtinction[2], cd.ebv));
        for (int k = 0; k < 4; ++k) {
            const std::string ww = W[k];
            const double sigma = k < 2 ? 0.3 * (k + 1) : 30.0 * (k - 1);  // typical unWISE errors, nanomaggies
            set(("FLUX_" + ww).c_str(), i, o.flux_wise[k]);
            set(("FLUX_IVAR_" + ww).c_str(), i, 1.0 / (sigma * sigma));
            set(("MW_TRANSMISSION_" + ww).c_str(), i, kernels::mw_transmission(kExtinction[4 + k], cd.ebv));
            set(("NOBS_" + ww).c_str(), i, 20 + 5 * k);
            set(("RCHISQ_" + ww).c_str(), i, 1.0);
        }
        set("PSFDEPTH_W1", i, 1.0 / (0.3 * 0.3));
        set("PSFDEPTH_W2", i, 1.0 / (0.6 * 0.6));
        const double sigma_pos = cd.fwhm[1] / kernels::kGaussianFwhmPerSigma / std::max(snr_r, 1.0) / 3600.0;
        set("RA_IVAR", i, 1.0 / (sigma_pos * sigma_pos));
        set("DEC_IVAR", i, 1.0 / (sigma_pos * sigma_pos));
        // DCHISQ (PSF, REX, DEV, EXP, SER): the model drawn wins.
        const double chi2 = snr_r * snr_r;
        const char* types[5] = {"PSF", "REX", "DEV", "EXP", "SER"};
        for (int k = 0; k < 5; ++k) num["DCHISQ"][i * 5 + k] = chi2 * (o.type == types[k] ? 1.0 : 0.97 - 0.01 * k);
        set("SHAPE_R", i, psf ? 0.0 : o.shape_r);
        set("SHAPE_E1", i, psf ? 0.0 : o.e1);
        set("SHAPE_E2", i, psf ? 0.0 : o.e2);
        if (!psf) {
            const double ivar = std::max(snr_r, 1.0) * std::max(snr_r, 1.0) / std::max(o.shape_r * o.shape_r, 0.01);
            set("SHAPE_R_IVAR", i, ivar);
            set("SHAPE_E1_IVAR", i, snr_r * snr_r);
            set("SHAPE_E2_IVAR", i, snr_r * snr_r);
        }
        set("SERSIC", i, psf ? 0.0 : o.sersic);
        set("SERSIC_IVAR", i, o.type == "SER" ? snr_r * snr_r : 0.0);
        if (psf && o.flux[1] > kernels::nanomaggies_from_mag(21.0)) {  // Gaia-like reference star
            const double g = 22.5 - 2.5 * std::log10(o.flux[1]) + 0.3;
            str["REF_CAT"][i] = "GE";
            set("REF_ID", i, static_cast<double>((static_cast<std::uint64_t>(draw.brick.brickid) << 20) + o.objid));
            set("REF_EPOCH", i, 2016.0);
            set("GAIA_PHOT_G_MEAN_MAG", i, g);
            set("GAIA_PHOT_G_MEAN_FLUX_OVER_ERROR", i, 1000.0 * std::pow(10, -0.2 * (g - 15)));
            set("GAIA_PHOT_BP_MEAN_MAG", i, g + 0.4);
            set("GAIA_PHOT_BP_MEAN_FLUX_OVER_ERROR", i, 300.0 * std::pow(10, -0.2 * (g - 15)));
            set("GAIA_PHOT_RP_MEAN_MAG", i, g - 0.5);
            set("GAIA_PHOT_RP_MEAN_FLUX_OVER_ERROR", i, 300.0 * std::pow(10, -0.2 * (g - 15)));
            set("GAIA_PHOT_BP_RP_EXCESS_FACTOR", i, 1.2);
            set("GAIA_ASTROMETRIC_PARAMS_SOLVED", i, 31);
            set("GAIA_ASTROMETRIC_SIGMA5D_MAX", i, 0.1);
            set("PARALLAX_IVAR", i, 100.0);
            set("PMRA_IVAR", i, 100.0);
            set("PMDEC_IVAR", i, 100.0);
        }
        if (o.large_galaxy) {  // SGA-like: Tractor keeps the SGA geometry and names the source
            str["REF_CAT"][i] = "L3";
            set("REF_ID", i, static_cast<double>((static_cast<std::uint64_t>(draw.brick.brickid) << 20) + o.objid));
            set("REF_EPOCH", i, 0.0);
        }
        const auto xy = grid.pixel(o.ra, o.dec);
        const std::int32_t bits = maskbits_at(grid, draw.brick, masks, static_cast<int>(std::lround(xy[0])),
                                              static_cast<int>(std::lround(xy[1])));
        set("MASKBITS", i, bits);
        // Per-object DECam / WISE mask columns at the object's centre (bit 0: bad pixel in every
        // exposure / bright-star mask), consistent with MASKBITS.
        const std::int32_t all[3] = {kAllmaskG, kAllmaskR, kAllmaskZ};
        for (int b = 0; b < 3; ++b) {
            const double v = (bits & all[b]) ? 1.0 : 0.0;
            set(("ALLMASK_" + std::string(B[b])).c_str(), i, v);
            set(("ANYMASK_" + std::string(B[b])).c_str(), i, v);
        }
        set("WISEMASK_W1", i, (bits & kWiseM1) ? 1.0 : 0.0);
        set("WISEMASK_W2", i, (bits & kWiseM2) ? 1.0 : 0.0);
    }
    Table t;
    for (const auto& c : cols) {
        if (c.tform.back() == 'A') {
            t.add(Column(c.name, std::move(str[c.name])));
        } else if (c.tform.back() == 'L') {
            std::vector<std::uint8_t> v(n, 0);
            t.add(Column(c.name, std::move(v), {}, DType::boolean));
        } else {
            const auto r = static_cast<std::size_t>(repeat_of(c.tform));
            t.add(Column(c.name, std::move(num[c.name]), r > 1 ? std::vector<std::size_t>{r} : std::vector<std::size_t>{}));
        }
    }
    return t;
}

}  // namespace dhs::stages::mock_sky
