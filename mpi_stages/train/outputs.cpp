// Training outputs and the plan text (see outputs.hpp).
#include "mpi_stages/train/outputs.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/engine/table_file.hpp"

namespace fs = std::filesystem;

namespace dhs::stages::train {

namespace {

Table history_table(const TrainState& s) {
    std::vector<std::int64_t> epoch, steps;
    std::vector<double> tl, vl, auc, lr, ips, wait, secs;
    for (const auto& r : s.history) {
        epoch.push_back(r.epoch), steps.push_back(r.steps), tl.push_back(r.train_loss), vl.push_back(r.val_loss);
        auc.push_back(r.val_auc), lr.push_back(r.lr), ips.push_back(r.images_per_s);
        wait.push_back(r.data_wait_fraction), secs.push_back(r.seconds);
    }
    Table t;
    auto add = [&t](Column c, const char* unit, const char* what) {
        c.set_unit(unit);
        c.set_description(what);
        t.add(std::move(c));
    };
    add(Column("epoch", epoch), "", "epoch (0-based)");
    add(Column("steps", steps), "", "optimiser steps run in this epoch (after a resume: those after the resume point)");
    add(Column("train_loss", tl), "", "mean weighted BCE of the epoch's steps over all learners");
    add(Column("val_loss", vl), "", "weighted BCE on the val split (no augmentation)");
    add(Column("val_auc", auc), "", "ROC AUC on the val split");
    add(Column("lr", lr), "", "learning rate of the epoch's last step");
    add(Column("images_per_s", ips), "1/s", "training images per second over all learners (wall clock)");
    add(Column("data_wait_fraction", wait), "", "fraction of the learners' time spent waiting for batches");
    add(Column("seconds", secs), "s", "wall-clock seconds of the epoch, validation included");
    return t;
}

std::string model_json(const Params& p, const TrainingSet& set, const TrainState& s) {
    nlohmann::json meta = nlohmann::json::array();
    for (std::size_t k = 0; k < p.meta_columns.size(); ++k)
        meta.push_back({{"column", p.meta_columns[k]}, {"mean", set.meta_mean[k]}, {"std", set.meta_std[k]}});
    return nlohmann::json{
        {"format", "dhs lens finder 1"},
        {"arch", p.model.arch}, {"stem", p.model.stem}, {"width", p.model.width}, {"in_channels", set.channels},
        {"bands", set.bands}, {"stamp_size", set.height}, {"crop", p.pre.crop},
        {"preprocessing", {{"name", "raw_robust"}, {"outer_radius_px", p.pre.outer_radius_px}, {"clip", p.pre.clip}}},
        {"meta", meta}, {"dataset", p.dataset}, {"best_epoch", s.best_epoch}, {"best_val_auc", s.best_auc},
        {"weights", "weights.pt"},
        {"torchvision", p.model.arch != "resnet18" ? "not a torchvision model"
                        : p.model.stem == "imagenet" ? "torchvision.models.resnet18(num_classes=1)"
                                                      : "torchvision.models.resnet18(num_classes=1) with conv1 = "
                                                        "Conv2d(3, 64, 3, 1, 1, bias=False) and maxpool = Identity()"}}
        .dump(1);
}

}  // namespace

void write_outputs(const engine::StageContext& ctx, const Params& p, const TrainingSet& set, const TrainState& state,
                   learn::Learner& learner, const engine::CollectiveRun& run) {
    const auto last = learner.weights_pt();
    write_file_atomically(p.model_dir, "weights-last.pt", last.data(), last.size());
    const std::string mj = model_json(p, set, state);
    write_file_atomically(p.model_dir, "model.json", mj.data(), mj.size());
    engine::TableGroup history{"history", history_table(state), {}, {}};
    // The resolved `train:` section of the configuration, as used.
    std::string train_yaml;
    {
        const std::string yaml = ctx.config.resolved_yaml();
        const auto at = yaml.rfind("\ntrain:", std::string::npos) != std::string::npos ? yaml.find("\ntrain:") + 1
                        : yaml.rfind("train:", 0) == 0                                   ? 0
                                                                                         : std::string::npos;
        if (at != std::string::npos) {
            std::size_t end = at;
            do end = yaml.find('\n', end + 1);
            while (end != std::string::npos && end + 1 < yaml.size() && (yaml[end + 1] == ' ' || yaml[end + 1] == '#'));
            train_yaml = yaml.substr(at, end == std::string::npos ? std::string::npos : end + 1 - at);
        }
    }
    history.string_attrs = {{"counts", set.counts_json}, {"stop_reason", state.stop_reason},
                            {"dataset", p.dataset}, {"stamps_file", set.stamps_file}, {"model", mj},
                            {"description", "one row per epoch"}, {"train_config", train_yaml}};
    history.real_attrs = {{"best_epoch", static_cast<double>(state.best_epoch)}, {"best_val_auc", state.best_auc},
                          {"global_steps", static_cast<double>(state.global_step)},
                          {"dropped_rows", static_cast<double>(set.dropped)}};
    engine::GatherMeta meta = run.meta;
    meta.root_int_attrs["units_planned"] = 0;
    meta.root_int_attrs["units_quarantined"] = 0;
    engine::write_table_file(run.output, {history}, meta);
    spdlog::info("train: best val AUC {:.4f} at epoch {} ({}); weights in {}", state.best_auc, state.best_epoch + 1,
                 state.stop_reason, (fs::path(p.model_dir) / "weights.pt").string());
}

std::string plan_summary(const Params& p, const TrainingSet& set, int learners, int ranks, std::int64_t steps) {
    const auto model = learn::make_model(p.model, 0);
    std::int64_t params = 0;
    for (const auto& t : model->parameters()) params += t.numel();
    const double mib = 1024.0 * 1024.0;
    const double stamp = static_cast<double>(set.channels * set.height * set.width) * 4;
    const double input = static_cast<double>(set.channels * p.pre.crop * p.pre.crop) * 4;
    // weights, gradients, two AdamW moments and the flat allreduce buffer; activations ~ 24
    // feature maps of width x crop^2 per image kept for the backward pass (small_input stem).
    const double act_scale = p.model.stem == "imagenet" ? 1.5 : 24;
    const double learner_mem = 5.0 * 4 * static_cast<double>(params) +
                               static_cast<double>(p.batch_size) * p.model.width * p.pre.crop * p.pre.crop * 4 * act_scale / 4;
    const double data_mem = static_cast<double>(std::max(p.batch_size, p.eval_batch_size)) * (2 * stamp + 3 * input);
    return fmt::format(
        "  groups: {} learner(s) (ranks 0-{}), {} data rank(s) ({} per learner); device {}\n"
        "  data: {} ({}): {} train / {} val / {} test stamps, {} dropped; counts {}\n"
        "  steps: {} per epoch (batch {} per learner), at most {} epochs = {} steps; model {} ({} parameters)\n"
        "  memory/rank: learner ~{:.0f} MiB, data rank ~{:.0f} MiB\n",
        learners, learners - 1, ranks - learners, learners > 0 ? (ranks - learners) / learners : 0, p.device,
        set.stamps_file, p.dataset, set.index_of_split[0].size(), set.index_of_split[1].size(),
        set.index_of_split[2].size(), set.dropped, set.counts_json, steps, p.batch_size, p.epochs, steps * p.epochs,
        p.model.arch, params, learner_mem / mib, data_mem / mib);
}

}  // namespace dhs::stages::train
