// The scored stamps evaluation works on (see evaluate.hpp): scores.h5 rows of the split, joined
// with the Tier of each real positive (cutouts.h5 sample_row -> sample.h5 /positives/tier) and
// the selection-function cell and arc_snr of each injection (injections.h5).
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include "core/error.hpp"
#include "core/hdf5/result_file.hpp"
#include "kernels/sampling/photometry.hpp"
#include "mpi_stages/common/truth_lenses.hpp"
#include "mpi_stages/evaluate/evaluate.hpp"

namespace fs = std::filesystem;

namespace dhs::stages::evaluate {

namespace {

struct ScoreRows {
    std::vector<std::string> source, klass, split;
    std::vector<std::int64_t> row;
    std::vector<double> p, logit;
    std::vector<std::string> galaxy;
};

ScoreRows read_scores(const Params& p) {
    if (!fs::exists(p.scores_file))
        throw Error(fmt::format("'{}' does not exist: run the score stage first", p.scores_file));
    const hdf5::ResultReader in(p.scores_file);
    return {in.read_column("/scores/source").strings(), in.read_column("/scores/class").strings(),
            in.read_column("/scores/split").strings(), in.read_column("/scores/source_row").as<std::int64_t>(),
            in.read_column("/scores/p_lens").as<double>(), in.read_column("/scores/logit").as<double>(),
            in.exists("/scores/galaxy_id") ? in.read_column("/scores/galaxy_id").strings()
                                           : std::vector<std::string>(in.rows("/scores/p_lens"))};
}

// What the sample stage knows of every cutouts row (its target set's row at sample_row): the
// Tier of positives, the strata and the negatives' confuser category ('' where unknown).
struct SampleFacts {
    std::vector<std::string> tier, nobs_bin, type_bin, psfsize, depth, confuser;
    std::vector<double> psf_r, depth_r;  ///< r PSF FWHM of the stamp (arcsec), r 5-sigma depth (mag)
};

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

SampleFacts sample_facts(const Params& p) {
    SampleFacts f;
    if (!fs::exists(p.cutouts_file) || !fs::exists(p.sample_file)) return f;
    const hdf5::ResultReader cut(p.cutouts_file), sample(p.sample_file);
    const auto sets = cut.read_column("/stamps/target_set").strings();
    const auto srow = cut.read_column("/stamps/sample_row").as<std::int64_t>();
    const std::size_t n = sets.size();
    for (auto* v : {&f.tier, &f.nobs_bin, &f.type_bin, &f.psfsize, &f.depth, &f.confuser}) v->assign(n, "");
    // The stamp's own r PSF (as the injection stage bins its hosts), the sample's where absent.
    f.psf_r = cut.exists("/stamps/psfsize_r") ? cut.read_column("/stamps/psfsize_r").as<double>() : std::vector<double>(n, kNaN);
    f.depth_r.assign(n, kNaN);
    for (const std::string group : {"positives", "negatives"}) {
        const std::string g = "/" + group + "/";
        const auto strings = [&](const char* c) {
            return sample.exists(g + c) ? sample.read_column(g + c).strings() : std::vector<std::string>{};
        };
        const auto reals = [&](const char* c) {
            return sample.exists(g + c) ? sample.read_column(g + c).as<double>() : std::vector<double>{};
        };
        const auto tier = strings("tier"), nobs = strings("nobs_z_bin"), type = strings("type_bin"),
                   conf = strings("confuser_category");
        const auto psf = reals("psfsize_z"), pdepth = reals("psfdepth_z"), psf_r = reals("psfsize_r"),
                   depth_r = reals("psfdepth_r");
        for (std::size_t i = 0; i < n; ++i) {
            if (sets[i] != group || srow[i] < 0) continue;
            const auto r = static_cast<std::size_t>(srow[i]);
            const auto at = [r](const std::vector<std::string>& v) { return r < v.size() ? v[r] : std::string(); };
            f.tier[i] = at(tier), f.nobs_bin[i] = at(nobs), f.type_bin[i] = at(type), f.confuser[i] = at(conf);
            if (r < psf.size()) f.psfsize[i] = bin_label(psf[r], {0, 1.0, 1.2, 1.4, 1.6, 2.0, 1e9});
            if (!(f.psf_r[i] > 0) && r < psf_r.size()) f.psf_r[i] = psf_r[r];
            if (r < depth_r.size()) f.depth_r[i] = kernels::depth_mag_5sigma(depth_r[r]);
            if (r < pdepth.size() && pdepth[r] > 0)  // 5-sigma point-source depth, AB mag
                f.depth[i] = bin_label(-2.5 * (std::log10(5.0 / std::sqrt(pdepth[r])) - 9.0), {0, 22, 22.5, 23, 23.5, 24, 99});
        }
    }
    return f;
}

void fill_injection_cells(const Params& p, Comparison& c, const std::vector<std::int64_t>& rows) {
    const hdf5::ResultReader in(p.injections_file);
    const auto col = [&](const char* name) -> std::vector<double> {
        const std::string object = std::string("/injections/") + name;
        if (!in.exists(object)) return std::vector<double>(rows.size(), -1);
        const auto all = in.read_column(object).as<double>();
        std::vector<double> out;
        for (auto r : rows) out.push_back(all.at(static_cast<std::size_t>(r)));
        return out;
    };
    const auto to_int = [](const std::vector<double>& v) { return std::vector<int>(v.begin(), v.end()); };
    c.cell = to_int(col("cell_id"));
    c.cell_theta_e = to_int(col("cell_theta_e"));
    c.cell_psf = to_int(col("cell_psf"));
    c.cell_depth = to_int(col("cell_depth"));
    c.arc_snr = col("arc_snr");
    const auto theta = col("theta_e_arcsec"), psf = col("psf_fwhm_r");
    // Controls have no lens: their theta_E strata are empty, and each stratum's injections are
    // compared with all the controls (see strata_tables).
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const bool lens = c.label[i] == 1;
        c.strata["theta_e"].push_back(lens ? bin_label(theta[i], {0, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 99}) : "");
        c.strata["theta_e_over_psf"].push_back(lens ? bin_label(theta[i] / psf[i], {0, 0.5, 0.75, 1.0, 1.5, 2.0, 99}) : "");
    }
}

}  // namespace

