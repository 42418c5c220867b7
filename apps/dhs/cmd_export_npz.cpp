// `dhs export-npz --in cutouts.h5 --out DIR [--select COLUMN=V1,V2 ...]`: the stamps of a
// cutouts.h5 as the seed's per-stamp `.npz` files (DIR/<target_set>/<galaxy_id>.npz, key
// `cutout` (H, W, bands) float32 plus `meta_*` scalars, as numpy.savez_compressed writes them)
// and DIR/manifest.csv. Rows are shared out over the ranks; every rank writes its own files.
#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "apps/dhs/commands.hpp"
#include "core/error.hpp"
#include "core/hdf5/result_file.hpp"
#include "core/npz/npz_writer.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace dhs::app {

namespace {

constexpr std::uint64_t kChunk = 256;  // rows read at a time

/// A row filter: COLUMN=V1,V2 (a row passes when its value is one of the values).
struct Selection {
    std::string column;
    std::vector<std::string> values;
};

Selection parse_selection(const std::string& text) {
    const auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
        throw UsageError("--select wants COLUMN=VALUE[,VALUE...], got '" + text + "'");
    Selection s{text.substr(0, eq), {}};
    std::string rest = text.substr(eq + 1);
    for (std::size_t start = 0; start <= rest.size();) {
        auto comma = rest.find(',', start);
        if (comma == std::string::npos) comma = rest.size();
        s.values.push_back(rest.substr(start, comma - start));
        start = comma + 1;
    }
    return s;
}

/// Whether `col`'s row i matches one of `values` (strings exactly; booleans as true/false/1/0;
/// numbers by value).
bool matches(const Column& col, std::size_t i, const std::vector<std::string>& values) {
    if (col.dtype() == DType::string) {
        const auto& v = col.strings()[i];
        return std::find(values.begin(), values.end(), v) != values.end();
    }
    const double x = col.as<double>()[i];
    for (const auto& v : values) {
        if (col.dtype() == DType::boolean && (v == "true" || v == "false")) {
            if ((x != 0) == (v == "true")) return true;
            continue;
        }
        try {
            if (std::stod(v) == x) return true;
        } catch (const std::exception&) {
            throw UsageError(fmt::format("--select {}: '{}' is not a number", col.name(), v));
        }
    }
    return false;
}

std::string safe_name(const std::string& s) {
    std::string out;
    for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '+') ? c : '_';
    return out.empty() ? "_" : out;
}

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

}  // namespace

