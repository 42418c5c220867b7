// The lens-finder models of SPEC Stage 5 as torch::nn::Modules registered under torchvision's
// names (conv1, bn1, layer1..layer4 of BasicBlocks with downsample, fc), so a state dict moves
// between dhs and torchvision.models.resnet18(num_classes=1) unchanged; and a small plain CNN
// baseline without BatchNorm. Initial weights are torchvision's scheme, seeded per model.
#include "kernels/learn/model.hpp"

#include <mutex>
#include <stdexcept>
#include <string>

namespace dhs::learn {
namespace {

namespace nn = torch::nn;

nn::Conv2d conv(int in, int out, int kernel, int stride, int padding, bool bias) {
    return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(bias));
}

// torchvision's BasicBlock: conv3x3(stride)-bn-relu-conv3x3-bn, plus the identity or a 1x1
// conv-bn `downsample` when the stride or the channel count changes; relu after the sum.
class BasicBlockImpl : public nn::Module {
public:
    BasicBlockImpl(int in, int out, int stride)
        : conv1_(register_module("conv1", conv(in, out, 3, stride, 1, false))),
          bn1_(register_module("bn1", nn::BatchNorm2d(out))),
          conv2_(register_module("conv2", conv(out, out, 3, 1, 1, false))),
          bn2_(register_module("bn2", nn::BatchNorm2d(out))) {
        if (stride != 1 || in != out)
            downsample_ = register_module("downsample", nn::Sequential(conv(in, out, 1, stride, 0, false),
                                                                       nn::BatchNorm2d(out)));
    }

    // In-place ReLU and sum, as torchvision's (ReLU(inplace=True), out += identity): the same
    // values with a third less memory traffic.
    torch::Tensor forward(const torch::Tensor& x) {
        auto y = bn1_(conv1_(x));
        y.relu_();
        y = bn2_(conv2_(y));
        y += downsample_ ? downsample_->forward(x) : x;
        return y.relu_();
    }

private:
    nn::Conv2d conv1_;
    nn::BatchNorm2d bn1_;
    nn::Conv2d conv2_;
    nn::BatchNorm2d bn2_;
    nn::Sequential downsample_{nullptr};
};
TORCH_MODULE(BasicBlock);

nn::Sequential resnet_layer(int in, int out, int stride) {
    return nn::Sequential(BasicBlock(in, out, stride), BasicBlock(out, out, 1));
}

// Pooled features (N, F) with the metadata (N, n_meta) appended when the model has any.
torch::Tensor fuse_meta(const torch::Tensor& features, const torch::Tensor& meta, int n_meta) {
    if (n_meta == 0) return features;
    if (!meta.defined() || meta.dim() != 2 || meta.size(0) != features.size(0) || meta.size(1) != n_meta)
        throw std::invalid_argument("model forward: meta must be (N, " + std::to_string(n_meta) + ")");
    return torch::cat({features, meta.to(features.dtype())}, 1);
}

// ResNet-18 (He et al. 2016) in torchvision's layout, width w: channels w, 2w, 4w, 8w.
class ResNet18Impl : public ClassifierImpl {
public:
    explicit ResNet18Impl(const ModelSpec& spec) : imagenet_stem_(spec.stem == "imagenet"), n_meta_(spec.n_meta) {
        const int w = spec.width;
        conv1_ = register_module("conv1", imagenet_stem_ ? conv(spec.in_channels, w, 7, 2, 3, false)
                                                         : conv(spec.in_channels, w, 3, 1, 1, false));
        bn1_ = register_module("bn1", nn::BatchNorm2d(w));
        layer1_ = register_module("layer1", resnet_layer(w, w, 1));
        layer2_ = register_module("layer2", resnet_layer(w, 2 * w, 2));
        layer3_ = register_module("layer3", resnet_layer(2 * w, 4 * w, 2));
        layer4_ = register_module("layer4", resnet_layer(4 * w, 8 * w, 2));
        fc_ = register_module("fc", nn::Linear(8 * w + n_meta_, 1));
    }

