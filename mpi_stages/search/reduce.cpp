// The search's reduce (see search_stage.hpp), on rank 0: the candidates (their stamps cut again
// with invvar and maskbits, the nearest catalogued lens), the true lenses' ranks on a mock sky
// beside the selection function's prediction, and search_summary.json.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/hdf5/result_file.hpp"
#include "core/mpi/comm.hpp"
#include "kernels/evaluation_metrics.hpp"
#include "kernels/injection_design.hpp"
#include "kernels/photometry.hpp"
#include "mpi_stages/common/truth_lenses.hpp"
#include "mpi_stages/search/search.hpp"
#include "mpi_stages/search/search_stage.hpp"

namespace fs = std::filesystem;

namespace dhs::stages {

using namespace search;

namespace {

// What the reduce reads of /targets.
struct Searched {
    std::vector<std::string> set, galaxy, split, brick, status;
    std::vector<std::int64_t> row;
    std::vector<double> ra, dec;
    std::vector<float> logit, p_lens, psf_r;
};

Searched read_searched(const std::string& path, const std::vector<std::string>& bands) {
    const hdf5::ResultReader in(path);
    Searched s;
    const auto col = [&](const char* c) { return in.read_column(std::string("/targets/") + c); };
    s.set = col("target_set").strings(), s.galaxy = col("galaxy_id").strings(), s.split = col("split").strings();
    s.brick = col("brickname").strings(), s.status = col("status").strings();
    s.row = col("sample_row").as<std::int64_t>();
    s.ra = col("ra").as<double>(), s.dec = col("dec").as<double>();
    s.logit = col("logit").as<float>(), s.p_lens = col("p_lens").as<float>();
    const bool has_r = std::find(bands.begin(), bands.end(), "r") != bands.end();
    s.psf_r = has_r ? col("psfsize_r").as<float>() : std::vector<float>(s.p_lens.size(), NAN);
    return s;
}

// The catalogue's lenses (sample.h5:/lenses): positions, names, gradings, tiers.
struct Catalogue {
    std::vector<double> ra, dec;
    std::vector<std::string> name, grading, tier;
};

Catalogue read_catalogue(const std::string& sample_file) {
    Catalogue c;
    const hdf5::ResultReader in(sample_file);
    if (!in.exists("/lenses/ra")) return c;
    c.ra = in.read_column("/lenses/ra").as<double>(), c.dec = in.read_column("/lenses/dec").as<double>();
    const auto strings = [&](const char* name) {
        const std::string o = std::string("/lenses/") + name;
        return in.exists(o) ? in.read_column(o).strings() : std::vector<std::string>(c.ra.size());
    };
    c.name = strings("name"), c.grading = strings("grading"), c.tier = strings("tier");
    return c;
}

// The candidates' table: ranks, scores, the nearest catalogued lens, stamps cut again in full.
Table candidates_table(const search::Params& p, const Searched& s, const std::vector<std::int64_t>& rows,
                       nlohmann::json& summary) {
    const std::size_t n = rows.size();
    std::vector<std::pair<int, std::int64_t>> refs;
    std::vector<double> ra, dec;
    for (auto r : rows) {
        const auto k = static_cast<std::size_t>(r);
        const auto set = std::find(p.cut.target_sets.begin(), p.cut.target_sets.end(), s.set[k]);
        refs.emplace_back(static_cast<int>(set - p.cut.target_sets.begin()), s.row[k]);
        ra.push_back(s.ra[k]), dec.push_back(s.dec[k]);
    }
    cutouts::Params full = p.cut;
    full.with_maskbits = true;
    cutouts::StampBatch stamps;
    cutouts::cut_targets(full, cutouts::read_targets(full, refs), stamps);
    const Catalogue cat = read_catalogue(p.cut.sample_file);
    const auto match = nearest_lenses(ra, dec, cat.ra, cat.dec, p.known_lens_radius_arcsec);

    Table t;
    auto each = [&](auto f) {
        using T = decltype(f(std::size_t{0}));
        std::vector<T> v(n);
        for (std::size_t i = 0; i < n; ++i) v[i] = f(i);
        return v;
    };
    auto add = [&](Column c, const char* desc) {
        c.set_description(desc);
        t.add(std::move(c));
    };
    const auto at = [&](std::size_t i) { return static_cast<std::size_t>(rows[i]); };
    const auto lens = [&](std::size_t i, const std::vector<std::string>& v) {
        return match[i].index < 0 ? std::string() : v[static_cast<std::size_t>(match[i].index)];
    };
    add(Column("rank", each([&](std::size_t i) { return static_cast<std::int64_t>(i) + 1; })), "1 = highest p_lens");
    add(Column("target_row", std::vector<std::int64_t>(rows)), "row in /targets");
    add(Column("target_set", each([&](std::size_t i) { return s.set[at(i)]; })), "sample group");
    add(Column("sample_row", each([&](std::size_t i) { return s.row[at(i)]; })), "row in the sample group");
    add(Column("galaxy_id", each([&](std::size_t i) { return s.galaxy[at(i)]; })), "{brickname}_{objid}");
    add(Column("ra", ra), "deg");
    add(Column("dec", dec), "deg");
    add(Column("split", each([&](std::size_t i) { return s.split[at(i)]; })), "HEALPix split");
    add(Column("brickname", each([&](std::size_t i) { return stamps.info[i].source_brick; })), "source brick of the stamp");
    add(Column("logit", each([&](std::size_t i) { return s.logit[at(i)]; })), "the model's logit");
    add(Column("p_lens", each([&](std::size_t i) { return s.p_lens[at(i)]; })), "sigmoid(logit)");
    add(Column("known_lens", each([&](std::size_t i) { return static_cast<std::uint8_t>(match[i].index >= 0); }), {},
               DType::boolean),
        "a catalogued lens (sample.h5:/lenses) lies within search.known_lens_radius_arcsec");
    add(Column("lens_name", each([&](std::size_t i) { return lens(i, cat.name); })), "the nearest catalogued lens");
    add(Column("lens_grading", each([&](std::size_t i) { return lens(i, cat.grading); })), "its grading");
    add(Column("lens_tier", each([&](std::size_t i) { return lens(i, cat.tier); })), "its tier (A, B)");
    add(Column("lens_sep_arcsec", each([&](std::size_t i) { return match[i].index < 0 ? NAN : match[i].sep_arcsec; })),
        "separation from it (NaN when none)");
    add(Column("status", each([&](std::size_t i) { return stamps.info[i].status; })), "stamp status");
    const std::size_t nb = p.cut.bands.size(), side = static_cast<std::size_t>(p.cut.stamp_size);
    add(Column("image", std::move(stamps.image), {nb, side, side}), "image stamps (NCHW), nanomaggy");
    if (p.cut.with_invvar) add(Column("invvar", std::move(stamps.invvar), {nb, side, side}), "inverse-variance stamps");
    add(Column("maskbits", std::move(stamps.maskbits), {side, side}), "DR10 MASKBITS stamps");
    std::int64_t known = 0;
    for (const auto& m : match) known += m.index >= 0;
    summary["candidates"] = n;
    summary["known_lens_candidates"] = known;
    summary["lens_catalogue_size"] = cat.ra.size();
    return t;
}

// For the true lenses' prediction: the test split's injections per selection-function cell,
// with their p_lens (RUN_DIR/scores.h5 and injections.h5; empty when either is absent).
std::map<std::int64_t, std::vector<float>> injected_scores_by_cell(const std::string& run_dir) {
    std::map<std::int64_t, std::vector<float>> cells;
    const std::string scores = (fs::path(run_dir) / "scores.h5").string(),
                      injections = (fs::path(run_dir) / "injections.h5").string();
    if (!fs::exists(scores) || !fs::exists(injections)) return cells;
    const hdf5::ResultReader sc(scores), inj(injections);
    const auto klass = sc.read_column("/scores/class").strings(), split = sc.read_column("/scores/split").strings();
    const auto row = sc.read_column("/scores/source_row").as<std::int64_t>();
    const auto p = sc.read_column("/scores/p_lens").as<float>();
    const auto cell = inj.read_column("/injections/cell_id").as<std::int64_t>();
    for (std::size_t i = 0; i < klass.size(); ++i)
        if (klass[i] == "injection" && split[i] == "test" && cell.at(static_cast<std::size_t>(row[i])) >= 0)
            cells[cell[static_cast<std::size_t>(row[i])]].push_back(p[i]);
    return cells;
}

// The true lenses' ranks among all targets (/true_lenses) and, per top fraction, how many of
// them are in it beside the selection function's prediction for their cells.
nlohmann::json truth_ranks(const search::Params& p, const std::string& run_dir, const Searched& s,
                           hdf5::ResultAppender& out) {
    const auto truth = read_truth_lenses(p.truth_file, "search.truth_lenses");
    const auto rank = ranks_by_score(s.p_lens);
    const auto n = static_cast<std::int64_t>(s.p_lens.size());
    const kernels::injection::SelectionGrid grid;
    std::vector<std::string> galaxy, split;
    std::vector<std::int64_t> trow, trank, tcell;
    std::vector<double> theta, depth;
    std::vector<float> pl;
    const hdf5::ResultReader sample(p.cut.sample_file);
    for (std::size_t i = 0; i < s.galaxy.size(); ++i) {
        const auto t = truth.find(s.galaxy[i]);
        if (t == truth.end()) continue;
        const std::string d = "/" + s.set[i] + "/psfdepth_r";
        const double ivar = sample.exists(d) ? sample.read_column(d, static_cast<std::uint64_t>(s.row[i]), 1).as<double>()[0] : NAN;
        galaxy.push_back(s.galaxy[i]), split.push_back(s.split[i]), trow.push_back(static_cast<std::int64_t>(i));
        trank.push_back(rank[i]), pl.push_back(s.p_lens[i]), theta.push_back(t->second);
        depth.push_back(kernels::depth_mag_5sigma(ivar));
        tcell.push_back(grid.cell_id(grid.theta_e.bin_of(t->second), grid.psf.bin_of(s.psf_r[i]), grid.depth.bin_of(depth.back())));
    }
    Table t;
    t.add(Column("galaxy_id", galaxy)), t.add(Column("target_row", trow)), t.add(Column("split", split));
    t.add(Column("theta_e_arcsec", theta)), t.add(Column("depth_r_mag", depth)), t.add(Column("cell_id", tcell));
    t.add(Column("rank", trank)), t.add(Column("p_lens", pl));
    out.remove("/true_lenses");
    out.write_table("/true_lenses", t);

    const auto injected = injected_scores_by_cell(run_dir);
    nlohmann::json rows = nlohmann::json::array();
    for (double f : {1e-3, 1e-2}) {
        const auto top = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(f * static_cast<double>(n) - 1e-9)));
        float threshold = 1;
        for (std::int64_t i = 0; i < n; ++i)
            if (rank[static_cast<std::size_t>(i)] == top) threshold = s.p_lens[static_cast<std::size_t>(i)];
        std::int64_t in_top = 0, compared = 0, compared_in_top = 0;
        std::map<std::int64_t, std::int64_t> lenses_per_cell;
        for (std::size_t k = 0; k < trank.size(); ++k) {
            in_top += trank[k] <= top;
            if (!injected.count(tcell[k])) continue;
            ++lenses_per_cell[tcell[k]], ++compared, compared_in_top += trank[k] <= top;
        }
        std::vector<kernels::CellCompleteness> cells;
        for (const auto& [cell, m] : lenses_per_cell) {
            const auto& sc = injected.at(cell);
            std::int64_t k = 0;
            for (float v : sc) k += v >= threshold;
            cells.push_back({m, k, static_cast<std::int64_t>(sc.size())});
        }
        const auto observed = kernels::clopper_pearson(compared_in_top, compared);
        nlohmann::json r{{"top_fraction", f}, {"top_targets", top}, {"threshold", threshold},
                         {"true_lenses", trank.size()}, {"in_top", in_top},
                         {"fraction_in_top", trank.empty() ? 0.0 : static_cast<double>(in_top) / static_cast<double>(trank.size())},
                         {"compared", compared}};
        if (compared > 0) {
            const auto predicted = kernels::predicted_recall(cells, 1000, 0.95, 42);
            r["observed"] = {{"recall", observed.estimate}, {"lower", observed.lower}, {"upper", observed.upper}};
            r["predicted"] = {{"recall", predicted.estimate}, {"lower", predicted.lower}, {"upper", predicted.upper}};
            r["verdict"] = observed.upper >= predicted.lower && predicted.upper >= observed.lower ? "consistent" : "inconsistent";
        } else {
            r["verdict"] = "no prediction (no scored test-split injections in the true lenses' cells)";
        }
        rows.push_back(r);
    }
    return {{"truth_file", p.truth_file}, {"true_lenses_searched", trank.size()}, {"targets", n},
            {"prediction", "the test split's injections (RUN_DIR/scores.h5, injections.h5) per cell at the top "
                           "fraction's p_lens threshold; Jeffreys posterior mean with a Monte Carlo 95% interval; "
                           "observed: Clopper-Pearson 95%"},
            {"by_top_fraction", rows}};
}

}  // namespace

