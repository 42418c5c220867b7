// Tests of kernels/learn/learner: the warm-up + cosine schedule, the weighted (focal) BCE
// against hand computations, the checkpoint round trip (bit-identical continuation), data-
// parallel equivalence (two learners on half batches with a simulated allreduce == one learner
// on the whole batch), BatchNorm statistics buffers, devices, and a tiny model that learns to
// tell rings from plain galaxies rendered by dhs's own profile and PSF kernels.
#include <gtest/gtest.h>

#include <algorithm>
#include <barrier>
#include <chrono>
#include <cmath>
#include <iostream>
#include <numbers>
#include <numeric>
#include <random>
#include <thread>
#include <vector>

#include "kernels/rendering/confuser_profiles.hpp"
#include "kernels/learn/learner.hpp"
#include "kernels/learn/preprocess.hpp"
#include "kernels/rendering/profile_render.hpp"
#include "kernels/rendering/psf.hpp"
#include "kernels/stats/roc_auc.hpp"
#include "kernels/rendering/sersic.hpp"

namespace {

using dhs::learn::Batch;
using dhs::learn::Learner;
using dhs::learn::ModelSpec;
using dhs::learn::OptimSpec;

ModelSpec simple_cnn(int width = 16) {
    ModelSpec spec;
    spec.arch = "simple_cnn";
    spec.width = width;
    return spec;
}

ModelSpec small_resnet() {
    ModelSpec spec;
    spec.arch = "resnet18";
    spec.stem = "small_input";
    spec.width = 8;
    return spec;
}

Batch random_batch(std::int64_t n, int size, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0.0f, 1.0f);
    Batch b;
    b.n = n;
    b.h = b.w = size;
    b.x.resize(static_cast<std::size_t>(n) * 3 * size * size);
    for (auto& v : b.x) v = g(rng);
    for (std::int64_t i = 0; i < n; ++i) {
        b.target.push_back(i % 3 == 0 ? 0.8f : static_cast<float>(i % 2));
        b.weight.push_back(i % 4 == 0 ? 0.5f : 1.0f);
    }
    return b;
}

// Rows [first, first + n) of a batch.
Batch rows(const Batch& b, std::int64_t first, std::int64_t n) {
    Batch out = b;
    const std::size_t per = static_cast<std::size_t>(b.c) * b.h * b.w;
    out.n = n;
    out.x.assign(b.x.begin() + first * per, b.x.begin() + (first + n) * per);
    out.target.assign(b.target.begin() + first, b.target.begin() + first + n);
    out.weight.assign(b.weight.begin() + first, b.weight.begin() + first + n);
    return out;
}

torch::Tensor as_tensor(const std::vector<float>& v) {
    return torch::from_blob(const_cast<float*>(v.data()), {static_cast<std::int64_t>(v.size())}).clone();
}

TEST(LearnLearner, LearningRateWarmsUpThenFollowsTheCosine) {
    OptimSpec s;
    s.lr = 1e-3;
    s.warmup_steps = 10;
    s.total_steps = 110;
    s.min_lr_fraction = 0.1;
    EXPECT_DOUBLE_EQ(dhs::learn::lr_at(s, 0), 1e-4);
    EXPECT_DOUBLE_EQ(dhs::learn::lr_at(s, 4), 5e-4);
    EXPECT_DOUBLE_EQ(dhs::learn::lr_at(s, 9), 1e-3);
    EXPECT_DOUBLE_EQ(dhs::learn::lr_at(s, 10), 1e-3);
    EXPECT_NEAR(dhs::learn::lr_at(s, 60), 1e-3 * (0.1 + 0.9 * 0.5), 1e-15);
    EXPECT_NEAR(dhs::learn::lr_at(s, 35), 1e-3 * (0.1 + 0.9 * 0.5 * (1 + std::cos(std::numbers::pi / 4))), 1e-15);
    EXPECT_NEAR(dhs::learn::lr_at(s, 110), 1e-4, 1e-15);
    EXPECT_NEAR(dhs::learn::lr_at(s, 500), 1e-4, 1e-15);
    s.warmup_steps = 0;
    EXPECT_DOUBLE_EQ(dhs::learn::lr_at(s, 0), 1e-3);
}