    torch::Tensor forward(torch::Tensor x, torch::Tensor meta) override {
        x = bn1_(conv1_(x));
        x.relu_();
        if (imagenet_stem_) x = torch::max_pool2d(x, 3, 2, 1);
        x = layer4_->forward(layer3_->forward(layer2_->forward(layer1_->forward(x))));
        x = torch::flatten(torch::adaptive_avg_pool2d(x, {1, 1}), 1);
        return fc_(fuse_meta(x, meta, n_meta_)).squeeze(-1);
    }
    bool has_batch_norm() const override { return true; }

private:
    bool imagenet_stem_;
    int n_meta_;
    nn::Conv2d conv1_{nullptr};
    nn::BatchNorm2d bn1_{nullptr};
    nn::Sequential layer1_{nullptr}, layer2_{nullptr}, layer3_{nullptr}, layer4_{nullptr};
    nn::Linear fc_{nullptr};
};

// A plain baseline: three conv3x3-relu-maxpool2 blocks of max(1, w/4), max(1, w/2), w channels,
// global average pool, fc. No BatchNorm (its steps are exactly data-parallel).
class SimpleCnnImpl : public ClassifierImpl {
public:
    explicit SimpleCnnImpl(const ModelSpec& spec) : n_meta_(spec.n_meta) {
        const int c1 = std::max(1, spec.width / 4), c2 = std::max(1, spec.width / 2), c3 = spec.width;
        features_ = register_module(
            "features", nn::Sequential(conv(spec.in_channels, c1, 3, 1, 1, true), nn::ReLU(), nn::MaxPool2d(2),
                                       conv(c1, c2, 3, 1, 1, true), nn::ReLU(), nn::MaxPool2d(2),
                                       conv(c2, c3, 3, 1, 1, true), nn::ReLU(), nn::MaxPool2d(2)));
        fc_ = register_module("fc", nn::Linear(c3 + n_meta_, 1));
    }

    torch::Tensor forward(torch::Tensor x, torch::Tensor meta) override {
        x = torch::flatten(torch::adaptive_avg_pool2d(features_->forward(x), {1, 1}), 1);
        return fc_(fuse_meta(x, meta, n_meta_)).squeeze(-1);
    }
    bool has_batch_norm() const override { return false; }

private:
    int n_meta_;
    nn::Sequential features_{nullptr};
    nn::Linear fc_{nullptr};
};

void check_spec(const ModelSpec& spec) {
    const auto bad = [](const std::string& field, const std::string& why) {
        throw std::invalid_argument("ModelSpec." + field + " " + why);
    };
    if (spec.arch != "resnet18" && spec.arch != "simple_cnn")
        bad("arch", "'" + spec.arch + "' is unknown (resnet18, simple_cnn)");
    if (spec.stem != "small_input" && spec.stem != "imagenet")
        bad("stem", "'" + spec.stem + "' is unknown (small_input, imagenet)");
    if (spec.width < 1) bad("width", "must be >= 1, got " + std::to_string(spec.width));
    if (spec.in_channels < 1) bad("in_channels", "must be >= 1, got " + std::to_string(spec.in_channels));
    if (spec.n_meta < 0) bad("n_meta", "must be >= 0, got " + std::to_string(spec.n_meta));
}

// torchvision's initialisation: Kaiming-normal (fan_out, relu) convolutions, BatchNorm weight 1
// and bias 0; Linear layers keep their default (PyTorch's) initialisation.
void init_like_torchvision(nn::Module& model) {
    torch::NoGradGuard no_grad;
    for (auto& m : model.modules(/*include_self=*/false)) {
        if (auto* c = m->as<nn::Conv2d>()) {
            nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
            if (c->bias.defined()) c->bias.zero_();
        } else if (auto* b = m->as<nn::BatchNorm2d>()) {
            b->weight.fill_(1.0);
            b->bias.zero_();
        }
    }
}

}  // namespace

Classifier make_model(const ModelSpec& spec, std::uint64_t init_seed) {
    check_spec(spec);
    // Seed the default CPU generator for construction and initialisation, then put its state
    // back, so building a model leaves the caller's random stream as it was.
    static std::mutex build_mutex;
    std::lock_guard<std::mutex> build_lock(build_mutex);
    auto gen = at::detail::getDefaultCPUGenerator();
    torch::Tensor saved;
    {
        std::lock_guard<std::mutex> lock(gen.mutex());
        saved = gen.get_state();
        gen.set_current_seed(init_seed);
    }
    Classifier model;
    if (spec.arch == "resnet18")
        model = std::make_shared<ResNet18Impl>(spec);
    else
        model = std::make_shared<SimpleCnnImpl>(spec);
    init_like_torchvision(*model);
    {
        std::lock_guard<std::mutex> lock(gen.mutex());
        gen.set_state(saved);
    }
    return model;
}

}  // namespace dhs::learn
