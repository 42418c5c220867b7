// cut_targets (see cutouts.hpp): locate each target through its home brick's WCS, pick the
// coadd it is cut from (the edge policy), then cut every source brick's coadds once through
// TileReader, flagging what cannot be read.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numbers>

#include <sys/mman.h>

#include "core/error.hpp"
#include "core/fits/coadd_writer.hpp"
#include "kernels/geometry/brick_geometry.hpp"
#include "mpi_stages/cutouts/cutouts.hpp"

namespace dhs::stages::cutouts {

namespace fs = std::filesystem;

namespace {

/// The geometry of one brick's coadds: the first image (else invvar) file found gives the
/// size and the WCS that locates targets; absent when the brick has neither.
struct BrickGeometry {
    bool present = false;
    std::string ref_kind;
    long width = 0, height = 0;
    std::optional<fits::BrickWcs> wcs;
    double ra = 0, dec = 0;  // brick centre
    std::string degenerate;  // a coadd's WCS is singular (the error message): the brick is not used
};

/// Where a target lands in one coadd.
struct Placement {
    std::string brick;
    bool valid = false;           // a projection exists
    double x = 0, y = 0;          // zero-based WCS position
    long cx = 0, cy = 0;          // centre pixel (nearest)
    long outside = 0;             // stamp pixels beyond the coadd
    bool center_inside = false;
};

class Geometry {
public:
    explicit Geometry(const Params& p) : p_(p) {}

    const BrickGeometry& of(const std::string& brick) {
        auto it = cache_.find(brick);
        if (it != cache_.end()) return it->second;
        BrickGeometry g;
        if (const auto b = kernels::brick_wall().brick_by_name(brick)) {
            g.ra = b->ra;
            g.dec = b->dec;
        }
        // The first readable image (else invvar) gives the geometry; every image and invvar
        // header is checked for a degenerate WCS, which makes the whole brick unusable.
        for (const char* product : {"image", "invvar"}) {
            for (const auto& band : p_.bands) {
                const std::string kind = kind_name(product, band);
                const std::string path = fits::coadd_path(p_.root, brick, kind);
                if (!fs::exists(path)) continue;
                try {
                    auto img = fits::BrickImage::open(path);
                    const auto& wcs = img.wcs();
                    if (g.present) continue;
                    g.wcs = wcs;
                    g.width = img.width();
                    g.height = img.height();
                    g.ref_kind = kind;
                    g.present = true;
                } catch (const DegenerateWcsError& e) {
                    if (g.degenerate.empty()) g.degenerate = e.what();
                } catch (const Error&) {
                    continue;  // unreadable header or WCS: the next file may do (its stamps are flagged)
                }
            }
        }
        if (!g.degenerate.empty()) {
            g.present = false;
            g.wcs.reset();
        }
        return cache_.emplace(brick, std::move(g)).first->second;
    }

    Placement place(const std::string& brick, double ra, double dec) {
        Placement pl;
        pl.brick = brick;
        const auto& g = of(brick);
        const long s = p_.stamp_size, h = s / 2;
        pl.outside = s * s;
        if (!g.present) return pl;
        const auto px = g.wcs->sky_to_pixel(ra, dec);
        if (!std::isfinite(px.x) || !std::isfinite(px.y) || std::fabs(px.x) > 1e9 || std::fabs(px.y) > 1e9) return pl;
        pl.valid = true;
        pl.x = px.x;
        pl.y = px.y;
        pl.cx = static_cast<long>(std::floor(px.x + 0.5));
        pl.cy = static_cast<long>(std::floor(px.y + 0.5));
        const long x0 = std::max(pl.cx - h, 0L), x1 = std::min(pl.cx + h + 1, g.width);
        const long y0 = std::max(pl.cy - h, 0L), y1 = std::min(pl.cy + h + 1, g.height);
        pl.outside = s * s - std::max(0L, x1 - x0) * std::max(0L, y1 - y0);
        pl.center_inside = pl.cx >= 0 && pl.cx < g.width && pl.cy >= 0 && pl.cy < g.height;
        return pl;
    }

