// The sampling stage's reduce, after the gather of sample.h5, in four phases: rank 0 picks
// the positives (the nearest object within the match radius of each Tier-A/B lens) and lists
// the lenses; every rank scans a slice of /pool for the stratified draw (per stratum and pool,
// the objects with the smallest draw_u, ties by row); rank 0 merges the candidates, and every
// rank reads the drawn rows of its slice, the others sending theirs to rank 0 as typed
// messages; rank 0 writes /positives, /negatives, /lenses and /strata with the summary. The
// result depends on the gathered file only, so it is the same for any rank count.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <queue>
#include <set>
#include <span>
#include <variant>

#include "core/error.hpp"
#include "core/hdf5/result_file.hpp"
#include "core/mpi/comm.hpp"
#include "core/util/utf8.hpp"
#include "kernels/sampling/sampling_strata.hpp"
#include "mpi_stages/sample/sample.hpp"

namespace dhs::stages::sample {

namespace {

// Runs `step` on rank 0; its failure is an Error on every rank.
void reduce_on_rank0(const mpi::Comm& comm, const std::function<void()>& step) {
    mpi::on_rank0(comm, step, "sample reduce");
}

constexpr int kS = kernels::kNumStrata;
constexpr std::uint64_t kChunk = 1u << 20;


template <class T>
Column described(std::string name, std::vector<T> v, const char* unit, std::string desc, DType dt = dtype_of<T>()) {
    Column c(std::move(name), std::move(v), {}, dt);
    c.set_unit(unit);
    c.set_description(std::move(desc));
    return c;
}

// Per-stratum tallies of the summary.
struct Stratum {
    std::int64_t pos = 0, pos_a = 0, pos_b = 0;
    std::array<std::int64_t, 3> pos_split{};         // by split_names() index
    std::array<std::int64_t, 3> pool{};              // N1, N2, none
    std::int64_t hosts = 0;
    std::array<std::array<std::int64_t, 3>, 3> pool_split{};  // [pool][split]
    std::int64_t need_n1 = 0, need_n2 = 0, drawn_n1 = 0, drawn_n2 = 0, n1_for_n2 = 0;
    std::array<std::int64_t, 3> neg_split{};
    std::int64_t shortfall() const { return need_n1 + need_n2 - drawn_n1 - drawn_n2; }
};

int split_index(const std::string& s) {
    const auto& n = split_names();
    return static_cast<int>(std::find(n.begin(), n.end(), s) - n.begin());
}

// A draw candidate: (u, row) ordered by u then row.
struct Cand {
    double u;
    std::uint64_t row;
    bool operator<(const Cand& o) const { return u < o.u || (u == o.u && row < o.row); }
};

// The lens catalog against the gathered matches, per lens: the sweep objects within the
// exclusion radius, and the /lens_matches row nearest to it within the match radius (-1: none).
struct LensMatches {
    std::vector<std::int64_t> nearby, best;
};

LensMatches match_lenses(std::size_t lenses, const Table& m, const Table& cov) {
    LensMatches lm{std::vector<std::int64_t>(lenses, 0), std::vector<std::int64_t>(lenses, -1)};
    const auto li = cov.column("lens_index").as<std::int64_t>();
    const auto no = cov.column("objects").as<std::int64_t>();
    for (std::size_t i = 0; i < li.size(); ++i) lm.nearby.at(static_cast<std::size_t>(li[i])) += no[i];
    const auto mli = m.column("lens_index").as<std::int64_t>();
    const auto msep = m.column("sep_arcsec").as<double>();
    for (std::size_t i = 0; i < mli.size(); ++i) {
        auto& b = lm.best.at(static_cast<std::size_t>(mli[i]));
        if (b < 0 || msep[i] < msep[static_cast<std::size_t>(b)]) b = static_cast<std::int64_t>(i);
    }
    return lm;
}

// Positives: the matches of Tier-A/B lenses, in lens order, with the lens's catalog columns.
Table positives_table(const std::vector<Lens>& L, const Table& m, const LensMatches& lm) {
    std::vector<std::uint64_t> rows;
    std::vector<std::string> name, all_names, grading, tier, zt, ltype, lref;
    std::vector<double> z, lra, ldec;
    std::vector<std::int32_t> dups;
    for (std::size_t k = 0; k < L.size(); ++k) {
        if (lm.best[k] < 0 || L[k].tier.empty()) continue;
        rows.push_back(static_cast<std::uint64_t>(lm.best[k]));
        name.push_back(L[k].name);
        all_names.push_back(L[k].all_names);
        grading.push_back(L[k].grading);
        tier.push_back(L[k].tier);
        z.push_back(L[k].zlens);
        zt.push_back(L[k].zlens_text);
        ltype.push_back(L[k].type);
        lref.push_back(L[k].ref);
        lra.push_back(L[k].ra);
        ldec.push_back(L[k].dec);
        dups.push_back(L[k].duplicates);
    }
    Table positives = m.take(rows);
    auto& pool_col = positives.column("pool").mutable_strings();
    std::fill(pool_col.begin(), pool_col.end(), std::string("positive"));
    positives.add(described("name", std::move(name), "", "lens name (lenscat; the first of its duplicates)"));
    positives.add(described("all_names", std::move(all_names), "", "every name of the lens's duplicates, ' | '-joined"));
    positives.add(described("grading", std::move(grading), "", "lenscat grading (best of the duplicates)"));
    positives.add(described("tier", std::move(tier), "", "A: confident, B: probable"));
    positives.add(described("zlens", std::move(z), "", "lens redshift: first number of the zlens text (NaN if none)"));
    positives.add(described("zlens_text", std::move(zt), "", "lenscat zlens as written"));
    positives.add(described("lens_type", std::move(ltype), "", "lenscat type (galaxy, group, cluster)"));
    positives.add(described("lens_ref", std::move(lref), "", "lenscat ref"));
    positives.add(described("lens_ra", std::move(lra), "deg", "lens RA in the catalog"));
    positives.add(described("lens_dec", std::move(ldec), "deg", "lens Dec in the catalog"));
    positives.add(described("duplicates", std::move(dups), "", "catalog rows collapsed into this lens"));
    return positives;
}

// The lens list: every lens of the catalog with its coverage and its match.
Table lenses_table(const std::vector<Lens>& L, const Table& m, const LensMatches& lm) {
    const std::size_t n = L.size();
    std::vector<std::string> ln(n), lan(n), lg(n), lt(n), lzt(n), lty(n), lrf(n), gid(n);
    std::vector<double> lr(n), ld(n), lz(n), sep(n, std::numeric_limits<double>::quiet_NaN());
    std::vector<std::int32_t> ldup(n);
    std::vector<std::int64_t> line(n), near(n);
    std::vector<std::uint8_t> covered(n), matched(n);
    const auto& mg = m.column("galaxy_id").strings();
    const auto msep = m.column("sep_arcsec").as<double>();
    for (std::size_t k = 0; k < n; ++k) {
        ln[k] = L[k].name;
        lan[k] = L[k].all_names;
        lg[k] = L[k].grading;
        lt[k] = L[k].tier;
        lzt[k] = L[k].zlens_text;
        lty[k] = L[k].type;
        lrf[k] = L[k].ref;
        lr[k] = L[k].ra;
        ld[k] = L[k].dec;
        lz[k] = L[k].zlens;
        ldup[k] = L[k].duplicates;
        line[k] = L[k].line;
        near[k] = lm.nearby[k];
        covered[k] = lm.nearby[k] > 0;
        matched[k] = lm.best[k] >= 0;
        if (lm.best[k] >= 0) {
            gid[k] = mg[static_cast<std::size_t>(lm.best[k])];
            sep[k] = msep[static_cast<std::size_t>(lm.best[k])];
        }
    }
    Table t;
    t.add(described("name", std::move(ln), "", "lens name (first of its duplicates)"));
    t.add(described("all_names", std::move(lan), "", "names of every duplicate, ' | '-joined"));
    t.add(described("ra", std::move(lr), "deg", "RA"));
    t.add(described("dec", std::move(ld), "deg", "Dec"));
    t.add(described("zlens", std::move(lz), "", "first number of the zlens text (NaN if none)"));
    t.add(described("zlens_text", std::move(lzt), "", "zlens as written"));
    t.add(described("lens_type", std::move(lty), "", "lenscat type"));
    t.add(described("grading", std::move(lg), "", "best grading of the duplicates"));
    t.add(described("tier", std::move(lt), "", "A: confident, B: probable, '': other (not a positive)"));
    t.add(described("lens_ref", std::move(lrf), "", "lenscat ref"));
    t.add(described("duplicates", std::move(ldup), "", "catalog rows collapsed into this one"));
    t.add(described("catalog_line", std::move(line), "", "line of the first row in the catalog file"));
    t.add(described("objects_nearby", std::move(near), "", "sweep objects within the exclusion radius"));
    t.add(described("covered", std::move(covered), "", "some sweep object lies within the exclusion radius",
                    DType::boolean));
    t.add(described("matched", std::move(matched), "", "an object lies within the match radius", DType::boolean));
    t.add(described("galaxy_id", std::move(gid), "", "the nearest object within the match radius"));
    t.add(described("sep_arcsec", std::move(sep), "arcsec", "its separation (NaN if unmatched)"));
    return t;
}

// Tallies of the positives per stratum and split, and of the pool from the units' counts.
void tally_positives_and_pool(const Table& positives, const Table& pc, std::array<Stratum, kS>& st) {
    const auto ps = positives.column("stratum_id").as<int>();
    const auto& psplit = positives.column("split").strings();
    const auto& ptier = positives.column("tier").strings();
    for (std::size_t i = 0; i < ps.size(); ++i) {
        auto& s = st[static_cast<std::size_t>(ps[i])];
        ++s.pos;
        (ptier[i] == "A" ? s.pos_a : s.pos_b)++;
        ++s.pos_split[static_cast<std::size_t>(split_index(psplit[i]))];
    }
    const auto cs = pc.column("stratum_id").as<int>();
    const auto& cpool = pc.column("pool").strings();
    const auto& csplit = pc.column("split").strings();
    const auto chosts = pc.column("hosts").as<std::int64_t>();
    const auto crows = pc.column("rows").as<std::int64_t>();
    for (std::size_t i = 0; i < cs.size(); ++i) {
        auto& s = st[static_cast<std::size_t>(cs[i])];
        const int q = cpool[i] == "N1" ? kN1 : cpool[i] == "N2" ? kN2 : kNoPool;
        s.pool[static_cast<std::size_t>(q)] += crows[i];
        s.pool_split[static_cast<std::size_t>(q)][static_cast<std::size_t>(split_index(csplit[i]))] += crows[i];
        s.hosts += chosts[i];
    }
}

// Each stratum's need and draw from N1 and N2 (an N2 shortfall filled from N1 when asked).
// @returns the draws: N1 and N2 of stratum k at 2k and 2k + 1.
std::vector<std::int64_t> draw_quotas(const Params& p, std::array<Stratum, kS>& st) {
    std::vector<std::int64_t> q(2 * kS);
    for (int k = 0; k < kS; ++k) {
        auto& s = st[static_cast<std::size_t>(k)];
        const auto quota = kernels::stratum_quota(s.pos, p.negatives_per_positive, p.n1_fraction);
        s.need_n1 = quota.n1;
        s.need_n2 = quota.n2;
        s.drawn_n2 = std::min(s.need_n2, s.pool[kN2]);
        const std::int64_t fill = p.n2_shortfall_from_n1 ? s.need_n2 - s.drawn_n2 : 0;
        s.drawn_n1 = std::min(s.need_n1 + fill, s.pool[kN1]);
        s.n1_for_n2 = std::max<std::int64_t>(0, s.drawn_n1 - s.need_n1);
        q[static_cast<std::size_t>(2 * k)] = s.drawn_n1;
        q[static_cast<std::size_t>(2 * k + 1)] = s.drawn_n2;
    }
    return q;
}

// What rank 0 learns in the first phase and writes in the last.
struct Matched {
    std::array<Stratum, kS> strata{};
    Table positives, lenses;
    std::map<std::string, std::int64_t> attrs;  // of /positives
    std::map<std::string, double> real_attrs;
    std::string nonfinite_flux;  // NaN / infinite fluxes per column (nonfinite_flux_summary), "" if none
};

// The catalog's, the coverage's and the match's counts: attributes of /positives.
void positive_attrs(const Params& p, const Inputs& inputs, const LensMatches& lm, Matched& out) {
    const auto& L = inputs.lenses;
    std::int64_t covered_n = 0, matched_n = 0, matched_a = 0, matched_b = 0, tier_a = 0, tier_b = 0, cov_ab = 0,
                 matched_ab = 0;
    for (std::size_t k = 0; k < L.size(); ++k) {
        covered_n += lm.nearby[k] > 0;
        matched_n += lm.best[k] >= 0;
        tier_a += L[k].tier == "A";
        tier_b += L[k].tier == "B";
        if (!L[k].tier.empty()) {
            cov_ab += lm.nearby[k] > 0;
            matched_ab += lm.best[k] >= 0;
        }
        matched_a += lm.best[k] >= 0 && L[k].tier == "A";
        matched_b += lm.best[k] >= 0 && L[k].tier == "B";
    }
    std::int64_t dup_total = 0;
    for (const auto& l : L) dup_total += l.duplicates;
    out.attrs = {{"catalog_rows", static_cast<std::int64_t>(inputs.catalog.rows.size())},
                 {"catalog_confident_rows", inputs.catalog.confident},
                 {"catalog_probable_rows", inputs.catalog.probable},
                 {"lenses", static_cast<std::int64_t>(L.size())},
                 {"duplicates_collapsed", dup_total},
                 {"lenses_tier_a", tier_a},
                 {"lenses_tier_b", tier_b},
                 {"lenses_covered", covered_n},
                 {"lenses_matched", matched_n},
                 {"tier_ab_covered", cov_ab},
                 {"tier_ab_matched", matched_ab},
                 {"tier_ab_unmatched_covered", cov_ab - matched_ab},
                 {"positives", static_cast<std::int64_t>(out.positives.num_rows())},
                 {"positives_tier_a", matched_a},
                 {"positives_tier_b", matched_b}};
    out.real_attrs = {{"matched_fraction_of_covered", cov_ab > 0 ? static_cast<double>(matched_ab) / static_cast<double>(cov_ab) : 0.0},
                      {"matched_fraction_of_catalog", tier_a + tier_b > 0 ? static_cast<double>(matched_ab) / static_cast<double>(tier_a + tier_b) : 0.0},
                      {"match_radius_arcsec", p.match_radius_arcsec},
                      {"exclusion_radius_arcsec", p.exclusion_radius_arcsec}};
}

// The per-unit counts of NaN / infinite fluxes summed per column: "FLUX_R: 3 rows, FLUX_Z: 3
// rows (in sweep-a.fits, sweep-b.fits)", empty when there are none.
std::string nonfinite_flux_summary(const Table& t) {
    std::map<std::string, std::int64_t> per_column;
    std::set<std::string> files;
    const auto& file = t.column("sweep_file").strings();
    const auto& column = t.column("column").strings();
    const auto rows = t.column("rows").values<std::int64_t>();
    for (std::size_t i = 0; i < t.num_rows(); ++i) {
        per_column[column[i]] += rows[i];
        files.insert(file[i]);
    }
    if (per_column.empty()) return "";
    std::vector<std::string> parts;
    for (const auto& [c, n] : per_column) parts.push_back(fmt::format("{}: {} rows", c, n));
    return fmt::format("{} (in {})", fmt::join(parts, ", "), fmt::join(files, ", "));
}

// Phase 1, rank 0: the positives (the nearest object within the match radius of each Tier-A/B
// lens), the lens list and the tallies. @returns the draw quotas (see draw_quotas).
std::vector<std::int64_t> positives_and_lenses(const Params& p, const std::string& path, Matched& out) {
    const auto inputs = load_inputs(p);
    const auto& L = inputs->lenses;
    hdf5::ResultReader r(path);
    const Table m = r.read_table("/lens_matches");
    const Table cov = r.read_table("/lens_coverage");
    const Table pc = r.read_table("/pool_counts");
    if (r.exists("/nonfinite_flux")) out.nonfinite_flux = nonfinite_flux_summary(r.read_table("/nonfinite_flux"));
    const LensMatches lm = match_lenses(L.size(), m, cov);
    out.positives = positives_table(L, m, lm);
    out.lenses = lenses_table(L, m, lm);
    tally_positives_and_pool(out.positives, pc, out.strata);
    auto quotas = draw_quotas(p, out.strata);
    positive_attrs(p, *inputs, lm, out);
    return quotas;
}

// Runs `step` on every rank; a failure on any is an Error on every rank. Collective.
void on_every_rank(const mpi::Comm& comm, const std::function<void()>& step) {
    std::string err;
    try {
        step();
    } catch (const std::exception& e) {
        err = fmt::format("rank {}: {}", comm.rank(), e.what());
    }
    for (const auto& e : comm.allgather(err))
        if (!e.empty()) throw Error("sample reduce: " + e);
}

// Rank `k`'s slice [lo, hi) of the `total` /pool rows: the k-th of comm.size() equal parts.
std::pair<std::uint64_t, std::uint64_t> pool_slice(std::uint64_t total, const mpi::Comm& comm, int k) {
    const auto n = static_cast<std::uint64_t>(comm.size()), kk = static_cast<std::uint64_t>(k);
    return {total * kk / n, total * (kk + 1) / n};
}

// Phase 2, every rank: the candidates with the smallest draw_u per (stratum, pool) in its slice
// of /pool, at most the quota of each. @returns them as (key, u, row) triples of 8 bytes each.
std::string scan_pool(const std::string& path, const mpi::Comm& comm, const std::vector<std::int64_t>& quota) {
    hdf5::ResultReader r(path);
    const auto [lo, hi] = pool_slice(r.table_rows("/pool"), comm, comm.rank());
    std::vector<std::priority_queue<Cand>> heaps(2 * kS);
    for (std::uint64_t first = lo; first < hi; first += kChunk) {
        const std::uint64_t count = std::min<std::uint64_t>(kChunk, hi - first);
        const auto sid = r.read_column("/pool/stratum_id", first, count).as<int>();
        const Column pool = r.read_column("/pool/pool", first, count);
        const auto u = r.read_column("/pool/draw_u", first, count).as<double>();
        const auto& pn = pool.strings();
        for (std::size_t i = 0; i < sid.size(); ++i) {
            const int q = pn[i] == "N1" ? 0 : pn[i] == "N2" ? 1 : -1;
            if (q < 0) continue;
            const auto key = static_cast<std::size_t>(2 * sid[i] + q);
            const auto cap = static_cast<std::size_t>(quota[key]);
            if (cap == 0) continue;
            auto& h = heaps[key];
            const Cand c{u[i], first + i};
            if (h.size() < cap) h.push(c);
            else if (c < h.top()) {
                h.pop();
                h.push(c);
            }
        }
    }
    std::string mine;
    for (std::size_t key = 0; key < heaps.size(); ++key)
        for (auto& h = heaps[key]; !h.empty(); h.pop()) {
            const std::uint64_t kk = key;
            mine.append(reinterpret_cast<const char*>(&kk), 8);
            mine.append(reinterpret_cast<const char*>(&h.top().u), 8);
            mine.append(reinterpret_cast<const char*>(&h.top().row), 8);
        }
    return mine;
}

// Phase 3, rank 0: the ranks' candidates merged; per (stratum, pool) the quota's smallest.
// @returns the drawn /pool rows, sorted.
std::vector<std::uint64_t> merge_draws(const std::vector<std::string>& parts, const std::vector<std::int64_t>& quota) {
    std::vector<std::vector<Cand>> cands(2 * kS);
    for (const auto& part : parts)
        for (std::size_t o = 0; o + 24 <= part.size(); o += 24) {
            std::uint64_t key, row;
            double u;
            std::memcpy(&key, part.data() + o, 8);
            std::memcpy(&u, part.data() + o + 8, 8);
            std::memcpy(&row, part.data() + o + 16, 8);
            cands.at(key).push_back({u, row});
        }
    std::vector<std::uint64_t> drawn;
    for (std::size_t key = 0; key < cands.size(); ++key) {
        auto& c = cands[key];
        std::sort(c.begin(), c.end());
        const auto want = static_cast<std::size_t>(quota[key]);
        if (c.size() < want)
            throw Error(fmt::format("stratum {} pool {}: {} candidates for {} draws (pool counts disagree with /pool)",
                                    kernels::stratum_name(static_cast<int>(key / 2)), key % 2 ? "N2" : "N1",
                                    c.size(), want));
        for (std::size_t i = 0; i < want; ++i) drawn.push_back(c[i].row);
    }
    std::sort(drawn.begin(), drawn.end());
    return drawn;
}

// The rows of `drawn` (sorted) in rank k's slice of /pool.
std::vector<std::uint64_t> drawn_in_slice(const std::vector<std::uint64_t>& drawn, std::uint64_t total,
                                          const mpi::Comm& comm, int k) {
    const auto [lo, hi] = pool_slice(total, comm, k);
    return {std::lower_bound(drawn.begin(), drawn.end(), lo), std::lower_bound(drawn.begin(), drawn.end(), hi)};
}

// Phase 3, every rank: the drawn rows of its slice of /pool (one pass, in parallel), every
// column of the object schema with its unit and description.
Table read_drawn_rows(const std::string& path, const mpi::Comm& comm, const std::vector<std::uint64_t>& drawn) {
    hdf5::ResultReader r(path);
    const std::vector<std::uint64_t> mine_rows = drawn_in_slice(drawn, r.table_rows("/pool"), comm, comm.rank());
    Table part;
    const Table schema = object_schema(false);
    for (const auto& col : schema.columns()) {
        Column c = mine_rows.empty() ? Column(col.name(), col.dtype(), 0, col.shape())
                                     : r.read_rows("/pool/" + col.name(), mine_rows);
        if (c.dtype() != col.dtype() || c.shape() != col.shape())
            throw DataError(path, "/pool/" + col.name(),
                            fmt::format("stored as {}, the stage declares {}", dtype_name(c.dtype()), dtype_name(col.dtype())));
        c.set_unit(col.unit());
        c.set_description(col.description());
        part.add(std::move(c));
    }
    return part;
}

// The drawn rows go to rank 0 as typed messages: a numeric column's values as bytes and a
// string column's lengths (kValuesTag, in column order), then each string column's characters
// (kStringBytesTag, in column order).
constexpr int kValuesTag = 21, kStringBytesTag = 22;

std::span<const std::uint8_t> value_bytes(const Column& c) {
    return std::visit(
        [](const auto& v) -> std::span<const std::uint8_t> {
            using E = typename std::decay_t<decltype(v)>::value_type;
            if constexpr (std::is_same_v<E, std::string>) return {};
            else return {reinterpret_cast<const std::uint8_t*>(v.data()), v.size() * sizeof(E)};
        },
        c.storage());
}

// Sends this rank's drawn rows to rank 0; returns when they are sent. Rank-local (ranks > 0).
void send_drawn_rows(const mpi::Comm& comm, const Table& part) {
    std::vector<std::vector<std::int64_t>> lengths(part.num_columns());
    std::vector<std::string> chars(part.num_columns());
    std::vector<mpi::Request> sent;
    for (std::size_t i = 0; i < part.num_columns(); ++i) {
        const Column& c = part.column(i);
        if (c.dtype() != DType::string) {
            sent.push_back(comm.isend(value_bytes(c), 0, kValuesTag));
            continue;
        }
        for (const auto& s : c.strings()) {
            lengths[i].push_back(static_cast<std::int64_t>(s.size()));
            chars[i] += s;
        }
        sent.push_back(comm.isend(std::span<const std::int64_t>(lengths[i]), 0, kValuesTag));
    }
    for (std::size_t i = 0; i < part.num_columns(); ++i)
        if (part.column(i).dtype() == DType::string)
            sent.push_back(comm.isend(
                std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(chars[i].data()), chars[i].size()), 0,
                kStringBytesTag));
    for (auto& s : sent) s.wait();
}

// Receives rank `source`'s `rows` drawn rows, shaped and described as `schema`. Rank-local (rank 0).
Table receive_drawn_rows(const mpi::Comm& comm, int source, const Table& schema, std::size_t rows) {
    std::vector<Column> cols;
    for (const auto& col : schema.columns()) cols.emplace_back(col.name(), col.dtype(), rows, col.shape());
    auto expect = [&](mpi::Request& r, std::size_t n, const Column& c) {
        if (static_cast<std::size_t>(r.wait()) != n)
            throw Error(fmt::format("rank {} sent column '{}' with another size", source, c.name()));
    };
    std::vector<std::vector<std::int64_t>> lengths(cols.size());
    std::vector<mpi::Request> pending;
    std::vector<std::size_t> sizes;
    for (std::size_t i = 0; i < cols.size(); ++i) {
        Column& c = cols[i];
        if (c.dtype() == DType::string) {
            lengths[i].resize(c.size());
            pending.push_back(comm.irecv(std::span<std::int64_t>(lengths[i]), source, kValuesTag));
            sizes.push_back(c.size());
        } else {
            const std::size_t bytes = c.size() * dtype_size(c.dtype());
            pending.push_back(
                comm.irecv(std::span<std::uint8_t>(static_cast<std::uint8_t*>(c.raw_data()), bytes), source, kValuesTag));
            sizes.push_back(bytes);
        }
    }
    for (std::size_t i = 0; i < cols.size(); ++i) expect(pending[i], sizes[i], cols[i]);
    Table part;
    for (std::size_t i = 0; i < cols.size(); ++i) {
        Column& c = cols[i];
        if (c.dtype() == DType::string) {
            std::size_t total = 0;
            for (auto n : lengths[i]) total += static_cast<std::size_t>(n);
            std::string chars(total, '\0');
            auto r = comm.irecv(std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(chars.data()), total), source,
                                kStringBytesTag);
            expect(r, total, c);
            std::size_t at = 0;
            auto& strings = c.mutable_strings();
            for (std::size_t k = 0; k < strings.size(); ++k) {
                strings[k].assign(chars, at, static_cast<std::size_t>(lengths[i][k]));
                at += static_cast<std::size_t>(lengths[i][k]);
            }
        }
        c.set_unit(schema.column(i).unit());
        c.set_description(schema.column(i).description());
        part.add(std::move(c));
    }
    return part;
}

