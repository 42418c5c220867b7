// The scoring stage's internals (SPEC Stage 5, scoring): its parameters, the model it scores
// with (the run's dhs model: model.json + weights.pt, or a TorchScript file made in Python with
// model.json inside), and the units (consecutive rows of one stamp file).
#pragma once

#include <torch/script.h>
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/config/config.hpp"
#include "kernels/learn/learner.hpp"
#include "kernels/learn/preprocess.hpp"
#include "mpi_stages/score/config_keys.hpp"

namespace dhs::stages::score {

struct Params {
    std::string model;                   ///< resolved: a model directory or a TorchScript file
    std::vector<std::string> sources;
    std::string cutouts_file, injections_file;
    std::int64_t batch_size = 256, unit_stamps = 2048, threads = 0;
    std::string device = "auto";
    std::string learners = "0";          ///< "0" (every rank scores its units), "auto" or a count
};

/// @brief The world ranks that infer for the others (the learner ranks of the scoring rank
/// group), from `learners` and, per rank, (node-local rank, ranks on the node, CUDA devices
/// seen): "auto" = on each node the last G ranks, G its CUDA devices (none on CPU-only nodes);
/// a count N = the N highest ranks. Never rank 0 (it schedules and reads): a request that
/// leaves no other rank is cut to what the job has, and `note` says so. Pure.
struct RankView {
    int local_rank = 0, local_size = 1, devices = 0;
};
std::vector<int> learner_ranks(const std::string& learners, const std::vector<RankView>& ranks, std::string& note);
/// @throws ConfigError naming the key.
Params read_params(const config::Config& c, const std::string& run_dir);

/// @brief What model.json says: the model, how stamps are prepared for it, its metadata inputs.
struct ModelCard {
    learn::ModelSpec spec;
    learn::PreprocessSpec pre;
    std::vector<std::string> meta_columns;
    std::vector<double> meta_mean, meta_std;
    int stamp_size = 101;
    std::string text;                    ///< model.json as read
};
ModelCard parse_model_card(const std::string& json_text, const std::string& origin);

/// @brief A model ready to score: logits of a prepared batch (eval mode, no gradients).
class Scorer {
public:
    virtual ~Scorer() = default;
    virtual std::vector<float> logits(const learn::Batch& batch) = 0;
    const ModelCard& card() const { return card_; }
    const std::string& sha256() const { return sha256_; }  ///< of the weights or TorchScript file

protected:
    ModelCard card_;
    std::string sha256_;
};

/// @brief Loads `model` (a directory with model.json + weights.pt, or a TorchScript file) on
/// `device`. @throws Error naming the file.
std::unique_ptr<Scorer> load_scorer(const std::string& model, torch::Device device);

/// @brief model.json of `model` without loading its weights for inference (a TorchScript
/// file is opened on the CPU to read it). @throws Error naming the file.
ModelCard read_model_card(const std::string& model);
/// @brief SHA-256 (hex) of model_file(model): what Scorer::sha256() gives once loaded.
std::string model_sha256(const std::string& model);

/// @brief The model file whose SHA-256 identifies the scores (weights.pt or the TorchScript file).
std::string model_file(const std::string& model);

}  // namespace dhs::stages::score
