// The training stage's journal: model/state.json (epoch, step, best so far, history) beside
// the checkpoint it names (model, optimiser and schedule as a torch archive). Both are written
// temp-then-rename, checkpoint first, so a SIGKILL at any moment leaves a consistent pair.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dhs::stages::train {

/// @brief One epoch of /history.
struct HistoryRow {
    std::int64_t epoch = 0, steps = 0;
    double train_loss = 0, val_loss = 0, val_auc = 0, lr = 0, images_per_s = 0, data_wait_fraction = 0, seconds = 0;
};

/// @brief Where training stands: the next step to run is `step` of `epoch`.
struct TrainState {
    std::int64_t epoch = 0, step = 0, global_step = 0;
    double best_auc = -1;
    std::int64_t best_epoch = -1, bad_epochs = 0;
    bool finished = false;
    std::string stop_reason;
    std::vector<HistoryRow> history;
    std::string checkpoint;  ///< file name in the model directory ('' before the first)
};

std::string to_json(const TrainState& s);
/// @throws Error naming `origin` when the text is not a state.
TrainState state_from_json(const std::string& text, const std::string& origin);

/// @brief Writes file `name` in `dir` atomically (temp, fsync, rename, fsync of the directory).
void write_file_atomically(const std::string& dir, const std::string& name, const void* data, std::size_t size);
std::string read_file(const std::string& path);

/// @brief Saves `bytes` as the checkpoint of `state` (file checkpoint-<global step>.pt), then
/// state.json naming it, then removes the checkpoint it replaces. Sets state.checkpoint.
void save_checkpoint(const std::string& model_dir, TrainState& state, const std::string& bytes);
/// @brief The saved state, or a fresh one when `model_dir` holds none.
TrainState load_state(const std::string& model_dir);
/// @brief Removes every checkpoint and the state (a run that does not resume starts afresh).
void clear_checkpoints(const std::string& model_dir);

}  // namespace dhs::stages::train
