// The mock DR10 sky (stage `mock_sky`): parameters, the deterministic per-brick draw of
// objects, lenses and confusers, the rendering of a brick's coadds, the masks, the sweep rows
// and the side files (sweeps, survey-bricks, lenscat, truth). Everything a brick holds is a pure
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
#include "kernels/geometry/brick_geometry.hpp"
#include "kernels/rendering/psf.hpp"

namespace dhs::stages::mock_sky {

/// @brief Bands of the coadds, in order.
inline constexpr std::array<const char*, 3> kBands = {"g", "r", "z"};
/// @brief Extinction coefficients A_X / E(B-V) (DR10: g, r, i, z, W1, W2, W3, W4).
inline constexpr std::array<double, 8> kExtinction = {3.214, 2.165, 1.592, 1.211, 0.184, 0.113, 0.0241, 0.00910};

/// @brief PSF model of the mock coadds.
enum class PsfModel { gaussian, moffat };

/// @brief The `mock_sky.*` keys plus what the stage needs of `run` and `survey`.
struct Params {
    double center_ra = 0, center_dec = 0;      ///< footprint centre, deg
    int bricks_ra = 1, bricks_dec = 1;         ///< footprint: columns x rows of bricks
    int image_size = 3600;                     ///< coadd side, pixels
    double pixscale = 0.262;                   ///< arcsec / pixel
    int n_stars = 0, n_bright_stars = 0, n_lrg = 0, n_blue = 0;  ///< per brick
    int n_lenses = 0, n_rings = 0, n_spirals = 0, n_edge_on = 0, n_mergers = 0;  ///< per brick
    double cluster_fraction = 0;               ///< fraction of bricks with a globular cluster
    int bad_columns = 0;                       ///< ALLMASK bad-column segments per brick and band
    double clumpy_fraction = 0.5;              ///< share of lensed sources that are clumpy
    std::array<double, 2> depth_g{}, depth_r{}, depth_z{};      ///< 5-sigma PSF depth range, AB mag
    double fwhm_min = 0.9, fwhm_max = 1.8;     ///< PSF FWHM range, arcsec
    PsfModel psf_model = PsfModel::gaussian;   ///< PSF profile
    double moffat_beta = 3.5;                  ///< Moffat beta (psf_model moffat)
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

/// @brief The PSF of a band under the parameters' model and the brick's FWHM.
kernels::Psf band_psf(const Params& p, const Conditions& c, int band);

/// @brief What an object is in the truth tables.
enum class Population {
    calibration_star, star, bright_star, cluster_star, lrg, blue, lens_host, ring, spiral, edge_on, merger,
    merger_companion
};
/// @brief Name of a population ("star", "lrg", "ring", ...).
const char* population_name(Population p);
/// @brief Confuser category of a population in truth/confusers.csv ("" if it is none).
const char* confuser_category(Population p);

/// @brief One Sersic component of a lensed source, its centre relative to the source centre.
struct SourceClump {
    double dx = 0, dy = 0;          ///< offset East, North from the source centre, arcsec
    double reff = 0.05, n = 0.5;    ///< half-light radius (arcsec), Sersic index
    std::array<double, 3> flux{};   ///< unlensed observed flux g, r, z, nanomaggies
};

/// @brief Lens parameters of a lens host (SIE + shear; Sersic or clumpy source). Angles: sky PA,
/// radians.
struct LensTruth {
    double theta_e = 0, q = 1, pa = 0, gamma = 0, gamma_pa = 0;     ///< lens
    double src_dx = 0, src_dy = 0;   ///< source offset East, North from the lens, arcsec
    double src_n = 1, src_reff = 0.2, src_q = 1, src_pa = 0;       ///< source (main component) shape
    std::array<double, 3> src_flux{};  ///< unlensed observed source flux g, r, z (all components)
    bool clumpy = false;              ///< disk + star-forming clumps (else a single Sersic)
    std::vector<SourceClump> clumps;  ///< the clumps of a clumpy source (flux included in src_flux)
    double magnification = 0;         ///< lensed / unlensed flux (r, before the PSF)
    std::array<double, 3> arc_flux{};       ///< lensed source flux in the image g, r, z
    std::array<double, 3> arc_absorbed{};   ///< of which a fixed-shape fit of the host absorbs
    double zlens = 0;                 ///< fictitious lens redshift
    bool confident = true;            ///< lenscat grading
    std::string name;                 ///< lenscat name
};

/// @brief Confuser light beyond the catalogued Sersic part.
struct ConfuserTruth {
    double ring_radius = 0, ring_width = 0, ring_flux_frac = 0;  ///< arcsec, arcsec, of the total
    double scale_length = 0, pitch = 0, contrast = 0, phase = 0; ///< spiral: arcsec, rad, -, rad
    int arms = 0;
    // Merger: the companion (its own catalogued object) and tidal tails (uncatalogued light).
    std::int32_t companion_objid = -1;  ///< OBJID of the companion (merger) or of the primary (companion)
    double companion_sep = 0, companion_flux_ratio = 0;  ///< arcsec; companion / primary r flux
    int tails = 0;                     ///< number of tidal arcs
    double tail_radius = 0, tail_width = 0, tail_sigma = 0;  ///< arcsec, arcsec, radians along the arc
    std::array<double, 2> tail_angle{};  ///< directions of the tails (sky PA), radians
    double tail_flux_frac = 0;         ///< tail flux / primary flux (each band)
    // Bright star: diffraction spikes (uncatalogued light).
    int spikes = 0;
    double spike_length = 0, spike_flux_frac = 0;  ///< exponential length (arcsec); of the star's flux
};

/// @brief One object of the mock sky (one sweep row).
struct Object {
    std::int32_t objid = 0;
    Population population = Population::star;
    std::string type;                      ///< PSF, REX, EXP, DEV, SER
    double ra = 0, dec = 0;                ///< deg
    std::array<double, 3> flux{};          ///< catalogued g, r, z (the sweep's FLUX), nanomaggies
    std::array<double, 3> true_flux{};     ///< the object's own rendered light g, r, z
    std::array<double, 4> flux_wise{};     ///< observed W1..W4, nanomaggies
    double shape_r = 0, e1 = 0, e2 = 0, sersic = 0;  ///< Tractor shape (arcsec) and index
    bool large_galaxy = false;             ///< SGA-like: GALAXY maskbit, REF_CAT L3
    LensTruth lens;                        ///< population == lens_host
    ConfuserTruth confuser;                ///< ring / spiral / merger / companion / bright star
};

/// @brief A globular cluster of a brick: CLUSTER-masked disc holding cluster_star objects.
struct Cluster {
    bool present = false;
    double ra = 0, dec = 0, radius_arcsec = 0;
};

/// @brief All of one brick: conditions and objects (objid order).
struct BrickDraw {
    kernels::Brick brick;
    Conditions conditions;
    Cluster cluster;
    std::vector<Object> objects;
};

/// @brief The deterministic draw of a brick from (seed, BRICKID), catalogue fluxes included
/// (which needs the lensed arcs: they are rendered here, cheaply, on small stamps).
BrickDraw draw_brick(const Params& p, const kernels::Brick& brick);

/// @brief The unconvolved light of a lensed source in g, r, z on a (2h+1)^2 stamp whose centre
/// pixel is at (dx, dy) pixels from the lens centre, flux per pixel (3 planes); returns the
/// magnification (lensed / unlensed flux, r).
double render_lensed_source(const Params& p, const Object& host, int half, double dx_pix, double dy_pix,
                            std::vector<float>& out3);
/// @brief Half size (pixels) of a stamp holding a host's lensed source.
int lens_stamp_half(const Params& p, const Object& host);
/// @brief The unconvolved light of an extended object (Sersic, ring + bulge, spiral, merger
/// primary with its tidal tails, bright-star spikes) with the object's own light normalised to unit
/// flux, on a (2h+1)^2 stamp with the object at (half + fx, half + fy) pixels. Tails and spikes are
/// added at their flux fractions (so the stamp sums to 1 + fraction).
std::vector<float> object_stamp(const Params& p, const Object& o, int half, double fx, double fy);
/// @brief Half size (pixels) of object_stamp for o.
int object_stamp_half(const Params& p, const Object& o);

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

/// @brief DR10 MASKBITS (legacysurvey.org/dr10/bitmasks; the DR9 bits 0-13 plus SATUR_I 14,
/// ALLMASK_I 15, SUB_BLOB 16). The mock has no i band: bits 14 and 15 stay 0; BAILOUT and
/// SUB_BLOB (fitting outcomes) are never set.
enum MaskBit : std::int32_t {
    kNPrimary = 1 << 0, kBright = 1 << 1, kSaturG = 1 << 2, kSaturR = 1 << 3, kSaturZ = 1 << 4,
    kAllmaskG = 1 << 5, kAllmaskR = 1 << 6, kAllmaskZ = 1 << 7, kWiseM1 = 1 << 8, kWiseM2 = 1 << 9,
    kBailout = 1 << 10, kMedium = 1 << 11, kGalaxy = 1 << 12, kCluster = 1 << 13, kSaturI = 1 << 14,
    kAllmaskI = 1 << 15, kSubBlob = 1 << 16,
};
/// @brief Circular masks (zero-based pixel centre, radius in pixels) and ellipses of a brick.
struct StarMask {
    double x = 0, y = 0, bright_radius = 0, medium_radius = 0, wise1_radius = 0, wise2_radius = 0;
    std::array<double, 3> satur_radius{};  ///< per band g, r, z
};
struct EllipseMask {
    double x = 0, y = 0, a = 0, q = 1, angle = 0;  ///< pixels; semi-major a, axis ratio, pixel angle
    std::int32_t bits = 0;
};
/// @brief A rectangle of pixels [x0, x1) x [y0, y1) masked in every exposure of one band
/// (ALLMASK_X; invvar 0): bleed trails of saturated stars, bad columns.
struct AllmaskBox {
    int band = 0, x0 = 0, x1 = 0, y0 = 0, y1 = 0;
};
/// @brief Every mask of a brick.
struct BrickMasks {
    std::vector<StarMask> stars;
    std::vector<EllipseMask> ellipses;  ///< GALAXY (large galaxies) and CLUSTER
    std::vector<AllmaskBox> allmask;
};
/// @brief The masks of a brick's draw on its grid.
BrickMasks brick_masks(const Params& p, const BrickDraw& draw, const BrickGrid& grid);
/// @brief MASKBITS of zero-based pixel (x, y): NPRIMARY outside the brick's primary area,
/// BRIGHT / MEDIUM / SATUR_X / WISEM1 / WISEM2 in star masks, GALAXY and CLUSTER in their
/// ellipses, ALLMASK_X in the band's boxes.
std::int32_t maskbits_at(const BrickGrid& grid, const kernels::Brick& brick, const BrickMasks& masks, int x, int y);
/// @brief The MASKBITS map of the whole coadd (row-major), maskbits_at of every pixel.
std::vector<std::int32_t> maskbits_map(const BrickGrid& grid, const kernels::Brick& brick, const BrickMasks& masks);

/// @brief The 130 DR10 sweep columns (name, TFORM), in order.
const std::vector<fits::FitsColumnSpec>& sweep_columns();
/// @brief The sweep rows of a brick (all 130 columns, objid order); MASKBITS as the maskbits
/// map has it at each object's pixel.
Table sweep_rows(const Params& p, const BrickDraw& draw);

/// @brief The truth of a brick's objects as columns (the `objects` group of mock_sky.h5 and
/// truth/objects.csv): every Object field, the MASKBITS and pixel of each object.
Table truth_rows(const Params& p, const BrickDraw& draw);

/// @brief Writes the side files of the whole footprint: sweeps, survey-bricks.fits.gz,
/// lenses/lenscat.csv, truth/{lenses,confusers,objects}.csv. Rank-local (rank 0 calls it).
void write_catalog_files(const Params& p);

}  // namespace dhs::stages::mock_sky
