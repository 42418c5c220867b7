// The training set (see train.hpp): which stamps of the cutout or injection stage's output are
// trained on, with their labels, loss weights, HEALPix splits and metadata scalars. Only the
// 1-D index columns are read here; stamps are read batch by batch by the data ranks.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "core/error.hpp"
#include "core/hdf5/result_file.hpp"
#include "mpi_stages/train/train.hpp"

namespace fs = std::filesystem;

namespace dhs::stages::train {

namespace {

const char* kSplitNames[3] = {"train", "val", "test"};

// A finished input: present, not left half-written, and not older than what it was made from.
void check_input(const std::string& path, const std::string& upstream, const char* key) {
    if (!fs::exists(path)) {
        if (fs::exists(path + ".partial"))
            throw Error(fmt::format("'{}' is incomplete (only '{}.partial' exists): finish or resume the stage that "
                                    "writes it ({})", path, path, key));
        throw ConfigError(key, "default", 0, fmt::format("input '{}' does not exist: run the stage that writes it first", path));
    }
    if (!upstream.empty() && fs::exists(upstream) && fs::last_write_time(upstream) > fs::last_write_time(path))
        throw Error(fmt::format("'{}' is stale: it is older than '{}', which it was made from; run its stage again",
                                path, upstream));
}

bool parse_split(const std::string& s, Split& out) {
    for (int k = 0; k < 3; ++k)
        if (s == kSplitNames[k]) {
            out = static_cast<Split>(k);
            return true;
        }
    return false;
}

// The stamp geometry and bands, from the image dataset itself (a stage cannot disagree with its input).
void read_geometry(const hdf5::ResultReader& in, const std::string& image, TrainingSet& set) {
    Column first = in.read_column(image, 0, std::min<std::uint64_t>(1, in.rows(image)));
    const auto& shape = first.shape();
    if (shape.size() != 3 || shape[1] != shape[2])
        throw DataError(in.path(), image, "expected stamps of shape (N, bands, H, H)");
    set.channels = static_cast<int>(shape[0]);
    set.height = static_cast<int>(shape[1]);
    set.width = static_cast<int>(shape[2]);
    set.bands = in.string_attribute(image, "bands").value_or("g,r,z");
}

void read_real(const Params& p, TrainingSet& set) {
    check_input(p.cutouts_file, p.sample_file, "train.cutouts_file");
    hdf5::ResultReader in(p.cutouts_file);
    set.stamps_file = p.cutouts_file;
    set.stamps_group = "/stamps";
    read_geometry(in, "/stamps/image", set);
    const auto tset = in.read_column("/stamps/target_set").strings();
    const auto split = in.read_column("/stamps/split").strings();
    const auto status = in.read_column("/stamps/status").strings();
    const auto nan_frac = in.read_column("/stamps/nan_frac").as<double>();
    const auto sample_row = in.read_column("/stamps/sample_row").as<std::int64_t>();
    std::vector<std::string> tier;
    if (std::count(tset.begin(), tset.end(), "positives") > 0) {
        check_input(p.sample_file, "", "train.sample_file");
        tier = hdf5::ResultReader(p.sample_file).read_column("/positives/tier").strings();
    }
    for (std::size_t i = 0; i < tset.size(); ++i) {
        const bool pos = tset[i] == "positives";
        Example e;
        if ((!pos && tset[i] != "negatives") || !parse_split(split[i], e.split)) continue;  // hosts; no split
        if (std::find(p.stamp_status.begin(), p.stamp_status.end(), status[i]) == p.stamp_status.end() ||
            !(nan_frac[i] < 1.0)) {
            ++set.dropped;
            continue;
        }
        e.row = static_cast<std::int64_t>(i);
        e.positive = pos;
        if (pos) {
            const auto r = static_cast<std::size_t>(sample_row[i]);
            if (r >= tier.size())
                throw DataError(p.cutouts_file, fmt::format("/stamps/sample_row, row {}", i),
                                fmt::format("sample row {} is beyond '{}' /positives ({} rows)", r, p.sample_file,
                                            tier.size()));
            const bool a = tier[r] == "A";
            e.klass = a ? "positive_a" : "positive_b";
            e.target = a ? 1.0f : static_cast<float>(p.tier_b_label);
            e.weight = static_cast<float>(a ? p.weight_tier_a : p.weight_tier_b);
        } else {
            e.klass = "negative";
            e.weight = static_cast<float>(p.weight_negative);
        }
        set.examples.push_back(e);
    }
}

void read_injections(const Params& p, TrainingSet& set) {
    check_input(p.injections_file, p.cutouts_file, "train.injections_file");
    hdf5::ResultReader in(p.injections_file);
    set.stamps_file = p.injections_file;
    set.stamps_group = "/injections";
    read_geometry(in, "/injections/image", set);
    const auto control = in.read_column("/injections/is_control").as<int>();
    const auto split = in.read_column("/injections/split").strings();
    const auto theta = in.read_column("/injections/theta_e_arcsec").as<double>();
    const auto psf = in.read_column("/injections/psf_fwhm_r").as<double>();
    const auto snr = in.read_column("/injections/arc_snr").as<double>();
    const auto valid = in.read_column("/injections/physics_valid").as<int>();
    const auto bad = in.read_column("/injections/bad_pixel_frac").as<double>();
    for (std::size_t i = 0; i < control.size(); ++i) {
        Example e;
        if (!parse_split(split[i], e.split)) continue;
        if (!(bad[i] < 1.0)) {  // no usable pixel (NaN-only stamp)
            ++set.dropped;
            continue;
        }
        e.row = static_cast<std::int64_t>(i);
        e.source = 1;
        e.positive = control[i] == 0;
        if (e.positive) {
            const bool keep = (!p.require_physics_valid || valid[i] != 0) &&
                              (p.min_theta_over_psf <= 0 || theta[i] / psf[i] >= p.min_theta_over_psf) &&
                              (p.min_arc_snr <= 0 || snr[i] >= p.min_arc_snr);
            if (!keep) {
                ++set.dropped;
                continue;
            }
        }
        e.klass = e.positive ? "injection" : "control";
        e.target = e.positive ? 1.0f : 0.0f;
        e.weight = static_cast<float>(e.positive ? p.weight_injection : p.weight_negative);
        set.examples.push_back(e);
    }
}

// Metadata scalars, standardised with the train split's mean and standard deviation.
void read_meta(const Params& p, TrainingSet& set) {
    set.n_meta = static_cast<int>(p.meta_columns.size());
    if (set.n_meta == 0) return;
    hdf5::ResultReader in(set.stamps_file);
    const std::size_t n = set.examples.size();
    set.meta.assign(n * static_cast<std::size_t>(set.n_meta), 0.f);
    for (int k = 0; k < set.n_meta; ++k) {
        const std::string object = set.stamps_group + "/" + p.meta_columns[static_cast<std::size_t>(k)];
        if (!in.exists(object))
            throw ConfigError("train.meta_columns", "config", 0,
                              fmt::format("'{}' has no column {}", set.stamps_file, object));
        const auto v = in.read_column(object).as<double>();
        double sum = 0, sum2 = 0, m = 0;
        for (const auto& e : set.examples)
            if (e.split == Split::train && std::isfinite(v[static_cast<std::size_t>(e.row)])) {
                const double x = v[static_cast<std::size_t>(e.row)];
                sum += x, sum2 += x * x, ++m;
            }
        const double mean = m > 0 ? sum / m : 0, var = m > 1 ? (sum2 - m * mean * mean) / (m - 1) : 0;
        const double sd = var > 0 ? std::sqrt(var) : 1.0;
        set.meta_mean.push_back(mean);
        set.meta_std.push_back(sd);
        for (std::size_t i = 0; i < n; ++i) {
            const double x = v[static_cast<std::size_t>(set.examples[i].row)];
            set.meta[i * static_cast<std::size_t>(set.n_meta) + static_cast<std::size_t>(k)] =
                std::isfinite(x) ? static_cast<float>((x - mean) / sd) : 0.f;
        }
    }
}

// Counts per class and split; a split that trains or validates must hold both labels.
void count_and_check(const Params& p, TrainingSet& set) {
    std::map<std::string, std::map<std::string, std::int64_t>> counts;
    std::int64_t pos[3] = {0, 0, 0}, neg[3] = {0, 0, 0};
    for (std::size_t i = 0; i < set.examples.size(); ++i) {
        const auto& e = set.examples[i];
        const int s = static_cast<int>(e.split);
        set.index_of_split[s].push_back(static_cast<std::int64_t>(i));
        ++counts[e.klass][kSplitNames[s]];
        (e.positive ? pos : neg)[s]++;
    }
    set.counts_json = nlohmann::json(counts).dump();
    const char* what_pos = p.dataset == "real" ? "positives" : "injections";
    const char* what_neg = p.dataset == "real" ? "negatives" : "controls";
    for (int s = 0; s < 2; ++s) {
        if (pos[s] == 0 || neg[s] == 0)
            throw ConfigError("train.dataset", "config", 0,
                              fmt::format("'{}' has no usable {} in the {} split ({} {}, {} {} there; {} rows dropped "
                                          "by status/filters): training needs both labels in train and val",
                                          set.stamps_file, pos[s] == 0 ? what_pos : what_neg, kSplitNames[s], pos[s],
                                          what_pos, neg[s], what_neg, set.dropped));
    }
}

}  // namespace

TrainingSet build_training_set(const Params& p) {
    TrainingSet set;
    if (p.dataset == "real")
        read_real(p, set);
    else
        read_injections(p, set);
    if (set.height < p.pre.crop)
        throw ConfigError("train.crop", "config", 0,
                          fmt::format("crop {} is larger than the stamps of '{}' ({}x{})", p.pre.crop, set.stamps_file,
                                      set.height, set.width));
    read_meta(p, set);
    count_and_check(p, set);
    return set;
}

}  // namespace dhs::stages::train
