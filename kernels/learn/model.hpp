// The lens-finder models (SPEC Stage 5), with torchvision's parameter names so that exported
// weights load into torchvision.models.resnet18: ResNet-18 (stems `small_input` and
// `imagenet`, a width factor, optional metadata fusion before the head) and a small plain CNN
// baseline. One logit out. libtorch only.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>

namespace dhs::learn {

struct ModelSpec {
    std::string arch = "resnet18";   ///< "resnet18" or "simple_cnn"
    std::string stem = "small_input";///< resnet18: "small_input" (3x3/1, no max-pool) or "imagenet" (7x7/2 + max-pool)
    int width = 64;                  ///< channels of layer1 (64 = torchvision's); layers 2-4 double it
    int in_channels = 3;
    int n_meta = 0;                  ///< metadata scalars concatenated to the pooled features before fc
};

/// @brief A binary classifier: forward(x (N,C,H,W), meta (N,n_meta) or undefined) -> logits (N).
class ClassifierImpl : public torch::nn::Module {
public:
    virtual torch::Tensor forward(torch::Tensor x, torch::Tensor meta) = 0;
    virtual bool has_batch_norm() const = 0;
};
using Classifier = std::shared_ptr<ClassifierImpl>;

/// @brief Builds the model with deterministic initial weights from `init_seed` (torchvision's
/// initialisation: Kaiming-normal fan_out convolutions, BN weight 1 / bias 0).
/// @throws std::invalid_argument naming the bad field of `spec`.
Classifier make_model(const ModelSpec& spec, std::uint64_t init_seed);

}  // namespace dhs::learn