// Phase 4, rank 0: the negatives, rank 0's drawn rows then every other rank's in rank order
// (the order of /pool), with their stratum names; tallies their splits.
Table collect_negatives(const mpi::Comm& comm, const std::string& path, const std::vector<std::uint64_t>& drawn,
                        Table own, std::array<Stratum, kS>& st) {
    Table negatives = std::move(own);
    const std::uint64_t total = hdf5::ResultReader(path).table_rows("/pool");
    const Table schema = object_schema(false);
    for (int k = 1; k < comm.size(); ++k)
        negatives.append(receive_drawn_rows(comm, k, schema, drawn_in_slice(drawn, total, comm, k).size()));
    const auto sid = negatives.column("stratum_id").as<int>();
    const auto& sp = negatives.column("split").strings();
    std::vector<std::string> names;
    for (std::size_t i = 0; i < sid.size(); ++i) {
        names.push_back(kernels::stratum_name(sid[i]));
        ++st[static_cast<std::size_t>(sid[i])].neg_split[static_cast<std::size_t>(split_index(sp[i]))];
    }
    negatives.add(described("stratum", std::move(names), "", "nobs_z_bin/type_bin"));
    return negatives;
}

// The draw's summary: every stratum with positives or pool rows, as a table and as text, and
// the totals.
struct StrataSummary {
    Table table;
    std::string text;
    Stratum total;
};

