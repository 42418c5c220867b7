// One learner of SPEC Stage 5: the learning-rate schedule, the weighted (focal) BCE, and the
// AdamW step with bf16 autocast on CUDA and one flat fp32 gradient buffer handed to a
// caller-supplied average (the data-parallel allreduce). Checkpoints are torch archives and
// exported weights are a pickled dict of tensors with torchvision's names, both as bytes.
#include "kernels/learn/learner.hpp"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <cmath>
#include <algorithm>
#include <cstring>
#include <map>
#include <numbers>
#include <sstream>
#include <stdexcept>

namespace dhs::learn {
namespace {

// bf16 autocast of the CUDA forward pass for one scope; the cast cache is cleared on exit.
// libtorch 2.4 made the autocast switches per device type; earlier releases have GPU-only calls.
class CudaBf16Autocast {
public:
    explicit CudaBf16Autocast(bool on) : on_(on) {
        if (!on_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
        was_enabled_ = at::autocast::is_autocast_enabled(at::kCUDA);
        saved_dtype_ = at::autocast::get_autocast_dtype(at::kCUDA);
        at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
        at::autocast::set_autocast_enabled(at::kCUDA, true);
#else
        was_enabled_ = at::autocast::is_enabled();
        saved_dtype_ = at::autocast::get_autocast_gpu_dtype();
        at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
        at::autocast::set_enabled(true);
#endif
    }
    ~CudaBf16Autocast() {
        if (!on_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
        at::autocast::set_autocast_enabled(at::kCUDA, was_enabled_);
        at::autocast::set_autocast_dtype(at::kCUDA, saved_dtype_);
#else
        at::autocast::set_enabled(was_enabled_);
        at::autocast::set_autocast_gpu_dtype(saved_dtype_);
#endif
        at::autocast::clear_cache();
    }
    CudaBf16Autocast(const CudaBf16Autocast&) = delete;
    CudaBf16Autocast& operator=(const CudaBf16Autocast&) = delete;

private:
    bool on_;
    bool was_enabled_ = false;
    at::ScalarType saved_dtype_ = at::kBFloat16;
};

[[noreturn]] void bad_batch(const std::string& what) { throw std::invalid_argument("Batch: " + what); }

// A host float vector as a (shape) tensor on `device` (a copy: the batch may be reused).
torch::Tensor host_tensor(const std::vector<float>& v, torch::IntArrayRef shape, const torch::Device& device) {
    auto t = torch::from_blob(const_cast<float*>(v.data()), shape, torch::kFloat32);
    return device.is_cpu() ? t.clone() : t.to(device);
}

struct BatchTensors {
    torch::Tensor x, meta, target, weight;
};

BatchTensors to_tensors(const Batch& b, int model_meta, const torch::Device& device) {
    const auto n = static_cast<std::size_t>(b.n);
    if (b.n < 1) bad_batch("n must be >= 1");
    if (b.x.size() != n * b.c * b.h * b.w) bad_batch("x must hold n*c*h*w floats");
    if (b.n_meta != model_meta) bad_batch("n_meta " + std::to_string(b.n_meta) + " != the model's " + std::to_string(model_meta));
    if (b.meta.size() != n * b.n_meta) bad_batch("meta must hold n*n_meta floats");
    BatchTensors t;
    t.x = host_tensor(b.x, {b.n, b.c, b.h, b.w}, device);
    if (b.n_meta > 0) t.meta = host_tensor(b.meta, {b.n, b.n_meta}, device);
    if (!b.target.empty()) {
        if (b.target.size() != n) bad_batch("target must hold n floats");
        t.target = host_tensor(b.target, {b.n}, device);
    }
    if (b.weight.empty())
        t.weight = torch::ones({b.n}, torch::TensorOptions().dtype(torch::kFloat32).device(device));
    else if (b.weight.size() != n)
        bad_batch("weight must hold n floats (or none: all 1)");
    else
        t.weight = host_tensor(b.weight, {b.n}, device);
    return t;
}

// The tensors concatenated into one flat fp32 host vector (`out` is resized).
void flatten_to_host(const std::vector<torch::Tensor>& tensors, std::vector<float>& out) {
    std::vector<torch::Tensor> flat;
    flat.reserve(tensors.size());
    for (const auto& t : tensors) flat.push_back(t.detach().reshape({-1}).to(torch::kFloat32));
    const auto all = flat.empty() ? torch::empty({0}) : torch::cat(flat).to(torch::kCPU).contiguous();
    out.resize(static_cast<std::size_t>(all.numel()));
    if (!out.empty()) std::memcpy(out.data(), all.data_ptr<float>(), out.size() * sizeof(float));
}

// Copies a flat host vector back into the tensors, in order (sizes must match exactly).
void unflatten_from_host(std::span<const float> flat, std::vector<torch::Tensor>& tensors, const char* what) {
    std::int64_t total = 0;
    for (const auto& t : tensors) total += t.numel();
    if (static_cast<std::int64_t>(flat.size()) != total)
        throw std::invalid_argument(std::string(what) + ": " + std::to_string(flat.size()) + " floats, expected " +
                                    std::to_string(total));
    if (tensors.empty()) return;
    torch::NoGradGuard no_grad;
    auto all = torch::from_blob(const_cast<float*>(flat.data()), {total}, torch::kFloat32);
    all = all.to(tensors.front().device());
    std::int64_t off = 0;
    for (auto& t : tensors) {
        t.copy_(all.slice(0, off, off + t.numel()).view(t.sizes()));
        off += t.numel();
    }
}

std::vector<torch::Tensor> bn_statistics(const torch::nn::Module& model) {
    std::vector<torch::Tensor> stats;
    for (const auto& item : model.named_buffers()) {
        const auto& name = item.key();
        const auto ends_with = [&](const std::string& s) {
            return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
        };
        if (ends_with("running_mean") || ends_with("running_var")) stats.push_back(item.value());
    }
    return stats;
}

// The model's state in PyTorch's state_dict order: per module, its own parameters then its own
// buffers, modules in depth-first order.
std::vector<std::pair<std::string, torch::Tensor>> state_dict(const torch::nn::Module& model) {
    std::vector<std::pair<std::string, torch::Tensor>> items;
    for (const auto& m : model.named_modules()) {
        const std::string prefix = m.key().empty() ? "" : m.key() + ".";
        for (const auto& p : m.value()->named_parameters(false)) items.emplace_back(prefix + p.key(), p.value());
        for (const auto& b : m.value()->named_buffers(false)) items.emplace_back(prefix + b.key(), b.value());
    }
    return items;
}

}  // namespace

double lr_at(const OptimSpec& spec, std::int64_t step) {
    if (step < spec.warmup_steps) return spec.lr * static_cast<double>(step + 1) / static_cast<double>(spec.warmup_steps);
    const double span = static_cast<double>(std::max<std::int64_t>(1, spec.total_steps - spec.warmup_steps));
    const double t = std::clamp(static_cast<double>(step - spec.warmup_steps) / span, 0.0, 1.0);
    const double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * t));
    return spec.lr * (spec.min_lr_fraction + (1.0 - spec.min_lr_fraction) * cosine);
}

torch::Tensor weighted_bce(const torch::Tensor& logits, const torch::Tensor& target, const torch::Tensor& weight,
                           const LossSpec& spec) {
    const auto x = logits.to(torch::kFloat32), t = target.to(torch::kFloat32), w = weight.to(torch::kFloat32);
    // max(x, 0) - x t + log(1 + exp(-|x|)): stable for any logit.
    auto loss = torch::binary_cross_entropy_with_logits(x, t, {}, {}, at::Reduction::None);
    if (spec.focal_gamma > 0.0) {
        const auto p = torch::sigmoid(x);
        const auto p_t = p * t + (1 - p) * (1 - t);
        loss = loss * torch::pow((1 - p_t).clamp_min(0.0), spec.focal_gamma);
    }
    return (w * loss).sum() / static_cast<double>(x.size(0));
}

Learner::Learner(const ModelSpec& model, const OptimSpec& optim, const LossSpec& loss, torch::Device device,
                 std::uint64_t init_seed)
    : model_spec_(model), optim_spec_(optim), loss_spec_(loss), device_(device), model_(make_model(model, init_seed)) {
    model_->to(device_);
    optimizer_ = std::make_unique<torch::optim::AdamW>(
        model_->parameters(), torch::optim::AdamWOptions(optim.lr)
                                  .betas(std::make_tuple(optim.beta1, optim.beta2))
                                  .eps(optim.eps)
                                  .weight_decay(optim.weight_decay));
}

double Learner::compute_gradients(const Batch& batch) {
    if (batch.target.empty()) bad_batch("training needs targets");
    const auto t = to_tensors(batch, model_spec_.n_meta, device_);
    model_->train();
    optimizer_->zero_grad();
    torch::Tensor logits;
    {
        CudaBf16Autocast autocast(device_.is_cuda() && bf16_autocast_);
        logits = model_->forward(t.x, t.meta);
    }
    auto loss = weighted_bce(logits, t.target, t.weight, loss_spec_);
    loss.backward();
    return loss.item<double>();
}

std::vector<float> Learner::flat_gradients() {
    std::vector<torch::Tensor> grads;
    for (auto& p : model_->parameters()) {
        if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
        grads.push_back(p.grad());
    }
    std::vector<float> flat;
    flatten_to_host(grads, flat);
    return flat;
}

void Learner::set_flat_gradients(std::span<const float> flat) {
    std::vector<torch::Tensor> grads;
    for (auto& p : model_->parameters()) {
        if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
        grads.push_back(p.grad());
    }
    unflatten_from_host(flat, grads, "set_flat_gradients");
}

void Learner::apply_gradients() {
    const double lr = lr_at(optim_spec_, step_);
    for (auto& group : optimizer_->param_groups())
        static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    optimizer_->step();
    ++step_;
}

double Learner::train_step(const Batch& batch, const AverageFn& average) {
    const double loss = compute_gradients(batch);
    if (average) {
        grad_buffer_ = flat_gradients();
        average(std::span<float>(grad_buffer_));
        set_flat_gradients(grad_buffer_);
    }
    apply_gradients();
    return loss;
}

std::vector<float> Learner::predict(const Batch& batch) {
    const auto t = to_tensors(batch, model_spec_.n_meta, device_);
    model_->eval();
    torch::NoGradGuard no_grad;
    const auto logits = model_->forward(t.x, t.meta).to(torch::kCPU, torch::kFloat32).contiguous();
    return {logits.data_ptr<float>(), logits.data_ptr<float>() + logits.numel()};
}

std::vector<float> Learner::flat_parameters() const {
    std::vector<float> flat;
    flatten_to_host(model_->parameters(), flat);
    return flat;
}

void Learner::set_flat_parameters(std::span<const float> flat) {
    auto params = model_->parameters();
    unflatten_from_host(flat, params, "set_flat_parameters");
}

std::vector<float> Learner::flat_bn_statistics() const {
    std::vector<float> flat;
    flatten_to_host(bn_statistics(*model_), flat);
    return flat;
}

void Learner::set_flat_bn_statistics(std::span<const float> flat) {
    auto stats = bn_statistics(*model_);
    unflatten_from_host(flat, stats, "set_flat_bn_statistics");
}

std::string Learner::checkpoint_bytes() const {
    torch::serialize::OutputArchive archive;
    torch::serialize::OutputArchive model_archive, optim_archive;
    model_->save(model_archive);
    optimizer_->save(optim_archive);
    archive.write("model", model_archive);
    archive.write("optimizer", optim_archive);
    archive.write("step", torch::tensor(step_, torch::kInt64));
    std::ostringstream out;
    archive.save_to(out);
    return out.str();
}

void Learner::load_checkpoint_bytes(const std::string& bytes) {
    std::istringstream in(bytes);
    torch::serialize::InputArchive archive, model_archive, optim_archive;
    archive.load_from(in, device_);
    archive.read("model", model_archive);
    archive.read("optimizer", optim_archive);
    model_->load(model_archive);
    optimizer_->load(optim_archive);
    torch::Tensor step;
    archive.read("step", step);
    step_ = step.item<std::int64_t>();
}

std::vector<char> Learner::weights_pt() const {
    c10::Dict<std::string, at::Tensor> dict;
    for (const auto& [name, tensor] : state_dict(*model_)) dict.insert(name, tensor.detach().to(torch::kCPU).contiguous());
    return torch::pickle_save(dict);
}

void Learner::load_weights_pt(const std::vector<char>& bytes) {
    torch::IValue value;
    try {
        value = torch::pickle_load(bytes);
    } catch (const c10::Error& e) {
        throw std::runtime_error(std::string("load_weights_pt: cannot unpickle the weights (from Python, save a plain "
                                             "dict: torch.save(dict(model.state_dict()), path)): ") +
                                 e.what_without_backtrace());
    }
    if (!value.isGenericDict()) throw std::runtime_error("load_weights_pt: the file does not hold a dict of tensors");
    std::map<std::string, torch::Tensor> loaded;
    for (const auto& entry : value.toGenericDict()) {
        if (!entry.key().isString() || !entry.value().isTensor())
            throw std::runtime_error("load_weights_pt: the dict must map names to tensors");
        loaded.emplace(entry.key().toStringRef(), entry.value().toTensor());
    }
    torch::NoGradGuard no_grad;
    for (auto& [name, tensor] : state_dict(*model_)) {
        const auto it = loaded.find(name);
        if (it == loaded.end()) throw std::runtime_error("load_weights_pt: missing tensor '" + name + "'");
        if (it->second.sizes() != tensor.sizes())
            throw std::runtime_error("load_weights_pt: tensor '" + name + "' has the wrong shape");
        tensor.copy_(it->second);
        loaded.erase(it);
    }
    if (!loaded.empty()) throw std::runtime_error("load_weights_pt: unexpected tensor '" + loaded.begin()->first + "'");
}

torch::Device choose_device(const std::string& request, int local_rank) {
    if (request == "cpu") return torch::kCPU;
    if (request == "cuda" || request == "auto") {
        if (!cuda_available()) {
            if (request == "auto") return torch::kCPU;
            throw std::runtime_error("device 'cuda' requested but this libtorch sees no CUDA device");
        }
        const auto count = static_cast<int>(torch::cuda::device_count());
        return {torch::kCUDA, static_cast<c10::DeviceIndex>(((local_rank % count) + count) % count)};
    }
    throw std::runtime_error("unknown device '" + request + "' (cuda, cpu or auto)");
}

bool cuda_available() { return torch::cuda::is_available() && torch::cuda::device_count() > 0; }

}  // namespace dhs::learn
