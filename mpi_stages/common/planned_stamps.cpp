// planned_stamps (see planned_stamps.hpp).
#include "mpi_stages/common/planned_stamps.hpp"

#include <string>

namespace dhs::stages {

std::optional<double> planned_stamps(const engine::PlanEstimates& earlier, std::string_view source) {
    const bool real = source == "cutouts";
    const auto it = earlier.find(real ? "cutouts" : "inject");
    if (it == earlier.end()) return std::nullopt;
    return it->second.rows_of(real ? "stamps" : "injections");
}

}  // namespace dhs::stages
