// The `cutouts` stage (SPEC Stage 2): every target of the sampling stage's chosen sets
// (cutouts.target_sets of cutouts.sample_file, default RUN_DIR/sample.h5) becomes a stamp cut
// from the local DR10 coadds: image and invvar (N, bands, s, s) float32, maskbits (N, s, s)
// int32, PSF FWHM per band at the centre, sub-pixel offsets, quality and status columns, in
// cutouts.h5:/stamps; /bricks holds per-brick decoding figures. Work units are groups of
// bricks (a brick is never split), so each brick's coadds are opened once and each compressed
// tile decoded once for all of its targets. Rows: bricks in BRICKID order, then targets in
// sample order (set, row) - the same for any rank count.
#pragma once

#include "core/config/config.hpp"
#include "core/engine/stage.hpp"

namespace dhs::stages {

class CutoutsStage final : public engine::Stage {
public:
    std::string name() const override { return "cutouts"; }
    std::string description() const override {
        return "cutouts: image/invvar/maskbits stamps (cutouts.stamp_size) of every target, cut brick by brick from the coadds";
    }
    void check_config(const engine::StageContext& ctx) const override;
    std::vector<engine::OutputGroup> output_groups(const engine::StageContext& ctx) const override;
    std::vector<engine::WorkUnit> plan(const engine::StageContext& ctx) const override;
    engine::UnitOutput process(const engine::WorkUnit& unit, const engine::StageContext& ctx) const override;
    void reduce(const engine::StageContext& ctx, const mpi::Comm& comm, const std::string& path) const override;
    std::int64_t memory_per_unit(const engine::WorkUnit& unit, const engine::StageContext& ctx) const override;
    std::optional<engine::StageEstimate> estimate(const engine::StageContext& ctx, const engine::PlanEstimates& earlier,
                                                  const std::vector<engine::WorkUnit>* plan) const override;

    /// @brief Declares the `cutouts.*` config keys.
    static void declare_config(config::Schema& schema);
};

}  // namespace dhs::stages
