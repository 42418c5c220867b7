// The `skeleton` stage: the template to copy when adding a stage, and the engine's test and
// benchmark load. It plans `skeleton.units` batch units and turns each into deterministic
// pseudo-random rows (optionally a stamp-shaped array column and CPU work per row); chosen
// units can be made to fail, always or once, to exercise retry and quarantine.
#pragma once

#include "core/config/config.hpp"
#include "core/engine/stage.hpp"

namespace dhs::stages {

class SkeletonStage final : public engine::Stage {
public:
    std::string name() const override { return "skeleton"; }
    std::string description() const override {
        return "engine template and test load: deterministic rows per batch unit";
    }
    std::vector<engine::OutputGroup> output_groups(const engine::StageContext& ctx) const override;
    std::vector<engine::WorkUnit> plan(const engine::StageContext& ctx) const override;
    engine::UnitOutput process(const engine::WorkUnit& unit, const engine::StageContext& ctx) const override;

    /// @brief Declares the `skeleton.*` config keys.
    static void declare_config(config::Schema& schema);
};

}  // namespace dhs::stages
