// The validation stage's per-stamp part: output groups, the batch plan over cutouts.h5 and
// injections.h5, and one batch read back and turned into feature rows with failure reasons.
#include <fmt/format.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/engine/output_group.hpp"
#include "core/engine/units.hpp"
#include "core/error.hpp"
#include "core/hdf5/result_file.hpp"
#include "mpi_stages/validate/validate.hpp"

namespace fs = std::filesystem;

namespace dhs::stages::validate {

namespace {

std::string stem_description(const std::string& stem, const Params& p) {
    if (stem == "core_brightness") return fmt::format("mean within r < {} px", p.spec.core_radius);
    if (stem == "annulus_brightness")
        return fmt::format("mean in the annulus {} <= r < {} px", p.spec.annulus_inner, p.spec.annulus_outer);
    if (stem == "outer_brightness")
        return fmt::format("mean in the outer ring {} <= r < {} px", p.spec.outer_inner, p.spec.outer_outer);
    if (stem == "annulus_max") return "maximum in the annulus";
    if (stem == "annulus_std") return "standard deviation (ddof 0) in the annulus";
    if (stem == "azimuthal_asymmetry")
        return fmt::format("standard deviation (ddof 0) of the mean brightness in {} azimuthal sectors of the annulus",
                           p.spec.sectors);
    if (stem == "mad") return "median absolute deviation from the median, whole stamp (unscaled)";
    return "core_brightness / outer_brightness";
}

// The text of row i of a scalar column of any type (ids may be strings or integers).
std::string cell_text(const Column& c, std::size_t i) {
    if (c.dtype() == DType::string) return c.strings()[i];
    return std::visit(
        [&](const auto& v) -> std::string {
            using E = typename std::decay_t<decltype(v)>::value_type;
            if constexpr (std::is_same_v<E, std::string>) return v[i];
            else return fmt::format("{}", v[i]);
        },
        c.storage());
}

}  // namespace

namespace {

// The columns /metrics and /failed_stamps share: which stamp and why it failed.
struct StampKeys {
    engine::Col<std::string> source, id, klass, split, failure_reasons;
    engine::Col<std::int64_t> source_row;
};

// Declares the shared columns in /metrics order up to `split`; failure_reasons is added by the caller.
StampKeys add_stamp_keys(engine::GroupSchema& g) {
    StampKeys k;
    k.source = g.add<std::string>("source", "",
                                  "input the stamp comes from: cutouts (cutouts.h5:/stamps) or injections "
                                  "(injections.h5:/injections)");
    k.source_row = g.add<std::int64_t>("source_row", "", "row of the stamp in its input group");
    k.id = g.add<std::string>("id", "", "galaxy_id (cutouts) or injection_id (injections)");
    k.klass = g.add<std::string>("class", "",
                                 "positive, negative, host (cutouts target_set) or injection, control (injections "
                                 "is_control)");
    k.split = g.add<std::string>("split", "", "train, val or test from the input ('' if none)");
    return k;
}

const char* const kFailureReasons = "';'-separated: size, nan_total, nan_core, masked_core, no_data; '' when quality_ok";

/// /metrics: one row per audited stamp.
struct MetricsGroup : engine::GroupSchema {
    StampKeys key;
    engine::Col<bool> size_ok, quality_ok;
    std::vector<engine::Col<double>> features;  ///< feature_names(bands) order
    engine::Col<float> radial_profile, core_pixels;
    explicit MetricsGroup(const Params& p)
        : GroupSchema("metrics", "one row per audited stamp (cutouts rows, then injections rows): quality flags, "
                                 "failure reasons, shortcut features") {
        key = add_stamp_keys(*this);
        size_ok = add<bool>("size_ok", "",
                            fmt::format("stamp is {} x {} x {} (and the input's size_ok, if any, is true)",
                                        p.bands.size(), p.stamp_size, p.stamp_size));
        quality_ok = add<bool>("quality_ok", "", "passed every quality check (failure_reasons empty)");
        key.failure_reasons = add<std::string>("failure_reasons", "", kFailureReasons);
        features.push_back(add<double>("total_nan_frac", "", "fraction of non-finite pixels, all bands"));
        features.push_back(add<double>(
            "core_nan_frac", "", fmt::format("fraction of non-finite pixels within r < {} px, all bands", p.spec.core_radius)));
        features.push_back(add<double>("core_masked_frac", "",
                                       fmt::format("fraction of core pixels with a maskbit in {} (NaN without maskbits)",
                                                   p.reject_maskbits)));
        for (const auto& stem : band_feature_stems())
            for (const auto& b : p.bands)
                features.push_back(add<double>(band_feature_name(stem, b), stem == "radial_gradient" ? "" : "nanomaggy",
                                               stem_description(stem, p) + ", " + b + " band"));
        const std::size_t nb = p.bands.size();
        radial_profile = add<float>("radial_profile", "nanomaggy",
                                    "azimuthal median in radial bins [k, k+1) px per band (radial-profile classifier input)",
                                    {nb, static_cast<std::size_t>(p.spec.profile_bins)});
        const auto box = static_cast<std::size_t>(p.spec.core_box);
        core_pixels = add<float>("core_pixels", "nanomaggy", "central box of pixels per band (core-only classifier input)",
                                 {nb, box, box});
        set_column_attribute(core_pixels, "layout", "NCHW");
    }
};

/// /failed_stamps: the stamps that failed a quality check.
struct FailedStampsGroup : engine::GroupSchema {
    StampKeys key;
    FailedStampsGroup() : GroupSchema("failed_stamps", "the stamps that failed a quality check, with reasons") {
        key = add_stamp_keys(*this);
        key.failure_reasons = add<std::string>("failure_reasons", "", kFailureReasons);
    }
};

template <class T>
std::vector<T> rows_at(const std::vector<T>& v, const std::vector<std::size_t>& rows) {
    std::vector<T> out;
    out.reserve(rows.size());
    for (const auto r : rows) out.push_back(v[r]);
    return out;
}

}  // namespace

std::vector<engine::OutputGroup> output_groups(const Params& p) {
    return {MetricsGroup(p).group(), FailedStampsGroup().group()};
}

std::vector<engine::WorkUnit> plan_units(const Params& p) {
    std::vector<engine::WorkUnit> all;
    bool any = false;
    for (const auto& c : comparisons(p)) {
        if (!c.requested || !fs::exists(c.path)) continue;
        any = true;
        hdf5::ResultReader r(c.path);
        if (!r.exists(c.group + "/image"))
            throw DataError(c.path, c.group + "/image", "no stamp dataset (the " + c.name + " comparison needs it)");
        const auto rows = static_cast<std::int64_t>(r.rows(c.group + "/image"));
        const Column probe = r.read_column(c.group + "/image", 0, 0);
        std::int64_t cell = 1;
        for (auto d : probe.shape()) cell *= static_cast<std::int64_t>(d);
        for (auto u : engine::batch_units(rows, p.batch_size, c.source)) {
            const auto j = nlohmann::json::parse(u.payload);
            const std::int64_t begin = j.at("begin"), end = j.at("end");
            u.payload = nlohmann::json{{"source", c.source}, {"path", c.path}, {"group", c.group}, {"begin", begin},
                                       {"end", end}}
                            .dump();
            u.kind = "stamp-batch";
            u.bytes_in = (end - begin) * cell * 4;
            u.rows_out = end - begin;
            all.push_back(std::move(u));
        }
    }
    if (!any)
        throw Error(fmt::format("validate: nothing to audit: neither {} nor {} exists (or validate.comparisons names "
                                "neither); run the cutouts or inject stage first",
                                p.cutouts_file, p.injections_file));
    for (std::size_t i = 0; i < all.size(); ++i) all[i].index = static_cast<std::int64_t>(i);
    return all;
}

std::string failure_reasons(const Params& p, bool size_ok, const kernels::StampFeatures& f, std::size_t r_band) {
    std::string out;
    auto add = [&](const char* r) { out += out.empty() ? r : std::string(";") + r; };
    if (!size_ok) add("size");
    if (f.total_nan_frac > p.max_total_nan_frac) add("nan_total");
    if (f.core_nan_frac > p.max_core_nan_frac) add("nan_core");
    if (f.core_masked_frac > p.max_core_masked_frac) add("masked_core");  // NaN (no maskbits) compares false
    const auto& r = f.band[r_band];
    if (!(std::isfinite(r.core_brightness) && std::isfinite(r.annulus_brightness) && std::isfinite(r.outer_brightness)))
        add("no_data");
    return out;
}

namespace {

// A unit's per-stamp values, column by column, in /metrics order.
struct StampRows {
    std::vector<std::string> source;
    std::vector<std::int64_t> source_row;
    std::vector<std::string> id, klass, split;
    std::vector<std::uint8_t> size_ok, quality_ok;
    std::vector<std::string> reasons;
    std::vector<std::vector<double>> features;
    std::vector<float> profile, box;
};

// /metrics with every stamp and /failed_stamps with those that failed quality.
engine::UnitOutput unit_output(const Params& p, StampRows v) {
    std::vector<std::size_t> failed;
    for (std::size_t i = 0; i < v.quality_ok.size(); ++i)
        if (!v.quality_ok[i]) failed.push_back(i);
    const FailedStampsGroup fg;
    engine::GroupRows f(fg, failed.size());
    f.set(fg.key.source, rows_at(v.source, failed));
    f.set(fg.key.source_row, rows_at(v.source_row, failed));
    f.set(fg.key.id, rows_at(v.id, failed));
    f.set(fg.key.klass, rows_at(v.klass, failed));
    f.set(fg.key.split, rows_at(v.split, failed));
    f.set(fg.key.failure_reasons, rows_at(v.reasons, failed));

    const MetricsGroup g(p);
    engine::GroupRows t(g, v.source.size());
    t.set(g.key.source, std::move(v.source));
    t.set(g.key.source_row, std::move(v.source_row));
    t.set(g.key.id, std::move(v.id));
    t.set(g.key.klass, std::move(v.klass));
    t.set(g.key.split, std::move(v.split));
    t.set(g.size_ok, std::move(v.size_ok));
    t.set(g.quality_ok, std::move(v.quality_ok));
    t.set(g.key.failure_reasons, std::move(v.reasons));
    for (std::size_t k = 0; k < g.features.size(); ++k) t.set(g.features[k], std::move(v.features[k]));
    t.set(g.radial_profile, std::move(v.profile));
    t.set(g.core_pixels, std::move(v.box));
    return {{g.name(), std::move(t).finish()}, {fg.name(), std::move(f).finish()}};
}

// The class of each stamp of rows [begin, begin + n): positive, negative or host from a cutout
// file's target_set; injection or control from an injection file's is_control.
std::vector<std::string> stamp_classes(const hdf5::ResultReader& r, const std::string& path, const std::string& group,
                                       std::uint64_t begin, std::uint64_t n, bool cutouts) {
    std::vector<std::string> cls(n);
    if (cutouts) {
        if (!r.exists(group + "/target_set"))
            throw DataError(path, group + "/target_set", "missing: positives, negatives or hosts per stamp");
        const Column t = r.read_column(group + "/target_set", begin, n);
        for (std::size_t i = 0; i < n; ++i) {
            const std::string v = cell_text(t, i);
            if (v == "positives") cls[i] = "positive";
            else if (v == "negatives") cls[i] = "negative";
            else if (v == "hosts") cls[i] = "host";
            else
                throw DataError(path, fmt::format("{}/target_set row {}", group, begin + i),
                                fmt::format("'{}' is not positives, negatives or hosts", v));
        }
    } else {
        if (!r.exists(group + "/is_control"))
            throw DataError(path, group + "/is_control", "missing: whether each stamp is a control");
        const auto c = r.read_column(group + "/is_control", begin, n).as<std::uint8_t>();
        for (std::size_t i = 0; i < n; ++i) cls[i] = c[i] ? "control" : "injection";
    }
    return cls;
}

}  // namespace

engine::UnitOutput process_unit(const Params& p, const engine::WorkUnit& unit) {
    const auto j = nlohmann::json::parse(unit.payload);
    const std::string source = j.at("source"), path = j.at("path"), group = j.at("group");
    const std::uint64_t begin = j.at("begin"), end = j.at("end");
    const std::uint64_t n = end - begin;
    const bool cutouts = source == "cutouts";
    hdf5::ResultReader r(path);

    // Stamps: float32 (N, bands, H, W), read below in blocks of kReadRows rows (a few MB that
    // stay in cache while their features are computed).
    const std::string image_ds = group + "/image";
    const Column probe = r.read_column(image_ds, begin, 0);
    const auto& shape = probe.shape();
    if (probe.dtype() != DType::float32 || shape.size() != 3 || shape[0] != p.bands.size())
        throw DataError(path, image_ds,
                        fmt::format("expected float32 stamps (N, {}, H, W) (bands {}), found {} with per-row shape ({})",
                                    p.bands.size(), fmt::join(p.bands, ","), dtype_name(probe.dtype()),
                                    fmt::join(shape, ", ")));
    const int h = static_cast<int>(shape[1]), w = static_cast<int>(shape[2]);
    const bool shape_ok = h == p.stamp_size && w == p.stamp_size;
    kernels::StampFeatureSpec spec = p.spec;
    spec.core_box = std::min({spec.core_box, h, w});
    if (spec.core_box != p.spec.core_box)
        throw DataError(path, image_ds,
                        fmt::format("stamps of {} x {} px are smaller than the core box ({} px)", h, w, p.spec.core_box));
    const kernels::FeatureRegions geometry(h, w, spec);
    const std::size_t npix = geometry.pixels();
    const std::string mask_ds = group + "/maskbits";
    const bool has_mask = r.exists(mask_ds);
    if (has_mask) {
        const Column m = r.read_column(mask_ds, begin, 0);
        if (m.shape() != std::vector<std::size_t>{shape[1], shape[2]} || m.dtype() == DType::string)
            throw DataError(path, mask_ds,
                            fmt::format("expected integer (N, {}, {}) maskbits, found per-row shape ({})", h, w,
                                        fmt::join(m.shape(), ", ")));
    }

    // Per-stamp columns.
    std::vector<std::uint8_t> input_size_ok(n, 1);
    if (r.exists(group + "/size_ok")) input_size_ok = r.read_column(group + "/size_ok", begin, n).as<std::uint8_t>();
    std::vector<std::string> split(n);
    if (r.exists(group + "/split")) {
        const Column s = r.read_column(group + "/split", begin, n);
        for (std::size_t i = 0; i < n; ++i) split[i] = cell_text(s, i);
    }
    const std::string id_name = cutouts ? "galaxy_id" : "injection_id";
    if (!r.exists(group + "/" + id_name))
        throw DataError(path, group + "/" + id_name, "missing: every stamp needs its identifier");
    const Column ids = r.read_column(group + "/" + id_name, begin, n);
    std::vector<std::string> cls = stamp_classes(r, path, group, begin, n, cutouts);

    // Features.
    const std::size_t nb = p.bands.size();
    const std::size_t r_band = static_cast<std::size_t>(std::find(p.bands.begin(), p.bands.end(), "r") - p.bands.begin());
    const auto names = feature_names(p.bands);
    std::vector<std::vector<double>> feat(names.size(), std::vector<double>(n));
    std::vector<float> profile(n * nb * geometry.profile_size()), box(n * nb * geometry.box_size());
    std::vector<std::uint8_t> size_ok(n), quality_ok(n);
    std::vector<std::string> reasons(n), src(n, source), id(n);
    std::vector<std::int64_t> rows(n);
    kernels::StampFeatureScratch scratch;
    const auto& stems = band_feature_stems();
    constexpr std::uint64_t kReadRows = 16;
    std::vector<std::uint32_t> maskbits;
    for (std::uint64_t first = 0; first < n; first += kReadRows) {
        const std::uint64_t count = std::min(kReadRows, n - first);
        const Column image = r.read_column(image_ds, begin + first, count);
        const auto pixels = image.values<float>();
        if (has_mask) maskbits = r.read_column(mask_ds, begin + first, count).as<std::uint32_t>();
        for (std::size_t i = first; i < first + count; ++i) {
            const std::size_t local = i - first;
            const auto f = kernels::compute_stamp_features(
                geometry, nb, pixels.subspan(local * nb * npix, nb * npix),
                has_mask ? std::span<const std::uint32_t>(maskbits).subspan(local * npix, npix)
                         : std::span<const std::uint32_t>{},
                p.reject_maskbits,
                std::span<float>(profile).subspan(i * nb * geometry.profile_size(), nb * geometry.profile_size()),
                std::span<float>(box).subspan(i * nb * geometry.box_size(), nb * geometry.box_size()), scratch);
            feat[0][i] = f.total_nan_frac;
            feat[1][i] = f.core_nan_frac;
            feat[2][i] = f.core_masked_frac;
            std::size_t k = 3;
            for (std::size_t s2 = 0; s2 < stems.size(); ++s2)
                for (std::size_t b = 0; b < nb; ++b, ++k) {
                    const auto& bf = f.band[b];
                    const double v[] = {bf.core_brightness, bf.annulus_brightness, bf.outer_brightness, bf.annulus_max,
                                        bf.annulus_std,     bf.azimuthal_asymmetry, bf.mad,             bf.radial_gradient};
                    feat[k][i] = v[s2];
                }
            size_ok[i] = shape_ok && input_size_ok[i] != 0;
            reasons[i] = failure_reasons(p, size_ok[i] != 0, f, r_band);
            quality_ok[i] = reasons[i].empty();
            rows[i] = static_cast<std::int64_t>(begin + i);
            id[i] = cell_text(ids, i);
        }
    }

    return unit_output(p, {std::move(src), std::move(rows), std::move(id), std::move(cls), std::move(split),
                           std::move(size_ok), std::move(quality_ok), std::move(reasons), std::move(feat),
                           std::move(profile), std::move(box)});
}

}  // namespace dhs::stages::validate
