// A trained ResNet-18 frozen for CPU inference (scoring): every BatchNorm folded into the
// convolution before it, the convolution weights reordered once into oneDNN's blocked layout,
// and the activations kept in that layout from the first convolution to the pooled features,
// as torch.utils.mkldnn.to_mkldnn and torch.jit.optimize_for_inference do in Python. The same
// logits as the eager model to float rounding (~1e-6), without a BatchNorm pass per layer nor
// a layout conversion per convolution. libtorch only.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "kernels/learn/model.hpp"

namespace dhs::learn {

class FrozenResNet18 {
public:
    /// @brief Whether `model` can be frozen here: a ResNet-18 on the CPU with oneDNN in libtorch.
    static bool available(const ModelSpec& spec, const torch::Device& device);
    /// @brief Freezes a copy of `model`'s parameters and running statistics (the model is left as
    /// it is). @throws std::invalid_argument when not available() or a module is missing.
    FrozenResNet18(ClassifierImpl& model, const ModelSpec& spec);

    /// @brief Logits (N) of x (N, C, H, W) float32 dense on the CPU and meta (N, n_meta) or
    /// undefined. Runs under no-grad.
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& meta) const;

private:
    struct Conv {
        torch::Tensor weight, bias;  ///< weight reordered for oneDNN; bias dense (BatchNorm's shift)
        std::vector<std::int64_t> stride, padding;
        torch::Tensor operator()(const torch::Tensor& x) const;
    };
    struct Block {
        Conv conv1, conv2;
        bool has_downsample = false;
        Conv downsample;
    };
    static Conv fold(ClassifierImpl& model, const std::string& conv, const std::string& bn);

    Conv stem_;
    bool max_pool_;
    std::vector<Block> blocks_;
    torch::Tensor fc_weight_, fc_bias_;
    int n_meta_;
};

}  // namespace dhs::learn
