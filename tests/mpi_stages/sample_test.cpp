// Tests of the sampling stage (`sample`, mpi_stages/sample) end to end through `dhs run` on a
// mock sky (configs/mock_sky_test.yaml with more LRGs), sampled with 1, 2 and 3 ranks: the same
// sample.h5 datasets; every true lens of the mock matched; no pool object or negative within
// 11" of a lens (brute force); strata hold 100 negatives per positive where the pool allows
// (N1:N2 85:15, the smallest draw values) and report the shortfall where it does not;
// healpix/split of every row equal healpy + hashlib (Python); LRG hosts recomputed; the
// contract's columns. Real sweeps: sample_real_test.cpp; bad inputs: sample_bad_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/fits/sweep_reader.hpp"
#include "core/fits/table_writer.hpp"
#include "core/hdf5/result_file.hpp"
#include "core/util/sha256.hpp"
#include "kernels/geometry/healpix_cells.hpp"
#include "kernels/sampling/sampling_split.hpp"
#include "mpi_stages/common/sections.hpp"
#include "mpi_stages/mock_sky/mock_sky.hpp"
#include "mpi_stages/sample/sample.hpp"
#include "tests/mpi_stages/sample_support.hpp"

namespace fs = std::filesystem;
using dhs::Column;
using dhs::Table;
using dhs::hdf5::ResultReader;