StrataSummary strata_summary(const std::array<Stratum, kS>& st) {
    std::vector<std::int8_t> sid;
    std::vector<std::string> sname, snb, stb;
    std::map<std::string, std::vector<std::int64_t>> cols;
    const char* keys[] = {"positives", "positives_tier_a", "positives_tier_b", "positives_train", "positives_val",
                          "positives_test", "pool_n1", "pool_n2", "pool_other", "pool_train", "pool_val",
                          "pool_test", "hosts", "need_n1", "need_n2", "drawn_n1", "drawn_n2", "n1_for_n2",
                          "shortfall", "negatives_train", "negatives_val", "negatives_test"};
    const int tr = split_index("train"), va = split_index("val"), te = split_index("test");
    StrataSummary out;
    std::string& text = out.text;
    Stratum& tot = out.total;
    text = fmt::format("{:<10} {:>5} {:>3} {:>4} {:>10} {:>8} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7} {:>6} {:>7} "
                       "{:>17} {:>17}\n",
                       "stratum", "pos", "A", "B", "pool N1", "N2", "other", "hosts", "need1", "need2", "drawn1",
                       "drawn2", "short", "ratio", "pos tr/va/te", "neg tr/va/te");
    for (int k = 0; k < kS; ++k) {
        const auto& s = st[static_cast<std::size_t>(k)];
        const auto pool_all = s.pool[0] + s.pool[1] + s.pool[2];
        if (s.pos == 0 && pool_all == 0) continue;
        sid.push_back(static_cast<std::int8_t>(k));
        sname.push_back(kernels::stratum_name(k));
        snb.push_back(kernels::nobs_z_bin_name(k / kernels::kNumTypeBins));
        stb.push_back(kernels::type_bin_name(k % kernels::kNumTypeBins));
        auto ps = [&](int q, int sp) {
            return s.pool_split[static_cast<std::size_t>(q)][static_cast<std::size_t>(sp)];
        };
        auto all_split = [&](int sp) { return ps(0, sp) + ps(1, sp) + ps(2, sp); };
        const std::int64_t v[] = {s.pos, s.pos_a, s.pos_b, s.pos_split[static_cast<std::size_t>(tr)],
                                  s.pos_split[static_cast<std::size_t>(va)], s.pos_split[static_cast<std::size_t>(te)],
                                  s.pool[0], s.pool[1], s.pool[2], all_split(tr), all_split(va), all_split(te),
                                  s.hosts, s.need_n1, s.need_n2, s.drawn_n1, s.drawn_n2, s.n1_for_n2, s.shortfall(),
                                  s.neg_split[static_cast<std::size_t>(tr)], s.neg_split[static_cast<std::size_t>(va)],
                                  s.neg_split[static_cast<std::size_t>(te)]};
        for (std::size_t j = 0; j < std::size(keys); ++j) cols[keys[j]].push_back(v[j]);
        const double ratio = s.pos > 0 ? static_cast<double>(s.drawn_n1 + s.drawn_n2) / static_cast<double>(s.pos) : 0;
        text += fmt::format("{:<10} {:>5} {:>3} {:>4} {:>10} {:>8} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7} {:>6} {:>7.1f} "
                            "{:>17} {:>17}\n",
                            kernels::stratum_name(k), s.pos, s.pos_a, s.pos_b, s.pool[0], s.pool[1], s.pool[2], s.hosts,
                            s.need_n1, s.need_n2, s.drawn_n1, s.drawn_n2, s.shortfall(), ratio,
                            fmt::format("{}/{}/{}", v[3], v[4], v[5]), fmt::format("{}/{}/{}", v[19], v[20], v[21]));
        tot.pos += s.pos;
        tot.pool[0] += s.pool[0];
        tot.pool[1] += s.pool[1];
        tot.pool[2] += s.pool[2];
        tot.hosts += s.hosts;
        tot.need_n1 += s.need_n1;
        tot.need_n2 += s.need_n2;
        tot.drawn_n1 += s.drawn_n1;
        tot.drawn_n2 += s.drawn_n2;
    }
    text += fmt::format("{:<10} {:>5} {:>3} {:>4} {:>10} {:>8} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7} {:>6}\n", "total", tot.pos,
                        "", "", tot.pool[0], tot.pool[1], tot.pool[2], tot.hosts, tot.need_n1, tot.need_n2, tot.drawn_n1,
                        tot.drawn_n2, tot.shortfall());
    Table& strata = out.table;
    strata.add(described("stratum_id", std::move(sid), "", "4 x nobs bin + type bin"));
    strata.add(described("stratum", std::move(sname), "", "nobs_z_bin/type_bin"));
    strata.add(described("nobs_z_bin", std::move(snb), "", "nobs_z bin"));
    strata.add(described("type_bin", std::move(stb), "", "type bin"));
    for (const char* k : keys) strata.add(described(k, std::move(cols[k]), "", k));
    return out;
}