std::string bin_label(double v, const std::vector<double>& edges) {
    if (!std::isfinite(v)) return "nan";
    for (std::size_t b = 0; b + 1 < edges.size(); ++b)
        if (v >= edges[b] && v < edges[b + 1]) return fmt::format("[{:g}, {:g})", edges[b], edges[b + 1]);
    return "out";
}

std::vector<Comparison> load_comparisons(const Params& p, std::vector<std::string>& skipped) {
    const ScoreRows s = read_scores(p);
    Comparison real, inj;
    real.name = "real", inj.name = "injection";
    std::vector<std::int64_t> inj_rows;
    SampleFacts facts;
    bool facts_read = false;
    const std::map<std::string, double> truth = p.truth_file.empty() ? std::map<std::string, double>{} : read_truth_lenses(p.truth_file, "evaluate.truth_lenses");
    for (std::size_t i = 0; i < s.p.size(); ++i) {
        if (p.split != "all" && s.split[i] != p.split) continue;
        const std::string& k = s.klass[i];
        const auto keep = [&](Comparison& c) {
            c.score.push_back(s.p[i]), c.logit.push_back(s.logit[i]);
            c.source_row.push_back(s.row[i]), c.galaxy.push_back(s.galaxy[i]);
        };
        if (s.source[i] == "cutouts" && (k == "positive" || k == "negative")) {
            if (!facts_read) facts = sample_facts(p), facts_read = true;
            keep(real);
            real.label.push_back(k == "positive" ? 1 : 0);
            const auto r = static_cast<std::size_t>(s.row[i]);
            const auto at = [r](const std::vector<std::string>& v) { return r < v.size() ? v[r] : std::string(); };
            real.tier.push_back(k == "positive" ? at(facts.tier) : "");
            real.confuser.push_back(k == "negative" ? at(facts.confuser) : "");
            real.strata["nobs_z_bin"].push_back(at(facts.nobs_bin));
            real.strata["type_bin"].push_back(at(facts.type_bin));
            real.strata["psfsize_z"].push_back(at(facts.psfsize));
            real.strata["psfdepth_z_mag"].push_back(at(facts.depth));
            const auto real_at = [r](const std::vector<double>& v) { return r < v.size() ? v[r] : kNaN; };
            real.psf_fwhm_r.push_back(real_at(facts.psf_r));
            real.depth_r.push_back(real_at(facts.depth_r));
            const auto t = truth.find(s.galaxy[i]);
            real.truth_theta_e.push_back(k == "positive" && t != truth.end() ? t->second : kNaN);
        } else if (s.source[i] == "injections" && (k == "injection" || k == "control")) {
            keep(inj);
            inj.label.push_back(k == "injection" ? 1 : 0);
            inj_rows.push_back(s.row[i]);
        }
    }
    if (!inj_rows.empty() && fs::exists(p.injections_file)) fill_injection_cells(p, inj, inj_rows);
    if (inj.cell.empty()) inj.cell.assign(inj.score.size(), -1);
    std::vector<Comparison> out;
    for (auto* c : {&real, &inj}) {
        std::size_t pos = 0;
        for (auto l : c->label) pos += l;
        if (pos == 0 || pos == c->label.size())
            skipped.push_back(fmt::format("{}: the {} split holds {} positives and {} negatives in '{}'", c->name,
                                          p.split, pos, c->label.size() - pos, p.scores_file));
        else
            out.push_back(std::move(*c));
    }
    return out;
}

}  // namespace dhs::stages::evaluate
