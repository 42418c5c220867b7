// train_data_bench: the training stage's data path alone, as one data rank does it
// (mpi_stages/train/batches.hpp's BatchMaker): the batch's HDF5 rows read in one selection,
// optional invvar noise, raw_robust per band, the dihedral transform and shifted crop, the batch
// assembled, over the training split in each epoch's permutation. One thread. Prints one JSON
// line with stamps/s (make time only; the training set's index read is timed apart).
//
//   train_data_bench --file cutouts.h5|injections.h5 [--group /stamps|/injections] [--batch 128]
//                    [--batches 50] [--augment 1] [--noise-scale 0] [--crop 64] [--max-shift 2]
//                    [--sample sample.h5] [--seed 42]
//
// The group says which stage wrote the file (/stamps: dataset real, /injections: dataset
// injection; by default whichever the file has). The training set is built as the stage builds
// it (build_training_set); when the file cannot train (say a small cutouts run without positives
// in a split) every row of the group is used instead, since the path's cost does not depend on
// the labels ("training_set": "all_rows" in the output).
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>

#include "core/error.hpp"
#include "core/hdf5/result_file.hpp"
#include "mpi_stages/train/batches.hpp"
#include "mpi_stages/train/train.hpp"

namespace {

namespace tr = dhs::stages::train;
namespace fs = std::filesystem;

struct Options {
    std::string file, group, sample;
    std::int64_t batch = 128, batches = 50;
    bool augment = true;
    double noise_scale = 0;
    int crop = 64, max_shift = 2;
    std::uint64_t seed = 42;
};

[[noreturn]] void usage(int code) {
    std::cout << "train_data_bench --file H5 [--group /stamps|/injections] [--batch 128] [--batches 50]\n"
                 "                 [--augment 0|1] [--noise-scale 0] [--crop 64] [--max-shift 2]\n"
                 "                 [--sample sample.h5] [--seed 42]\n";
    std::exit(code);
}

Options parse(int argc, char** argv) {
    std::map<std::string, std::string> kv;
    for (int i = 1; i < argc; ++i) {
        const std::string key = argv[i];
        if (key == "--help" || key == "-h") usage(0);
        if (key.rfind("--", 0) != 0 || i + 1 >= argc) throw std::invalid_argument("bad argument '" + key + "'");
        kv[key.substr(2)] = argv[++i];
    }
    Options o;
    for (const auto& [k, v] : kv) {
        if (k == "file") o.file = v;
        else if (k == "group") o.group = v;
        else if (k == "sample") o.sample = v;
        else if (k == "batch") o.batch = std::stoll(v);
        else if (k == "batches") o.batches = std::stoll(v);
        else if (k == "augment") o.augment = v != "0";
        else if (k == "noise-scale") o.noise_scale = std::stod(v);
        else if (k == "crop") o.crop = std::stoi(v);
        else if (k == "max-shift") o.max_shift = std::stoi(v);
        else if (k == "seed") o.seed = std::stoull(v);
        else throw std::invalid_argument("unknown option --" + k);
    }
    if (o.file.empty()) usage(2);
    if (o.batch < 1 || o.batches < 1) throw std::invalid_argument("--batch and --batches must be >= 1");
    if (o.group.empty()) o.group = dhs::hdf5::ResultReader(o.file).exists("/injections") ? "/injections" : "/stamps";
    if (o.group != "/stamps" && o.group != "/injections")
        throw std::invalid_argument("--group must be /stamps or /injections, not '" + o.group + "'");
    return o;
}

// Params as read_params fills them from a config with the stage's defaults and these options.
tr::Params make_params(const Options& o) {
    tr::Params p;
    p.dataset = o.group == "/stamps" ? "real" : "injection";
    const fs::path dir = fs::path(o.file).parent_path();
    p.cutouts_file = p.dataset == "real" ? o.file : (dir / "cutouts.h5").string();
    p.injections_file = p.dataset == "injection" ? o.file : (dir / "injections.h5").string();
    p.sample_file = o.sample.empty() ? (dir / "sample.h5").string() : o.sample;
    p.stamp_status = {"ok"};
    p.pre.crop = o.crop;
    p.aug.enabled = o.augment;
    p.aug.max_shift_px = o.max_shift;
    p.aug.noise_scale = o.noise_scale;
    p.batch_size = o.batch;
    p.seed = o.seed;
    p.run_dir = dir.string();
    return p;
}

// Every row of the group as a training example (the fallback when the file cannot train).
tr::TrainingSet all_rows(const tr::Params& p, const Options& o) {
    dhs::hdf5::ResultReader in(o.file);
    const std::string image = o.group + "/image";
    tr::TrainingSet set;
    set.stamps_file = o.file;
    set.stamps_group = o.group;
    const auto n = in.rows(image);
    const auto shape = in.read_column(image, 0, 1).shape();
    if (n == 0 || shape.size() != 3 || shape[1] != shape[2])
        throw std::runtime_error("'" + o.file + "' " + image + " holds no (N, bands, H, H) stamps");
    set.channels = static_cast<int>(shape[0]);
    set.height = static_cast<int>(shape[1]);
    set.width = static_cast<int>(shape[2]);
    if (set.height < p.pre.crop) throw std::invalid_argument("--crop is larger than the stamps");
    for (std::uint64_t i = 0; i < n; ++i) {
        tr::Example e;
        e.row = static_cast<std::int64_t>(i);
        e.source = o.group == "/injections" ? 1 : 0;
        e.target = static_cast<float>(i % 2);
        set.examples.push_back(e);
        set.index_of_split[0].push_back(static_cast<std::int64_t>(i));
    }
    return set;
}

double since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) try {
    // The heap as dhs's main sets it (apps/dhs/main.cpp): batch buffers are reused, not
    // returned to the kernel and faulted in again every batch.
    ::mallopt(M_MMAP_THRESHOLD, 256 << 20);
    ::mallopt(M_TRIM_THRESHOLD, 1 << 30);
    const Options o = parse(argc, argv);
    const tr::Params p = make_params(o);
    auto t0 = std::chrono::steady_clock::now();
    tr::TrainingSet set;
    std::string how = "build_training_set";
    try {
        set = tr::build_training_set(p);
    } catch (const dhs::Error& e) {
        std::fprintf(stderr, "train_data_bench: build_training_set: %s\n  -> using every row of %s instead\n", e.what(),
                     o.group.c_str());
        set = all_rows(p, o);
        how = "all_rows";
    }
    const double index_s = since(t0);
    const auto n_train = static_cast<std::int64_t>(set.index_of_split[0].size());
    if (n_train < o.batch)
        throw std::invalid_argument("the train split holds " + std::to_string(n_train) + " stamps, fewer than --batch");
    const std::int64_t per_epoch = n_train / o.batch;  // as steps_per_epoch for one learner

    tr::BatchMaker maker(p, set);
    dhs::learn::Batch batch;
    std::vector<std::int64_t> order;
    std::int64_t epoch = -1;
    const auto make = [&](std::int64_t k) {  // the k-th batch over consecutive epochs
        if (k / per_epoch != epoch) {
            epoch = k / per_epoch;
            order = tr::epoch_order(n_train, p.seed, epoch);
        }
        const auto pos = tr::train_batch_examples(set, order, k % per_epoch, 0, 1, o.batch);
        maker.make(pos, epoch, o.augment, batch);
    };
    make(0);  // warm-up: opens the datasets, grows the buffers
    double checksum = 0;
    t0 = std::chrono::steady_clock::now();
    for (std::int64_t k = 1; k <= o.batches; ++k) {
        make(k);
        checksum += static_cast<double>(batch.x[static_cast<std::size_t>(k) % batch.x.size()]);
    }
    const double seconds = since(t0);
    const double stamps = static_cast<double>(o.batch * o.batches);
    std::printf("{\"bench\": \"dhs_train_data_path\", \"stamps_per_s\": %.2f, \"batches_per_s\": %.3f, \"seconds\": %.4f, "
                "\"batch\": %lld, \"batches\": %lld, \"epochs_touched\": %lld, \"augment\": %s, \"noise_scale\": %g, "
                "\"crop\": %d, \"stamp\": [%d, %d, %d], \"file\": \"%s\", \"group\": \"%s\", \"training_set\": \"%s\", "
                "\"n_train\": %lld, \"index_read_s\": %.4f, \"flagged_bands\": %lld, \"checksum\": %.6g}\n",
                stamps / seconds, static_cast<double>(o.batches) / seconds, seconds, static_cast<long long>(o.batch),
                static_cast<long long>(o.batches), static_cast<long long>(epoch + 1), o.augment ? "true" : "false",
                o.noise_scale, o.crop, set.channels, set.height, set.width, o.file.c_str(), o.group.c_str(), how.c_str(),
                static_cast<long long>(n_train), index_s, static_cast<long long>(maker.flagged_bands()), checksum);
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "train_data_bench: %s\n", e.what());
    return 1;
}
