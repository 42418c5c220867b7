// Tests of kernels/learn/model and the weights interop of kernels/learn/learner: ResNet-18's
// parameter count and names against torchvision, spec validation, deterministic seeding, and
// the documented Python path: weights_pt() opened by torch.load, strictly loaded into
// torchvision.models.resnet18(num_classes=1) (both stems), the same logits as predict(); and a
// state dict saved by Python's torch.save loaded back by load_weights_pt().
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/learn/frozen_resnet.hpp"
#include "kernels/learn/learner.hpp"
#include "tests/support/python_support.hpp"
#include "tests/support/test_support.hpp"

namespace {

using dhs::learn::ModelSpec;

std::int64_t parameter_count(const dhs::learn::Classifier& model) {
    std::int64_t n = 0;
    for (const auto& p : model->parameters()) n += p.numel();
    return n;
}

ModelSpec resnet(const std::string& stem, int width = 64, int n_meta = 0) {
    ModelSpec spec;
    spec.arch = "resnet18";
    spec.stem = stem;
    spec.width = width;
    spec.n_meta = n_meta;
    return spec;
}

TEST(LearnModel, ResNet18HasTorchvisionsParameterCountAndNames) {
    // torchvision.models.resnet18(num_classes=1): 11,177,025 parameters.
    EXPECT_EQ(parameter_count(dhs::learn::make_model(resnet("imagenet"), 1)), 11177025);
    // The small_input stem swaps the 7x7 conv1 (9408 weights) for a 3x3 one (1728).
    EXPECT_EQ(parameter_count(dhs::learn::make_model(resnet("small_input"), 1)), 11177025 - 9408 + 1728);
    // Metadata fusion widens fc only.
    EXPECT_EQ(parameter_count(dhs::learn::make_model(resnet("imagenet", 64, 3), 1)), 11177025 + 3);

    const auto model = dhs::learn::make_model(resnet("imagenet"), 1);
    std::vector<std::string> names;
    for (const auto& p : model->named_parameters()) names.push_back(p.key());
    ASSERT_EQ(names.size(), 62u);
    EXPECT_EQ(names.front(), "conv1.weight");
    EXPECT_EQ(names[1], "bn1.weight");
    EXPECT_EQ(names.back(), "fc.bias");
    const auto buffers = model->named_buffers();
    EXPECT_TRUE(buffers.contains("layer2.0.downsample.1.running_var"));
    EXPECT_TRUE(buffers.contains("layer4.1.bn2.num_batches_tracked"));
    EXPECT_EQ(buffers["bn1.num_batches_tracked"].scalar_type(), torch::kInt64);
    EXPECT_FALSE(buffers.contains("layer1.0.downsample.0.weight"));
    EXPECT_TRUE(model->has_batch_norm());
}

TEST(LearnModel, ForwardGivesOneLogitPerStamp) {
    torch::NoGradGuard no_grad;
    for (const char* stem : {"small_input", "imagenet"}) {
        auto model = dhs::learn::make_model(resnet(stem, 8, 2), 3);
        model->eval();
        const auto y = model->forward(torch::randn({5, 3, 64, 64}), torch::randn({5, 2}));
        EXPECT_EQ(y.sizes(), torch::IntArrayRef({5})) << stem;
        EXPECT_THROW(model->forward(torch::randn({5, 3, 64, 64}), torch::Tensor()), std::invalid_argument);
    }
    ModelSpec cnn;
    cnn.arch = "simple_cnn";
    cnn.width = 16;
    auto model = dhs::learn::make_model(cnn, 3);
    EXPECT_FALSE(model->has_batch_norm());
    EXPECT_TRUE(model->named_buffers().is_empty());
    EXPECT_EQ(model->forward(torch::randn({4, 3, 64, 64}), {}).sizes(), torch::IntArrayRef({4}));
}

// The frozen CPU copy (BatchNorm folded, oneDNN layout) gives the eager model's logits to float
// rounding, for both stems, with metadata and non-trivial running statistics and affines; the
// eager model is left as it was.
TEST(LearnModel, FrozenResNet18GivesTheEagerLogits) {
    if (!dhs::learn::FrozenResNet18::available(resnet("imagenet"), torch::kCPU)) GTEST_SKIP() << "no oneDNN";
    torch::NoGradGuard no_grad;
    for (const char* stem : {"small_input", "imagenet"}) {
        const ModelSpec spec = resnet(stem, 16, 2);
        auto model = dhs::learn::make_model(spec, 5);
        torch::manual_seed(9);
        for (auto& m : model->modules(false))
            if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
                bn->running_mean.copy_(0.2 * torch::randn_like(bn->running_mean));
                bn->running_var.copy_(0.5 + torch::rand_like(bn->running_var));
                bn->weight.copy_(1 + 0.3 * torch::randn_like(bn->weight));
                bn->bias.copy_(0.1 * torch::randn_like(bn->bias));
            }
        model->eval();
        const auto x = torch::randn({6, 3, 64, 64}), meta = torch::randn({6, 2});
        const auto eager = model->forward(x, meta);
        const dhs::learn::FrozenResNet18 frozen(*model, spec);
        const auto y = frozen.forward(x, meta);
        ASSERT_EQ(y.sizes(), eager.sizes());
        const double scale = 1 + eager.abs().max().item<double>();
        EXPECT_LT((y - eager).abs().max().item<double>(), 1e-4 * scale) << stem;
        EXPECT_TRUE(torch::equal(model->forward(x, meta), eager)) << stem;  // the eager model is untouched
        EXPECT_THROW(frozen.forward(x, torch::Tensor()), std::invalid_argument);
    }
    EXPECT_FALSE(dhs::learn::FrozenResNet18::available(resnet("imagenet"), torch::Device("cuda")));
    ModelSpec cnn;
    cnn.arch = "simple_cnn";
    EXPECT_FALSE(dhs::learn::FrozenResNet18::available(cnn, torch::kCPU));
}

