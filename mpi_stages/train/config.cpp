// The training stage's `train.*` config keys and their reading into Params.
#include <filesystem>
#include <string>

#include "core/error.hpp"
#include "mpi_stages/train/train.hpp"

namespace dhs::stages::train {

namespace {

void declare_data(config::Schema& s) {
    using config::ValueType;
    s.add({.key = "train.dataset", .type = ValueType::string,
           .description = "training set: real (lens-catalogue positives vs stratified negatives, from the cutouts) or "
                          "injection (injections vs controls, from the injection stage)",
           .default_yaml = "real", .choices = {"real", "injection"}});
    s.add({.key = "train.cutouts_file", .type = ValueType::string,
           .description = "cutout stage output with /stamps ('': RUN_DIR/cutouts.h5)", .default_yaml = "''"});
    s.add({.key = "train.injections_file", .type = ValueType::string,
           .description = "injection stage output with /injections ('': RUN_DIR/injections.h5)", .default_yaml = "''"});
    s.add({.key = "train.sample_file", .type = ValueType::string,
           .description = "sampling stage output (positives' tiers) ('': RUN_DIR/sample.h5)", .default_yaml = "''"});
    s.add({.key = "train.stamp_status", .type = ValueType::string_list,
           .description = "cutout statuses used for training (real)", .default_yaml = "[ok]",
           .choices = {"ok", "partial"}});
    s.add({.key = "train.min_theta_over_psf", .type = ValueType::real,
           .description = "injection set: keep injections with theta_E / PSF FWHM_r at least this (0: all; seed 'Path A': 0.5)",
           .default_yaml = "0", .min = 0, .max = 100});
    s.add({.key = "train.min_arc_snr", .type = ValueType::real,
           .description = "injection set: keep injections with arc_snr at least this (0: all)", .default_yaml = "0",
           .min = 0, .max = 1e6});
    s.add({.key = "train.require_physics_valid", .type = ValueType::boolean,
           .description = "injection set: drop injections whose physics_valid is false", .default_yaml = "true"});
    s.add({.key = "train.weight_tier_a", .type = ValueType::real, .description = "loss weight of Tier-A positives",
           .default_yaml = "1.0", .min = 0, .max = 100});
    s.add({.key = "train.weight_tier_b", .type = ValueType::real, .description = "loss weight of Tier-B positives",
           .default_yaml = "0.5", .min = 0, .max = 100});
    s.add({.key = "train.weight_injection", .type = ValueType::real, .description = "loss weight of injections",
           .default_yaml = "1.0", .min = 0, .max = 100});
    s.add({.key = "train.weight_negative", .type = ValueType::real,
           .description = "loss weight of negatives and controls", .default_yaml = "1.0", .min = 0, .max = 100});
    s.add({.key = "train.tier_b_label", .type = ValueType::real,
           .description = "target of Tier-B positives (1: none; 0.8: the seed's label smoothing)", .default_yaml = "1.0",
           .min = 0.5, .max = 1});
    s.add({.key = "train.meta_columns", .type = ValueType::string_list,
           .description = "per-stamp scalars fused before the head (columns of /stamps or /injections, e.g. "
                          "psfsize_r, nobs_z; standardised with the train split's mean and std); [] for none",
           .default_yaml = "[]"});
}

void declare_model(config::Schema& s) {
    using config::ValueType;
    s.add({.key = "train.arch", .type = ValueType::string, .description = "model: resnet18 or simple_cnn (baseline)",
           .default_yaml = "resnet18", .choices = {"resnet18", "simple_cnn"}});
    s.add({.key = "train.stem", .type = ValueType::string,
           .description = "resnet18 stem: small_input (3x3 stride 1, no max-pool; seed 004) or imagenet (7x7/2 + max-pool)",
           .default_yaml = "small_input", .choices = {"small_input", "imagenet"}});
    s.add({.key = "train.width", .type = ValueType::integer,
           .description = "channels of the first stage (64: the real ResNet-18)", .default_yaml = "64", .min = 1,
           .max = 1024});
    s.add({.key = "train.crop", .type = ValueType::integer, .description = "central crop fed to the model",
           .default_yaml = "64", .min = 8, .max = 4096, .unit = "pixels"});
    s.add({.key = "train.augment", .type = ValueType::boolean,
           .description = "augment training stamps (8 rotations/flips, shifts, invvar noise)", .default_yaml = "true"});
    s.add({.key = "train.max_shift_px", .type = ValueType::integer,
           .description = "largest integer shift of the crop window per axis", .default_yaml = "2", .min = 0,
           .max = 64, .unit = "pixels"});
    s.add({.key = "train.noise_scale", .type = ValueType::real,
           .description = "Gaussian noise sigma per pixel = noise_scale / sqrt(invvar) (0: none)", .default_yaml = "0",
           .min = 0, .max = 100});
    s.add({.key = "train.focal_gamma", .type = ValueType::real,
           .description = "focal loss exponent (0: plain binary cross-entropy)", .default_yaml = "0", .min = 0,
           .max = 10});
}

void declare_optimisation(config::Schema& s) {
    using config::ValueType;
    s.add({.key = "train.batch_size", .type = ValueType::integer, .description = "stamps per step per learner",
           .default_yaml = "128", .min = 1, .max = 65536});
    s.add({.key = "train.eval_batch_size", .type = ValueType::integer,
           .description = "stamps per validation batch", .default_yaml = "256", .min = 1, .max = 65536});
    s.add({.key = "train.epochs", .type = ValueType::integer, .description = "most epochs", .default_yaml = "50",
           .min = 1, .max = 100000});
    s.add({.key = "train.patience", .type = ValueType::integer,
           .description = "stop after this many epochs without a better val AUC", .default_yaml = "10", .min = 1,
           .max = 100000});
    s.add({.key = "train.lr", .type = ValueType::real, .description = "AdamW peak learning rate",
           .default_yaml = "3e-4", .min = 0, .max = 10});
    s.add({.key = "train.weight_decay", .type = ValueType::real, .description = "AdamW weight decay",
           .default_yaml = "1e-2", .min = 0, .max = 10});
    s.add({.key = "train.warmup_epochs", .type = ValueType::real,
           .description = "linear warm-up length, then cosine decay to the end", .default_yaml = "1", .min = 0,
           .max = 1000});
    s.add({.key = "train.min_lr_fraction", .type = ValueType::real,
           .description = "learning rate at the end of the cosine, as a fraction of train.lr", .default_yaml = "0",
           .min = 0, .max = 1});
    s.add({.key = "train.checkpoint_every_steps", .type = ValueType::integer,
           .description = "also checkpoint every N optimiser steps (0: at epoch ends only)", .default_yaml = "0",
           .min = 0, .max = 1e9});
}

void declare_ranks(config::Schema& s) {
    using config::ValueType;
    s.add({.key = "train.learners", .type = ValueType::string,
           .description = "learner ranks: auto (every rank that sees a CUDA device; 1 on CPU) or a count; the other "
                          "ranks read and augment stamps for them",
           .default_yaml = "auto"});
    s.add({.key = "train.device", .type = ValueType::string,
           .description = "learner device: auto (CUDA when present), cpu or cuda (an error without a GPU)",
           .default_yaml = "auto", .choices = {"auto", "cpu", "cuda"}});
    s.add({.key = "train.threads", .type = ValueType::integer,
           .description = "compute threads per learner (0: the node's cores over its ranks)", .default_yaml = "0",
           .min = 0, .max = 1024});
}

std::string or_run_file(const std::string& v, const std::string& run_dir, const char* name) {
    return v.empty() ? (std::filesystem::path(run_dir) / name).string() : v;
}

}  // namespace

void declare_config(config::Schema& s) {
    declare_data(s);
    declare_model(s);
    declare_optimisation(s);
    declare_ranks(s);
}

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
