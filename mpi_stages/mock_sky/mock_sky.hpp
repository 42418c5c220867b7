// The mock DR10 sky (stage `mock_sky`): parameters, the deterministic per-brick draw of
// objects, lenses and confusers, the rendering of a brick's coadds, the sweep rows and the
// side files (sweeps, survey-bricks, lenscat, truth). Everything a brick holds is a pure
// function of (run.seed, BRICKID, config), so any rank count writes the same bytes.
//
// Frames: positions on the sky in degrees; object shapes in Tractor's convention (SHAPE_E1/E2,
// position angle North through East); on the coadd grid (+x West, +y North, CD1_1 < 0) a sky
// PA maps to pixel_angle_from_sky_pa(pa). Fluxes in nanomaggies as observed (Galactic
// extinction applied: FLUX = intrinsic x MW_TRANSMISSION), which is what the pixels hold.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/config/config.hpp"
#include "core/fits/table_writer.hpp"
#include "core/table/table.hpp"
#include "kernels/brick_geometry.hpp"

namespace dhs::stages::mock_sky {

/// @brief Bands of the coadds, in order.
inline constexpr std::array<const char*, 3> kBands = {"g", "r", "z"};
/// @brief Extinction coefficients A_X / E(B-V) (DR10: g, r, i, z, W1, W2, W3, W4).
inline constexpr std::array<double, 8> kExtinction = {3.214, 2.165, 1.592, 1.211, 0.184, 0.113, 0.0241, 0.00910};

/// @brief The `mock_sky.*` keys plus what the stage needs of `run` and `survey`.
struct Params {
    double center_ra = 0, center_dec = 0;      ///< footprint centre, deg
    int bricks_ra = 1, bricks_dec = 1;         ///< footprint: columns x rows of bricks
    int image_size = 3600;                     ///< coadd side, pixels
    double pixscale = 0.262;                   ///< arcsec / pixel
    int n_stars = 0, n_bright_stars = 0, n_lrg = 0, n_blue = 0;  ///< per brick
    int n_lenses = 0, n_rings = 0, n_spirals = 0, n_edge_on = 0; ///< per brick
    std::array<double, 2> depth_g{}, depth_r{}, depth_z{};      ///< 5-sigma PSF depth range, AB mag
    double fwhm_min = 0.9, fwhm_max = 1.8;     ///< PSF FWHM range, arcsec
    double ebv_min = 0.0, ebv_max = 0.1;       ///< E(B-V) range, mag
    double calibration_star_mag = 0;           ///< r mag of an isolated star planted per brick (0: none)
    std::uint64_t seed = 0;                    ///< run.seed
    std::string root;                          ///< survey.root: where the sky is written
    std::string sweep_version;                 ///< survey.sweep_version
};

/// @brief Declares the `mock_sky.*` config keys.
void declare_config(config::Schema& schema);
/// @brief Reads the parameters from a validated config.
Params read_params(const config::Config& config);
/// @brief The footprint's bricks, sorted by BRICKID (the canonical unit order).
std::vector<kernels::Brick> footprint(const Params& p);

/// @brief Observing conditions of one brick (smooth functions of the brick centre + seed).
struct Conditions {
    std::array<double, 3> fwhm{};      ///< PSF FWHM per band g, r, z, arcsec
    std::array<double, 3> depth{};     ///< 5-sigma PSF depth per band, AB mag
    std::array<double, 3> sigma_pix{}; ///< per-pixel noise sigma per band, nanomaggies
    std::array<int, 3> nobs{};         ///< number of exposures per band
    double ebv = 0;                    ///< E(B-V), mag
};

/// @brief What an object is in the truth tables.
enum class Population { calibration_star, star, bright_star, lrg, blue, lens_host, ring, spiral, edge_on };
/// @brief Name of a population ("star", "lrg", "ring", ...).
const char* population_name(Population p);

/// @brief Lens parameters of a lens host (SIE + shear, Sersic source). Angles: sky PA, radians.
struct LensTruth {
    double theta_e = 0, q = 1, pa = 0, gamma = 0, gamma_pa = 0;     ///< lens
    double src_dx = 0, src_dy = 0;   ///< source offset East, North from the lens, arcsec
    double src_n = 1, src_reff = 0.2, src_q = 1, src_pa = 0;       ///< source shape
    std::array<double, 3> src_flux{};  ///< unlensed observed source flux g, r, z, nanomaggies
    double magnification = 0;         ///< lensed / unlensed flux (r, before the PSF)
    double zlens = 0;                 ///< fictitious lens redshift
    bool confident = true;            ///< lenscat grading
    std::string name;                 ///< lenscat name
};

/// @brief Confuser light beyond the catalogued Sersic part: ring and spiral parameters.
struct ConfuserTruth {
    double ring_radius = 0, ring_width = 0, ring_flux_frac = 0;  ///< arcsec, arcsec, of the total
    double scale_length = 0, pitch = 0, contrast = 0, phase = 0; ///< spiral: arcsec, rad, -, rad
    int arms = 0;
};

/// @brief One object of the mock sky (one sweep row when it is catalogued).
struct Object {
    std::int32_t objid = 0;
    Population population = Population::star;
    std::string type;                      ///< PSF, REX, EXP, DEV, SER
    double ra = 0, dec = 0;                ///< deg
    std::array<double, 3> flux{};          ///< observed g, r, z, nanomaggies
    std::array<double, 4> flux_wise{};     ///< observed W1..W4, nanomaggies
    double shape_r = 0, e1 = 0, e2 = 0, sersic = 0;  ///< Tractor shape (arcsec) and index
    LensTruth lens;                        ///< population == lens_host
    ConfuserTruth confuser;                ///< ring / spiral
};

/// @brief All of one brick: conditions and objects (objid order).
struct BrickDraw {
    kernels::Brick brick;
    Conditions conditions;
    std::vector<Object> objects;
};

/// @brief The deterministic draw of a brick from (seed, BRICKID).
BrickDraw draw_brick(const Params& p, const kernels::Brick& brick);

/// @brief Pixel scale of a stamp holding a lens, and its half size (pixels).
int lens_stamp_half(const Params& p, const Object& host, double fwhm_max);
/// @brief The lensed source of a host (flux per pixel, r band, before the PSF) on a
/// (2h+1)^2 stamp whose centre pixel is at (dx, dy) pixels from the lens centre; returns
/// the magnification (lensed / unlensed flux on the stamp).
double render_lensed_source(const Params& p, const Object& host, int half, double dx_pix, double dy_pix,
                            std::vector<float>& out);
/// @brief Saturation level of a coadd pixel, nanomaggies (stars whose PSF peak exceeds it are
/// SATUR-masked).
inline constexpr double kSaturationNmgy = 170.0;

/// @brief A 64-bit hash for seeding: splitmix64 of a combination of the inputs.
std::uint64_t hash_seed(std::uint64_t a, std::uint64_t b, std::uint64_t c = 0);

/// @brief The TAN WCS of a brick's coadd (as dr10_brick_header writes it), zero-based pixels.
struct BrickGrid {
    double crval_ra = 0, crval_dec = 0;  ///< deg
    double crpix_x = 0, crpix_y = 0;     ///< zero-based reference pixel
    double scale_deg = 0;                ///< deg / pixel
    int width = 0, height = 0;
    /// @brief Zero-based pixel (x, y) of (ra, dec) degrees.
    std::array<double, 2> pixel(double ra, double dec) const;
    /// @brief (ra, dec) degrees of zero-based pixel (x, y).
    std::array<double, 2> sky(double x, double y) const;
};
/// @brief The grid of a brick with the parameters' image size and pixel scale.
BrickGrid brick_grid(const Params& p, const kernels::Brick& brick);

/// @brief Renders a brick and writes its coadds (image, invvar, psfsize per band; maskbits)
/// under p.root, each under a temporary name renamed when complete.
void render_brick(const Params& p, const BrickDraw& draw);

/// @brief DR10 MASKBITS bits used by the mock.
enum MaskBit : std::int32_t {
    kNPrimary = 1 << 0, kBright = 1 << 1, kSaturG = 1 << 2, kSaturR = 1 << 3, kSaturZ = 1 << 4,
    kAllmaskG = 1 << 5, kAllmaskR = 1 << 6, kAllmaskZ = 1 << 7, kMedium = 1 << 11,
};
/// @brief Bright-star masks of a brick: circles (zero-based pixel centre, radius in pixels).
struct StarMask {
    double x = 0, y = 0, bright_radius = 0, medium_radius = 0;
    std::array<double, 3> satur_radius{};  ///< per band g, r, z
};
/// @brief The star masks of a brick's draw on its grid.
std::vector<StarMask> star_masks(const Params& p, const BrickDraw& draw, const BrickGrid& grid);
/// @brief MASKBITS of zero-based pixel (x, y): NPRIMARY outside the brick's primary area,
/// BRIGHT / MEDIUM / SATUR_G,R,Z inside star masks.
std::int32_t maskbits_at(const BrickGrid& grid, const kernels::Brick& brick, const std::vector<StarMask>& masks,
                         int x, int y);

/// @brief The 130 DR10 sweep columns (name, TFORM), in order.
const std::vector<fits::FitsColumnSpec>& sweep_columns();
/// @brief The sweep rows of a brick (all 130 columns, objid order); MASKBITS as the maskbits
/// map has it at each object's pixel.
Table sweep_rows(const Params& p, const BrickDraw& draw);

/// @brief Writes the side files of the whole footprint: sweeps, survey-bricks.fits.gz,
/// lenses/lenscat.csv, truth/{lenses,confusers,objects}.csv. Rank-local (rank 0 calls it).
void write_catalog_files(const Params& p);

}  // namespace dhs::stages::mock_sky
