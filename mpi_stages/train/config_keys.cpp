// The training stage's `train.*` config keys. Free of libtorch: a build without it still
// accepts (and validates) a config with a train section, and says that the stage is missing.
#include "mpi_stages/train/config_keys.hpp"

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

}  // namespace

void declare_config(config::Schema& s) {
    declare_data(s);
    declare_model(s);
    declare_optimisation(s);
    declare_ranks(s);
}

}  // namespace dhs::stages::train