TEST(LearnModel, InitialWeightsDependOnTheSeedOnly) {
    const auto flat = [](const dhs::learn::Classifier& m) {
        std::vector<torch::Tensor> ps;
        for (const auto& p : m->parameters()) ps.push_back(p.detach().reshape({-1}));
        return torch::cat(ps);
    };
    torch::manual_seed(123);
    const auto before = torch::rand({4});
    torch::manual_seed(123);
    const auto a = flat(dhs::learn::make_model(resnet("small_input", 8), 5));
    const auto after = torch::rand({4});
    EXPECT_TRUE(torch::equal(before, after)) << "make_model must leave the global generator as it was";
    const auto b = flat(dhs::learn::make_model(resnet("small_input", 8), 5));
    const auto c = flat(dhs::learn::make_model(resnet("small_input", 8), 6));
    EXPECT_TRUE(torch::equal(a, b));
    EXPECT_FALSE(torch::equal(a, c));
    // torchvision's scheme: conv weights Kaiming-normal fan_out (std sqrt(2 / (9 * 8)) for a
    // 3x3 conv of 8 outputs), BatchNorm weight 1.
    const auto model = dhs::learn::make_model(resnet("small_input", 64), 5);
    const auto params = model->named_parameters();
    EXPECT_NEAR(params["layer1.0.conv1.weight"].std().item<double>(), std::sqrt(2.0 / (9 * 64)), 0.002);
    EXPECT_TRUE(torch::equal(params["bn1.weight"], torch::ones({64})));
}

TEST(LearnModel, MakeModelRejectsBadSpecsNamingTheField) {
    const auto message_of = [](const ModelSpec& spec) {
        try {
            dhs::learn::make_model(spec, 1);
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("<no exception>");
    };
    ModelSpec s;
    s.arch = "resnet50";
    EXPECT_NE(message_of(s).find("arch"), std::string::npos) << message_of(s);
    s = {};
    s.stem = "huge";
    EXPECT_NE(message_of(s).find("stem"), std::string::npos) << message_of(s);
    s = {};
    s.width = 0;
    EXPECT_NE(message_of(s).find("width"), std::string::npos) << message_of(s);
    s = {};
    s.n_meta = -1;
    EXPECT_NE(message_of(s).find("n_meta"), std::string::npos) << message_of(s);
    s = {};
    s.in_channels = 0;
    EXPECT_NE(message_of(s).find("in_channels"), std::string::npos) << message_of(s);
}

// Loads dhs's weights into torchvision's resnet18(num_classes=1) (small_input: the documented
// stem swap), strictly; prints max |logit difference| and max |logit|; then adds 0.5 to fc.bias
// and saves the state dict as a plain dict (the documented path) and as the OrderedDict itself.
const char* const kTorchvisionCheck = R"PY(
import sys
import numpy as np
import torch
import torchvision

weights, stem, inputs, logits, n, out = sys.argv[1:]
state = torch.load(weights)
assert isinstance(state, dict), type(state)
assert state["bn1.num_batches_tracked"].dtype == torch.int64
m = torchvision.models.resnet18(num_classes=1)
if stem == "small_input":
    m.conv1 = torch.nn.Conv2d(3, 64, 3, 1, 1, bias=False)
    m.maxpool = torch.nn.Identity()
m.load_state_dict(state, strict=True)
m.eval()
x = torch.from_numpy(np.fromfile(inputs, dtype=np.float32).reshape(int(n), 3, 64, 64))
with torch.no_grad():
    y = m(x).squeeze(1).numpy()
ref = np.fromfile(logits, dtype=np.float32)
print(float(np.max(np.abs(y - ref))), float(np.max(np.abs(ref))))
with torch.no_grad():
    m.fc.bias.add_(0.5)
torch.save(dict(m.state_dict()), out)
torch.save(m.state_dict(), out + ".ordered")
)PY";

