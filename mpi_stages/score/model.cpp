// The model the scoring stage scores with (see score.hpp): model.json parsed into the model
// and preprocessing specs; a dhs model (weights.pt into dhs::learn's network) or a TorchScript
// module (torch::jit::load, model.json from its extra files).
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.hpp"
#include "core/util/sha256.hpp"
#include "kernels/learn/frozen_resnet.hpp"
#include "mpi_stages/score/score.hpp"

namespace fs = std::filesystem;

namespace dhs::stages::score {

namespace {

std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(fmt::format("cannot read model file '{}'", path));
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// The run's own model: dhs::learn's network with weights.pt loaded.
class DhsScorer final : public Scorer {
public:
    DhsScorer(const std::string& dir, torch::Device device)
        : learner_(card_from(dir), learn::OptimSpec{}, learn::LossSpec{}, device, 0) {
        const std::string weights = (fs::path(dir) / "weights.pt").string();
        const std::string bytes = read_bytes(weights);
        sha256_ = util::sha256_hex(bytes);
        learner_.load_weights_pt(std::vector<char>(bytes.begin(), bytes.end()));
        if (learn::FrozenResNet18::available(card_.spec, device))
            frozen_ = std::make_unique<learn::FrozenResNet18>(*learner_.model(), card_.spec);
    }
    // On the CPU a ResNet-18 scores through its frozen copy (BatchNorm folded, oneDNN layout:
    // see frozen_resnet.hpp), elsewhere through the learner's eager model.
    std::vector<float> logits(const learn::Batch& b) override {
        if (!frozen_) return learner_.predict(b);
        auto* x = const_cast<float*>(b.x.data());  // read only: from_blob wants a mutable pointer
        const auto z = frozen_->forward(torch::from_blob(x, {b.n, b.c, b.h, b.w}, torch::kFloat32),
                                        b.n_meta > 0 ? torch::from_blob(const_cast<float*>(b.meta.data()),
                                                                        {b.n, b.n_meta}, torch::kFloat32)
                                                     : torch::Tensor())
                            .contiguous();
        return {z.data_ptr<float>(), z.data_ptr<float>() + z.numel()};
    }

private:
    const learn::ModelSpec& card_from(const std::string& dir) {
        const std::string path = (fs::path(dir) / "model.json").string();
        card_ = parse_model_card(read_bytes(path), path);
        return card_.spec;
    }
    learn::Learner learner_;
    std::unique_ptr<learn::FrozenResNet18> frozen_;
};

// A TorchScript module (a model trained or exported in Python): forward(x) or forward(x, meta).
class ScriptScorer final : public Scorer {
public:
    ScriptScorer(const std::string& path, torch::Device device) : device_(device) {
        torch::jit::ExtraFilesMap extra{{"model.json", ""}};
        try {
            module_ = torch::jit::load(path, device, extra);
        } catch (const c10::Error& e) {
            throw Error(fmt::format("'{}' is not a TorchScript file: {}", path, e.what_without_backtrace()));
        }
        if (extra["model.json"].empty())
            throw Error(fmt::format("TorchScript file '{}' carries no model.json (make it with "
                                    "scripts/export_torchscript.py, or add _extra_files={{'model.json': ...}})", path));
        card_ = parse_model_card(extra["model.json"], path + ":model.json");
        sha256_ = util::sha256_hex(read_bytes(path));
        module_.eval();
    }
    std::vector<float> logits(const learn::Batch& b) override {
        torch::NoGradGuard no_grad;
        auto x = torch::from_blob(const_cast<float*>(b.x.data()), {b.n, b.c, b.h, b.w}, torch::kFloat32).to(device_);
        std::vector<torch::jit::IValue> in{x};
        if (b.n_meta > 0)
            in.emplace_back(torch::from_blob(const_cast<float*>(b.meta.data()), {b.n, b.n_meta}, torch::kFloat32).to(device_));
        auto out = module_.forward(in).toTensor().to(torch::kCPU, torch::kFloat32).reshape({-1}).contiguous();
        if (out.numel() != b.n) throw Error(fmt::format("TorchScript model returned {} values for {} stamps", out.numel(), b.n));
        return {out.data_ptr<float>(), out.data_ptr<float>() + b.n};
    }

private:
    torch::Device device_;
    torch::jit::Module module_;
};

}  // namespace

ModelCard parse_model_card(const std::string& json_text, const std::string& origin) {
    try {
        const auto j = nlohmann::json::parse(json_text);
        ModelCard c;
        c.text = json_text;
        c.spec.arch = j.at("arch");
        c.spec.stem = j.value("stem", std::string("small_input"));
        c.spec.width = j.at("width");
        c.spec.in_channels = j.value("in_channels", 3);
        c.pre.crop = j.at("crop");
        c.stamp_size = j.value("stamp_size", 101);
        if (j.contains("preprocessing")) {
            const auto& p = j.at("preprocessing");
            if (p.value("name", std::string("raw_robust")) != "raw_robust")
                throw Error(fmt::format("'{}': preprocessing '{}' is not raw_robust", origin, p.value("name", std::string())));
            c.pre.outer_radius_px = p.value("outer_radius_px", c.pre.outer_radius_px);
            c.pre.clip = p.value("clip", c.pre.clip);
        }
        for (const auto& m : j.value("meta", nlohmann::json::array())) {
            c.meta_columns.push_back(m.at("column"));
            c.meta_mean.push_back(m.at("mean"));
            c.meta_std.push_back(m.at("std"));
        }
        c.spec.n_meta = static_cast<int>(c.meta_columns.size());
        return c;
    } catch (const nlohmann::json::exception& e) {
        throw Error(fmt::format("'{}' is not a dhs model card: {}", origin, e.what()));
    }
}

std::string model_file(const std::string& model) {
    return fs::is_directory(model) ? (fs::path(model) / "weights.pt").string() : model;
}

ModelCard read_model_card(const std::string& model) {
    if (fs::is_directory(model)) {
        const std::string path = (fs::path(model) / "model.json").string();
        return parse_model_card(read_bytes(path), path);
    }
    if (!fs::exists(model)) throw Error(fmt::format("score.model: '{}' does not exist", model));
    torch::jit::ExtraFilesMap extra{{"model.json", ""}};
    try {
        (void)torch::jit::load(model, torch::kCPU, extra);
    } catch (const c10::Error& e) {
        throw Error(fmt::format("'{}' is not a TorchScript file: {}", model, e.what_without_backtrace()));
    }
    if (extra["model.json"].empty()) throw Error(fmt::format("TorchScript file '{}' carries no model.json", model));
    return parse_model_card(extra["model.json"], model + ":model.json");
}

std::string model_sha256(const std::string& model) { return util::sha256_hex(read_bytes(model_file(model))); }

std::unique_ptr<Scorer> load_scorer(const std::string& model, torch::Device device) {
    if (fs::is_directory(model)) return std::make_unique<DhsScorer>(model, device);
    if (!fs::exists(model)) throw Error(fmt::format("score.model: '{}' does not exist", model));
    return std::make_unique<ScriptScorer>(model, device);
}

}  // namespace dhs::stages::score
