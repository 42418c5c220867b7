// FrozenResNet18 (see frozen_resnet.hpp): the eager ResNet-18's modules looked up by their
// torchvision names, folded and reordered once; forward in oneDNN's layout.
#include "kernels/learn/frozen_resnet.hpp"

#include <ATen/Context.h>

#include <stdexcept>
#include <string>

namespace dhs::learn {

namespace {

template <class Impl>
Impl& module_at(ClassifierImpl& model, const std::string& name) {
    const auto modules = model.named_modules();
    const auto* found = modules.find(name);
    if (found == nullptr || (*found)->as<Impl>() == nullptr)
        throw std::invalid_argument("FrozenResNet18: the model has no module '" + name + "' of the expected kind");
    return *(*found)->as<Impl>();
}

std::vector<std::int64_t> pair_of(torch::ExpandingArray<2> a) { return {(*a)[0], (*a)[1]}; }

}  // namespace

bool FrozenResNet18::available(const ModelSpec& spec, const torch::Device& device) {
    return spec.arch == "resnet18" && device.is_cpu() && at::hasMKLDNN();
}

// w' = w s, b' = beta - mean s, s = gamma / sqrt(var + eps) (torch.nn.utils.fusion's
// fuse_conv_bn_eval); w' reordered as torch.utils.mkldnn's MkldnnConv2d does.
FrozenResNet18::Conv FrozenResNet18::fold(ClassifierImpl& model, const std::string& conv, const std::string& bn) {
    torch::NoGradGuard no_grad;
    const auto& c = module_at<torch::nn::Conv2dImpl>(model, conv);
    const auto& b = module_at<torch::nn::BatchNorm2dImpl>(model, bn);
    const auto s = b.weight / torch::sqrt(b.running_var + b.options.eps());
    auto bias = b.bias - b.running_mean * s;
    if (c.bias.defined()) bias = bias + c.bias * s;
    Conv out;
    out.stride = pair_of(c.options.stride());
    // ResNet's convolutions pad by half the kernel (7x7: 3, 3x3: 1, 1x1: 0), as model.cpp builds them.
    out.padding = {c.weight.size(2) / 2, c.weight.size(3) / 2};
    const auto weight = (c.weight * s.reshape({-1, 1, 1, 1})).contiguous();
    out.weight = at::mkldnn_reorder_conv2d_weight(weight.to_mkldnn(), out.padding, out.stride, {1, 1}, 1);
    out.bias = bias.contiguous();
    return out;
}

torch::Tensor FrozenResNet18::Conv::operator()(const torch::Tensor& x) const {
    return at::mkldnn_convolution(x, weight, bias, padding, stride, {1, 1}, 1);
}

FrozenResNet18::FrozenResNet18(ClassifierImpl& model, const ModelSpec& spec)
    : max_pool_(spec.stem == "imagenet"), n_meta_(spec.n_meta) {
    if (!available(spec, torch::kCPU)) throw std::invalid_argument("FrozenResNet18: needs a resnet18 and oneDNN");
    stem_ = fold(model, "conv1", "bn1");
    for (int layer = 1; layer <= 4; ++layer)
        for (int k = 0; k < 2; ++k) {
            const std::string p = "layer" + std::to_string(layer) + "." + std::to_string(k) + ".";
            Block blk;
            blk.conv1 = fold(model, p + "conv1", p + "bn1");
            blk.conv2 = fold(model, p + "conv2", p + "bn2");
            if (model.named_modules().find(p + "downsample") != nullptr) {
                blk.has_downsample = true;
                blk.downsample = fold(model, p + "downsample.0", p + "downsample.1");
            }
            blocks_.push_back(std::move(blk));
        }
    torch::NoGradGuard no_grad;
    const auto& fc = module_at<torch::nn::LinearImpl>(model, "fc");
    fc_weight_ = fc.weight.detach().clone();
    fc_bias_ = fc.bias.detach().clone();
}

torch::Tensor FrozenResNet18::forward(const torch::Tensor& x, const torch::Tensor& meta) const {
    torch::NoGradGuard no_grad;
    auto y = stem_(x.to_mkldnn());
    y.relu_();
    if (max_pool_) y = torch::max_pool2d(y, 3, 2, 1);
    for (const auto& b : blocks_) {
        auto z = b.conv1(y);
        z.relu_();
        z = b.conv2(z);
        z.add_(b.has_downsample ? b.downsample(y) : y);
        y = z.relu_();
    }
    auto features = torch::flatten(torch::adaptive_avg_pool2d(y, {1, 1}).to_dense(), 1);
    if (n_meta_ > 0) {
        if (!meta.defined() || meta.dim() != 2 || meta.size(0) != features.size(0) || meta.size(1) != n_meta_)
            throw std::invalid_argument("model forward: meta must be (N, " + std::to_string(n_meta_) + ")");
        features = torch::cat({features, meta.to(features.dtype())}, 1);
    }
    return torch::linear(features, fc_weight_, fc_bias_).squeeze(-1);
}

}  // namespace dhs::learn
