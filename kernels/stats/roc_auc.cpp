// Exact ROC AUC (Mann-Whitney) and its deterministic bootstrap interval (see roc_auc.hpp).
#include "kernels/stats/roc_auc.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

namespace dhs::kernels {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void require_finite(std::span<const double> v, const char* which) {
    for (double x : v)
        if (!std::isfinite(x))
            throw std::invalid_argument(std::string("dhs::kernels roc_auc: a non-finite score among the ") + which);
}

__extension__ typedef unsigned __int128 uint128;

// An index in [0, n) from 64 random bits (Lemire's multiply-shift; bias < n / 2^64).
inline std::size_t draw_index(std::uint64_t bits, std::size_t n) {
    return static_cast<std::size_t>((static_cast<uint128>(bits) * n) >> 64);
}

}  // namespace

double roc_auc(std::span<const double> positives, std::span<const double> negatives) {
    require_finite(positives, "positives");
    require_finite(negatives, "negatives");
    if (positives.empty() || negatives.empty()) return kNaN;
    std::vector<double> p(positives.begin(), positives.end()), n(negatives.begin(), negatives.end());
    std::sort(p.begin(), p.end());
    std::sort(n.begin(), n.end());
    // U2 = sum over positives of 2 (#negatives below) + (#negatives equal): twice U, in integers.
    std::uint64_t u2 = 0;
    std::size_t below = 0, upto = 0;
    for (double v : p) {
        while (below < n.size() && n[below] < v) ++below;
        if (upto < below) upto = below;
        while (upto < n.size() && n[upto] <= v) ++upto;
        u2 += 2 * below + (upto - below);
    }
    return static_cast<double>(u2) / (2.0 * static_cast<double>(p.size()) * static_cast<double>(n.size()));
}

double quantile_sorted(std::span<const double> a, double q) {
    if (a.empty()) return kNaN;
    const double pos = q * static_cast<double>(a.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const std::size_t hi = std::min(lo + 1, a.size() - 1);
    const double t = pos - static_cast<double>(lo);
    const double d = a[hi] - a[lo];
    // numpy's _lerp: a + d t, or b - d (1 - t) for t >= 0.5 (monotone at both ends).
    return t >= 0.5 ? a[hi] - d * (1.0 - t) : a[lo] + d * t;
}

AucInterval bootstrap_roc_auc(std::span<const double> positives, std::span<const double> negatives, int resamples,
                              double level, std::uint64_t seed) {
    if (resamples < 0) throw std::invalid_argument("dhs::kernels bootstrap_roc_auc: resamples must be >= 0");
    if (!(level > 0.0 && level < 1.0)) throw std::invalid_argument("dhs::kernels bootstrap_roc_auc: level must be in (0, 1)");
    AucInterval out;
    out.n_positive = positives.size();
    out.n_negative = negatives.size();
    out.resamples = resamples;
    out.auc = roc_auc(positives, negatives);  // checks finiteness
    out.lower = out.upper = kNaN;
    if (positives.empty() || negatives.empty() || resamples == 0) return out;

    // Rank groups of distinct values over both classes, ascending.
    const std::size_t np = positives.size(), nn = negatives.size();
    if (nn > std::numeric_limits<std::uint32_t>::max() / 2 || np > std::numeric_limits<std::uint32_t>::max())
        throw std::invalid_argument("dhs::kernels bootstrap_roc_auc: more than 2^31 negatives or 2^32 positives");
    std::vector<double> all(positives.begin(), positives.end());
    all.insert(all.end(), negatives.begin(), negatives.end());
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    auto group_of = [&](double v) {
        return static_cast<std::uint32_t>(std::lower_bound(all.begin(), all.end(), v) - all.begin());
    };
    std::vector<std::uint32_t> gp(np), gn(nn);
    for (std::size_t i = 0; i < np; ++i) gp[i] = group_of(positives[i]);
    for (std::size_t i = 0; i < nn; ++i) gn[i] = group_of(negatives[i]);

    // Per replicate: the drawn negatives counted per group, then cum[g] = 2 (drawn negatives
    // below g) + (drawn negatives in g), so that each drawn positive adds cum of its group to
    // twice U: the same integer as counting the positives per group too, in one pass less.
    std::vector<std::uint32_t> wn(all.size()), cum(all.size());  // cum <= 2 nn
    std::vector<double> aucs(static_cast<std::size_t>(resamples));
    const double pairs2 = 2.0 * static_cast<double>(np) * static_cast<double>(nn);
    for (int r = 0; r < resamples; ++r) {
        std::fill(wn.begin(), wn.end(), 0u);
        const std::uint64_t stream = splitmix64(seed ^ splitmix64(static_cast<std::uint64_t>(r) + 1));
        // The positives' draws come first in the stream, the negatives' after (k = np + i).
        for (std::size_t i = 0; i < nn; ++i) ++wn[gn[draw_index(splitmix64(stream + np + i), nn)]];
        std::uint32_t neg_below2 = 0;
        for (std::size_t g = 0; g < all.size(); ++g) {
            cum[g] = neg_below2 + wn[g];
            neg_below2 += 2 * wn[g];
        }
        std::uint64_t u2 = 0;
        for (std::size_t i = 0; i < np; ++i) u2 += cum[gp[draw_index(splitmix64(stream + i), np)]];
        aucs[static_cast<std::size_t>(r)] = static_cast<double>(u2) / pairs2;
    }
    std::sort(aucs.begin(), aucs.end());
    out.lower = quantile_sorted(aucs, (1.0 - level) / 2.0);
    out.upper = quantile_sorted(aucs, (1.0 + level) / 2.0);
    return out;
}

}  // namespace dhs::kernels
