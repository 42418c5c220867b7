// One learner's training state and step (SPEC Stage 5): the model, AdamW with a warm-up +
// cosine schedule, weighted BCE (label smoothing and focal options), bf16 autocast on CUDA,
// and the flat fp32 buffers data-parallel training exchanges (gradients, initial weights,
// BatchNorm statistics) through a caller-supplied collective, so this file knows no MPI.
// Checkpoints and weights are returned as bytes; the caller writes files.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kernels/learn/model.hpp"

namespace dhs::learn {

struct OptimSpec {
    double lr = 3e-4;
    double weight_decay = 1e-2;
    double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    std::int64_t warmup_steps = 0;   ///< linear warm-up from lr/warmup_steps to lr
    std::int64_t total_steps = 1;    ///< then cosine from lr down to lr * min_lr_fraction at total_steps
    double min_lr_fraction = 0.0;
};
/// @brief The learning rate of optimiser step `step` (0-based).
double lr_at(const OptimSpec& spec, std::int64_t step);

struct LossSpec {
    double focal_gamma = 0.0;        ///< 0: plain BCE; > 0: focal loss (1 - p_t)^gamma BCE
};

/// @brief One batch, host memory, row-major: x (n, c, h, w), meta (n, n_meta), target in
/// [0, 1] (label smoothing already applied by the caller), weight per sample.
struct Batch {
    std::int64_t n = 0;
    int c = 3, h = 64, w = 64, n_meta = 0;
    std::vector<float> x, meta, target, weight;
};

/// @brief Loss of a batch: sum_i w_i l_i / n (so the mean of k learners' losses over batches of
/// n equals the loss of one batch of k n: data-parallel steps match single-learner steps).
torch::Tensor weighted_bce(const torch::Tensor& logits, const torch::Tensor& target, const torch::Tensor& weight,
                           const LossSpec& spec);

/// @brief Averages a flat fp32 buffer over the learners in place (an allreduce / size).
using AverageFn = std::function<void(std::span<float>)>;

class Learner {
public:
    Learner(const ModelSpec& model, const OptimSpec& optim, const LossSpec& loss, torch::Device device,
            std::uint64_t init_seed);

    /// @brief One optimiser step: forward (bf16 autocast on CUDA), loss, backward, gradients
    /// averaged through `average` (skipped when null), AdamW step at lr_at(step()). @returns the loss.
    double train_step(const Batch& batch, const AverageFn& average);
    /// @brief The parts of train_step, for callers that exchange gradients themselves:
    /// compute_gradients runs forward, loss and backward (train mode) and @returns the loss;
    /// flat_gradients / set_flat_gradients copy the gradients (parameter order, fp32) out and
    /// back; apply_gradients makes the AdamW step at lr_at(step()) and advances step().
    double compute_gradients(const Batch& batch);
    std::vector<float> flat_gradients();
    void set_flat_gradients(std::span<const float> flat);
    void apply_gradients();
    /// @brief bf16 autocast of the forward pass on CUDA (on by default; CPU always runs fp32).
    void set_bf16_autocast(bool enabled) { bf16_autocast_ = enabled; }

    /// @brief Logits of a batch in eval mode (no gradients, fp32).
    std::vector<float> predict(const Batch& batch);

    /// @brief All parameters as one flat fp32 vector, and back (broadcast of initial weights).
    std::vector<float> flat_parameters() const;
    void set_flat_parameters(std::span<const float> flat);
    /// @brief BatchNorm running means and variances as one flat vector, and back (averaged
    /// over the learners before validation and checkpoints). Empty without BatchNorm.
    std::vector<float> flat_bn_statistics() const;
    void set_flat_bn_statistics(std::span<const float> flat);

    std::int64_t step() const { return step_; }
    Classifier& model() { return model_; }
    torch::Device device() const { return device_; }

    /// @brief Model, optimiser state and step as bytes (torch archive); load restores them bit for bit.
    std::string checkpoint_bytes() const;
    void load_checkpoint_bytes(const std::string& bytes);
    /// @brief The model's state dict (parameters and buffers, torchvision names) pickled as
    /// torch.save does: Python's torch.load gives a dict of tensors.
    std::vector<char> weights_pt() const;
    /// @brief Loads a dict of tensors made by weights_pt() or by Python's
    /// torch.save(dict(model.state_dict()), path): a plain dict, since libtorch 1.13's unpickler
    /// rejects the OrderedDict (with its _metadata) that state_dict() returns. Names and shapes
    /// must match the model exactly. @throws std::runtime_error naming the first mismatch.
    void load_weights_pt(const std::vector<char>& bytes);

private:
    ModelSpec model_spec_;
    OptimSpec optim_spec_;
    LossSpec loss_spec_;
    torch::Device device_;
    Classifier model_;
    std::unique_ptr<torch::optim::AdamW> optimizer_;
    std::int64_t step_ = 0;
    bool bf16_autocast_ = true;
    std::vector<float> grad_buffer_;  ///< the flat gradients handed to `average`
};

/// @brief Chooses the device: "cuda" (error without one), "cpu", or "auto" (CUDA device
/// `local_rank % count` when CUDA is available, else CPU). @throws std::runtime_error.
torch::Device choose_device(const std::string& request, int local_rank);

/// @brief True when this libtorch build sees a CUDA device.
bool cuda_available();

}  // namespace dhs::learn
