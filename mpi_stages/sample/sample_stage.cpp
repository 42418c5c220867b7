// The `sample` stage (see sample_stage.hpp): plan over the sweep files, per-unit rows, reduce.
#include "mpi_stages/sample/sample_stage.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/engine/units.hpp"
#include "core/error.hpp"
#include "core/fits/sweep_reader.hpp"
#include "core/util/utf8.hpp"
#include "mpi_stages/sample/sample.hpp"

namespace dhs::stages {

void SampleStage::declare_config(config::Schema& s) { sample::declare_config(s); }

void SampleStage::check_config(const engine::StageContext& ctx) const { (void)sample::read_params(ctx.config); }

std::vector<engine::OutputGroup> SampleStage::output_groups(const engine::StageContext&) const {
    return sample::output_groups();
}

std::vector<engine::WorkUnit> SampleStage::plan(const engine::StageContext& ctx) const {
    const auto p = sample::read_params(ctx.config);
    const auto files = sample::find_sweep_files(p);
    // The lens catalog is parsed here first: a malformed one stops the stage before any work.
    const auto inputs = sample::load_inputs(p);
    std::vector<engine::WorkUnit> units;
    for (std::size_t file_index = 0; file_index < files.size(); ++file_index) {
        const std::string& path = files[file_index];
        std::vector<engine::WorkUnit> mine;
        try {
            fits::SweepReader r(path);
            mine = engine::sweep_row_units(
                {{path, r.num_rows(), static_cast<std::int64_t>(std::filesystem::file_size(path))}}, p.rows_per_unit);
        } catch (const std::exception& e) {
            // An unreadable file is still a unit: it fails (and is quarantined) with its error.
            spdlog::warn("sample: cannot plan '{}': {}", path, util::to_valid_utf8(e.what()));  // cfitsio may quote any bytes
            engine::WorkUnit u;
            u.kind = "sweep-rows";
            u.id = std::filesystem::path(path).filename().string() + "[unreadable]";
            u.payload = nlohmann::json{{"path", path}, {"begin", 0}, {"end", -1}}.dump();
            mine.push_back(std::move(u));
        }
        for (auto& u : mine) {
            auto j = nlohmann::json::parse(u.payload);
            j["file_index"] = file_index;  // the rows' sweep_file_id: a row of /sweep_files
            j["lens_catalog_sha256"] = inputs->lens_sha256;  // the journal's plan changes with the catalog
            if (!inputs->confuser_sha256.empty()) j["n2_catalog_sha256"] = inputs->confuser_sha256;
            u.payload = j.dump();
            units.push_back(std::move(u));
        }
    }
    for (std::size_t i = 0; i < units.size(); ++i) units[i].index = static_cast<std::int64_t>(i);
    return units;
}

engine::UnitOutput SampleStage::process(const engine::WorkUnit& unit, const engine::StageContext& ctx) const {
    return sample::process_unit(unit, sample::read_params(ctx.config));
}

void SampleStage::reduce(const engine::StageContext& ctx, const mpi::Comm& comm, const std::string& path) const {
    sample::reduce(sample::read_params(ctx.config), comm, path);
}

std::int64_t SampleStage::memory_per_unit(const engine::WorkUnit& unit, const engine::StageContext& ctx) const {
    // A block of decoded sweep columns plus the unit's pool rows (~400 bytes each, strings included).
    const auto block = ctx.config.get_int("sample.read_block_rows");
    return block * 300 + unit.rows_out * 400;
}

std::optional<engine::StageEstimate> SampleStage::estimate(const engine::StageContext& ctx,
                                                          const engine::PlanEstimates& earlier,
                                                          const std::vector<engine::WorkUnit>* plan) const {
    if (plan == nullptr) return std::nullopt;  // the sweeps are the survey's: nothing to estimate from
    auto e = sample::estimate(sample::read_params(ctx.config), *plan);
    const auto from_plan = Stage::estimate(ctx, earlier, plan);
    e.memory_per_unit = from_plan ? from_plan->memory_per_unit : 0;
    e.basis = "units from the plan; " + e.basis;
    return e;
}

}  // namespace dhs::stages
