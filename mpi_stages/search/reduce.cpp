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

#include "core/engine/output_group.hpp"
#include "core/error.hpp"
#include "core/hdf5/result_file.hpp"
#include "core/mpi/comm.hpp"
#include "kernels/stats/evaluation_metrics.hpp"
#include "kernels/injection/injection_design.hpp"
#include "kernels/sampling/photometry.hpp"
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

/// /candidates: the top targets by p_lens, with the nearest catalogued lens and stamps cut again in full.
struct CandidatesGroup : engine::GroupSchema {
    engine::Col<std::int64_t> rank = add<std::int64_t>("rank", "", "1 = highest p_lens");
    engine::Col<std::int64_t> target_row = add<std::int64_t>("target_row", "", "row in /targets");
    engine::Col<std::string> target_set = add<std::string>("target_set", "", "sample group");
    engine::Col<std::int64_t> sample_row = add<std::int64_t>("sample_row", "", "row in the sample group");
    engine::Col<std::string> galaxy_id = add<std::string>("galaxy_id", "", "{brickname}_{objid}");
    engine::Col<double> ra = add<double>("ra", "deg", "right ascension");
    engine::Col<double> dec = add<double>("dec", "deg", "declination");
    engine::Col<std::string> split = add<std::string>("split", "", "HEALPix split");
    engine::Col<std::string> brickname = add<std::string>("brickname", "", "source brick of the stamp");
    engine::Col<float> logit = add<float>("logit", "", "the model's logit");
    engine::Col<float> p_lens = add<float>("p_lens", "", "sigmoid(logit)");
    engine::Col<bool> known_lens =
        add<bool>("known_lens", "", "a catalogued lens (sample.h5:/lenses) lies within search.known_lens_radius_arcsec");
    engine::Col<std::string> lens_name = add<std::string>("lens_name", "", "the nearest catalogued lens");
    engine::Col<std::string> lens_grading = add<std::string>("lens_grading", "", "its grading");
    engine::Col<std::string> lens_tier = add<std::string>("lens_tier", "", "its tier (A, B)");
    engine::Col<double> lens_sep_arcsec = add<double>("lens_sep_arcsec", "arcsec", "separation from it (NaN when none)");
    engine::Col<std::string> status = add<std::string>("status", "", "stamp status");
    engine::Col<float> image, invvar;
    engine::Col<std::int32_t> maskbits;
    CandidatesGroup(std::size_t bands, std::size_t side, bool with_invvar)
        : GroupSchema("candidates", "the top targets by p_lens, highest first") {
        image = add<float>("image", "nanomaggy", "image stamps (NCHW)", {bands, side, side});
        if (with_invvar) invvar = add<float>("invvar", "1/nanomaggy^2", "inverse-variance stamps (NCHW)", {bands, side, side});
        maskbits = add<std::int32_t>("maskbits", "", "DR10 MASKBITS stamps", {side, side});
    }
};

/// /true_lenses (a mock sky): every true lens among the targets, its rank and selection-function cell.
struct TrueLensesGroup : engine::GroupSchema {
    engine::Col<std::string> galaxy_id = add<std::string>("galaxy_id", "", "{brickname}_{objid}");
    engine::Col<std::int64_t> target_row = add<std::int64_t>("target_row", "", "row in /targets");
    engine::Col<std::string> split = add<std::string>("split", "", "HEALPix split");
    engine::Col<double> theta_e_arcsec = add<double>("theta_e_arcsec", "arcsec", "Einstein radius (truth)");
    engine::Col<double> depth_r_mag = add<double>("depth_r_mag", "mag", "5-sigma r depth at the lens");
    engine::Col<std::int64_t> cell_id = add<std::int64_t>("cell_id", "", "selection-function cell (as injections.h5)");
    engine::Col<std::int64_t> rank = add<std::int64_t>("rank", "", "rank among all targets by p_lens (1 = highest)");
    engine::Col<float> p_lens = add<float>("p_lens", "", "sigmoid(logit)");
    TrueLensesGroup() : GroupSchema("true_lenses", "the mock's true lenses among the targets") {}
};

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

    const auto at = [&](std::size_t i) { return static_cast<std::size_t>(rows[i]); };
    const auto lens = [&](std::size_t i, const std::vector<std::string>& v) {
        return match[i].index < 0 ? std::string() : v[static_cast<std::size_t>(match[i].index)];
    };
    const CandidatesGroup g(p.cut.bands.size(), static_cast<std::size_t>(p.cut.stamp_size), p.cut.with_invvar);
    engine::GroupRows t(g, n);
    t.fill(g.rank, [](std::size_t i) { return static_cast<std::int64_t>(i) + 1; });
    t.set(g.target_row, rows);
    t.fill(g.target_set, [&](std::size_t i) { return s.set[at(i)]; });
    t.fill(g.sample_row, [&](std::size_t i) { return s.row[at(i)]; });
    t.fill(g.galaxy_id, [&](std::size_t i) { return s.galaxy[at(i)]; });
    t.set(g.ra, ra);
    t.set(g.dec, dec);
    t.fill(g.split, [&](std::size_t i) { return s.split[at(i)]; });
    t.fill(g.brickname, [&](std::size_t i) { return stamps.info[i].source_brick; });
    t.fill(g.logit, [&](std::size_t i) { return s.logit[at(i)]; });
    t.fill(g.p_lens, [&](std::size_t i) { return s.p_lens[at(i)]; });
    t.fill(g.known_lens, [&](std::size_t i) { return match[i].index >= 0; });
    t.fill(g.lens_name, [&](std::size_t i) { return lens(i, cat.name); });
    t.fill(g.lens_grading, [&](std::size_t i) { return lens(i, cat.grading); });
    t.fill(g.lens_tier, [&](std::size_t i) { return lens(i, cat.tier); });
    t.fill(g.lens_sep_arcsec, [&](std::size_t i) { return match[i].index < 0 ? NAN : match[i].sep_arcsec; });
    t.fill(g.status, [&](std::size_t i) { return stamps.info[i].status; });
    t.set(g.image, std::move(stamps.image));
    if (g.invvar.declared()) t.set(g.invvar, std::move(stamps.invvar));
    t.set(g.maskbits, std::move(stamps.maskbits));
    std::int64_t known = 0;
    for (const auto& m : match) known += m.index >= 0;
    summary["candidates"] = n;
    summary["known_lens_candidates"] = known;
    summary["lens_catalogue_size"] = cat.ra.size();
    return std::move(t).finish();
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
    const TrueLensesGroup g;
    engine::GroupRows t(g, galaxy.size());
    t.set(g.galaxy_id, galaxy), t.set(g.target_row, trow), t.set(g.split, split);
    t.set(g.theta_e_arcsec, theta), t.set(g.depth_r_mag, depth), t.set(g.cell_id, tcell);
    t.set(g.rank, trank), t.set(g.p_lens, pl);
    out.remove("/" + g.name());
    out.write_table("/" + g.name(), std::move(t).finish());

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