    /// Bricks near a position other than `home`, nearest centre first.
    std::vector<std::string> neighbours(const std::string& home, double ra, double dec) const {
        const double half = (p_.stamp_size / 2.0 + 1.0) * p_.pixscale / 3600.0 * std::numbers::sqrt2 + 0.25;
        const double cosd = std::max(std::cos(dec * std::numbers::pi / 180.0), 1e-3);
        const double dra = std::min(half / cosd, 180.0);
        auto bricks = kernels::brick_wall().bricks_touching(ra - dra, ra + dra, std::max(dec - half, -90.0),
                                                            std::min(dec + half, 90.0));
        auto dist = [&](const kernels::Brick& b) {
            const double d2r = std::numbers::pi / 180.0;
            const double c = std::sin(dec * d2r) * std::sin(b.dec * d2r) +
                             std::cos(dec * d2r) * std::cos(b.dec * d2r) * std::cos((ra - b.ra) * d2r);
            return -c;  // larger cosine = nearer
        };
        std::stable_sort(bricks.begin(), bricks.end(), [&](const auto& a, const auto& b) {
            const double da = dist(a), db = dist(b);
            return da != db ? da < db : a.brickid < b.brickid;
        });
        std::vector<std::string> out;
        for (const auto& b : bricks)
            if (b.name != home) out.push_back(b.name);
        return out;
    }

private:
    const Params& p_;
    std::map<std::string, BrickGeometry> cache_;
};

/// Per-target bookkeeping while cutting.
struct Work {
    Placement pl;
    std::vector<std::string> notes;
    std::vector<char> image_ok;   // per band
    std::vector<char> invvar_ok;  // per band
    bool failed = false;
};

void add_note(Work& w, const std::string& note) {
    if (std::find(w.notes.begin(), w.notes.end(), note) == w.notes.end()) w.notes.push_back(note);
}

/// Reads one product of one source brick for its targets (float or int boxes through a
/// TileReader planned for all of them); flags missing or corrupt files per target.
class ProductCutter {
public:
    ProductCutter(const Params& p, const std::string& brick, const BrickGeometry& g, BrickReport& report)
        : p_(p), brick_(brick), g_(g), report_(report) {}

    /// Opens `kind`; nullopt (targets flagged by the caller) when missing or unreadable.
    std::optional<fits::TileReader> open(const std::string& kind, std::string& why) {
        const std::string path = fits::coadd_path(p_.root, brick_, kind);
        if (!fs::exists(path)) {
            ++report_.files_missing;
            why = "missing:" + kind;
            return std::nullopt;
        }
        try {
            auto tr = fits::TileReader::open(path);
            if (tr.width() != g_.width || tr.height() != g_.height) {
                why = "corrupt:" + kind;  // a coadd of another size than the brick's others
                return std::nullopt;
            }
            return tr;
        } catch (const Error&) {
            why = "corrupt:" + kind;
            return std::nullopt;
        }
    }

    /// Plans `tr` for `boxes`; a failing whole-image decode falls back to tile by tile.
    void plan(fits::TileReader& tr, const std::vector<fits::PixelBox>& boxes) {
        try {
            tr.plan(boxes, p_.full_decode_fraction);
        } catch (const Error&) {
            tr.release();
            tr.plan(boxes, 2.0);  // tile by tile: a bad tile then only affects its own boxes
        }
    }

    void account(const fits::TileReader& tr) {
        const auto& s = tr.stats();
        report_.tiles_decoded += s.tiles_decoded;
        report_.tiles_partial += s.tiles_partial;
        report_.full_decodes += s.full_decodes;
        report_.pixels_decoded += s.pixels_decoded;
        report_.bytes_read += s.bytes_read;
    }

private:
    const Params& p_;
    const std::string& brick_;
    const BrickGeometry& g_;
    BrickReport& report_;
};

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ";") + x;
    return s;
}

