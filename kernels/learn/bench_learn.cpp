// dhs_learn_bench: ResNet-18 training throughput (images/s) of one dhs::learn::Learner on random
// 64x64x3 batches, to size the GPU rank group. Prints one JSON line. Usage:
//   dhs_learn_bench [--batch 128] [--steps 20] [--warmup 3] [--width 64] [--stem small_input]
//                   [--device cpu|cuda|auto] [--bf16 1] [--threads 0]
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

struct BenchOptions {
    std::int64_t batch = 128, steps = 20, warmup = 3;
    int width = 64, threads = 0;
    std::string stem = "small_input", device = "auto";
    bool bf16 = true;
};

BenchOptions parse(int argc, char** argv) {
    std::map<std::string, std::string> kv;
    for (int i = 1; i < argc; ++i) {
        const std::string key = argv[i];
        if (key == "--help" || key == "-h") {
            std::cout << "dhs_learn_bench [--batch N] [--steps N] [--warmup N] [--width W] [--stem small_input|imagenet]\n"
                         "                [--device cpu|cuda|auto] [--bf16 0|1] [--threads N]\n";
            std::exit(0);
        }
        if (key.rfind("--", 0) != 0 || i + 1 >= argc) throw std::invalid_argument("bad argument '" + key + "'");
        kv[key.substr(2)] = argv[++i];
    }
    BenchOptions o;
    for (const auto& [k, v] : kv) {
        if (k == "batch") o.batch = std::stoll(v);
        else if (k == "steps") o.steps = std::stoll(v);
        else if (k == "warmup") o.warmup = std::stoll(v);
        else if (k == "width") o.width = std::stoi(v);
        else if (k == "threads") o.threads = std::stoi(v);
        else if (k == "stem") o.stem = v;
        else if (k == "device") o.device = v;
        else if (k == "bf16") o.bf16 = v != "0";
        else throw std::invalid_argument("unknown option --" + k);
    }
    if (o.batch < 1 || o.steps < 1 || o.warmup < 0) throw std::invalid_argument("--batch and --steps must be >= 1");
    return o;
}

dhs::learn::Batch random_batch(std::int64_t n) {
    dhs::learn::Batch b;
    b.n = n;
    const auto x = torch::randn({n, 3, 64, 64});
    const auto y = torch::randint(0, 2, {n}, torch::kFloat32);
    b.x.assign(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
    b.target.assign(y.data_ptr<float>(), y.data_ptr<float>() + n);
    b.weight.assign(static_cast<std::size_t>(n), 1.0f);
    return b;
}

void synchronize(const torch::Device& device) {
    if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

}  // namespace

int main(int argc, char** argv) try {
    const auto o = parse(argc, argv);
    if (o.threads > 0) torch::set_num_threads(o.threads);
    torch::manual_seed(1);
    const auto device = dhs::learn::choose_device(o.device, 0);
    dhs::learn::ModelSpec model;
    model.arch = "resnet18";
    model.stem = o.stem;
    model.width = o.width;
    dhs::learn::OptimSpec optim;
    optim.total_steps = o.warmup + o.steps;
    dhs::learn::Learner learner(model, optim, {}, device, 42);
    learner.set_bf16_autocast(o.bf16);
    const auto batch = random_batch(o.batch);

    for (std::int64_t i = 0; i < o.warmup; ++i) learner.train_step(batch, nullptr);
    synchronize(device);
    const auto t0 = std::chrono::steady_clock::now();
    double loss = 0;
    for (std::int64_t i = 0; i < o.steps; ++i) loss = learner.train_step(batch, nullptr);
    synchronize(device);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    std::printf("{\"bench\": \"dhs_learn_resnet18_train\", \"images_per_s\": %.2f, \"seconds\": %.4f, \"batch\": %lld, "
                "\"steps\": %lld, \"width\": %d, \"stem\": \"%s\", \"device\": \"%s\", \"bf16\": %s, \"threads\": %d, "
                "\"last_loss\": %.6f, \"torch\": \"%s\"}\n",
                static_cast<double>(o.batch * o.steps) / seconds, seconds, static_cast<long long>(o.batch),
                static_cast<long long>(o.steps), o.width, o.stem.c_str(), device.str().c_str(),
                (device.is_cuda() && o.bf16) ? "true" : "false", torch::get_num_threads(), loss, TORCH_VERSION);
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "dhs_learn_bench: %s\n", e.what());
    return 1;
}
