// The `skeleton` stage: the smallest real stage, the one to copy when adding a stage. It makes
// a random catalogue (points uniform on the sphere, the kind of catalogue clustering and
// footprint-area measurements use) with each point's NESTED HEALPix cell: config keys read once
// into Params (config.cpp), the output declared once as a typed group (skeleton.hpp), batch units
// planned on rank 0, each unit a kernel call per point (kernels/geometry/sky_randoms, kernels/geometry/healpix_cells),
// and a reduce on rank 0 that adds the counts per base cell and their chi^2 against uniform.
// The engine's synthetic test load and fault injection live in the `testload` stage instead.
#pragma once

#include "core/config/config.hpp"
#include "core/engine/stage.hpp"

namespace dhs::stages {

class SkeletonStage final : public engine::Stage {
public:
    std::string name() const override { return "skeleton"; }
    std::string description() const override {
        return "the template stage: a random catalogue uniform on the sphere with HEALPix cells";
    }
    std::vector<engine::OutputGroup> output_groups(const engine::StageContext& ctx) const override;
    std::vector<engine::WorkUnit> plan(const engine::StageContext& ctx) const override;
    engine::UnitOutput process(const engine::WorkUnit& unit, const engine::StageContext& ctx) const override;
    void reduce(const engine::StageContext& ctx, const mpi::Comm& comm, const std::string& path) const override;
    void check_config(const engine::StageContext& ctx) const override;

    /// @brief Declares the `skeleton.*` config keys.
    static void declare_config(config::Schema& schema);
};

}  // namespace dhs::stages
