// The k-d tree on unit vectors (see sky_index.hpp): median splits on the axis of largest
// extent, leaves of at most kLeaf points, bounding boxes per node for pruning.
#include "kernels/geometry/sky_index.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

namespace dhs::kernels {

namespace {
constexpr std::uint32_t kLeaf = 8;
constexpr double kDeg = std::numbers::pi / 180.0;
constexpr double kArcsec = kDeg / 3600.0;

double coord(const UnitVector& v, int axis) { return axis == 0 ? v.x : axis == 1 ? v.y : v.z; }
}  // namespace

UnitVector unit_vector(double ra_deg, double dec_deg) {
    const double a = ra_deg * kDeg, d = dec_deg * kDeg;
    const double c = std::cos(d);
    return {c * std::cos(a), c * std::sin(a), std::sin(d)};
}

double chord2_of_arcsec(double arcsec) {
    const double s = 2.0 * std::sin(0.5 * arcsec * kArcsec);
    return s * s;
}

double arcsec_of_chord2(double c2) {
    const double half = std::min(1.0, 0.5 * std::sqrt(std::max(0.0, c2)));
    return 2.0 * std::asin(half) / kArcsec;
}

double separation_arcsec(double ra1, double dec1, double ra2, double dec2) {
    return arcsec_of_chord2(chord2(unit_vector(ra1, dec1), unit_vector(ra2, dec2)));
}

SkyIndex::SkyIndex(std::vector<UnitVector> points) : points_(std::move(points)) {
    if (points_.size() >= 0xffffffffu) throw std::length_error("SkyIndex: too many points");
    order_.resize(points_.size());
    for (std::uint32_t i = 0; i < order_.size(); ++i) order_[i] = i;
    if (!points_.empty()) {
        nodes_.reserve(2 * points_.size() / kLeaf + 2);
        build(0, static_cast<std::uint32_t>(points_.size()));
    }
}

std::int32_t SkyIndex::build(std::uint32_t begin, std::uint32_t end) {
    Node n;
    n.begin = begin;
    n.end = end;
    n.lo = {1e300, 1e300, 1e300};
    n.hi = {-1e300, -1e300, -1e300};
    for (std::uint32_t i = begin; i < end; ++i) {
        const auto& p = points_[order_[i]];
        n.lo = {std::min(n.lo.x, p.x), std::min(n.lo.y, p.y), std::min(n.lo.z, p.z)};
        n.hi = {std::max(n.hi.x, p.x), std::max(n.hi.y, p.y), std::max(n.hi.z, p.z)};
    }
    const auto id = static_cast<std::int32_t>(nodes_.size());
    nodes_.push_back(n);
    if (end - begin <= kLeaf) return id;
    const double ext[3] = {n.hi.x - n.lo.x, n.hi.y - n.lo.y, n.hi.z - n.lo.z};
    const int axis = ext[0] >= ext[1] ? (ext[0] >= ext[2] ? 0 : 2) : (ext[1] >= ext[2] ? 1 : 2);
    const std::uint32_t mid = begin + (end - begin) / 2;
    // Ties broken by index so the tree (and so nothing observable) depends on the input only.
    std::nth_element(order_.begin() + begin, order_.begin() + mid, order_.begin() + end,
                     [&](std::uint32_t a, std::uint32_t b) {
                         const double ca = coord(points_[a], axis), cb = coord(points_[b], axis);
                         return ca < cb || (ca == cb && a < b);
                     });
    const std::int32_t left = build(begin, mid);
    const std::int32_t right = build(mid, end);
    nodes_[static_cast<std::size_t>(id)].axis = axis;
    nodes_[static_cast<std::size_t>(id)].split = coord(points_[order_[mid]], axis);
    nodes_[static_cast<std::size_t>(id)].left = left;
    nodes_[static_cast<std::size_t>(id)].right = right;
    return id;
}

double SkyIndex::box_distance2(const Node& n, const UnitVector& q) {
    auto d = [](double v, double lo, double hi) { return v < lo ? lo - v : (v > hi ? v - hi : 0.0); };
    const double dx = d(q.x, n.lo.x, n.hi.x), dy = d(q.y, n.lo.y, n.hi.y), dz = d(q.z, n.lo.z, n.hi.z);
    return dx * dx + dy * dy + dz * dz;
}

// Depth-first over the leaves whose boxes lie within `bound` of q (re-read at every node, so
// a visitor may tighten it), nearer child first; leaf(k, c2) for each point with chord^2 <=
// bound, returning true to stop the walk. Returns whether a visitor stopped it.
template <class Leaf>
bool SkyIndex::walk(const UnitVector& q, const double& bound, Leaf&& leaf) const {
    if (nodes_.empty()) return false;
    std::int32_t stack[128];
    int top = 0;
    stack[top++] = 0;
    while (top > 0) {
        const Node& n = nodes_[static_cast<std::size_t>(stack[--top])];
        if (box_distance2(n, q) > bound) continue;
        if (n.axis < 0) {
            for (std::uint32_t i = n.begin; i < n.end; ++i) {
                const std::uint32_t k = order_[i];
                const double c2 = chord2(points_[k], q);
                if (c2 <= bound && leaf(k, c2)) return true;
            }
        } else {
            // Nearer child last (popped first): a nearest search tightens its bound sooner.
            const bool left_first = coord(q, n.axis) < n.split;
            stack[top++] = left_first ? n.right : n.left;
            stack[top++] = left_first ? n.left : n.right;
        }
    }
    return false;
}

void SkyIndex::within(const UnitVector& q, double max_chord2, std::vector<std::pair<std::uint32_t, double>>& out) const {
    out.clear();
    walk(q, max_chord2, [&](std::uint32_t k, double c2) {
        out.emplace_back(k, c2);
        return false;
    });
    std::sort(out.begin(), out.end());
}

bool SkyIndex::any_within(const UnitVector& q, double max_chord2) const {
    return walk(q, max_chord2, [](std::uint32_t, double) { return true; });
}

std::optional<std::pair<std::uint32_t, double>> SkyIndex::nearest(const UnitVector& q, double max_chord2) const {
    std::optional<std::pair<std::uint32_t, double>> best;
    double bound = max_chord2;
    walk(q, bound, [&](std::uint32_t k, double c2) {
        if (!best || c2 < best->second || (c2 == best->second && k < best->first)) {
            best = std::make_pair(k, c2);
            bound = c2;
        }
        return false;
    });
    return best;
}

}  // namespace dhs::kernels
