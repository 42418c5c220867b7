// The scoring stage's `score.*` config keys. Free of libtorch, like train's: every build
// accepts a config with a score section.
#include "mpi_stages/score/config_keys.hpp"

namespace dhs::stages::score {

void declare_config(config::Schema& s) {
    using config::ValueType;
    s.add({.key = "score.model", .type = ValueType::string,
           .description = "the model scored with: '' = the run's best (RUN_DIR/model: model.json + weights.pt), a "
                          "model directory of another run, or a TorchScript file (scripts/export_torchscript.py, "
                          "model.json stored inside)",
           .default_yaml = "''"});
    s.add({.key = "score.sources", .type = ValueType::string_list,
           .description = "stamp files scored: cutouts (RUN_DIR/cutouts.h5:/stamps, every target set) and injections "
                          "(RUN_DIR/injections.h5:/injections, injections and controls)",
           .default_yaml = "[cutouts, injections]", .choices = {"cutouts", "injections"}});
    s.add({.key = "score.cutouts_file", .type = ValueType::string,
           .description = "cutout stage output ('': RUN_DIR/cutouts.h5)", .default_yaml = "''"});
    s.add({.key = "score.injections_file", .type = ValueType::string,
           .description = "injection stage output ('': RUN_DIR/injections.h5)", .default_yaml = "''"});
    s.add({.key = "score.batch_size", .type = ValueType::integer, .description = "stamps per inference batch",
           .default_yaml = "256", .min = 1, .max = 65536});
    s.add({.key = "score.unit_stamps", .type = ValueType::integer,
           .description = "stamps per work unit (consecutive rows of one file)", .default_yaml = "2048", .min = 1,
           .max = 1e8});
    s.add({.key = "score.device", .type = ValueType::string,
           .description = "inference device: auto (the rank's CUDA device when present), cpu or cuda",
           .default_yaml = "auto", .choices = {"auto", "cpu", "cuda"}});
    s.add({.key = "score.learners", .type = ValueType::string,
           .description = "learner ranks that infer for the others (the data ranks read and prepare stamps): 0 = every "
                          "rank scores its own units; auto = on each node as many ranks as it has CUDA devices (0 "
                          "without); N = the N highest ranks. Rank 0 always reads",
           .default_yaml = "auto"});
    s.add({.key = "score.threads", .type = ValueType::integer,
           .description = "compute threads per rank (0: the node's cores over its ranks)", .default_yaml = "0",
           .min = 0, .max = 1024});
}

}  // namespace dhs::stages::score
