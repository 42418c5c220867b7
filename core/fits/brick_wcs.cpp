// BrickWcs: wcslib-backed pixel <-> sky mapping (see brick_wcs.hpp). Zero-based pixels in
// the API, FITS 1-based pixels inside wcslib: the +-1 lives only in this file.
#include "core/fits/brick_wcs.hpp"

#include <wcslib/dis.h>
#include <wcslib/wcs.h>
#include <wcslib/wcserr.h>
#include <wcslib/wcsfix.h>
#include <wcslib/wcshdr.h>

#include <algorithm>
#include <initializer_list>
#include <cmath>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"

namespace dhs::fits {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kDeg = 3.14159265358979323846 / 180.0;
constexpr int kChunk = 1024;  // points per wcslib batch call

std::once_flag g_wcserr_once;
std::mutex g_wcspih_mutex;  // wcspih's parser state is not documented as re-entrant

std::string wcs_message(const wcsprm* w, int status) {
    if (w != nullptr && w->err != nullptr && w->err->msg != nullptr) return w->err->msg;
    if (status > 0 && status <= WCSERR_UNSET) return wcs_errmsg[status];
    return fmt::format("wcslib status {}", status);
}

/// Frees the error records wcslib leaves in the struct and its parts after a failed point
/// (wcsfree does not free the projection's, so repeated failures would leak).
void clear_errors(wcsprm* w) {
    wcserr_clear(&w->err);
    wcserr_clear(&w->lin.err);
    wcserr_clear(&w->cel.err);
    wcserr_clear(&w->cel.prj.err);
    wcserr_clear(&w->spc.err);
    for (disprm* d : {w->lin.dispre, w->lin.disseq})
        if (d != nullptr) wcserr_clear(&d->err);
}

double wrap_ra(double ra) {
    ra = std::fmod(ra, 360.0);
    if (ra < 0) ra += 360.0;
    return ra >= 360.0 ? ra - 360.0 : ra;
}

/// Refuses a linear transformation that maps the image to a point: a CD matrix of zero
/// determinant (wcsfix's cdfix would silently turn an all-zero CD matrix into the unit matrix,
/// 1 degree per pixel), or a PC matrix with a zero CDELT. Runs on wcspih's result, before wcsfix.
void check_not_degenerate(const wcsprm& w, const std::string& origin, int hdu) {
    const double* m = (w.altlin & 2) != 0 ? w.cd : w.pc;
    if (m == nullptr) return;
    const double a = m[0], b = m[1], c = m[2], d = m[3];
    if ((w.altlin & 2) != 0) {
        const double det = a * d - b * c;
        if (std::isfinite(det) && det != 0.0) return;
        throw DegenerateWcsError(origin, hdu, "", 0,
                                 fmt::format("degenerate WCS: the CD matrix (CD1_1 = {}, CD1_2 = {}, CD2_1 = {}, "
                                             "CD2_2 = {}) is singular (determinant {}); pixels cannot be located",
                                             a, b, c, d, det),
                                 "");
    }
    const double det = (a * d - b * c) * w.cdelt[0] * w.cdelt[1];
    if (std::isfinite(det) && det != 0.0) return;
    throw DegenerateWcsError(origin, hdu, "", 0,
                             fmt::format("degenerate WCS: CDELT1 = {}, CDELT2 = {} with PC1_1 = {}, PC1_2 = {}, "
                                         "PC2_1 = {}, PC2_2 = {} is singular; pixels cannot be located",
                                         w.cdelt[0], w.cdelt[1], a, b, c, d),
                             "");
}

}  // namespace

struct BrickWcs::Impl {
    wcsprm* w = nullptr;
    std::string origin;
    int hdu = 0;

    Impl() = default;
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;
    ~Impl() {
        if (w != nullptr) {
            clear_errors(w);
            wcsfree(w);
            delete w;
        }
    }

    [[noreturn]] void fail(const std::string& what, int status) const {
        throw FitsError(origin, hdu, "", 0, fmt::format("{} (wcslib status {})", what, status),
                        wcs_message(w, status));
    }

    /// Allocates `w` as a deep copy of `src` (wcssub with all axes), optionally runs wcsfix,
    /// then wcsset. wcsfix is best effort (units, dates, AIPS forms): its per-fix statuses
    /// are not fatal; whatever is really wrong fails in wcsset.
    void copy_from(const wcsprm* src, bool fix) {
        w = new wcsprm{};
        w->flag = -1;
        if (int s = wcssub(1, src, nullptr, nullptr, w); s != 0) fail("wcssub failed", s);
        if (fix) {
            int fix_status[NWCSFIX];
            wcsfix(0, nullptr, w, fix_status);
            clear_errors(w);
        }
        if (int s = wcsset(w); s != 0) fail("wcsset rejected the WCS", s);
    }