void SearchStage::reduce(const engine::StageContext& ctx, const mpi::Comm& comm, const std::string& path) const {
    mpi::on_rank0(comm, [&] {
        const auto p = read_params(ctx.config, ctx.run_dir);
        const Searched s = read_searched(path, p.cut.bands);
        nlohmann::json summary{{"targets", s.p_lens.size()}, {"top_fraction", p.top_fraction},
                               {"threshold", p.threshold}, {"max_candidates", p.max_candidates},
                               {"model", score::model_file(p.inference.model)},
                               {"model_sha256", inference_->sha256(p.inference)}};
        const auto rows = choose_candidates(s.p_lens, p.top_fraction, p.threshold, p.max_candidates);
        hdf5::ResultAppender out(path);
        out.remove("/candidates");
        out.write_table("/candidates", candidates_table(p, s, rows, summary));
        if (!p.truth_file.empty()) summary["truth"] = truth_ranks(p, ctx.run_dir, s, out);
        out.set_attribute("/targets", "model", score::model_file(p.inference.model));
        out.set_attribute("/targets", "model_sha256", summary["model_sha256"].get<std::string>());
        out.set_attribute("/candidates", "top_fraction", p.top_fraction);
        out.set_attribute("/candidates", "threshold", p.threshold);
        out.close();
        std::ofstream(fs::path(ctx.run_dir) / "search_summary.json") << summary.dump(2) << "\n";
        spdlog::info("search: {} targets, {} candidates ({} known lenses){}", s.p_lens.size(), rows.size(),
                     summary["known_lens_candidates"].get<std::int64_t>(),
                     summary.contains("truth") ? fmt::format("; {} true lenses searched",
                                                             summary["truth"]["true_lenses_searched"].get<std::size_t>())
                                               : "");
    });
    inference_->release();
}

}  // namespace dhs::stages
