// The `mock_sky` stage: writes a mock DR10 sky (coadds per brick, sweeps, survey-bricks,
// lenscat and truth) under survey.root. One unit per brick of the footprint; each unit draws
// its objects from (run.seed, BRICKID), renders and writes that brick's coadds and returns its
// objects (gathered into mock_sky.h5:/objects); reduce() writes the footprint-wide files on
// rank 0. Same bytes for any rank count.
#pragma once

#include "core/config/config.hpp"
#include "core/engine/stage.hpp"

namespace dhs::stages {

class MockSkyStage final : public engine::Stage {
public:
    std::string name() const override { return "mock_sky"; }
    std::string description() const override {
        return "mock DR10 sky: coadds, sweeps, survey-bricks, lenscat and truth under survey.root";
    }
    void check_config(const engine::StageContext& ctx) const override;
    std::vector<engine::OutputGroup> output_groups(const engine::StageContext& ctx) const override;
    std::vector<engine::WorkUnit> plan(const engine::StageContext& ctx) const override;
    engine::UnitOutput process(const engine::WorkUnit& unit, const engine::StageContext& ctx) const override;
    void reduce(const engine::StageContext& ctx, const mpi::Comm& comm, const std::string& path) const override;

    /// @brief Declares the `mock_sky.*` config keys.
    static void declare_config(config::Schema& schema);
};

}  // namespace dhs::stages
