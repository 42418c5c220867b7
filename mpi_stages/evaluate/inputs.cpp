// The scored stamps evaluation works on (see evaluate.hpp): scores.h5 rows of the split, joined
// with the Tier of each real positive (cutouts.h5 sample_row -> sample.h5 /positives/tier) and
// the selection-function cell and arc_snr of each injection (injections.h5).
#include <fmt/format.h>

#include <filesystem>

#include "core/error.hpp"
#include "core/hdf5/result_file.hpp"
#include "mpi_stages/evaluate/evaluate.hpp"

namespace fs = std::filesystem;

namespace dhs::stages::evaluate {

namespace {

struct ScoreRows {
    std::vector<std::string> source, klass, split;
    std::vector<std::int64_t> row;
    std::vector<double> p;
};

ScoreRows read_scores(const Params& p) {
    if (!fs::exists(p.scores_file))
        throw Error(fmt::format("'{}' does not exist: run the score stage first", p.scores_file));
    const hdf5::ResultReader in(p.scores_file);
    return {in.read_column("/scores/source").strings(), in.read_column("/scores/class").strings(),
            in.read_column("/scores/split").strings(), in.read_column("/scores/source_row").as<std::int64_t>(),
            in.read_column("/scores/p_lens").as<double>()};
}

// The Tier (A/B) of every cutouts row that is a positive ('' when the files do not say).
std::vector<std::string> tiers(const Params& p) {
    if (!fs::exists(p.cutouts_file) || !fs::exists(p.sample_file)) return {};
    const hdf5::ResultReader cut(p.cutouts_file), sample(p.sample_file);
    if (!sample.exists("/positives/tier")) return {};
    const auto sets = cut.read_column("/stamps/target_set").strings();
    const auto srow = cut.read_column("/stamps/sample_row").as<std::int64_t>();
    const auto tier = sample.read_column("/positives/tier").strings();
    std::vector<std::string> out(sets.size());
    for (std::size_t i = 0; i < sets.size(); ++i)
        if (sets[i] == "positives" && srow[i] >= 0 && static_cast<std::size_t>(srow[i]) < tier.size())
            out[i] = tier[static_cast<std::size_t>(srow[i])];
    return out;
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
}

}  // namespace

std::vector<Comparison> load_comparisons(const Params& p, std::vector<std::string>& skipped) {
    const ScoreRows s = read_scores(p);
    Comparison real{"real", {}, {}, {}, {}, {}, {}, {}, {}}, inj{"injection", {}, {}, {}, {}, {}, {}, {}, {}};
    std::vector<std::int64_t> inj_rows;
    std::vector<std::string> tier;
    bool tiers_read = false;
    for (std::size_t i = 0; i < s.p.size(); ++i) {
        if (p.split != "all" && s.split[i] != p.split) continue;
        const std::string& k = s.klass[i];
        if (s.source[i] == "cutouts" && (k == "positive" || k == "negative")) {
            if (!tiers_read) tier = tiers(p), tiers_read = true;
            real.score.push_back(s.p[i]);
            real.label.push_back(k == "positive" ? 1 : 0);
            const auto r = static_cast<std::size_t>(s.row[i]);
            real.tier.push_back(k == "positive" && r < tier.size() ? tier[r] : "");
        } else if (s.source[i] == "injections" && (k == "injection" || k == "control")) {
            inj.score.push_back(s.p[i]);
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