// The lookup table of the rows' sweep_file_id: the plan's files in plan order (find_sweep_files).
Table sweep_files_table(const Params& p) {
    std::vector<std::int32_t> id;
    std::vector<std::string> name, path;
    for (const auto& f : find_sweep_files(p)) {
        id.push_back(static_cast<std::int32_t>(id.size()));
        name.push_back(util::to_valid_utf8(std::filesystem::path(f).filename().string()));
        path.push_back(util::to_valid_utf8(f));
    }
    Table t;
    t.add(described("sweep_file_id", std::move(id), "", "the sweep_file_id of the object tables"));
    t.add(described("sweep_file", std::move(name), "", "file name"));
    t.add(described("path", std::move(path), "", "the path the run read"));
    return t;
}

// Phase 4, rank 0: the summary logged; /positives, /negatives, /lenses and /strata written
// (replacing those of an earlier reduce) with their attributes.
void write_results(const Params& p, const std::string& path, const Matched& m, const Table& negatives) {
    const StrataSummary summary = strata_summary(m.strata);
    const std::string& text = summary.text;
    const Stratum& tot = summary.total;
    spdlog::info("sample: {} lenses ({} catalog rows, {} duplicates collapsed); {} covered by the sweeps, {} Tier-A/B "
                 "matched within {}\" ({:.1f}% of the covered Tier-A/B); {} positives, {} negatives",
                 m.attrs.at("lenses"), m.attrs.at("catalog_rows"), m.attrs.at("duplicates_collapsed"),
                 m.attrs.at("lenses_covered"), m.attrs.at("tier_ab_matched"), p.match_radius_arcsec,
                 100.0 * m.real_attrs.at("matched_fraction_of_covered"), m.positives.num_rows(), negatives.num_rows());
    spdlog::info("sample: strata (negatives per positive {}, N1:N2 {:.0f}:{:.0f}):\n{}", p.negatives_per_positive,
                 100 * p.n1_fraction, 100 * (1 - p.n1_fraction), text);

    if (!m.nonfinite_flux.empty())
        spdlog::warn("sample: sweep rows with a non-finite flux (NaN or infinite), kept in /pool but never hosts: {}",
                     m.nonfinite_flux);

    hdf5::ResultAppender a(path);
    for (const char* g : {"/positives", "/negatives", "/lenses", "/strata", "/sweep_files"}) a.remove(g);
    a.write_table("/sweep_files", sweep_files_table(p));
    a.set_attribute("/sweep_files", "description",
                    std::string("the sweep files of the run, in plan order: the sweep_file_id of /pool, /hosts, "
                                "/lens_matches, /positives and /negatives is a row of this table"));
    a.set_attribute("/pool", "nonfinite_flux", m.nonfinite_flux.empty() ? std::string("none") : m.nonfinite_flux);
    a.write_table("/positives", m.positives);
    a.write_table("/negatives", negatives);
    a.write_table("/lenses", m.lenses);
    a.write_table("/strata", summary.table);
    for (const auto& [k, v] : m.attrs) a.set_attribute("/positives", k, v);
    for (const auto& [k, v] : m.real_attrs) a.set_attribute("/positives", k, v);
    a.set_attribute("/positives", "lens_catalog", p.lens_catalog);
    a.set_attribute("/positives", "description",
                    std::string("the nearest sweep object within the match radius of each Tier-A/B lens"));
    a.set_attribute("/negatives", "description",
                    std::string("stratified negatives: per stratum, negatives_per_positive x positives, N1:N2 by "
                                "n1_fraction, the pool objects with the smallest draw_u"));
    a.set_attribute("/negatives", "negatives_per_positive", p.negatives_per_positive);
    a.set_attribute("/negatives", "n1_fraction", p.n1_fraction);
    a.set_attribute("/negatives", "need", tot.need_n1 + tot.need_n2);
    a.set_attribute("/negatives", "drawn", tot.drawn_n1 + tot.drawn_n2);
    a.set_attribute("/negatives", "shortfall", tot.shortfall());
    a.set_attribute("/negatives", "summary", text);
    a.set_attribute("/strata", "summary", text);
    a.set_attribute("/strata", "description", std::string("per-stratum counts of positives, pool, hosts and "
                                                          "negatives, with the splits"));
    a.set_attribute("/lenses", "description",
                    std::string("the lens catalog with duplicates collapsed: coverage and match"));
    a.close();
}

}  // namespace

