// Text of the injection stage's coverage report (tasks per cell), shared by plan and reduce.
#pragma once

#include <string>
#include <vector>

#include "kernels/injection/injection_design.hpp"
#include "mpi_stages/inject/inject.hpp"

namespace dhs::stages::inject {

/// @brief Summary of `coverage` (cells with tasks, empty, borrowed, injections per cell) and, for
/// the selection_function grid, the injections per cell of each PSF x depth bin with its hosts.
std::string coverage_text(const Params& p, const std::vector<kernels::injection::CellCoverage>& coverage);

}  // namespace dhs::stages::inject
