// The libtorch stages by name, for the `dhs-torch` executable (see registry.hpp): linked
// only into what links dhs::stages_torch, so `dhs` itself never loads libtorch.
#include "mpi_stages/torch_stages.hpp"

#include "core/error.hpp"
#include "mpi_stages/score/score_stage.hpp"
#include "mpi_stages/search/search_stage.hpp"
#include "mpi_stages/train/train_stage.hpp"

namespace dhs::stages {

std::unique_ptr<engine::Stage> make_torch_stage(const std::string& name) {
    if (name == "train") return std::make_unique<TrainStage>();
    if (name == "score") return std::make_unique<ScoreStage>();
    if (name == "search") return std::make_unique<SearchStage>();
    throw Error("no libtorch stage named '" + name + "'");
}

}  // namespace dhs::stages
