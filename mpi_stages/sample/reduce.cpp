// The sampling stage's reduce, after the gather of sample.h5: rank 0 picks the positives (the
// nearest object within the match radius of each Tier-A/B lens) and lists the lenses; every
// rank scans a slice of /pool for the stratified draw (per stratum and pool, the objects with
// the smallest draw_u, ties by row); rank 0 merges, reads the drawn rows and writes
// /positives, /negatives, /lenses and /strata with the summary. The result depends on the
// gathered file only, so it is the same for any rank count.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <numeric>
#include <queue>

#include "core/engine/spool.hpp"
#include "core/error.hpp"
#include "core/hdf5/result_file.hpp"
#include "core/mpi/comm.hpp"
#include "kernels/sampling_strata.hpp"
#include "mpi_stages/sample/sample.hpp"

namespace fs = std::filesystem;

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

}  // namespace

void reduce(const Params& p, const mpi::Comm& comm, const std::string& path) {
    // ---- 1. Rank 0: positives and the lens list; the quotas go to every rank.
    std::array<Stratum, kS> st{};
    Table positives, lenses_table;
    std::map<std::string, std::int64_t> pos_attrs;
    std::map<std::string, double> pos_real_attrs;
    std::string quota_msg;
    reduce_on_rank0(comm, [&] {
        const auto inputs = load_inputs(p);
        const auto& L = inputs->lenses;
        hdf5::ResultReader r(path);
        const Table m = r.read_table("/lens_matches");
        const Table cov = r.read_table("/lens_coverage");
        const Table pc = r.read_table("/pool_counts");
        // Coverage and nearest match per lens.
        std::vector<std::int64_t> nearby(L.size(), 0);
        {
            const auto li = cov.column("lens_index").as<std::int64_t>();
            const auto no = cov.column("objects").as<std::int64_t>();
            for (std::size_t i = 0; i < li.size(); ++i) nearby.at(static_cast<std::size_t>(li[i])) += no[i];
        }
        std::vector<std::int64_t> best(L.size(), -1);
        const auto mli = m.column("lens_index").as<std::int64_t>();
        const auto msep = m.column("sep_arcsec").as<double>();
        for (std::size_t i = 0; i < mli.size(); ++i) {
            auto& b = best.at(static_cast<std::size_t>(mli[i]));
            if (b < 0 || msep[i] < msep[static_cast<std::size_t>(b)]) b = static_cast<std::int64_t>(i);
        }
        // Positives: Tier-A/B lenses with a match, in lens order.
        std::vector<std::uint64_t> rows;
        std::vector<std::string> name, all_names, grading, tier, zt, ltype, lref;
        std::vector<double> z, lra, ldec;
        std::vector<std::int32_t> dups;
        for (std::size_t k = 0; k < L.size(); ++k) {
            if (best[k] < 0 || L[k].tier.empty()) continue;
            rows.push_back(static_cast<std::uint64_t>(best[k]));
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
        positives = m.take(rows);
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

        // The lens list.
        {
            const std::size_t n = L.size();
            std::vector<std::string> ln(n), lan(n), lg(n), lt(n), lzt(n), lty(n), lrf(n), gid(n);
            std::vector<double> lr(n), ld(n), lz(n), sep(n, std::numeric_limits<double>::quiet_NaN());
            std::vector<std::int32_t> ldup(n);
            std::vector<std::int64_t> line(n), near(n);
            std::vector<std::uint8_t> covered(n), matched(n);
            const auto& mg = m.column("galaxy_id").strings();
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
                near[k] = nearby[k];
                covered[k] = nearby[k] > 0;
                matched[k] = best[k] >= 0;
                if (best[k] >= 0) {
                    gid[k] = mg[static_cast<std::size_t>(best[k])];
                    sep[k] = msep[static_cast<std::size_t>(best[k])];
                }
            }
            Table& t = lenses_table;
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
        }

        // Tallies: positives per stratum and split; pool counts from the units.
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
        quota_msg.assign(reinterpret_cast<const char*>(q.data()), q.size() * sizeof(std::int64_t));

        std::int64_t covered_n = 0, matched_n = 0, matched_a = 0, matched_b = 0, tier_a = 0, tier_b = 0, cov_ab = 0,
                     matched_ab = 0;
        for (std::size_t k = 0; k < L.size(); ++k) {
            covered_n += nearby[k] > 0;
            matched_n += best[k] >= 0;
            tier_a += L[k].tier == "A";
            tier_b += L[k].tier == "B";
            if (!L[k].tier.empty()) {
                cov_ab += nearby[k] > 0;
                matched_ab += best[k] >= 0;
            }
            matched_a += best[k] >= 0 && L[k].tier == "A";
            matched_b += best[k] >= 0 && L[k].tier == "B";
        }
        std::int64_t dup_total = 0;
        for (const auto& l : L) dup_total += l.duplicates;
        pos_attrs = {{"catalog_rows", static_cast<std::int64_t>(inputs->catalog.rows.size())},
                     {"catalog_confident_rows", inputs->catalog.confident},
                     {"catalog_probable_rows", inputs->catalog.probable},
                     {"lenses", static_cast<std::int64_t>(L.size())},
                     {"duplicates_collapsed", dup_total},
                     {"lenses_tier_a", tier_a},
                     {"lenses_tier_b", tier_b},
                     {"lenses_covered", covered_n},
                     {"lenses_matched", matched_n},
                     {"tier_ab_covered", cov_ab},
                     {"tier_ab_matched", matched_ab},
                     {"tier_ab_unmatched_covered", cov_ab - matched_ab},
                     {"positives", static_cast<std::int64_t>(positives.num_rows())},
                     {"positives_tier_a", matched_a},
                     {"positives_tier_b", matched_b}};
        pos_real_attrs = {{"matched_fraction_of_covered", cov_ab > 0 ? static_cast<double>(matched_ab) / static_cast<double>(cov_ab) : 0.0},
                          {"matched_fraction_of_catalog", tier_a + tier_b > 0 ? static_cast<double>(matched_ab) / static_cast<double>(tier_a + tier_b) : 0.0},
                          {"match_radius_arcsec", p.match_radius_arcsec},
                          {"exclusion_radius_arcsec", p.exclusion_radius_arcsec}};
    });
    comm.broadcast(quota_msg);
    std::vector<std::int64_t> quota(quota_msg.size() / sizeof(std::int64_t));
    std::memcpy(quota.data(), quota_msg.data(), quota_msg.size());

    // ---- 2. Every rank: the smallest draw values per (stratum, pool) in its slice of /pool.
    std::string mine, err;
    try {
        hdf5::ResultReader r(path);
        const std::uint64_t total = r.table_rows("/pool");
        const auto n = static_cast<std::uint64_t>(comm.size()), k = static_cast<std::uint64_t>(comm.rank());
        const std::uint64_t lo = total * k / n, hi = total * (k + 1) / n;
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
        for (std::size_t key = 0; key < heaps.size(); ++key)
            for (auto& h = heaps[key]; !h.empty(); h.pop()) {
                const std::uint64_t kk = key;
                mine.append(reinterpret_cast<const char*>(&kk), 8);
                mine.append(reinterpret_cast<const char*>(&h.top().u), 8);
                mine.append(reinterpret_cast<const char*>(&h.top().row), 8);
            }
    } catch (const std::exception& e) {
        err = fmt::format("rank {}: {}", comm.rank(), e.what());
    }
    const auto errors = comm.allgather(err);
    for (const auto& e : errors)
        if (!e.empty()) throw Error("sample reduce: " + e);
    const auto parts = comm.gather(mine, 0);

    // ---- 3. Rank 0 merges the candidates into the drawn rows; every rank reads the drawn rows
    // of its slice of /pool (one pass, in parallel) and hands them to rank 0 through a spool file.
    std::string drawn_msg;
    reduce_on_rank0(comm, [&] {
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
        drawn_msg.assign(reinterpret_cast<const char*>(drawn.data()), drawn.size() * sizeof(std::uint64_t));
    });
    comm.broadcast(drawn_msg);
    std::vector<std::uint64_t> drawn(drawn_msg.size() / sizeof(std::uint64_t));
    std::memcpy(drawn.data(), drawn_msg.data(), drawn_msg.size());
    const std::string part_dir = path + ".negatives.d";
    Table own_part;
    reduce_on_rank0(comm, [&] {
        fs::remove_all(part_dir);
        fs::create_directories(part_dir);
    });
    err.clear();
    try {
        hdf5::ResultReader r(path);
        const std::uint64_t total = r.table_rows("/pool");
        const auto n = static_cast<std::uint64_t>(comm.size()), k = static_cast<std::uint64_t>(comm.rank());
        const std::uint64_t lo = total * k / n, hi = total * (k + 1) / n;
        const std::vector<std::uint64_t> mine_rows(std::lower_bound(drawn.begin(), drawn.end(), lo),
                                                   std::lower_bound(drawn.begin(), drawn.end(), hi));
        Table part;
        const Table schema = object_schema(false);
        for (const auto& col : schema.columns()) {
            Column c = mine_rows.empty() ? Column(col.name(), col.dtype(), 0, col.shape())
                                         : r.read_rows("/pool/" + col.name(), mine_rows);
            c.set_unit(col.unit());
            c.set_description(col.description());
            part.add(std::move(c));
        }
        if (comm.rank() == 0) own_part = std::move(part);  // rank 0's part stays in memory
        else engine::write_spool(part_dir, comm.rank(), {{"negatives", std::move(part)}});
    } catch (const std::exception& e) {
        err = fmt::format("rank {}: {}", comm.rank(), e.what());
    }
    for (const auto& e : comm.allgather(err))
        if (!e.empty()) throw Error("sample reduce: " + e);

    // ---- 4. Rank 0: the negatives, the summary; everything written.
    reduce_on_rank0(comm, [&] {
        Table negatives;
        for (int k = 0; k < comm.size(); ++k) {
            if (k == 0) {
                negatives = std::move(own_part);
                continue;
            }
            auto part = engine::read_spool(engine::spool_path(part_dir, k));
            negatives.append(part.at("negatives"));
        }
        fs::remove_all(part_dir);
        {
            const auto sid = negatives.column("stratum_id").as<int>();
            const auto& sp = negatives.column("split").strings();
            std::vector<std::string> names;
            for (std::size_t i = 0; i < sid.size(); ++i) {
                names.push_back(kernels::stratum_name(sid[i]));
                ++st[static_cast<std::size_t>(sid[i])].neg_split[static_cast<std::size_t>(split_index(sp[i]))];
            }
            negatives.add(described("stratum", std::move(names), "", "nobs_z_bin/type_bin"));
        }

        // The summary table: every stratum with positives or pool rows.
        std::vector<std::int8_t> sid;
        std::vector<std::string> sname, snb, stb;
        std::map<std::string, std::vector<std::int64_t>> cols;
        const char* keys[] = {"positives", "positives_tier_a", "positives_tier_b", "positives_train", "positives_val",
                              "positives_test", "pool_n1", "pool_n2", "pool_other", "pool_train", "pool_val",
                              "pool_test", "hosts", "need_n1", "need_n2", "drawn_n1", "drawn_n2", "n1_for_n2",
                              "shortfall", "negatives_train", "negatives_val", "negatives_test"};
        const int tr = split_index("train"), va = split_index("val"), te = split_index("test");
        std::string text = fmt::format("{:<10} {:>5} {:>3} {:>4} {:>10} {:>8} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7} {:>6} {:>7} "
                                       "{:>17} {:>17}\n",
                                       "stratum", "pos", "A", "B", "pool N1", "N2", "other", "hosts", "need1", "need2", "drawn1",
                                       "drawn2", "short", "ratio", "pos tr/va/te", "neg tr/va/te");
        Stratum tot;
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
        Table strata;
        strata.add(described("stratum_id", std::move(sid), "", "4 x nobs bin + type bin"));
        strata.add(described("stratum", std::move(sname), "", "nobs_z_bin/type_bin"));
        strata.add(described("nobs_z_bin", std::move(snb), "", "nobs_z bin"));
        strata.add(described("type_bin", std::move(stb), "", "type bin"));
        for (const char* k : keys) strata.add(described(k, std::move(cols[k]), "", k));

        spdlog::info("sample: {} lenses ({} catalog rows, {} duplicates collapsed); {} covered by the sweeps, {} Tier-A/B "
                     "matched within {}\" ({:.1f}% of the covered Tier-A/B); {} positives, {} negatives",
                     pos_attrs["lenses"], pos_attrs["catalog_rows"], pos_attrs["duplicates_collapsed"],
                     pos_attrs["lenses_covered"], pos_attrs["tier_ab_matched"], p.match_radius_arcsec,
                     100.0 * pos_real_attrs["matched_fraction_of_covered"], positives.num_rows(), negatives.num_rows());
        spdlog::info("sample: strata (negatives per positive {}, N1:N2 {:.0f}:{:.0f}):\n{}", p.negatives_per_positive,
                     100 * p.n1_fraction, 100 * (1 - p.n1_fraction), text);

        hdf5::ResultAppender a(path);
        for (const char* g : {"/positives", "/negatives", "/lenses", "/strata"}) a.remove(g);
        a.write_table("/positives", positives);
        a.write_table("/negatives", negatives);
        a.write_table("/lenses", lenses_table);
        a.write_table("/strata", strata);
        for (const auto& [k, v] : pos_attrs) a.set_attribute("/positives", k, v);
        for (const auto& [k, v] : pos_real_attrs) a.set_attribute("/positives", k, v);
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
    });
}

}  // namespace dhs::stages::sample