    int lng() const { return w->lng; }
    int lat() const { return w->lat; }
};

BrickWcs::BrickWcs(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BrickWcs::BrickWcs(BrickWcs&& other) noexcept = default;
BrickWcs& BrickWcs::operator=(BrickWcs&& other) noexcept = default;
BrickWcs::~BrickWcs() = default;

BrickWcs::BrickWcs(const BrickWcs& other) : impl_(std::make_unique<Impl>()) {
    impl_->origin = other.impl_->origin;
    impl_->hdu = other.impl_->hdu;
    impl_->copy_from(other.impl_->w, false);
}

BrickWcs& BrickWcs::operator=(const BrickWcs& other) {
    if (this != &other) *this = BrickWcs(other);
    return *this;
}

BrickWcs BrickWcs::from_header(const std::string& cards, const std::string& origin, int hdu) {
    return from_header(cards, static_cast<int>(cards.size() / 80), origin, hdu);
}

BrickWcs BrickWcs::from_header(const std::string& cards, int ncards, const std::string& origin,
                               int hdu) {
    if (ncards < 0 || cards.size() < static_cast<std::size_t>(ncards) * 80)
        throw std::invalid_argument("BrickWcs::from_header: fewer than ncards 80-character cards");
    std::call_once(g_wcserr_once, [] { wcserr_enable(1); });

    auto impl = std::make_unique<Impl>();
    impl->origin = origin;
    impl->hdu = hdu;

    std::string buf = cards.substr(0, static_cast<std::size_t>(ncards) * 80);
    int nreject = 0, nwcs = 0, status = 0;
    wcsprm* all = nullptr;
    {
        std::lock_guard lock(g_wcspih_mutex);
        status = wcspih(buf.data(), ncards, WCSHDR_all, 0, &nreject, &nwcs, &all);
    }
    if (status != 0)
        throw FitsError(origin, hdu, "", 0, fmt::format("wcspih cannot parse the header (wcslib status {})", status),
                        status <= WCSHDRERR_BAD_TABULAR_PARAMS ? wcshdr_errmsg[status] : "");
    const wcsprm* primary = nullptr;
    for (int i = 0; i < nwcs; ++i)
        if (all[i].alt[0] == ' ' || all[i].alt[0] == '\0') primary = &all[i];
    struct Release {  // wcspih's array is freed on every path out
        int n;
        wcsprm* p;
        ~Release() { wcsvfree(&n, &p); }
    } release{nwcs, all};
    if (primary == nullptr || primary->naxis != 2)
        throw FitsError(origin, hdu, "", 0,
                        fmt::format("header holds no primary 2-axis WCS (found {} WCS, {} axes)", nwcs,
                                    primary == nullptr ? 0 : primary->naxis),
                        "");
    check_not_degenerate(*primary, origin, hdu);
    impl->copy_from(primary, true);
    if (impl->w->lng < 0 || impl->w->lat < 0)
        throw FitsError(origin, hdu, "", 0,
                        fmt::format("no celestial WCS in the header (CTYPE1 '{}', CTYPE2 '{}')", impl->w->ctype[0],
                                    impl->w->ctype[1]),
                        "");
    return BrickWcs(std::move(impl));
}

std::size_t BrickWcs::pixel_to_sky(std::span<const double> x, std::span<const double> y,
                                   std::span<double> ra_deg, std::span<double> dec_deg) const {
    const std::size_t n = x.size();
    if (y.size() != n || ra_deg.size() != n || dec_deg.size() != n)
        throw std::invalid_argument("BrickWcs::pixel_to_sky: spans differ in length");
    const int lng = impl_->lng(), lat = impl_->lat();
    const std::size_t chunk = std::min<std::size_t>(n, kChunk);
    std::vector<double> pix(2 * chunk), img(2 * chunk), phi(chunk), theta(chunk), world(2 * chunk);
    std::vector<int> stat(chunk);
    std::size_t invalid = 0;
    for (std::size_t start = 0; start < n; start += chunk) {
        const int m = static_cast<int>(std::min(chunk, n - start));
        for (int i = 0; i < m; ++i) {
            pix[2 * i] = x[start + i] + 1.0;  // zero-based -> FITS 1-based
            pix[2 * i + 1] = y[start + i] + 1.0;
        }
        int s = wcsp2s(impl_->w, m, 2, pix.data(), img.data(), phi.data(), theta.data(), world.data(),
                       stat.data());
        if (s != 0 && s != WCSERR_BAD_PIX) impl_->fail("wcsp2s failed", s);
        for (int i = 0; i < m; ++i) {
            const bool bad = (s != 0 && stat[i] != 0) || !std::isfinite(world[2 * i + lng]);
            if (bad) ++invalid;
            ra_deg[start + i] = bad ? kNaN : wrap_ra(world[2 * i + lng]);
            dec_deg[start + i] = bad ? kNaN : world[2 * i + lat];
        }
    }
    clear_errors(impl_->w);
    return invalid;
}

std::size_t BrickWcs::sky_to_pixel(std::span<const double> ra_deg, std::span<const double> dec_deg,
                                   std::span<double> x, std::span<double> y) const {
    const std::size_t n = ra_deg.size();
    if (dec_deg.size() != n || x.size() != n || y.size() != n)
        throw std::invalid_argument("BrickWcs::sky_to_pixel: spans differ in length");
    const int lng = impl_->lng(), lat = impl_->lat();
    const std::size_t chunk = std::min<std::size_t>(n, kChunk);
    std::vector<double> world(2 * chunk), phi(chunk), theta(chunk), img(2 * chunk), pix(2 * chunk);
    std::vector<int> stat(chunk);
    std::size_t invalid = 0;
    for (std::size_t start = 0; start < n; start += chunk) {
        const int m = static_cast<int>(std::min(chunk, n - start));
        for (int i = 0; i < m; ++i) {
            world[2 * i + lng] = ra_deg[start + i];
            world[2 * i + lat] = dec_deg[start + i];
        }
        int s = wcss2p(impl_->w, m, 2, world.data(), phi.data(), theta.data(), img.data(), pix.data(),
                       stat.data());
        if (s != 0 && s != WCSERR_BAD_WORLD) impl_->fail("wcss2p failed", s);
        for (int i = 0; i < m; ++i) {
            const bool bad = (s != 0 && stat[i] != 0) || !std::isfinite(pix[2 * i]);
            if (bad) ++invalid;
            x[start + i] = bad ? kNaN : pix[2 * i] - 1.0;  // FITS 1-based -> zero-based
            y[start + i] = bad ? kNaN : pix[2 * i + 1] - 1.0;
        }
    }
    clear_errors(impl_->w);
    return invalid;
}

SkyRaDec BrickWcs::pixel_to_sky(double x, double y) const {
    SkyRaDec out;
    pixel_to_sky(std::span<const double>(&x, 1), std::span<const double>(&y, 1), std::span<double>(&out.ra, 1),
                 std::span<double>(&out.dec, 1));
    return out;
}

PixelXY BrickWcs::sky_to_pixel(double ra_deg, double dec_deg) const {
    PixelXY out;
    sky_to_pixel(std::span<const double>(&ra_deg, 1), std::span<const double>(&dec_deg, 1),
                 std::span<double>(&out.x, 1), std::span<double>(&out.y, 1));
    return out;
}

double BrickWcs::pixel_scale_arcsec() const {
    const PixelXY r = reference_pixel();
    constexpr double h = 0.5;
    const double xs[5] = {r.x, r.x + h, r.x - h, r.x, r.x};
    const double ys[5] = {r.y, r.y, r.y, r.y + h, r.y - h};
    double ra[5], dec[5];
    pixel_to_sky(xs, ys, ra, dec);
    // Gnomonic (tangent-plane) offsets about the reference point, in degrees.
    const double a0 = ra[0] * kDeg, d0 = dec[0] * kDeg;
    double xi[5], eta[5];
    for (int i = 0; i < 5; ++i) {
        const double da = ra[i] * kDeg - a0, d = dec[i] * kDeg;
        const double cosc = std::sin(d0) * std::sin(d) + std::cos(d0) * std::cos(d) * std::cos(da);
        xi[i] = std::cos(d) * std::sin(da) / cosc / kDeg;
        eta[i] = (std::cos(d0) * std::sin(d) - std::sin(d0) * std::cos(d) * std::cos(da)) / cosc / kDeg;
    }
    const double j11 = (xi[1] - xi[2]) / (2 * h), j21 = (eta[1] - eta[2]) / (2 * h);
    const double j12 = (xi[3] - xi[4]) / (2 * h), j22 = (eta[3] - eta[4]) / (2 * h);
    return std::sqrt(std::fabs(j11 * j22 - j12 * j21)) * 3600.0;
}

std::array<double, 2> BrickWcs::crpix() const { return {impl_->w->crpix[0], impl_->w->crpix[1]}; }

PixelXY BrickWcs::reference_pixel() const { return {impl_->w->crpix[0] - 1.0, impl_->w->crpix[1] - 1.0}; }

std::array<double, 2> BrickWcs::crval() const {
    return {impl_->w->crval[impl_->lng()], impl_->w->crval[impl_->lat()]};
}

std::string BrickWcs::ctype1() const { return impl_->w->ctype[0]; }

bool BrickWcs::has_distortion() const {
    return impl_->w->lin.dispre != nullptr || impl_->w->lin.disseq != nullptr;
}

const std::string& BrickWcs::origin() const { return impl_->origin; }

}  // namespace dhs::fits