/// Cuts every product of one source brick for targets `idx`.
void cut_source(const Params& p, const std::string& brick, const BrickGeometry& g, const std::vector<std::size_t>& idx,
                std::vector<Work>& work, StampBatch& out) {
    BrickReport rep;
    rep.brick = brick;
    rep.targets = static_cast<std::int32_t>(idx.size());
    ProductCutter cutter(p, brick, g, rep);
    const int s = p.stamp_size, h = s / 2, nb = static_cast<int>(p.bands.size());
    const std::size_t npix = static_cast<std::size_t>(s) * static_cast<std::size_t>(s);
    std::vector<fits::PixelBox> boxes, centres;
    for (auto i : idx) {
        boxes.push_back({work[i].pl.cx - h, work[i].pl.cy - h, s, s});
        centres.push_back({work[i].pl.cx, work[i].pl.cy, 1, 1});
    }

    // Float stamps (image, invvar) of one band.
    auto cut_float = [&](const std::string& product, int b, bool image) {
        const std::string kind = kind_name(product, p.bands[static_cast<std::size_t>(b)]);
        std::string why;
        auto tr = cutter.open(kind, why);
        if (tr) cutter.plan(*tr, boxes);
        for (std::size_t k = 0; k < idx.size(); ++k) {
            const auto i = idx[k];
            float* dst = image ? out.image_of(i, b) : out.invvar_of(i, b);
            bool ok = false;
            if (tr) {
                try {
                    tr->read_box(boxes[k], std::span<float>(dst, npix));
                    ok = true;
                } catch (const Error&) {
                    why = "corrupt:" + kind;
                }
            }
            if (!ok) {
                std::fill(dst, dst + npix, kNaN);
                add_note(work[i], why);
            }
            (image ? work[i].image_ok : work[i].invvar_ok)[static_cast<std::size_t>(b)] = ok;
            if (tr && !ok) why.clear();
        }
        if (tr) cutter.account(*tr);
    };

    for (int b = 0; b < nb; ++b) {
        cut_float("image", b, true);
        if (p.with_invvar) cut_float("invvar", b, false);
    }

    if (p.with_maskbits) {
        std::string why;
        auto tr = cutter.open("maskbits", why);
        if (tr) cutter.plan(*tr, boxes);
        for (std::size_t k = 0; k < idx.size(); ++k) {
            const auto i = idx[k];
            std::int32_t* dst = out.maskbits_of(i);
            bool ok = false;
            if (tr) {
                try {
                    tr->read_box_int(boxes[k], std::span<std::int32_t>(dst, npix), p.maskbits_fill);
                    ok = true;
                } catch (const Error&) {
                    why = "corrupt:maskbits";
                }
            }
            if (!ok) {
                std::fill(dst, dst + npix, p.maskbits_fill);
                add_note(work[i], why);
                if (tr) why.clear();
            }
        }
        if (tr) cutter.account(*tr);
    }

    // PSF FWHM at the centre pixel, per band.
    for (int b = 0; b < nb; ++b) {
        const std::string kind = kind_name("psfsize", p.bands[static_cast<std::size_t>(b)]);
        std::string why;
        auto tr = cutter.open(kind, why);
        if (tr) cutter.plan(*tr, centres);
        for (std::size_t k = 0; k < idx.size(); ++k) {
            const auto i = idx[k];
            float v = kNaN;
            bool ok = false;
            if (tr) {
                try {
                    v = tr->read_pixel(centres[k].x0, centres[k].y0);
                    ok = true;
                } catch (const Error&) {
                    why = "corrupt:" + kind;
                }
            }
            if (!ok) {
                add_note(work[i], why);
                if (tr) why.clear();
            }
            out.info[i].psfsize[static_cast<std::size_t>(b)] = v;
        }
        if (tr) cutter.account(*tr);
    }

    // No data (invvar == 0) -> NaN in the image.
    if (p.with_invvar && p.nan_where_invvar_zero) {
        for (auto i : idx)
            for (int b = 0; b < nb; ++b) {
                if (!work[i].image_ok[static_cast<std::size_t>(b)] || !work[i].invvar_ok[static_cast<std::size_t>(b)])
                    continue;
                float* im = out.image_of(i, b);
                const float* iv = out.invvar_of(i, b);
                for (std::size_t q = 0; q < npix; ++q)
                    if (iv[q] == 0.0f) im[q] = kNaN;
            }
    }
    out.bricks.push_back(rep);
}

/// Reserves n elements and advises transparent huge pages for them before they are first
/// touched: stamp buffers are tens of MB per unit, and 4 KiB page faults dominate filling them.
template <class T>
void reserve_huge(std::vector<T>& v, std::size_t n) {
    std::vector<T>().swap(v);
    v.reserve(n);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    constexpr std::uintptr_t huge = std::uintptr_t{2} << 20;
    const auto begin = (reinterpret_cast<std::uintptr_t>(v.data()) + huge - 1) & ~(huge - 1);
    const auto end = (reinterpret_cast<std::uintptr_t>(v.data()) + n * sizeof(T)) & ~(huge - 1);
    if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);  // advice only
#endif
}

}  // namespace

void StampBatch::allocate(std::size_t count, int bands, int side, bool with_invvar, bool with_maskbits,
                          std::int32_t maskbits_fill) {
    n = count;
    nb = bands;
    s = side;
    const std::size_t cell = static_cast<std::size_t>(side) * static_cast<std::size_t>(side);
    reserve_huge(image, n * static_cast<std::size_t>(nb) * cell);
    image.assign(n * static_cast<std::size_t>(nb) * cell, kNaN);
    invvar.clear();
    maskbits.clear();
    if (with_invvar) {
        reserve_huge(invvar, n * static_cast<std::size_t>(nb) * cell);
        invvar.assign(n * static_cast<std::size_t>(nb) * cell, kNaN);
    }
    if (with_maskbits) {
        reserve_huge(maskbits, n * cell);
        maskbits.assign(n * cell, maskbits_fill);
    }
    info.assign(n, CutInfo{});
    for (auto& c : info) c.psfsize.assign(static_cast<std::size_t>(nb), kNaN);
    bricks.clear();
}