template <class T>
void write_bytes(const std::string& path, const std::vector<T>& v) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(T)));
}

std::vector<char> read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

dhs::learn::Batch random_batch(std::int64_t n, std::uint64_t seed) {
    torch::manual_seed(static_cast<std::uint64_t>(seed));
    dhs::learn::Batch b;
    b.n = n;
    const auto x = torch::randn({n, 3, 64, 64});
    b.x.assign(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
    for (std::int64_t i = 0; i < n; ++i) b.target.push_back(static_cast<float>(i % 2));
    b.weight.assign(static_cast<std::size_t>(n), 1.0f);
    return b;
}

class LearnTorchvisionInterop : public ::testing::TestWithParam<std::string> {};

TEST_P(LearnTorchvisionInterop, WeightsLoadInTorchvisionWithTheSameLogits) {
    if (!dhs::test::python_has("numpy torch torchvision"))
        GTEST_SKIP() << "/usr/bin/python3 cannot import numpy, torch and torchvision (python3-torchvision)";
    const std::string stem = GetParam();
    dhs::learn::Learner learner(resnet(stem), {}, {}, torch::kCPU, 11);
    learner.train_step(random_batch(4, 1), nullptr);  // non-trivial BatchNorm statistics
    const auto batch = random_batch(6, 2);
    const auto logits = learner.predict(batch);

    dhs::test::TempDir dir("learn_interop_");
    const auto weights = learner.weights_pt();
    write_bytes(dir.file("weights.pt"), weights);
    write_bytes(dir.file("x.f32"), batch.x);
    write_bytes(dir.file("logits.f32"), logits);
    const auto out = dhs::test::run_python(dir.path(), "check.py", kTorchvisionCheck,
                                           {dir.file("weights.pt"), stem, dir.file("x.f32"), dir.file("logits.f32"),
                                            "6", dir.file("from_python.pt")});
    ASSERT_TRUE(out.has_value()) << "torchvision could not load the weights";
    std::istringstream in(*out);
    double max_diff = -1, max_logit = -1;
    in >> max_diff >> max_logit;
    std::cout << stem << ": max |logit(torchvision) - logit(dhs)| = " << max_diff << ", max |logit| = " << max_logit
              << "\n";
    EXPECT_GE(max_diff, 0.0);
    EXPECT_LT(max_diff, 1e-5 * std::max(1.0, max_logit)) << "max |logit| " << max_logit;

    // Python's torch.save(dict(state_dict)) back into a fresh learner.
    dhs::learn::Learner fresh(resnet(stem), {}, {}, torch::kCPU, 99);
    fresh.load_weights_pt(read_bytes(dir.file("from_python.pt")));
    // The OrderedDict itself loads where this libtorch's unpickler takes it, else fails clearly.
    try {
        dhs::learn::Learner ordered(resnet(stem), {}, {}, torch::kCPU, 98);
        ordered.load_weights_pt(read_bytes(dir.file("from_python.pt.ordered")));
        EXPECT_EQ(ordered.predict(batch), fresh.predict(batch));
        std::cout << "an OrderedDict state dict loads too\n";
    } catch (const std::runtime_error& e) {
        std::cout << "an OrderedDict state dict is refused: " << e.what() << "\n";
        EXPECT_NE(std::string(e.what()).find("torch.save(dict("), std::string::npos) << e.what();
    }
    const auto shifted = fresh.predict(batch);
    for (std::size_t i = 0; i < logits.size(); ++i) EXPECT_NEAR(shifted[i], logits[i] + 0.5f, 1e-4);
    // Our own bytes round trip exactly.
    fresh.load_weights_pt(weights);
    EXPECT_EQ(fresh.predict(batch), logits);
}

INSTANTIATE_TEST_SUITE_P(Stems, LearnTorchvisionInterop, ::testing::Values("imagenet", "small_input"));

TEST(LearnModel, LoadWeightsRejectsAForeignStateDict) {
    dhs::learn::Learner wide(resnet("small_input", 8), {}, {}, torch::kCPU, 1);
    dhs::learn::Learner narrow(resnet("small_input", 4), {}, {}, torch::kCPU, 1);
    EXPECT_THROW(narrow.load_weights_pt(wide.weights_pt()), std::runtime_error);
}

}  // namespace
