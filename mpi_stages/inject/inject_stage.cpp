// The `inject` stage (see inject_stage.hpp): plan (design, coverage, brick-ordered batches),
// process (a batch of tasks), reduce (coverage and calibration reports).
#include "mpi_stages/inject/inject_stage.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <malloc.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <nlohmann/json.hpp>
#include <numeric>

#include "core/engine/plan_table.hpp"
#include "core/error.hpp"
#include "core/mpi/comm.hpp"
#include "mpi_stages/inject/inject.hpp"
#include "mpi_stages/inject/reports.hpp"

namespace dhs::stages {

namespace inj = kernels::injection;

void InjectStage::declare_config(config::Schema& s) { inject::declare_config(s); }

void InjectStage::check_config(const engine::StageContext& ctx) const {
    (void)inject::read_params(ctx.config, ctx.run_dir, ctx.seed);
}

std::vector<engine::OutputGroup> InjectStage::output_groups(const engine::StageContext& ctx) const {
    return {inject::injections_group(inject::context(ctx)->params.stamp_size)};  // the host stamps' side
}

std::vector<engine::WorkUnit> InjectStage::plan(const engine::StageContext& ctx) const {
    const auto c = inject::context(ctx);  // checks the config, reads the hosts, builds the designer
    const auto& p = c->params;
    const auto& H = c->hosts;
    spdlog::info("stage inject: {} hosts usable of {} in {} ({} without a stamp in {}, {} without photometry/PSF/"
                 "depth, {} outside inject.splits); grid {}, source {}, PSF {}",
                 H.galaxy_id.size(), H.hosts_in_sample, p.sample_file, H.without_stamp, p.cutouts_file, H.unusable,
                 H.other_split, inj::grid_name(p.design.grid),
                 p.source == inject::SourceMode::sersic ? "sersic" : p.source == inject::SourceMode::mixed ? "mixed" : "template",
                 p.moffat ? "moffat" : "gaussian");
    const auto design = inj::design_tasks(p.design, H.keys);
    spdlog::info("stage inject: {}", inject::coverage_text(p, design.coverage));
    if (!design.empty.empty())
        spdlog::warn("stage inject: {} PSF/depth bins hold no host (inject.empty_cells = {})", design.empty.size(),
                     inj::empty_cells_name(p.design.empty_cells));
    if (design.unpaired_fallbacks > 0)
        spdlog::warn("stage inject: {} unpaired controls are paired (no other host in their bin)", design.unpaired_fallbacks);
    if (design.tasks.empty()) throw Error("stage inject: the design has no task (every cell is empty)");

    // Canonical order: by the stamp's brick, then task id; batches of batch_size tasks.
    std::vector<std::size_t> order(design.tasks.size());
    std::iota(order.begin(), order.end(), 0);
    auto brick = [&](std::size_t i) -> const std::string& {
        return H.brickname[static_cast<std::size_t>(design.tasks[i].stamp_host)];
    };
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return brick(a) < brick(b); });
    const auto bytes_per_task = static_cast<std::int64_t>(p.stamp_size) * p.stamp_size * 4 * 7;
    std::vector<engine::WorkUnit> units;
    for (std::size_t first = 0; first < order.size(); first += static_cast<std::size_t>(p.batch_size)) {
        const std::size_t last = std::min(order.size(), first + static_cast<std::size_t>(p.batch_size));
        nlohmann::json ids = nlohmann::json::array();
        double cost = 0.0;
        for (std::size_t k = first; k < last; ++k) {
            const auto& t = design.tasks[order[k]];
            ids.push_back(t.task_id);
            cost += t.is_control ? 0.05 : 1.0;
        }
        engine::WorkUnit u;
        u.index = static_cast<std::int64_t>(units.size());
        u.id = fmt::format("inject-{}[{}..{}]", u.index, brick(order[first]), brick(order[last - 1]));
        u.kind = "batch";
        u.cost = cost;
        u.payload = nlohmann::json{{"tasks", ids}}.dump();
        u.bytes_in = static_cast<std::int64_t>(last - first) * bytes_per_task * 2 / 7;
        u.rows_out = static_cast<std::int64_t>(last - first);
        units.push_back(std::move(u));
    }
    return units;
}