namespace {

using namespace dhs::test::sample;

const std::vector<std::string> kGroups = {"/pool",   "/hosts",     "/lens_matches", "/lens_coverage", "/pool_counts",
                                          "/positives", "/negatives", "/lenses",      "/strata",        "/failures"};

class Sample : public ::testing::Test {
protected:
    static fs::path base, mock;
    static void SetUpTestSuite() {
        base = fs::temp_directory_path() / ("dhs-sample-test-" + std::to_string(::getpid()));
        mock = base / "mock";
        fs::remove_all(base);
        // The test footprint with more LRGs, so that a stratum's pool allows 100 negatives per lens.
        const auto m = sh(kDhs + " mock-sky --out " + mock.string() + " --config " + kMockConfig +
                          " --set mock_sky.lrgs=250 --set mock_sky.lenses=1");
        ASSERT_EQ(m.rc, 0) << m.output;
        for (int n : {1, 2, 3}) {
            const auto r = sh((n == 1 ? std::string() : mpirun(n)) + kDhs + " run " + kConfig + " --out " +
                              run(n).string() + " --stages sample --set survey.root=" + mock.string());
            ASSERT_EQ(r.rc, 0) << r.output;
        }
    }
    static void TearDownTestSuite() { fs::remove_all(base); }
    static fs::path run(int n) { return base / ("n" + std::to_string(n)); }
    static std::string h5(int n = 1) { return (run(n) / "sample.h5").string(); }
};
fs::path Sample::base, Sample::mock;

TEST_F(Sample, SameDatasetsForOneTwoAndThreeRanks) {
    ResultReader a(h5(1));
    for (int n : {2, 3}) {
        ResultReader b(h5(n));
        for (const auto& g : kGroups) {
            const auto names = a.datasets(g);
            ASSERT_EQ(names, b.datasets(g)) << g;
            for (const auto& d : names)
                EXPECT_TRUE(same(a.read_column(g + "/" + d), b.read_column(g + "/" + d))) << g << "/" << d << " n=" << n;
        }
        EXPECT_EQ(a.string_attribute("/strata", "summary"), b.string_attribute("/strata", "summary"));
        for (const char* k : {"lenses", "lenses_matched", "positives", "duplicates_collapsed"})
            EXPECT_EQ(a.int_attribute("/positives", k), b.int_attribute("/positives", k)) << k;
    }
    EXPECT_GE(a.int_attribute("/", "units_planned").value_or(0), 3);  // several units, several blocks each
    EXPECT_GT(a.table_rows("/pool"), 500u);
}

TEST_F(Sample, EveryTrueLensOfTheMockIsMatched) {
    ResultReader r(h5());
    const Table pos = r.read_table("/positives");
    std::map<std::string, std::string> galaxy;  // name -> galaxy_id
    for (std::size_t i = 0; i < pos.num_rows(); ++i)
        galaxy[pos.column("name").strings()[i]] = pos.column("galaxy_id").strings()[i];
    int n = 0;
    for (const auto& t : dhs::test::csv_rows((mock / "truth" / "lenses.csv").string())) {
        ASSERT_TRUE(galaxy.count(t[0])) << "lens " << t[0] << " not matched";
        EXPECT_EQ(galaxy[t[0]], t[1] + "_" + t[2]) << t[0];
        ++n;
    }
    EXPECT_EQ(n, 2);
    const Table lenses = r.read_table("/lenses");
    for (auto m : lenses.column("matched").as<int>()) EXPECT_EQ(m, 1);
    EXPECT_EQ(r.real_attribute("/positives", "matched_fraction_of_covered").value_or(0), 1.0);
    for (const auto& t : pos.column("tier").strings()) EXPECT_TRUE(t == "A" || t == "B");
    for (auto s : pos.column("sep_arcsec").as<double>()) EXPECT_LE(s, 1.0);
}

TEST_F(Sample, NoPoolObjectOrNegativeWithin11ArcsecOfALens) {
    ResultReader r(h5());
    const auto lenses = lenscat_positions((mock / "lenses" / "lenscat.csv").string());
    ASSERT_FALSE(lenses.empty());
    for (const char* g : {"/pool", "/hosts", "/negatives"}) {
        const auto ra = r.read_column(std::string(g) + "/ra").as<double>();
        const auto dec = r.read_column(std::string(g) + "/dec").as<double>();
        for (std::size_t i = 0; i < ra.size(); ++i)
            for (const auto& l : lenses) ASSERT_GT(haversine_arcsec(ra[i], dec[i], l.ra, l.dec), 11.0) << g << " row " << i;
    }
    // And objects near the lenses exist in the sweeps: the exclusion removed them.
    int near = 0;
    for (const auto& e : fs::directory_iterator(mock / "sweep" / "10.1")) {
        dhs::fits::SweepReader s(e.path().string());
        const auto t = s.read_all({"RA", "DEC", "TYPE"});
        const auto ra = t.column("RA").as<double>(), dec = t.column("DEC").as<double>();
        for (std::size_t i = 0; i < ra.size(); ++i)
            for (const auto& l : lenses) near += haversine_arcsec(ra[i], dec[i], l.ra, l.dec) <= 11.0;
    }
    EXPECT_GE(near, 2);
}

TEST_F(Sample, StrataHoldTheRatioWhereThePoolAllows) {
    ResultReader r(h5());
    const Table pool = r.read_table("/pool", {"stratum_id", "pool", "draw_u"});
    const Table neg = r.read_table("/negatives", {"stratum_id", "pool", "draw_u", "galaxy_id"});
    const auto ps = r.read_column("/positives/stratum_id").as<int>();
    std::map<int, std::int64_t> positives;
    for (auto s : ps) ++positives[s];
    std::map<std::pair<int, std::string>, std::vector<double>> avail, drawn;
    for (std::size_t i = 0; i < pool.num_rows(); ++i)
        avail[{pool.column("stratum_id").as<int>()[i], pool.column("pool").strings()[i]}].push_back(
            pool.column("draw_u").as<double>()[i]);
    for (std::size_t i = 0; i < neg.num_rows(); ++i)
        drawn[{neg.column("stratum_id").as<int>()[i], neg.column("pool").strings()[i]}].push_back(
            neg.column("draw_u").as<double>()[i]);
    int full = 0;
    for (const auto& [s, npos] : positives) {
        const std::int64_t total = 100 * npos, need1 = std::llround(total * 0.85), need2 = total - need1;
        const auto a1 = static_cast<std::int64_t>(avail[{s, "N1"}].size()), a2 = static_cast<std::int64_t>(avail[{s, "N2"}].size());
        const std::int64_t d2 = std::min(need2, a2), d1 = std::min(need1 + (need2 - d2), a1);
        EXPECT_EQ(static_cast<std::int64_t>(drawn[{s, "N2"}].size()), d2) << "stratum " << s;
        EXPECT_EQ(static_cast<std::int64_t>(drawn[{s, "N1"}].size()), d1) << "stratum " << s;
        if (d1 + d2 == total) ++full;
        // The draw took the smallest draw values of the stratum's pool.
        for (const char* q : {"N1", "N2"}) {
            auto all = avail[{s, q}];
            auto got = drawn[{s, q}];
            std::sort(all.begin(), all.end());
            std::sort(got.begin(), got.end());
            all.resize(got.size());
            EXPECT_EQ(all, got) << "stratum " << s << " " << q;
        }
    }
    EXPECT_GE(full, 1) << "no stratum reached 100:1";
    // Only strata with positives get negatives; no galaxy twice.
    for (const auto& [k, v] : drawn) EXPECT_TRUE(positives.count(k.first)) << k.first;
    std::set<std::string> ids(neg.column("galaxy_id").strings().begin(), neg.column("galaxy_id").strings().end());
    EXPECT_EQ(ids.size(), neg.num_rows());
    // The summary: attributes and the /strata table agree with the counts.
    EXPECT_EQ(r.int_attribute("/negatives", "drawn").value_or(-1), static_cast<std::int64_t>(neg.num_rows()));
    EXPECT_NE(r.string_attribute("/strata", "summary").value_or("").find("total"), std::string::npos);
    const Table st = r.read_table("/strata");
    std::int64_t sum = 0;
    for (const char* c : {"drawn_n1", "drawn_n2"})
        for (auto v : st.column(c).as<std::int64_t>()) sum += v;
    EXPECT_EQ(sum, static_cast<std::int64_t>(neg.num_rows()));
}

TEST_F(Sample, ShortfallIsReportedWhereThePoolDoesNotAllow) {
    const auto out = base / "short";
    const auto r = sh(kDhs + " run " + kConfig + " --out " + out.string() + " --stages sample --set survey.root=" +
                      mock.string() + " --set sample.negatives_per_positive=1000 --set run.log_level=info");
    ASSERT_EQ(r.rc, 0) << r.output;
    EXPECT_NE(r.output.find("short"), std::string::npos);  // the summary table in the log
    ResultReader h((out / "sample.h5").string());
    const auto shortfall = h.int_attribute("/negatives", "shortfall").value_or(0);
    EXPECT_GT(shortfall, 0);
    const Table st = h.read_table("/strata");
    const auto pos = st.column("positives").as<std::int64_t>(), d1 = st.column("drawn_n1").as<std::int64_t>(),
               d2 = st.column("drawn_n2").as<std::int64_t>(), a1 = st.column("pool_n1").as<std::int64_t>(),
               a2 = st.column("pool_n2").as<std::int64_t>(), sf = st.column("shortfall").as<std::int64_t>();
    std::int64_t sum = 0;
    for (std::size_t i = 0; i < pos.size(); ++i) {
        if (pos[i] == 0) continue;
        EXPECT_EQ(d1[i], a1[i]);  // the whole pool is drawn
        EXPECT_EQ(d2[i], a2[i]);
        EXPECT_EQ(sf[i], 1000 * pos[i] - d1[i] - d2[i]);
        sum += sf[i];
    }
    EXPECT_EQ(sum, shortfall);
}

TEST_F(Sample, MagnitudeLimitOfThePool) {
    const auto out = base / "maglim";
    const auto r = sh(kDhs + " run " + kConfig + " --out " + out.string() + " --stages sample --set survey.root=" +
                      mock.string() + " --set sample.pool_max_mag_z=19.5");
    ASSERT_EQ(r.rc, 0) << r.output;
    ResultReader limited((out / "sample.h5").string()), full(h5());
    const auto mz = limited.read_column("/pool/mag_z").as<double>();
    for (auto m : mz) EXPECT_LT(m, 19.5);
    std::size_t bright = 0;
    for (auto m : full.read_column("/pool/mag_z").as<double>()) bright += m < 19.5;
    EXPECT_EQ(mz.size(), bright);
    EXPECT_GT(bright, 10u);
    EXPECT_LT(bright, full.table_rows("/pool"));
}

TEST_F(Sample, HealpixAndSplitOfEveryRowMatchHealpyAndHashlib) {
    if (!python_has("healpy, h5py, numpy")) GTEST_SKIP() << "Debian python3 with healpy and h5py needed";
    const auto r = sh(kPython + " " + kReference + " h5 42 " + h5() + " /pool /hosts /negatives /positives");
    ASSERT_EQ(r.rc, 0) << r.output;
    std::istringstream in(r.output);
    std::string g;
    std::int64_t rows = 0, bad = -1, total = 0;
    int groups = 0;
    while (in >> g >> rows >> bad) {
        EXPECT_EQ(bad, 0) << g;
        total += rows;
        ++groups;
    }
    EXPECT_EQ(groups, 4);
    EXPECT_GT(total, 800);
}

TEST_F(Sample, HostsAreTheV3LrgsOfThePool) {
    ResultReader r(h5());
    const Table pool = r.read_table("/pool", {"galaxy_id", "flux_r", "flux_z", "flux_w1", "ebv", "type", "lrg_v3"});
    const auto fr = pool.column("flux_r").as<double>(), fz = pool.column("flux_z").as<double>(),
               fw = pool.column("flux_w1").as<double>(), ebv = pool.column("ebv").as<double>();
    const auto flag = pool.column("lrg_v3").as<int>();
    std::set<std::string> want;
    for (std::size_t i = 0; i < fr.size(); ++i) {
        // Dereddened AB magnitudes with A_X = R_X E(B-V): z < 20.4, r - z > 0.4, z - W1 > 0.8, E(B-V) < 0.1.
        const double r_ = 22.5 - 2.5 * std::log10(fr[i]) - 2.165 * ebv[i], z = 22.5 - 2.5 * std::log10(fz[i]) - 1.211 * ebv[i],
                     w1 = 22.5 - 2.5 * std::log10(fw[i]) - 0.184 * ebv[i];
        const bool lrg = fr[i] > 0 && fz[i] > 0 && fw[i] > 0 && z < 20.4 && r_ - z > 0.4 && z - w1 > 0.8 && ebv[i] < 0.1 &&
                         pool.column("type").strings()[i] != "PSF";
        if (std::abs(z - 20.4) > 1e-4 && std::abs(r_ - z - 0.4) > 1e-4 && std::abs(z - w1 - 0.8) > 1e-4) {
            EXPECT_EQ(flag[i], lrg ? 1 : 0) << pool.column("galaxy_id").strings()[i];
        }
        if (flag[i]) want.insert(pool.column("galaxy_id").strings()[i]);
    }
    const Column host_ids = r.read_column("/hosts/galaxy_id");  // held: strings() refers into it
    const auto& hosts = host_ids.strings();
    EXPECT_EQ(std::set<std::string>(hosts.begin(), hosts.end()), want);
    EXPECT_GE(want.size(), 100u);  // the mock's LRGs
}

TEST_F(Sample, PoolHoldsTheContractColumns) {
    ResultReader r(h5());
    const auto names = r.datasets("/pool");
    for (const char* c : {"galaxy_id", "brickname", "objid", "ra", "dec", "type", "nobs_g", "nobs_r", "nobs_z",
                          "nobs_z_bin", "type_bin", "flux_g", "flux_r", "flux_z", "flux_w1", "mag_g", "mag_r", "mag_z",
                          "mag_w1", "g_minus_r", "r_minus_z", "z_minus_w1", "psfsize_g", "psfsize_r", "psfsize_z",
                          "psfdepth_g", "psfdepth_r", "psfdepth_z", "galdepth_g", "galdepth_r", "galdepth_z", "ebv",
                          "maskbits", "shape_r", "healpix_64", "healpix_128", "split", "sweep_file_id", "pool", "lrg_v1", "lrg_v2", "lrg_v3", "lrg_v4", "lrg_v5"})
        EXPECT_TRUE(std::find(names.begin(), names.end(), c) != names.end()) << c;
    // pipeline_version and git_commit are the file's root attributes, not per-row columns.
    EXPECT_TRUE(std::find(names.begin(), names.end(), "git_commit") == names.end());
    const Table files = r.read_table("/sweep_files", {"sweep_file_id", "sweep_file", "path"});
    ASSERT_GT(files.num_rows(), 0u);
    for (std::size_t k = 0; k < files.num_rows(); ++k) {
        EXPECT_EQ(files.column("sweep_file_id").as<int>()[k], static_cast<int>(k));
        EXPECT_EQ(files.column("sweep_file").strings()[k].rfind("sweep-", 0), 0u);
    }
    const Table t = r.read_table("/pool", {"galaxy_id", "brickname", "objid", "pool", "type", "sweep_file_id", "confuser_category"});
    std::set<std::string> pools;
    for (std::size_t i = 0; i < t.num_rows(); ++i) {
        EXPECT_EQ(t.column("galaxy_id").strings()[i],
                  t.column("brickname").strings()[i] + "_" + std::to_string(t.column("objid").as<int>()[i]));
        const auto& type = t.column("type").strings()[i];
        const auto& p = t.column("pool").strings()[i];
        EXPECT_TRUE(type != "PSF" && type != "DUP");
        if (p == "N1") {
            EXPECT_NE(type, "EXP");  // EXP never in N1
        }
        EXPECT_EQ(p == "N2", !t.column("confuser_category").strings()[i].empty());
        const int file_id = t.column("sweep_file_id").as<int>()[i];
        ASSERT_TRUE(file_id >= 0 && static_cast<std::size_t>(file_id) < files.num_rows()) << file_id;
        pools.insert(p);
    }
    EXPECT_EQ(pools, (std::set<std::string>{"N1", "N2", ""}));
    // The mock's confusers are N2 through the truth catalog.
    const Table pos = r.read_table("/pool", {"confuser_category"});
    std::set<std::string> cats(pos.column("confuser_category").strings().begin(), pos.column("confuser_category").strings().end());
    EXPECT_TRUE(cats.count("ring") || cats.count("spiral") || cats.count("edge_on"));
}

}  // namespace