TEST(LearnLearner, WeightedBceMatchesAHandComputation) {
    const std::vector<double> x = {2.0, -1.0, 0.0, 30.0, -30.0, 0.7}, t = {1, 0, 0.8, 0, 1, 0.5},
                              w = {1, 0.5, 1, 1, 2, 0};
    const auto tensor = [](const std::vector<double>& v) { return torch::tensor(v, torch::kFloat32); };
    double plain = 0, focal = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double p = 1 / (1 + std::exp(-x[i]));
        const double l = -(t[i] * std::log(p) + (1 - t[i]) * std::log1p(-p + 1e-300));
        const double l_stable = std::max(x[i], 0.0) - x[i] * t[i] + std::log1p(std::exp(-std::abs(x[i])));
        const double p_t = p * t[i] + (1 - p) * (1 - t[i]);
        plain += w[i] * l_stable;
        focal += w[i] * std::pow(1 - p_t, 2.0) * l_stable;
        if (std::abs(x[i]) < 20) {
            EXPECT_NEAR(l, l_stable, 1e-9);
        }
    }
    plain /= x.size();
    focal /= x.size();
    const auto loss = dhs::learn::weighted_bce(tensor(x), tensor(t), tensor(w), {}).item<double>();
    EXPECT_NEAR(loss, plain, 1e-6 * plain);
    EXPECT_TRUE(std::isfinite(loss));
    dhs::learn::LossSpec f;
    f.focal_gamma = 2.0;
    EXPECT_NEAR(dhs::learn::weighted_bce(tensor(x), tensor(t), tensor(w), f).item<double>(), focal, 1e-6 * plain);
    f.focal_gamma = 0.0;
    EXPECT_EQ(dhs::learn::weighted_bce(tensor(x), tensor(t), tensor(w), f).item<double>(), loss);
}

TEST(LearnLearner, CheckpointRestoresTrainingBitForBit) {
    OptimSpec optim;
    optim.lr = 2e-3;
    optim.warmup_steps = 2;
    optim.total_steps = 8;
    std::vector<Batch> batches;
    for (unsigned i = 0; i < 5; ++i) batches.push_back(random_batch(6, 32, 100 + i));

    Learner a(small_resnet(), optim, {}, torch::kCPU, 1);
    for (int i = 0; i < 3; ++i) a.train_step(batches[i], nullptr);
    const auto checkpoint = a.checkpoint_bytes();
    for (int i = 3; i < 5; ++i) a.train_step(batches[i], nullptr);

    Learner b(small_resnet(), optim, {}, torch::kCPU, 2);  // other initial weights: all must come from the checkpoint
    b.load_checkpoint_bytes(checkpoint);
    EXPECT_EQ(b.step(), 3);
    for (int i = 3; i < 5; ++i) b.train_step(batches[i], nullptr);
    EXPECT_EQ(b.step(), a.step());
    EXPECT_TRUE(torch::equal(as_tensor(a.flat_parameters()), as_tensor(b.flat_parameters())));
    EXPECT_TRUE(torch::equal(as_tensor(a.flat_bn_statistics()), as_tensor(b.flat_bn_statistics())));
    EXPECT_EQ(a.predict(batches[0]), b.predict(batches[0]));
}

TEST(LearnLearner, FlatBuffersRoundTrip) {
    Learner a(small_resnet(), {}, {}, torch::kCPU, 1), b(small_resnet(), {}, {}, torch::kCPU, 2);
    a.train_step(random_batch(4, 32, 1), nullptr);
    // 8 + 8 + 4 * 2 * (c + c) per block ... : two statistics per BatchNorm channel.
    std::int64_t bn_channels = 0;
    for (const auto& m : a.model()->modules())
        if (auto* bn = m->as<torch::nn::BatchNorm2d>()) bn_channels += bn->options.num_features();
    EXPECT_EQ(static_cast<std::int64_t>(a.flat_bn_statistics().size()), 2 * bn_channels);
    b.set_flat_parameters(a.flat_parameters());
    b.set_flat_bn_statistics(a.flat_bn_statistics());
    const auto batch = random_batch(3, 32, 9);
    EXPECT_EQ(a.predict(batch), b.predict(batch));
    EXPECT_THROW(b.set_flat_parameters(std::vector<float>(3)), std::invalid_argument);
    Learner cnn(simple_cnn(), {}, {}, torch::kCPU, 1);
    EXPECT_TRUE(cnn.flat_bn_statistics().empty());
}