int cmd_export_npz(const std::vector<std::string>& args, Context& ctx) {
    po::options_description opts("dhs export-npz --in cutouts.h5 --out DIR [options]");
    opts.add_options()("help,h", "this help")("in", po::value<std::string>(), "a cutouts.h5 (group /stamps)")(
        "out", po::value<std::string>(), "directory for <target_set>/<galaxy_id>.npz and manifest.csv")(
        "select", po::value<std::vector<std::string>>()->composing(),
        "COLUMN=V1,V2: keep rows whose column has one of the values (repeat: all must hold), e.g. "
        "target_set=positives,negatives  status=ok  size_ok=true")(
        "with-invvar", po::bool_switch(), "also store key `invvar` (H, W, bands)")(
        "with-maskbits", po::bool_switch(), "also store key `maskbits` (H, W) int32")(
        "no-compress", po::bool_switch(), "store members instead of deflating them (numpy.savez)")(
        "limit", po::value<std::int64_t>()->default_value(-1), "at most this many stamps (the first selected; -1: all)");
    auto vm = parse_options(args, opts, {});
    if (print_help_if_asked(ctx, vm, opts,
                            "\nKeys of every file (seed layout): cutout (H, W, bands) float32 (channels in the bands "
                            "order of /stamps/image@bands), meta_galaxy_id, meta_ra, meta_dec, meta_type, "
                            "meta_nobs_z, meta_psfsize_z, meta_flux_r, meta_cutout_url, meta_download_timestamp, "
                            "plus meta_brickname, meta_target_set, meta_split, meta_status and meta_psfsize_<band>.\n"))
        return exit_ok;
    if (!vm.count("in") || !vm.count("out")) throw UsageError("--in and --out are required");
    const std::string in = vm["in"].as<std::string>(), out = vm["out"].as<std::string>();
    std::vector<Selection> selections;
    if (vm.count("select"))
        for (const auto& s : vm["select"].as<std::vector<std::string>>()) selections.push_back(parse_selection(s));
    const bool with_invvar = vm["with-invvar"].as<bool>(), with_mask = vm["with-maskbits"].as<bool>();
    const bool compress = !vm["no-compress"].as<bool>();
    const std::int64_t limit = vm["limit"].as<std::int64_t>();

    hdf5::ResultReader r(in);
    if (!r.exists("/stamps/image")) throw Error(fmt::format("'{}' has no /stamps/image: not a cutouts file", in));
    for (const auto& s : selections)
        if (!r.exists("/stamps/" + s.column))
            throw UsageError(fmt::format("--select: '{}' has no column /stamps/{}", in, s.column));
    if (with_invvar && !r.exists("/stamps/invvar")) throw Error(fmt::format("'{}' has no /stamps/invvar", in));
    if (with_mask && !r.exists("/stamps/maskbits")) throw Error(fmt::format("'{}' has no /stamps/maskbits", in));
    const std::uint64_t n = r.rows("/stamps/image");
    auto has = [&](const std::string& c) { return r.exists("/stamps/" + c); };

    // Which rows, and their file names (the same on every rank).
    std::vector<std::string> sets(n, "stamps"), gids(n);
    if (has("target_set")) sets = r.read_column("/stamps/target_set").strings();
    if (has("galaxy_id")) gids = r.read_column("/stamps/galaxy_id").strings();
    std::vector<Column> filters;
    for (const auto& s : selections) filters.push_back(r.read_column("/stamps/" + s.column));
    std::vector<std::uint64_t> rows;
    std::vector<std::string> names;
    std::set<std::string> used;
    for (std::uint64_t i = 0; i < n; ++i) {
        bool keep = true;
        for (std::size_t k = 0; k < selections.size() && keep; ++k) keep = matches(filters[k], i, selections[k].values);
        if (!keep) continue;
        if (limit >= 0 && static_cast<std::int64_t>(rows.size()) >= limit) break;
        std::string rel = safe_name(sets[i]) + "/" + safe_name(gids[i].empty() ? "row" + std::to_string(i) : gids[i]);
        if (!used.insert(rel).second) rel += "_row" + std::to_string(i);  // a galaxy twice in one set
        used.insert(rel);
        rows.push_back(i);
        names.push_back(rel + ".npz");
    }

    // What every file shares: bands, stamp shape, where the pixels came from and when.
    const std::string bands_attr = r.string_attribute("/stamps/image", "bands").value_or("g,r,z");
    std::vector<std::string> bands;
    for (std::size_t start = 0; start <= bands_attr.size();) {
        auto comma = bands_attr.find(',', start);
        if (comma == std::string::npos) comma = bands_attr.size();
        bands.push_back(bands_attr.substr(start, comma - start));
        start = comma + 1;
    }
    const std::string stamped = r.string_attribute("/provenance/run", "finished").value_or("");
    std::string root;
    if (const auto cfg = r.string_attribute("/", "config")) {
        try {
            const YAML::Node y = YAML::Load(*cfg);
            if (y["survey"] && y["survey"]["root"]) root = y["survey"]["root"].as<std::string>();
        } catch (const YAML::Exception&) {
        }
    }
    std::string band_glob = "{";
    for (std::size_t b = 0; b < bands.size(); ++b) band_glob += (b ? "," : "") + bands[b];
    band_glob += "}";

    const int rank = ctx.comm.rank(), size = ctx.comm.size();
    if (rank == 0) {
        fs::create_directories(out);
        std::set<std::string> dirs;
        for (const auto& nme : names) dirs.insert(nme.substr(0, nme.find('/')));
        for (const auto& d : dirs) fs::create_directories(fs::path(out) / d);
    }
    ctx.comm.barrier();

    std::vector<std::string> text_cols = {"galaxy_id", "type", "split", "brickname", "target_set", "status"};
    std::vector<std::string> columns = {"image"};
    for (const auto& c : text_cols)
        if (has(c)) columns.push_back(c);
    for (const char* c : {"ra", "dec", "nobs_z", "flux_r", "pixel_x", "pixel_y"})
        if (has(c)) columns.push_back(c);
    for (const auto& b : bands)
        if (has("psfsize_" + b)) columns.push_back("psfsize_" + b);
    if (with_invvar) columns.push_back("invvar");
    if (with_mask) columns.push_back("maskbits");

    std::int64_t written = 0;
    std::vector<std::string> manifest;  // rank 0
    for (std::size_t c0 = 0, chunk = 0; c0 < rows.size(); c0 += kChunk, ++chunk) {
        const std::size_t c1 = std::min(rows.size(), c0 + kChunk);
        if (rank == 0)
            for (std::size_t k = c0; k < c1; ++k) {
                const auto i = rows[k];
                manifest.push_back(fmt::format("{},{},{},{}", csv_field(names[k]), csv_field(gids[i]), csv_field(sets[i]),
                                               sets[i] == "positives" ? 1 : 0));
            }
        if (static_cast<int>(chunk % static_cast<std::size_t>(size)) != rank) continue;
        // One read of the rows [rows[c0], rows[c1-1]] then pick the selected ones.
        const std::uint64_t first = rows[c0], count = rows[c1 - 1] - first + 1;
        const Table t = r.read_table("/stamps", columns, first, count);
        const Column& image = t.column("image");
        const auto& shape = image.shape();  // bands, s, s
        if (shape.size() != 3) throw Error(fmt::format("'{}': /stamps/image is not (N, bands, H, W)", in));
        const std::size_t nb = shape[0], h = shape[1], w = shape[2], plane = h * w;
        auto text = [&](const std::string& c, std::size_t j) { return t.has(c) ? t.column(c).strings()[j] : std::string(); };
        auto real = [&](const std::string& c, std::size_t j) { return t.has(c) ? t.column(c).as<double>()[j] : NAN; };
        std::vector<float> hwc(plane * nb);
        for (std::size_t k = c0; k < c1; ++k) {
            const std::size_t j = rows[k] - first;
            npz::NpzWriter z((fs::path(out) / names[k]).string(), compress);
            auto to_hwc = [&](const Column& col) {
                const float* src = col.values<float>().data() + j * nb * plane;
                for (std::size_t b = 0; b < nb; ++b)
                    for (std::size_t p = 0; p < plane; ++p) hwc[p * nb + b] = src[b * plane + p];
            };
            to_hwc(image);
            z.add("cutout", std::span<const float>(hwc), {h, w, nb});
            z.add_scalar("meta_galaxy_id", text("galaxy_id", j));
            z.add_scalar("meta_ra", real("ra", j));
            z.add_scalar("meta_dec", real("dec", j));
            z.add_scalar("meta_type", text("type", j));
            z.add_scalar("meta_nobs_z", static_cast<std::int64_t>(t.has("nobs_z") ? t.column("nobs_z").as<std::int64_t>()[j] : -1));
            z.add_scalar("meta_psfsize_z", static_cast<float>(real("psfsize_z", j)));
            z.add_scalar("meta_flux_r", static_cast<float>(real("flux_r", j)));
            const std::string brick = text("brickname", j);
            std::string url;
            if (!brick.empty() && !root.empty())
                url = fmt::format("file://{}/coadd/{}/{}/legacysurvey-{}-image-{}.fits.fz?x={}&y={}&size={}",
                                  fs::absolute(root).lexically_normal().string(), brick.substr(0, 3), brick, brick,
                                  band_glob, static_cast<long>(real("pixel_x", j)), static_cast<long>(real("pixel_y", j)), w);
            z.add_scalar("meta_cutout_url", url);
            z.add_scalar("meta_download_timestamp", stamped);
            z.add_scalar("meta_brickname", brick);
            z.add_scalar("meta_target_set", text("target_set", j));
            z.add_scalar("meta_split", text("split", j));
            z.add_scalar("meta_status", text("status", j));
            for (const auto& b : bands)
                if (b != "z" && t.has("psfsize_" + b)) z.add_scalar("meta_psfsize_" + b, static_cast<float>(real("psfsize_" + b, j)));
            if (with_invvar) {
                to_hwc(t.column("invvar"));
                z.add("invvar", std::span<const float>(hwc), {h, w, nb});
            }
            if (with_mask) {
                const auto m = t.column("maskbits").values<std::int32_t>().subspan(j * plane, plane);
                z.add("maskbits", m, {h, w});
            }
            z.close();
            ++written;
        }
    }
    const std::int64_t total = ctx.comm.allreduce_sum(written);
    if (rank == 0) {
        std::ofstream m(fs::path(out) / "manifest.csv");
        m << "filename,galaxy_id,target_set,label\n";
        for (const auto& line : manifest) m << line << "\n";
        if (!m) throw Error(fmt::format("cannot write {}", (fs::path(out) / "manifest.csv").string()));
    }
    print_rank0(ctx, fmt::format("wrote {} npz files to {} (and manifest.csv) from {} of {} stamps of {}\n", total, out,
                                 rows.size(), n, in));
    return exit_ok;
}

}  // namespace dhs::app