void reduce(const Params& p, const mpi::Comm& comm, const std::string& path) {
    // 1. Rank 0: positives and the lens list; the quotas go to every rank.
    Matched matched;
    std::vector<std::int64_t> quota;
    reduce_on_rank0(comm, [&] { quota = positives_and_lenses(p, path, matched); });
    quota = comm.broadcast_vector(quota);

    // 2. Every rank: the smallest draw values per (stratum, pool) in its slice of /pool.
    std::string mine;
    on_every_rank(comm, [&] { mine = scan_pool(path, comm, quota); });
    const auto parts = comm.gather(mine, 0);

    // 3. Rank 0 merges the candidates into the drawn rows; every rank reads the drawn rows of
    // its slice of /pool (one pass, in parallel); the other ranks send theirs to rank 0.
    std::vector<std::uint64_t> drawn;
    reduce_on_rank0(comm, [&] { drawn = merge_draws(parts, quota); });
    drawn = comm.broadcast_vector(drawn);
    Table own_part;
    on_every_rank(comm, [&] { own_part = read_drawn_rows(path, comm, drawn); });
    if (comm.rank() != 0) send_drawn_rows(comm, own_part);

    // 4. Rank 0: the negatives, the summary; everything written.
    reduce_on_rank0(comm, [&] {
        const Table negatives = collect_negatives(comm, path, drawn, std::move(own_part), matched.strata);
        write_results(p, path, matched, negatives);
    });
}

}  // namespace dhs::stages::sample
