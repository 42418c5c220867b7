// The training stage's `train.*` config values read into Params (the keys: config_keys.cpp).
#include <filesystem>
#include <string>

#include "core/error.hpp"
#include "mpi_stages/train/train.hpp"

namespace dhs::stages::train {

namespace {

std::string or_run_file(const std::string& v, const std::string& run_dir, const char* name) {
    return v.empty() ? (std::filesystem::path(run_dir) / name).string() : v;
}

}  // namespace

Params read_params(const config::Config& c, const std::string& run_dir) {
    Params p;
    p.run_dir = run_dir;
    p.model_dir = (std::filesystem::path(run_dir) / "model").string();
    p.dataset = c.get_string("train.dataset");
    p.cutouts_file = or_run_file(c.get_string("train.cutouts_file"), run_dir, "cutouts.h5");
    p.injections_file = or_run_file(c.get_string("train.injections_file"), run_dir, "injections.h5");
    p.sample_file = or_run_file(c.get_string("train.sample_file"), run_dir, "sample.h5");
    p.stamp_status = c.get_strings("train.stamp_status");
    p.min_theta_over_psf = c.get_real("train.min_theta_over_psf");
    p.min_arc_snr = c.get_real("train.min_arc_snr");
    p.require_physics_valid = c.get_bool("train.require_physics_valid");
    p.weight_tier_a = c.get_real("train.weight_tier_a");
    p.weight_tier_b = c.get_real("train.weight_tier_b");
    p.weight_injection = c.get_real("train.weight_injection");
    p.weight_negative = c.get_real("train.weight_negative");
    p.tier_b_label = c.get_real("train.tier_b_label");
    p.meta_columns = c.get_strings("train.meta_columns");
    p.model.arch = c.get_string("train.arch");
    p.model.stem = c.get_string("train.stem");
    p.model.width = static_cast<int>(c.get_int("train.width"));
    p.model.n_meta = static_cast<int>(p.meta_columns.size());
    p.pre.crop = static_cast<int>(c.get_int("train.crop"));
    p.aug.enabled = c.get_bool("train.augment");
    p.aug.max_shift_px = static_cast<int>(c.get_int("train.max_shift_px"));
    p.aug.noise_scale = c.get_real("train.noise_scale");
    p.loss.focal_gamma = c.get_real("train.focal_gamma");
    p.batch_size = c.get_int("train.batch_size");
    p.eval_batch_size = c.get_int("train.eval_batch_size");
    p.epochs = c.get_int("train.epochs");
    p.patience = c.get_int("train.patience");
    p.lr = c.get_real("train.lr");
    p.weight_decay = c.get_real("train.weight_decay");
    p.warmup_epochs = c.get_real("train.warmup_epochs");
    p.min_lr_fraction = c.get_real("train.min_lr_fraction");
    p.checkpoint_every_steps = c.get_int("train.checkpoint_every_steps");
    p.learners = c.get_string("train.learners");
    p.device = c.get_string("train.device");
    p.threads = c.get_int("train.threads");
    p.seed = static_cast<std::uint64_t>(c.get_int("run.seed"));
    if (p.learners != "auto") {
        std::size_t used = 0;
        int n = 0;
        try {
            n = std::stoi(p.learners, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != p.learners.size() || n < 1)
            throw ConfigError("train.learners", c.origin_of("train.learners"), 0,
                              "must be 'auto' or a positive count, not '" + p.learners + "'");
    }
    return p;
}

}  // namespace dhs::stages::train
