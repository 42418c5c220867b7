// Builders of work units: sweep files split into row ranges, bricks, adaptive HEALPix
// cells and batches. Each unit gets a stable id and a cost estimate; indices are assigned in
// the canonical order the builder returns (the order rows are gathered in).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/engine/stage.hpp"

namespace dhs::engine {

/// @brief A catalog file and its size, as a sweep-unit builder needs it.
struct TableFile {
    std::string path;
    std::int64_t rows = 0;
    std::int64_t bytes = 0;
};

/// @brief One unit per file, or per row range [begin, end) of at most `max_rows` rows for
/// large files. Id "<file name>[begin:end]"; payload {"path", "begin", "end"}; cost = rows.
std::vector<WorkUnit> sweep_row_units(const std::vector<TableFile>& files, std::int64_t max_rows);

/// @brief One unit per brick name, in the order given (sort first for canonical order).
/// `targets[b]` (optional) is the number of targets in brick b: cost = 1 + targets.
std::vector<WorkUnit> brick_units(const std::vector<std::string>& bricks,
                                  const std::map<std::string, std::int64_t>& targets = {});

/// @brief Adaptive NESTED HEALPix cells: starting from every occupied cell at `nside_base`,
/// a cell holding more than `row_budget` rows is split into its 4 children, down to
/// `nside_max`. `counts` are rows per NESTED pixel at `nside_max`. Units are ordered by their
/// first `nside_max` pixel (so NESTED order); id "hpx<nside>-<pixel>"; payload {"nside",
/// "pixel", "first", "last"} (last is exclusive, in nside_max pixels); cost = rows.
/// @throws Error unless nside_base <= nside_max are powers of 2.
std::vector<WorkUnit> healpix_units(const std::map<std::int64_t, std::int64_t>& counts, std::int64_t nside_base,
                                    std::int64_t nside_max, std::int64_t row_budget);

/// @brief ceil(n_items / batch_size) units of consecutive items. Id "<prefix>-<k>";
/// payload {"begin", "end"}; cost = items.
std::vector<WorkUnit> batch_units(std::int64_t n_items, std::int64_t batch_size, const std::string& prefix);

}  // namespace dhs::engine