// Two learners in two threads averaging their gradients through a barrier: an allreduce.
class TwoRankAverage {
public:
    void average(int rank, std::span<float> grads) {
        slot_[rank].assign(grads.begin(), grads.end());
        sync_.arrive_and_wait();
        for (std::size_t i = 0; i < grads.size(); ++i) grads[i] = 0.5f * (slot_[0][i] + slot_[1][i]);
        sync_.arrive_and_wait();
    }

private:
    std::barrier<> sync_{2};
    std::vector<float> slot_[2];
};

TEST(LearnLearner, TwoLearnersOnHalfBatchesEqualOneLearnerOnTheWholeBatch) {
    OptimSpec optim;
    optim.lr = 1e-3;
    optim.total_steps = 3;
    const int steps = 3;
    std::vector<Batch> batches;
    for (unsigned i = 0; i < steps; ++i) batches.push_back(random_batch(8, 32, 7 + i));

    Learner single(simple_cnn(), optim, {}, torch::kCPU, 5);
    for (const auto& b : batches) single.train_step(b, nullptr);

    Learner r0(simple_cnn(), optim, {}, torch::kCPU, 5), r1(simple_cnn(), optim, {}, torch::kCPU, 5);
    TwoRankAverage allreduce;
    auto run = [&](Learner& learner, int rank) {
        for (const auto& b : batches)
            learner.train_step(rows(b, rank * 4, 4), [&](std::span<float> g) { allreduce.average(rank, g); });
    };
    std::thread t1(run, std::ref(r1), 1);
    run(r0, 0);
    t1.join();

    const auto p = as_tensor(single.flat_parameters()), p0 = as_tensor(r0.flat_parameters()),
               p1 = as_tensor(r1.flat_parameters());
    EXPECT_TRUE(torch::equal(p0, p1)) << "the learners diverged";
    const double diff = (p - p0).abs().max().item<double>();
    std::cout << "max |parameter difference| after " << steps << " steps: " << diff << "\n";
    EXPECT_LT(diff, 1e-6);
    EXPECT_GT((p - as_tensor(Learner(simple_cnn(), optim, {}, torch::kCPU, 5).flat_parameters())).abs().max().item<double>(),
              1e-4);
}

TEST(LearnLearner, DeviceChoice) {
    EXPECT_EQ(dhs::learn::choose_device("cpu", 3), torch::Device(torch::kCPU));
    EXPECT_THROW(dhs::learn::choose_device("tpu", 0), std::runtime_error);
    if (!dhs::learn::cuda_available()) {
        EXPECT_EQ(dhs::learn::choose_device("auto", 1), torch::Device(torch::kCPU));
        EXPECT_THROW(dhs::learn::choose_device("cuda", 0), std::runtime_error);
    } else {
        EXPECT_TRUE(dhs::learn::choose_device("auto", 0).is_cuda());
    }
}

