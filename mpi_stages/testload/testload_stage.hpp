// The `testload` stage: the engine's synthetic load for tests and benchmarks, not science. It
// plans `testload.units` batch units and turns each into deterministic pseudo-random rows
// (optionally a stamp-shaped array column, uneven unit sizes and CPU work per row); chosen units
// can be made to fail always or once, or to sleep, to exercise retry, quarantine and
// interruption. A new stage copies `skeleton`, not this one.
#pragma once

#include "core/config/config.hpp"
#include "core/engine/stage.hpp"

namespace dhs::stages {

class TestloadStage final : public engine::Stage {
public:
    std::string name() const override { return "testload"; }
    std::string description() const override {
        return "the engine's test and benchmark load: deterministic rows per batch unit, failures on request";
    }
    std::vector<engine::OutputGroup> output_groups(const engine::StageContext& ctx) const override;
    std::vector<engine::WorkUnit> plan(const engine::StageContext& ctx) const override;
    engine::UnitOutput process(const engine::WorkUnit& unit, const engine::StageContext& ctx) const override;

    /// @brief Declares the `testload.*` config keys.
    static void declare_config(config::Schema& schema);
};

}  // namespace dhs::stages
