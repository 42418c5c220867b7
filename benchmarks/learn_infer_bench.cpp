// dhs_learn_infer_bench: inference throughput (images/s) of dhs::learn::Learner::predict, the
// scoring path (host batch -> device, eval-mode forward in fp32, logits back to the host), on
// random 64x64x3 batches; the inference companion of kernels/learn's dhs_learn_bench (training).
// Prints one JSON line. Built with the project (benchmarks/train.cmake) and, on a GPU machine
// with only a pip torch, by benchmarks/device_train.sh against the standalone kernels/learn build.
//   dhs_learn_infer_bench [--batch 256] [--steps 20] [--warmup 3] [--width 64] [--stem small_input]
//                         [--crop 64] [--device cpu|cuda|auto] [--threads 0]
#include <torch/torch.h>
#include <torch/version.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>

#include "kernels/learn/learner.hpp"

namespace {

struct Options {
    std::int64_t batch = 256, steps = 20, warmup = 3;
    int width = 64, crop = 64, threads = 0;
    std::string stem = "small_input", device = "auto";
};

Options parse(int argc, char** argv) {
    std::map<std::string, std::string> kv;
    for (int i = 1; i < argc; ++i) {
        const std::string key = argv[i];
        if (key == "--help" || key == "-h") {
            std::cout << "dhs_learn_infer_bench [--batch N] [--steps N] [--warmup N] [--width W] [--crop C]\n"
                         "                      [--stem small_input|imagenet] [--device cpu|cuda|auto] [--threads N]\n";
            std::exit(0);
        }
        if (key.rfind("--", 0) != 0 || i + 1 >= argc) throw std::invalid_argument("bad argument '" + key + "'");
        kv[key.substr(2)] = argv[++i];
    }
    Options o;
    for (const auto& [k, v] : kv) {
        if (k == "batch") o.batch = std::stoll(v);
        else if (k == "steps") o.steps = std::stoll(v);
        else if (k == "warmup") o.warmup = std::stoll(v);
        else if (k == "width") o.width = std::stoi(v);
        else if (k == "crop") o.crop = std::stoi(v);
        else if (k == "threads") o.threads = std::stoi(v);
        else if (k == "stem") o.stem = v;
        else if (k == "device") o.device = v;
        else throw std::invalid_argument("unknown option --" + k);
    }
    if (o.batch < 1 || o.steps < 1 || o.warmup < 0) throw std::invalid_argument("--batch and --steps must be >= 1");
    return o;
}

}  // namespace

int main(int argc, char** argv) try {
    const auto o = parse(argc, argv);
    if (o.threads > 0) torch::set_num_threads(o.threads);
    const auto device = dhs::learn::choose_device(o.device, 0);
    dhs::learn::ModelSpec model;
    model.arch = "resnet18";
    model.stem = o.stem;
    model.width = o.width;
    dhs::learn::Learner learner(model, {}, {}, device, 42);
    dhs::learn::Batch batch;
    batch.n = o.batch;
    batch.h = batch.w = o.crop;
    const auto x = torch::randn({o.batch, 3, o.crop, o.crop});
    batch.x.assign(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
    batch.target.assign(static_cast<std::size_t>(o.batch), 0.f);
    batch.weight.assign(static_cast<std::size_t>(o.batch), 1.f);

    double sum = 0;
    for (std::int64_t i = 0; i < o.warmup; ++i) sum += learner.predict(batch)[0];
    const auto t0 = std::chrono::steady_clock::now();
    for (std::int64_t i = 0; i < o.steps; ++i) sum += learner.predict(batch)[0];  // logits on the host: synchronised
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("{\"bench\": \"dhs_learn_resnet18_predict\", \"images_per_s\": %.2f, \"seconds\": %.4f, \"batch\": %lld, "
                "\"steps\": %lld, \"width\": %d, \"crop\": %d, \"stem\": \"%s\", \"device\": \"%s\", \"threads\": %d, "
                "\"checksum\": %.6g, \"torch\": \"%s\"}\n",
                static_cast<double>(o.batch * o.steps) / seconds, seconds, static_cast<long long>(o.batch),
                static_cast<long long>(o.steps), o.width, o.crop, o.stem.c_str(), device.str().c_str(),
                torch::get_num_threads(), sum, TORCH_VERSION);
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "dhs_learn_infer_bench: %s\n", e.what());
    return 1;
}
