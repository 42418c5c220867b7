// The `search` stage: every galaxy of the sample's pool (and the catalogued lenses), filtered by
// config, cut from the coadds brick by brick with the cutout stage's code, prepared with the
// training code path and scored by the trained (or a given) model, in one streaming job: no
// stamp is written except the candidates'. Units are the cutout stage's brick units, so
// search.h5:/targets is in canonical order for any rank count and after --resume. With learner
// ranks (`search.learners`) the data ranks cut and prepare, the learner ranks infer. The reduce
// picks the candidates (top search.top_fraction, or p_lens >= search.threshold), cuts their
// stamps again with invvar and maskbits, crossmatches them with the lens catalogue, and on a
// mock sky ranks the true lenses among all targets beside the selection function's prediction.
#pragma once

#include <memory>

#include "core/config/config.hpp"
#include "core/engine/stage.hpp"

namespace dhs::stages {

namespace score {
class Inference;
}

class SearchStage final : public engine::Stage {
public:
    SearchStage();
    ~SearchStage() override;
    std::string name() const override { return "search"; }
    std::string description() const override {
        return "every pool galaxy cut, prepared and scored on the fly; the top candidates with stamps";
    }
    void check_config(const engine::StageContext& ctx) const override;
    std::vector<engine::OutputGroup> output_groups(const engine::StageContext& ctx) const override;
    std::vector<engine::WorkUnit> plan(const engine::StageContext& ctx) const override;
    engine::UnitOutput process(const engine::WorkUnit& unit, const engine::StageContext& ctx) const override;
    void reduce(const engine::StageContext& ctx, const mpi::Comm& comm, const std::string& path) const override;
    std::int64_t memory_per_unit(const engine::WorkUnit& unit, const engine::StageContext& ctx) const override;
    std::vector<int> serving_ranks(const engine::StageContext& ctx, const mpi::Comm& comm) const override;
    std::vector<float> serve(std::span<const std::int64_t> header, std::span<const float> payload,
                             const engine::StageContext& ctx) const override;

    static void declare_config(config::Schema& schema);

private:
    std::unique_ptr<score::Inference> inference_;
};

}  // namespace dhs::stages
