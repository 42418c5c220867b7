// NESTED HEALPix cells through healpix_cxx (see healpix_cells.hpp).
#include "kernels/geometry/healpix_cells.hpp"

#include <healpix_base.h>
#include <pointing.h>

#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>

namespace dhs::kernels {

struct HealpixNest::Impl {
    T_Healpix_Base<int64> base;
};

HealpixNest::HealpixNest(std::int64_t nside) : nside_(nside) {
    if (nside < 1 || nside > (std::int64_t{1} << 29) || (nside & (nside - 1)) != 0)
        throw std::invalid_argument("HealpixNest: nside must be a power of 2 in [1, 2^29], not " + std::to_string(nside));
    impl_ = std::make_unique<Impl>(Impl{T_Healpix_Base<int64>(nside, NEST, SET_NSIDE)});
}

HealpixNest::~HealpixNest() = default;
HealpixNest::HealpixNest(HealpixNest&&) noexcept = default;
HealpixNest& HealpixNest::operator=(HealpixNest&&) noexcept = default;

namespace {
constexpr double kDegToRad = std::numbers::pi / 180.0;  // numpy's NPY_PI / 180.0

pointing pointing_of(double ra_deg, double dec_deg) {
    if (!std::isfinite(ra_deg) || !std::isfinite(dec_deg) || dec_deg < -90.0 || dec_deg > 90.0)
        throw std::invalid_argument("HEALPix cell of an invalid position (ra " + std::to_string(ra_deg) + ", dec " +
                                    std::to_string(dec_deg) + ")");
    return pointing((90.0 - dec_deg) * kDegToRad, ra_deg * kDegToRad);
}
}  // namespace

std::int64_t HealpixNest::cell(double ra_deg, double dec_deg) const {
    return impl_->base.ang2pix(pointing_of(ra_deg, dec_deg));
}

std::vector<std::int64_t> HealpixNest::disc_cells(double ra_deg, double dec_deg, double radius_deg) const {
    rangeset<int64> set;
    impl_->base.query_disc_inclusive(pointing_of(ra_deg, dec_deg), radius_deg * kDegToRad, set);
    std::vector<std::int64_t> out;
    for (std::size_t i = 0; i < set.nranges(); ++i)
        for (int64 p = set.ivbegin(static_cast<std::ptrdiff_t>(i)); p < set.ivend(static_cast<std::ptrdiff_t>(i)); ++p)
            out.push_back(p);
    return out;
}

}  // namespace dhs::kernels
