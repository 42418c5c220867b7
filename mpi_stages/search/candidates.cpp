// The search's pure parts (see search.hpp): ranks by score, the candidates, and the nearest
// catalogued lens of each candidate.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "kernels/geometry/sky_index.hpp"
#include "mpi_stages/search/search.hpp"

namespace dhs::stages::search {

namespace {

// Row indices by p_lens, highest first; ties (and NaN, last) by row.
std::vector<std::int64_t> by_score(const std::vector<float>& p) {
    std::vector<std::int64_t> order(p.size());
    std::iota(order.begin(), order.end(), 0);
    const auto key = [&](std::int64_t i) { return std::isnan(p[static_cast<std::size_t>(i)]) ? -1.f : p[static_cast<std::size_t>(i)]; };
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) { return key(a) > key(b); });
    return order;
}

}  // namespace

std::vector<std::int64_t> ranks_by_score(const std::vector<float>& p_lens) {
    const auto order = by_score(p_lens);
    std::vector<std::int64_t> rank(p_lens.size());
    for (std::size_t k = 0; k < order.size(); ++k) rank[static_cast<std::size_t>(order[k])] = static_cast<std::int64_t>(k) + 1;
    return rank;
}

std::vector<std::int64_t> choose_candidates(const std::vector<float>& p_lens, double top_fraction, double threshold,
                                            std::int64_t max_candidates) {
    const auto order = by_score(p_lens);
    const auto n = static_cast<std::int64_t>(p_lens.size());
    std::int64_t top = n == 0 || top_fraction <= 0
                           ? 0
                           : std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(top_fraction * static_cast<double>(n) - 1e-9)));
    top = std::min(top, n);
    if (threshold >= 0)
        while (top < n && p_lens[static_cast<std::size_t>(order[static_cast<std::size_t>(top)])] >= threshold) ++top;
    top = std::min(top, max_candidates);
    return {order.begin(), order.begin() + top};
}

std::vector<LensMatch> nearest_lenses(const std::vector<double>& ra, const std::vector<double>& dec,
                                      const std::vector<double>& lens_ra, const std::vector<double>& lens_dec,
                                      double radius_arcsec) {
    std::vector<kernels::UnitVector> points;
    for (std::size_t i = 0; i < lens_ra.size(); ++i) points.push_back(kernels::unit_vector(lens_ra[i], lens_dec[i]));
    const kernels::SkyIndex index(std::move(points));
    const double max_chord2 = kernels::chord2_of_arcsec(radius_arcsec);
    std::vector<LensMatch> out(ra.size());
    for (std::size_t i = 0; i < ra.size(); ++i)
        if (const auto hit = index.nearest(kernels::unit_vector(ra[i], dec[i]), max_chord2))
            out[i] = {static_cast<std::int64_t>(hit->first), kernels::arcsec_of_chord2(hit->second)};
    return out;
}

}  // namespace dhs::stages::search