// A 101x101x3 stamp: an elliptical exponential galaxy (plus, for lenses, a Gaussian ring of
// radius 1.8-2.6", half to all of the galaxy's flux) through a Gaussian PSF of FWHM 1.2", with Gaussian noise; band colours fixed.
std::vector<float> synthetic_stamp(bool ring, std::mt19937_64& rng) {
    constexpr int n = 101;
    constexpr double scale = 0.262;
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::normal_distribution<double> g(0.0, 1.0);
    const double flux = 10.0 * std::exp(0.3 * g(rng));
    const dhs::kernels::EllipseShape shape{0.5 + 0.5 * u(rng), std::numbers::pi * u(rng)};
    std::vector<float> sky(n * n, 0.0f), blurred(n * n);
    dhs::kernels::accumulate_profile(dhs::kernels::SersicProfile(flux, 0.6 + 0.6 * u(rng), 1.0, shape), sky, n, n,
                                     scale, 50, 50, 1);
    if (ring) {
        const dhs::kernels::RingProfile r((0.5 + 0.5 * u(rng)) * flux, 1.8 + 0.8 * u(rng), 0.15,
                                          {0.8 + 0.2 * u(rng), std::numbers::pi * u(rng)});
        dhs::kernels::accumulate_profile(r, sky, n, n, scale, 50, 50, 2);
    }
    const auto k = dhs::kernels::gaussian_kernel_1d(dhs::kernels::GaussianPsf::from_fwhm(1.2), scale, 6);
    dhs::kernels::convolve_separable(sky, n, n, k, k, blurred);
    const double colour[3] = {0.6, 1.0, 1.4}, noise = 0.01;
    std::vector<float> stamp(3 * n * n);
    for (int b = 0; b < 3; ++b)
        for (int i = 0; i < n * n; ++i) stamp[b * n * n + i] = static_cast<float>(colour[b] * blurred[i] + noise * g(rng));
    return stamp;
}

// n stamps, alternately plain (0) and ringed (1), preprocessed for scoring (no augmentation).
Batch ring_set(int n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    Batch b;
    b.n = n;
    b.x.resize(static_cast<std::size_t>(n) * 3 * 64 * 64);
    std::vector<float> scratch;
    for (int i = 0; i < n; ++i) {
        const bool ring = i % 2 == 1;
        const auto stamp = synthetic_stamp(ring, rng);
        dhs::learn::prepare_stamp(stamp, {}, 3, 101, 101, {}, {}, {},
                                  std::span<float>(b.x).subspan(static_cast<std::size_t>(i) * 3 * 64 * 64, 3 * 64 * 64),
                                  scratch);
        b.target.push_back(ring ? 1.0f : 0.0f);
        b.weight.push_back(1.0f);
    }
    return b;
}

TEST(LearnLearner, TinyModelLearnsRingsFromPlainGalaxies) {
    const auto t0 = std::chrono::steady_clock::now();
    const Batch train = ring_set(256, 1), val = ring_set(128, 2);
    OptimSpec optim;
    optim.lr = 3e-3;
    optim.weight_decay = 1e-4;
    const int batch_size = 32, epochs = 20;
    optim.warmup_steps = 8;
    optim.total_steps = epochs * (train.n / batch_size);
    Learner learner(simple_cnn(32), optim, {}, torch::kCPU, 3);
    std::mt19937_64 rng(4);
    std::vector<std::int64_t> order(static_cast<std::size_t>(train.n));
    double auc = 0;
    for (int epoch = 0; epoch < epochs; ++epoch) {
        std::iota(order.begin(), order.end(), 0);
        std::shuffle(order.begin(), order.end(), rng);
        for (std::int64_t first = 0; first + batch_size <= train.n; first += batch_size) {
            Batch b;
            b.n = batch_size;
            for (std::int64_t k = first; k < first + batch_size; ++k) {
                const auto r = rows(train, order[k], 1);
                b.x.insert(b.x.end(), r.x.begin(), r.x.end());
                b.target.push_back(r.target[0]);
                b.weight.push_back(1.0f);
            }
            learner.train_step(b, nullptr);
        }
        const auto logits = learner.predict(val);
        std::vector<double> pos, neg;
        for (std::int64_t i = 0; i < val.n; ++i) (val.target[i] > 0.5f ? pos : neg).push_back(logits[i]);
        auc = dhs::kernels::roc_auc(pos, neg);
        std::cout << "epoch " << epoch << ": val AUC " << auc << "\n";
        if (auc >= 0.995) break;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "val AUC " << auc << " after " << learner.step() << " steps, " << seconds << " s\n";
    EXPECT_GE(auc, 0.99);
}

}  // namespace
