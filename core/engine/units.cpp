// Work-unit builders (see units.hpp).
#include "core/engine/units.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace dhs::engine {

namespace {
void number(std::vector<WorkUnit>& units) {
    for (std::size_t i = 0; i < units.size(); ++i) units[i].index = static_cast<std::int64_t>(i);
}
bool power_of_two(std::int64_t x) { return x > 0 && (x & (x - 1)) == 0; }
}  // namespace

std::vector<WorkUnit> sweep_row_units(const std::vector<TableFile>& files, std::int64_t max_rows) {
    if (max_rows <= 0) throw Error("sweep_row_units: max_rows must be positive");
    std::vector<WorkUnit> units;
    for (const auto& f : files) {
        const std::string name = std::filesystem::path(f.path).filename().string();
        const std::int64_t pieces = std::max<std::int64_t>(1, (f.rows + max_rows - 1) / max_rows);
        for (std::int64_t k = 0; k < pieces; ++k) {
            // Even pieces: sizes differ by at most one row.
            std::int64_t b = f.rows * k / pieces, e = f.rows * (k + 1) / pieces;
            WorkUnit u;
            u.kind = "sweep-rows";
            u.id = fmt::format("{}[{}:{}]", name, b, e);
            u.payload = nlohmann::json{{"path", f.path}, {"begin", b}, {"end", e}}.dump();
            u.cost = static_cast<double>(std::max<std::int64_t>(e - b, 1));
            u.bytes_in = f.rows > 0 ? f.bytes * (e - b) / f.rows : f.bytes;
            u.rows_out = e - b;
            units.push_back(std::move(u));
        }
    }
    number(units);
    return units;
}

std::vector<WorkUnit> brick_units(const std::vector<std::string>& bricks, const std::map<std::string, std::int64_t>& targets) {
    std::vector<WorkUnit> units;
    for (const auto& b : bricks) {
        auto it = targets.find(b);
        const std::int64_t n = it == targets.end() ? 0 : it->second;
        WorkUnit u;
        u.kind = "brick";
        u.id = b;
        u.payload = nlohmann::json{{"brick", b}, {"targets", n}}.dump();
        u.cost = 1.0 + static_cast<double>(n);
        u.rows_out = n;
        units.push_back(std::move(u));
    }
    number(units);
    return units;
}

std::vector<WorkUnit> healpix_units(const std::map<std::int64_t, std::int64_t>& counts, std::int64_t nside_base,
                                    std::int64_t nside_max, std::int64_t row_budget) {
    if (!power_of_two(nside_base) || !power_of_two(nside_max) || nside_base > nside_max)
        throw Error(fmt::format("healpix_units: need powers of two with nside_base <= nside_max (got {}, {})", nside_base,
                                nside_max));
    // Pixel p at nside_max has ancestor p >> 2k at nside_max >> k (NESTED scheme).
    std::vector<WorkUnit> units;
    // Recursive split over a cell [first, last) of nside_max pixels.
    std::function<void(std::int64_t, std::int64_t)> visit = [&](std::int64_t nside, std::int64_t pixel) {
        std::int64_t ratio = (nside_max / nside) * (nside_max / nside);
        std::int64_t first = pixel * ratio, last = first + ratio;
        std::int64_t rows = 0;
        for (auto it = counts.lower_bound(first); it != counts.end() && it->first < last; ++it) rows += it->second;
        if (rows == 0) return;
        if (rows > row_budget && nside < nside_max) {
            for (std::int64_t c = 0; c < 4; ++c) visit(nside * 2, pixel * 4 + c);
            return;
        }
        WorkUnit u;
        u.kind = "healpix";
        u.id = fmt::format("hpx{}-{}", nside, pixel);
        u.payload = nlohmann::json{{"nside", nside}, {"pixel", pixel}, {"first", first}, {"last", last}}.dump();
        u.cost = static_cast<double>(rows);
        u.rows_out = rows;
        units.push_back(std::move(u));
    };
    std::int64_t ratio = (nside_max / nside_base) * (nside_max / nside_base);
    std::int64_t prev = -1;
    for (const auto& [pix, n] : counts) {
        (void)n;
        std::int64_t base = pix / ratio;
        if (base != prev) visit(nside_base, base);
        prev = base;
    }
    number(units);
    return units;
}

std::vector<WorkUnit> batch_units(std::int64_t n_items, std::int64_t batch_size, const std::string& prefix) {
    if (batch_size <= 0) throw Error("batch_units: batch_size must be positive");
    std::vector<WorkUnit> units;
    for (std::int64_t b = 0, k = 0; b < n_items; b += batch_size, ++k) {
        std::int64_t e = std::min(n_items, b + batch_size);
        WorkUnit u;
        u.kind = "batch";
        u.id = fmt::format("{}-{}", prefix, k);
        u.payload = nlohmann::json{{"begin", b}, {"end", e}}.dump();
        u.cost = static_cast<double>(e - b);
        u.rows_out = e - b;
        units.push_back(std::move(u));
    }
    number(units);
    return units;
}

}  // namespace dhs::engine
