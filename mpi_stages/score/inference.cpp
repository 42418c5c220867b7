// Inference shared by the scoring stages (see inference.hpp).
#include "mpi_stages/score/inference.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>
#include <future>

#include "core/engine/service.hpp"
#include "core/error.hpp"
#include "core/mpi/comm.hpp"
#include "core/util/huge_pages.hpp"
#include "kernels/learn/preprocess.hpp"

namespace dhs::stages::score {

namespace {

// The logits of a batch, run as a batch of exactly `size` stamps (zero stamps after the real
// ones). oneDNN picks its convolution kernels by the batch's shape, and a small batch gets
// different ones whose float rounding differs (2e-6 in a logit: a batch of 7 against 100 or 256
// here); a fixed shape makes every stamp's logit independent of where a unit or a file ended,
// so the search and score stages give one stamp the same logit. Stamps never mix (no
// BatchNorm statistics at inference), so the padding changes nothing else.
std::vector<float> fixed_shape_logits(Scorer& model, const learn::Batch& b, std::int64_t size) {
    if (b.n >= size) return model.logits(b);
    learn::Batch padded = b;
    padded.n = size;
    padded.x.resize(static_cast<std::size_t>(size) * b.c * b.h * b.w, 0.f);
    padded.meta.resize(static_cast<std::size_t>(size) * b.n_meta, 0.f);
    auto z = model.logits(padded);
    z.resize(static_cast<std::size_t>(b.n));
    return z;
}

}  // namespace

Inference::Inference() = default;
Inference::~Inference() = default;  // out of line: Scorer and HugePagesOff are complete here

Scorer& Inference::scorer(const InferenceParams& p) const {
    std::lock_guard lock(mu_);
    if (!scorer_) {
        huge_pages_off_ = std::make_unique<util::HugePagesOff>();  // until the stage ends (see huge_pages.hpp)
        torch::set_num_threads(mpi::threads_per_rank(p.threads, 1));  // no launcher: one rank on the node
        torch::Device device = torch::kCPU;
        try {
            device = learn::choose_device(p.device, mpi::node_local_rank(mpi::world_rank_or_zero()));
        } catch (const std::exception& e) {
            throw ConfigError(p.section + ".device", "config", 0, e.what());
        }
        scorer_ = load_scorer(p.model, device);
    }
    return *scorer_;
}

const ModelCard& Inference::card(const InferenceParams& p) const {
    {
        std::lock_guard lock(mu_);
        if (scorer_) return scorer_->card();
        if (card_) return *card_;
    }
    auto c = std::make_unique<ModelCard>(read_model_card(p.model));
    std::lock_guard lock(mu_);
    if (!card_) card_ = std::move(c);
    return *card_;
}

std::vector<float> Inference::logits(const learn::Batch& b, engine::ServiceClient* service,
                                     const InferenceParams& p) const {
    if (!service) return fixed_shape_logits(scorer(p), b, p.batch_size);
    const std::int64_t header[5] = {b.n, b.c, b.h, b.w, b.n_meta};
    std::vector<float> payload;
    payload.reserve(b.x.size() + b.meta.size());
    payload.insert(payload.end(), b.x.begin(), b.x.end());
    payload.insert(payload.end(), b.meta.begin(), b.meta.end());
    auto z = service->call(header, payload);
    if (static_cast<std::int64_t>(z.size()) != b.n)
        throw Error(fmt::format("{}: learner rank {} returned {} logits for {} stamps", p.section, service->server(),
                                z.size(), b.n));
    return z;
}

std::vector<int> Inference::serving_ranks(const InferenceParams& p, const mpi::Comm& comm) const {
    const int me = comm.rank();
    const RankView mine{mpi::node_local_rank(me), mpi::node_local_size(comm.size()),
                        p.device == "cpu" || !learn::cuda_available() ? 0 : static_cast<int>(torch::cuda::device_count())};
    std::vector<RankView> all;
    for (const auto& x : comm.allgather(fmt::format("{} {} {}", mine.local_rank, mine.local_size, mine.devices))) {
        RankView v;
        if (std::sscanf(x.c_str(), "%d %d %d", &v.local_rank, &v.local_size, &v.devices) != 3)
            throw Error("serving_ranks: a rank sent '" + x + "'");
        all.push_back(v);
    }
    std::string note;
    auto ranks = learner_ranks(p.learners, all, note);
    if (me == 0 && !note.empty()) spdlog::warn("{}: {}", p.section, note);
    return ranks;
}

std::vector<float> Inference::serve(std::span<const std::int64_t> h, std::span<const float> x,
                                    const InferenceParams& p) const {
    if (h.size() != 5) throw Error(fmt::format("{}: a request of {} header values (5 expected)", p.section, h.size()));
    learn::Batch b;
    b.n = h[0], b.c = static_cast<int>(h[1]), b.h = static_cast<int>(h[2]), b.w = static_cast<int>(h[3]);
    b.n_meta = static_cast<int>(h[4]);
    const std::size_t pixels = static_cast<std::size_t>(b.n) * b.c * b.h * b.w;
    if (x.size() != pixels + static_cast<std::size_t>(b.n) * b.n_meta)
        throw Error(fmt::format("{}: a request of {} values for {} stamps", p.section, x.size(), b.n));
    b.x.assign(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(pixels));
    b.meta.assign(x.begin() + static_cast<std::ptrdiff_t>(pixels), x.end());
    return fixed_shape_logits(scorer(p), b, p.batch_size);
}

void Inference::release() const {
    std::lock_guard lock(mu_);
    huge_pages_off_.reset();
}

learn::Batch prepare_batch(std::span<const float> image, std::uint64_t m, int c, int h, int w, const ModelCard& card,
                           const std::vector<std::vector<double>>& meta, std::uint64_t offset,
                           std::span<std::int32_t> flagged, const std::string& file, const std::string& object) {
    if (c != card.spec.in_channels || h < card.pre.crop || w < card.pre.crop)
        throw DataError(file, object,
                        fmt::format("stamps ({}, {}, {}) do not fit the model ({} bands, crop {})", c, h, w,
                                    card.spec.in_channels, card.pre.crop));
    const std::size_t cell = static_cast<std::size_t>(c) * h * w,
                      out_cell = static_cast<std::size_t>(c) * card.pre.crop * card.pre.crop;
    learn::Batch b;
    b.n = static_cast<std::int64_t>(m), b.c = c, b.h = card.pre.crop, b.w = card.pre.crop;
    b.n_meta = static_cast<int>(meta.size());
    b.x.resize(m * out_cell);
    b.meta.resize(m * meta.size());
    std::vector<float> scratch;
    const learn::AugmentSpec none;
    for (std::uint64_t i = 0; i < m; ++i) {
        flagged[i] = learn::prepare_stamp(image.subspan(i * cell, cell), {}, c, h, w, card.pre, none, {},
                                          std::span<float>(b.x).subspan(i * out_cell, out_cell), scratch);
        for (std::size_t k = 0; k < meta.size(); ++k) {
            const double v = meta[k][offset + i];
            b.meta[i * meta.size() + k] = std::isfinite(v) ? static_cast<float>((v - card.meta_mean[k]) / card.meta_std[k]) : 0.f;
        }
    }
    return b;
}

void score_in_batches(std::uint64_t n, std::int64_t batch_size,
                      const std::function<learn::Batch(std::uint64_t, std::uint64_t)>& prepare,
                      const std::function<std::vector<float>(const learn::Batch&)>& infer, std::vector<float>& logit,
                      std::vector<float>& p_lens) {
    logit.assign(n, 0.f);
    p_lens.assign(n, 0.f);
    const auto step = static_cast<std::uint64_t>(batch_size);
    // The producer alone touches the inputs while it runs; the future is joined before the next.
    const auto batch_at = [&](std::uint64_t a) {
        return std::async(std::launch::async, [&, a] { return prepare(a, std::min(step, n - a)); });
    };
    if (n == 0) return;
    auto next = batch_at(0);
    for (std::uint64_t a = 0; a < n; a += step) {
        const learn::Batch b = next.get();
        if (a + step < n) next = batch_at(a + step);
        const auto z = infer(b);
        for (std::int64_t i = 0; i < b.n; ++i) {
            logit[a + i] = z[i];
            p_lens[a + i] = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(z[i]))));
        }
    }
}

}  // namespace dhs::stages::score
