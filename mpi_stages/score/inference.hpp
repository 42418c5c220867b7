// Inference as the scoring stages do it (`score`, `search`): the model loaded once per process
// (or only its card, on a data rank), stamps prepared as training prepared them, batches scored
// with the next one prepared on a second thread, and the scoring rank group (learner ranks that
// infer for the data ranks through the engine's serving ranks, core/engine/service.hpp).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "kernels/learn/learner.hpp"
#include "mpi_stages/score/score.hpp"

namespace dhs {
namespace engine {
class ServiceClient;
}
namespace mpi {
class Comm;
}
namespace util {
class HugePagesOff;
}
}  // namespace dhs

namespace dhs::stages::score {

/// @brief What a stage says about its inference: the model, device, threads and learners
/// (score.* or search.*), and the config section they come from (for error messages).
struct InferenceParams {
    std::string section;                 ///< "score" or "search"
    std::string model;                   ///< resolved model directory or TorchScript file
    std::string device = "auto";
    std::string learners = "auto";
    std::int64_t threads = 0;
    std::int64_t batch_size = 256;
};

/// @brief One process's model: loaded on first use (rank's device, torch threads, huge pages
/// off), or only its card where the rank prepares batches for a learner rank. Thread-safe.
class Inference {
public:
    Inference();
    ~Inference();
    /// @brief model.json of the model (from the loaded model when there is one).
    const ModelCard& card(const InferenceParams& p) const;
    /// @brief SHA-256 of the model file (weights.pt or the TorchScript file).
    std::string sha256(const InferenceParams& p) const { return model_sha256(p.model); }
    /// @brief The logits of a prepared batch: from this process's model, or asked of the
    /// learner rank behind `service` when it is not null. The model always sees p.batch_size
    /// stamps (a short batch is padded), so a stamp's logit does not depend on its batch.
    /// @throws Error.
    std::vector<float> logits(const learn::Batch& b, engine::ServiceClient* service, const InferenceParams& p) const;
    /// @brief The learner ranks (`<section>.learners`; see learner_ranks()). Collective.
    std::vector<int> serving_ranks(const InferenceParams& p, const mpi::Comm& comm) const;
    /// @brief A learner rank's answer to a data rank's request (a batch as logits() sends it).
    std::vector<float> serve(std::span<const std::int64_t> header, std::span<const float> payload,
                             const InferenceParams& p) const;
    /// @brief Ends the stage's hold on the process (huge pages back on; the model stays loaded).
    void release() const;

private:
    Scorer& scorer(const InferenceParams& p) const;
    mutable std::mutex mu_;
    mutable std::unique_ptr<Scorer> scorer_;
    mutable std::unique_ptr<ModelCard> card_;
    mutable std::unique_ptr<util::HugePagesOff> huge_pages_off_;
};

/// @brief `m` raw stamps (c, h, w float32 each, NCHW) prepared as training prepares them (crop,
/// raw_robust; metadata standardised with the card's mean and std, non-finite -> 0): `meta[k]`
/// holds column k for the whole unit, `offset` is the first stamp's position in it; `flagged`
/// (m values) gets each stamp's zeroed bands. @throws DataError naming `file` and `object` when
/// the stamps do not fit the model.
learn::Batch prepare_batch(std::span<const float> image, std::uint64_t m, int c, int h, int w, const ModelCard& card,
                           const std::vector<std::vector<double>>& meta, std::uint64_t offset,
                           std::span<std::int32_t> flagged, const std::string& file, const std::string& object);

/// @brief Scores n stamps in batches of `batch_size`: `prepare(first, count)` makes a batch (on a
/// second thread, the next one while `infer` runs on this one); logits and sigmoid go to
/// `logit` and `p_lens` (n each).
void score_in_batches(std::uint64_t n, std::int64_t batch_size,
                      const std::function<learn::Batch(std::uint64_t, std::uint64_t)>& prepare,
                      const std::function<std::vector<float>(const learn::Batch&)>& infer, std::vector<float>& logit,
                      std::vector<float>& p_lens);

}  // namespace dhs::stages::score