namespace {

// A unit allocates and frees ~100 MB of stamp buffers. glibc serves blocks that large with mmap
// and gives them back on free, so every unit faulted all its pages in anew (0.3 s per 128 tasks
// on the 2-core VM measured, ~25 us per 4 KiB fault). Keeping freed memory in the heap lets the
// next unit reuse it: a process-wide malloc setting, made once, harmless to other stages.
void keep_freed_memory() {
    static std::once_flag once;
    std::call_once(once, [] {
        mallopt(M_MMAP_THRESHOLD, 64 << 20);
        mallopt(M_TRIM_THRESHOLD, 1 << 30);
    });
}

}  // namespace

engine::UnitOutput InjectStage::process(const engine::WorkUnit& unit, const engine::StageContext& ctx) const {
    keep_freed_memory();
    const auto c = inject::context(ctx);
    const auto ids = nlohmann::json::parse(unit.payload).at("tasks").get<std::vector<std::int64_t>>();
    engine::UnitOutput out;
    out.emplace("injections", inject::run_tasks(*c, ids));  // moved: an initializer list would copy ~50 MB
    return out;
}

void InjectStage::reduce(const engine::StageContext& ctx, const mpi::Comm& comm, const std::string& path) const {
    std::string err;
    if (comm.rank() == 0) {
        try {
            inject::write_reports(*inject::context(ctx), path);
        } catch (const std::exception& e) {
            err = e.what();
        }
    }
    comm.broadcast(err);
    if (!err.empty()) throw Error("stage inject: reports: " + err);
}

namespace {
// Output rows (image, injection, invvar, maskbits) plus the host stamps read, twice over.
std::int64_t unit_memory(std::int64_t stamp_size, std::int64_t rows) {
    return 2 * rows * stamp_size * stamp_size * 4 * (3 * 3 + 1 + 6) + (64 << 20);
}
}  // namespace

std::int64_t InjectStage::memory_per_unit(const engine::WorkUnit& unit, const engine::StageContext& ctx) const {
    return unit_memory(inject::context(ctx)->params.stamp_size, unit.rows_out);
}

// Without sample.h5 and cutouts.h5: the whole design (every cell with hosts: with
// inject.empty_cells = skip, at most this), in batches of inject.batch_size.
std::optional<engine::StageEstimate> InjectStage::estimate(const engine::StageContext& ctx,
                                                          const engine::PlanEstimates& earlier,
                                                          const std::vector<engine::WorkUnit>* plan) const {
    if (plan != nullptr) return Stage::estimate(ctx, earlier, plan);
    const auto p = inject::read_params(ctx.config, ctx.run_dir, ctx.seed);
    const auto tasks = static_cast<double>(inj::full_design_size(p.design));
    const std::int64_t s = ctx.config.get_int("cutouts.stamp_size");  // the host stamps inject reads
    engine::StageEstimate e;
    e.units = std::ceil(tasks / p.batch_size);
    e.rows["injections"] = tasks;
    e.bytes_in = tasks * static_cast<double>(s * s * 4 * 2);
    const auto batch = static_cast<std::int64_t>(std::min<double>(tasks, p.batch_size));
    e.memory_per_unit = unit_memory(s, batch);
    e.bytes_out = tasks * static_cast<double>(s * s * 4 * (3 * 3 + 1));
    e.basis = fmt::format("the {} grid's {} tasks (injections and controls; every cell with hosts), {} a unit",
                          inj::grid_name(p.design.grid), engine::human_count(tasks), p.batch_size);
    return e;
}

}  // namespace dhs::stages
