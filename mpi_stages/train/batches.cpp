// Batches of the training stage (see batches.hpp).
#include "mpi_stages/train/batches.hpp"

#include <algorithm>
#include <cstring>

#include "core/error.hpp"
#include "kernels/learn/preprocess.hpp"

namespace dhs::stages::train {

std::vector<std::int64_t> train_batch_examples(const TrainingSet& set, const std::vector<std::int64_t>& order,
                                               std::int64_t step, int learner, int learners, std::int64_t batch) {
    const auto& train = set.index_of_split[0];
    std::vector<std::int64_t> out(static_cast<std::size_t>(batch));
    const std::int64_t first = (step * learners + learner) * batch;
    for (std::int64_t i = 0; i < batch; ++i)
        out[static_cast<std::size_t>(i)] = train[static_cast<std::size_t>(order[static_cast<std::size_t>(first + i)])];
    return out;
}

std::int64_t val_batches(const TrainingSet& set, int learner, int learners, std::int64_t batch) {
    const auto n = static_cast<std::int64_t>(set.index_of_split[1].size());
    const std::int64_t mine = n > learner ? (n - learner + learners - 1) / learners : 0;
    return (mine + batch - 1) / batch;
}

std::vector<std::int64_t> val_batch_examples(const TrainingSet& set, std::int64_t j, int learner, int learners,
                                             std::int64_t batch) {
    const auto& val = set.index_of_split[1];
    std::vector<std::int64_t> out;
    for (std::int64_t i = j * batch; i < (j + 1) * batch; ++i) {
        const std::int64_t k = learner + i * learners;
        if (k >= static_cast<std::int64_t>(val.size())) break;
        out.push_back(val[static_cast<std::size_t>(k)]);
    }
    return out;
}

BatchMaker::BatchMaker(const Params& p, const TrainingSet& set) : p_(p), set_(set), reader_(set.stamps_file) {}

void BatchMaker::make(std::span<const std::int64_t> positions, std::int64_t epoch, bool augment, learn::Batch& out) {
    const int c = set_.channels, h = set_.height, w = set_.width, crop = p_.pre.crop;
    const auto n = static_cast<std::int64_t>(positions.size());
    out.n = n;
    out.c = c, out.h = crop, out.w = crop, out.n_meta = set_.n_meta;
    out.x.resize(static_cast<std::size_t>(n * c * crop * crop));  // every element is written below
    out.meta.resize(static_cast<std::size_t>(n * set_.n_meta));
    out.target.resize(static_cast<std::size_t>(n));
    out.weight.resize(static_cast<std::size_t>(n));
    // The batch's rows are read in file (chunk) order, once each; slot[i] is example i's place.
    std::vector<std::uint64_t> rows(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i)
        rows[static_cast<std::size_t>(i)] =
            static_cast<std::uint64_t>(set_.examples[static_cast<std::size_t>(positions[static_cast<std::size_t>(i)])].row);
    std::vector<std::uint64_t> file_rows(rows);
    std::sort(file_rows.begin(), file_rows.end());
    file_rows.erase(std::unique(file_rows.begin(), file_rows.end()), file_rows.end());
    std::vector<std::size_t> slot(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i)
        slot[i] = static_cast<std::size_t>(std::lower_bound(file_rows.begin(), file_rows.end(), rows[i]) - file_rows.begin());
    learn::AugmentSpec aug = p_.aug;
    aug.enabled = aug.enabled && augment;
    const bool noise = aug.enabled && aug.noise_scale > 0;
    const Column image = reader_.read_rows(set_.stamps_group + "/image", file_rows);
    Column invvar;
    if (noise) invvar = reader_.read_rows(set_.stamps_group + "/invvar", file_rows);
    const auto px = image.values<float>();
    const std::size_t cell = static_cast<std::size_t>(c * h * w), out_cell = static_cast<std::size_t>(c * crop * crop);
    for (std::int64_t i = 0; i < n; ++i) {
        const auto pos = static_cast<std::size_t>(positions[static_cast<std::size_t>(i)]);
        const Example& e = set_.examples[pos];
        const auto k = static_cast<std::size_t>(i);
        const learn::AugmentDraw draw = learn::draw_augment(aug, p_.seed, epoch, static_cast<std::int64_t>(pos));
        const std::size_t at = slot[k] * cell;
        std::span<const float> iv = noise ? invvar.values<float>().subspan(at, cell) : std::span<const float>{};
        flagged_ += learn::prepare_stamp(px.subspan(at, cell), iv, c, h, w, p_.pre, aug, draw,
                                         std::span<float>(out.x).subspan(k * out_cell, out_cell), scratch_);
        out.target[k] = e.target;
        out.weight[k] = e.weight;
        for (int m = 0; m < set_.n_meta; ++m)
            out.meta[k * static_cast<std::size_t>(set_.n_meta) + static_cast<std::size_t>(m)] =
                set_.meta[pos * static_cast<std::size_t>(set_.n_meta) + static_cast<std::size_t>(m)];
    }
}

std::size_t message_floats(std::int64_t n, const TrainingSet& set, int crop) {
    return 1 + static_cast<std::size_t>(n) * static_cast<std::size_t>(set.channels * crop * crop + set.n_meta + 2);
}

void pack(const learn::Batch& b, std::vector<float>& msg) {
    msg.clear();
    msg.reserve(1 + b.x.size() + b.meta.size() + b.target.size() + b.weight.size());
    msg.push_back(static_cast<float>(b.n));
    msg.insert(msg.end(), b.x.begin(), b.x.end());
    msg.insert(msg.end(), b.meta.begin(), b.meta.end());
    msg.insert(msg.end(), b.target.begin(), b.target.end());
    msg.insert(msg.end(), b.weight.begin(), b.weight.end());
}

void unpack(std::span<const float> msg, const TrainingSet& set, int crop, learn::Batch& b) {
    if (msg.empty()) throw Error("training: empty batch message");
    b.n = static_cast<std::int64_t>(msg[0]);
    b.c = set.channels, b.h = crop, b.w = crop, b.n_meta = set.n_meta;
    const std::size_t nx = static_cast<std::size_t>(b.n) * static_cast<std::size_t>(b.c * crop * crop);
    const std::size_t nm = static_cast<std::size_t>(b.n) * static_cast<std::size_t>(b.n_meta);
    const std::size_t nn = static_cast<std::size_t>(b.n);
    if (msg.size() != 1 + nx + nm + 2 * nn) throw Error("training: batch message of the wrong length");
    auto it = msg.begin() + 1;
    b.x.assign(it, it + static_cast<std::ptrdiff_t>(nx));
    it += static_cast<std::ptrdiff_t>(nx);
    b.meta.assign(it, it + static_cast<std::ptrdiff_t>(nm));
    it += static_cast<std::ptrdiff_t>(nm);
    b.target.assign(it, it + static_cast<std::ptrdiff_t>(nn));
    it += static_cast<std::ptrdiff_t>(nn);
    b.weight.assign(it, it + static_cast<std::ptrdiff_t>(nn));
}

}  // namespace dhs::stages::train