void cut_targets(const Params& p, const std::vector<Target>& targets, StampBatch& out) {
    const int nb = static_cast<int>(p.bands.size()), s = p.stamp_size;
    out.allocate(targets.size(), nb, s, p.with_invvar, p.with_maskbits, p.maskbits_fill);
    Geometry geo(p);
    std::vector<Work> work(targets.size());

    // Where each target is cut from.
    std::map<std::string, std::vector<std::size_t>> by_source;
    for (std::size_t i = 0; i < targets.size(); ++i) {
        const Target& t = targets[i];
        Work& w = work[i];
        w.image_ok.assign(static_cast<std::size_t>(nb), 0);
        w.invvar_ok.assign(static_cast<std::size_t>(nb), 0);
        if (const auto& home = geo.of(t.home_brick); !home.degenerate.empty())
            throw Error(fmt::format("cutouts: brick {} cannot be cut: {}", t.home_brick, home.degenerate));
        Placement best = geo.place(t.home_brick, t.ra, t.dec);
        const bool home_present = geo.of(t.home_brick).present;
        if (p.edge == EdgePolicy::nearest_complete && (!best.valid || best.outside > 0)) {
            for (const auto& nb_brick : geo.neighbours(t.home_brick, t.ra, t.dec)) {
                if (!geo.of(nb_brick).present) continue;
                const Placement pl = geo.place(nb_brick, t.ra, t.dec);
                if (pl.valid && pl.center_inside && (!best.valid || !best.center_inside || pl.outside < best.outside))
                    best = pl;
                if (best.valid && best.outside == 0) break;
            }
        }
        w.pl = best;
        if (!home_present) add_note(w, "home_missing");
        if (!best.valid) {
            add_note(w, geo.of(best.brick).present ? "no_projection" : "no_coadd");
            w.failed = true;
        } else if (!best.center_inside) {
            add_note(w, "center_outside");
            w.failed = true;
        } else {
            if (best.outside > 0) add_note(w, "edge");
            by_source[best.brick].push_back(i);
        }
    }

    for (const auto& [brick, idx] : by_source) cut_source(p, brick, geo.of(brick), idx, work, out);

    // Metadata and quality.
    const long npix = static_cast<long>(s) * s;
    for (std::size_t i = 0; i < targets.size(); ++i) {
        Work& w = work[i];
        CutInfo& info = out.info[i];
        if (w.pl.valid) {
            info.source_brick = w.failed ? "" : w.pl.brick;
            info.pixel_x = static_cast<std::int32_t>(w.pl.cx);
            info.pixel_y = static_cast<std::int32_t>(w.pl.cy);
            info.offset_x = static_cast<float>(w.pl.x - static_cast<double>(w.pl.cx));
            info.offset_y = static_cast<float>(w.pl.y - static_cast<double>(w.pl.cy));
        }
        const bool any_image = std::any_of(w.image_ok.begin(), w.image_ok.end(), [](char c) { return c != 0; });
        if (!w.failed && !any_image) w.failed = true;
        stamp_quality(out.image_of(i, 0), nb, s, p.core_radius, w.failed ? npix : w.pl.outside, info);
        const bool all_image = std::all_of(w.image_ok.begin(), w.image_ok.end(), [](char c) { return c != 0; });
        info.size_ok = !w.failed && all_image && w.pl.outside == 0;
        bool defect = false;
        for (const auto& n : w.notes) defect = defect || n != "home_missing";
        info.status = w.failed ? "failed" : defect ? "partial" : "ok";
        info.reason = join(w.notes);
    }
}

void stamp_quality(const float* image, int nb, int s, double core_radius, long outside, CutInfo& info) {
    const double c = (s - 1) / 2.0, r2 = core_radius * core_radius;
    long nan = 0, core = 0, core_nan = 0;
    for (int b = 0; b < nb; ++b) {
        const float* im = image + static_cast<std::size_t>(b) * static_cast<std::size_t>(s) * static_cast<std::size_t>(s);
        for (int y = 0; y < s; ++y)
            for (int x = 0; x < s; ++x) {
                const bool isnan = std::isnan(im[y * s + x]);
                nan += isnan;
                const double dx = x - c, dy = y - c;
                if (dx * dx + dy * dy < r2) {
                    ++core;
                    core_nan += isnan;
                }
            }
    }
    const double total = static_cast<double>(nb) * s * s;
    info.nan_frac = static_cast<float>(static_cast<double>(nan) / total);
    info.core_nan_frac = core > 0 ? static_cast<float>(static_cast<double>(core_nan) / static_cast<double>(core)) : 0.0f;
    info.outside_frac = static_cast<float>(static_cast<double>(outside) / (static_cast<double>(s) * s));
}

}  // namespace dhs::stages::cutouts
