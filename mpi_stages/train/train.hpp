// The training stage's internals (SPEC Stage 5): its `train.*` parameters, the training set
// (which stamps, labels, weights, splits), the rank groups (learners and data ranks), the
// batches every epoch is cut into, and the checkpoints that make it resumable.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/config/config.hpp"
#include "kernels/learn/learner.hpp"
#include "mpi_stages/train/config_keys.hpp"
#include "kernels/learn/preprocess.hpp"

namespace dhs::mpi {
class Comm;
}

namespace dhs::stages::train {

/// @brief Everything `train.*` says, resolved against the run directory.
struct Params {
    std::string dataset;                 ///< "real" (positives vs negatives) or "injection" (injections vs controls)
    std::string cutouts_file, injections_file, sample_file;
    std::vector<std::string> stamp_status;  ///< cutout statuses accepted (real)
    double min_theta_over_psf = 0, min_arc_snr = 0;  ///< injection "Path A" filters (0: off)
    bool require_physics_valid = true;
    double weight_tier_a = 1, weight_tier_b = 0.5, weight_injection = 1, weight_negative = 1;
    double tier_b_label = 1.0;           ///< Tier-B target (0.8: label smoothing)
    std::vector<std::string> meta_columns;  ///< per-stamp scalars fused before the head
    learn::ModelSpec model;
    learn::PreprocessSpec pre;
    learn::AugmentSpec aug;
    learn::LossSpec loss;
    double lr = 3e-4, weight_decay = 1e-2, warmup_epochs = 1, min_lr_fraction = 0;
    std::int64_t batch_size = 128;       ///< per learner
    std::int64_t eval_batch_size = 256;
    std::int64_t epochs = 50, patience = 10;
    std::int64_t checkpoint_every_steps = 0;
    std::string learners = "auto";       ///< "auto" or a count
    std::string device = "auto";
    std::int64_t threads = 0;            ///< torch threads per learner (0: cores / ranks on the node)
    std::uint64_t seed = 0;
    std::string run_dir, model_dir;
};

/// @throws ConfigError naming the key.
Params read_params(const config::Config& c, const std::string& run_dir);

enum class Split : std::uint8_t { train = 0, val = 1, test = 2 };

/// @brief One stamp of the training set.
struct Example {
    std::uint8_t source = 0;     ///< 0: cutouts file /stamps, 1: injections file /injections
    std::int64_t row = 0;        ///< row in that group
    Split split = Split::train;
    float target = 0;            ///< label after smoothing
    float weight = 1;
    bool positive = false;
    std::string klass;           ///< positive_a, positive_b, negative, injection, control
};

/// @brief The training set: every usable stamp with its label, weight and split, the stamp
/// geometry and bands read from the input file, and the metadata columns standardised.
struct TrainingSet {
    std::vector<Example> examples;       ///< in file order
    std::vector<float> meta;             ///< examples.size() x n_meta, standardised with train mean/std
    std::vector<double> meta_mean, meta_std;
    int n_meta = 0;
    int channels = 3, height = 101, width = 101;
    std::string bands;
    std::string stamps_group;            ///< "/stamps" or "/injections"
    std::string stamps_file;
    std::vector<std::int64_t> index_of_split[3];  ///< positions in `examples` per split
    std::int64_t dropped = 0;            ///< rows not used (status, filters, all-NaN)
    std::string counts_json;             ///< class x split counts, for train.h5 and the log
};

/// @brief Reads the index columns of the input files and builds the set. Same on every rank.
/// @throws Error naming the file and column; ConfigError when a split lacks a class.
TrainingSet build_training_set(const Params& p);

/// @brief How the world splits into learners (ranks that train; one per GPU) and data ranks
/// (the others, which read, augment and batch stamps): the j-th data rank feeds learner j % L.
struct RankGroups {
    std::vector<int> learner_ranks;      ///< world ranks of the learners, ascending
    bool is_learner = false;
    int learner = -1;                    ///< my learner index, or the index of the learner I feed
    std::vector<int> feeders;            ///< world ranks feeding my learner, ascending
    int feeder_index = -1;               ///< a data rank's position among its learner's feeders
    int learners() const { return static_cast<int>(learner_ranks.size()); }
};
/// @brief Which world ranks learn: `train.learners` N = ranks 0..N-1; "auto" = the ranks
/// whose local rank has a CUDA device (`has_device[r]`), else rank 0 alone.
/// @throws ConfigError when more learners than ranks are asked for.
std::vector<int> choose_learner_ranks(const Params& p, const std::vector<int>& has_device);
RankGroups make_groups(int world_rank, int world_size, const std::vector<int>& learner_ranks);

/// @brief Steps per epoch (every learner the same: the last partial round is dropped) and
/// the rows (positions in the train split) of one learner's batch.
std::int64_t steps_per_epoch(std::int64_t n_train, int learners, std::int64_t batch);
/// @brief The epoch's global permutation of [0, n): a pure function of (seed, epoch).
std::vector<std::int64_t> epoch_order(std::int64_t n, std::uint64_t seed, std::int64_t epoch);

}  // namespace dhs::stages::train
