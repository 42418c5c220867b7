// Tests of the sampling kernels: the split rule against Python's hashlib (bit for bit) and its
// proportions over 10^5 cells; NESTED HEALPix cells against healpy's reference vectors and
// the parent relation; the k-d tree on unit vectors against brute force (poles, RA wrap);
// disc cells as a superset; bins, LRG cuts, quotas and draw values.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>

#include "core/util/sha256.hpp"
#include "kernels/geometry/healpix_cells.hpp"
#include "kernels/sampling/sampling_split.hpp"
#include "kernels/sampling/sampling_strata.hpp"
#include "kernels/geometry/sky_index.hpp"
#include "tests/support/test_support.hpp"

namespace k = dhs::kernels;

namespace {

const k::SplitRule& default_rule() {
    static const k::SplitRule r({{"train", 0.70}, {"val", 0.15}, {"test", 0.15}});
    return r;
}

std::string split_of_cell(std::int64_t cell, std::int64_t seed) {
    static thread_local dhs::util::Sha256 sha;
    const auto d = sha.digest(k::split_hash_text(cell, seed));
    return default_rule().split_of(k::split_u_from_digest(d.data()));
}

// Output of a command, or nullopt when it cannot run.
std::optional<std::string> run(const std::string& cmd) {
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) return std::nullopt;
    std::string out;
    char buf[4096];
    while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
    return pclose(p) == 0 ? std::optional(out) : std::nullopt;
}

TEST(SplitRule, WalksSortedNamesLikeAssignSplit) {
    const auto& r = default_rule();
    EXPECT_EQ(r.names(), (std::vector<std::string>{"test", "train", "val"}));
    // Cumulative 0.15 (test), 0.85 (train), 1.0 (val).
    EXPECT_EQ(r.split_of(0.0), "test");
    EXPECT_EQ(r.split_of(0.1499999), "test");
    EXPECT_EQ(r.split_of(0.15), "train");
    EXPECT_EQ(r.split_of(0.8499), "train");
    EXPECT_EQ(r.split_of(0.86), "val");
    EXPECT_EQ(r.split_of(0.9999999), "val");
    // Proportions summing below 1: the remainder falls back to train.
    const k::SplitRule short_rule({{"train", 0.5}, {"val", 0.1}, {"test", 0.1}});
    EXPECT_EQ(short_rule.split_of(0.95), "train");
    EXPECT_THROW(k::SplitRule({{"a", 0.5}, {"a", 0.5}}), std::invalid_argument);
}

TEST(SplitRule, DigestPrefixIsBigEndian) {
    const std::uint8_t d[4] = {0x80, 0x00, 0x00, 0x01};
    EXPECT_EQ(k::split_u_from_digest(d), (2147483648.0 + 1.0) / 4294967296.0);
    EXPECT_EQ(k::split_hash_text(12345, 42), "12345_42");
    EXPECT_EQ(k::split_hash_text(0, 7), "0_7");
}

TEST(SplitRule, TenToTheFiveCellsWithinOnePercent) {
    std::map<std::string, int> n;
    const int cells = 100000;  // distinct healpix_128 cells (196,608 exist)
    for (int c = 0; c < cells; ++c) ++n[split_of_cell(c, 42)];
    EXPECT_NEAR(n["train"] / double(cells), 0.70, 0.01);
    EXPECT_NEAR(n["val"] / double(cells), 0.15, 0.01);
    EXPECT_NEAR(n["test"] / double(cells), 0.15, 0.01);
}

TEST(SplitRule, BitIdenticalToPythonHashlib) {
    // The predecessor's assign_split(), run by Debian's python3 on 3000 cells at two seeds.
    const std::string py = R"PY(
import hashlib
def assign_split(healpix_idx, allocations, seed=42):
    hash_input = f"{healpix_idx}_{seed}"
    hash_bytes = hashlib.sha256(hash_input.encode()).digest()
    hash_value = int.from_bytes(hash_bytes[:4], "big") / (2**32)
    cumulative = 0.0
    for split, proportion in sorted(allocations.items()):
        cumulative += proportion
        if hash_value < cumulative:
            return split
    return "train"
a = {"train": 0.70, "val": 0.15, "test": 0.15}
for seed in (42, 7):
    for c in list(range(0, 2000)) + list(range(196608 - 1000, 196608)):
        print(seed, c, assign_split(c, a, seed))
)PY";
    const auto out = run("/usr/bin/python3 -c '" + py + "' 2>/dev/null");
    if (!out) GTEST_SKIP() << "/usr/bin/python3 not available";
    std::istringstream in(*out);
    std::int64_t seed = 0, cell = 0;
    std::string split;
    int n = 0;
    while (in >> seed >> cell >> split) {
        ASSERT_EQ(split_of_cell(cell, seed), split) << "cell " << cell << " seed " << seed;
        ++n;
    }
    EXPECT_EQ(n, 6000);
}

TEST(Healpix, MatchesHealpyReferenceVectors) {
    int checked = 0;
    for (const auto& row : dhs::test::csv_rows(dhs::test::reference_path("healpix_radec_vectors_healpy.csv"))) {
        const double ra = std::stod(row[0]), dec = std::stod(row[1]);
        const std::int64_t nside = std::stoll(row[2]), nest = std::stoll(row[3]);
        EXPECT_EQ(k::HealpixNest(nside).cell(ra, dec), nest) << ra << " " << dec << " nside " << nside;
        ++checked;
    }
    EXPECT_EQ(checked, 520);
}

TEST(Healpix, ParentIsTheCoarserCell) {
    // The sampling stage computes one nside-8192 cell per row and takes healpix_128 and
    // healpix_64 as its parents: equal to healpix_cxx at 128 and 64 everywhere, poles,
    // the z = 2/3 ring boundary and cell edges included.
    const k::HealpixNest h64(64), h128(128), h8192(8192);
    std::mt19937_64 rng(3);
    std::uniform_real_distribution<double> ra(0, 360), z(-1, 1), u(0, 1);
    for (int i = 0; i < 300000; ++i) {
        double r = ra(rng), d = std::asin(z(rng)) * 180 / M_PI;
        if (i % 5 == 1) d = (u(rng) < 0.5 ? 1 : -1) * (89.0 + u(rng));                     // polar caps
        if (i % 5 == 2) d = (u(rng) < 0.5 ? 1 : -1) * std::asin(2.0 / 3.0) * 180 / M_PI + 1e-9 * (u(rng) - 0.5);
        if (i % 5 == 3) r = std::round(r / 0.703125) * 0.703125 + 1e-12 * (u(rng) - 0.5);   // near 128-cell meridians
        const std::int64_t fine = h8192.cell(r, d);
        ASSERT_EQ(k::nest_parent(fine, 6), h128.cell(r, d)) << r << " " << d;
        ASSERT_EQ(k::nest_parent(fine, 7), h64.cell(r, d)) << r << " " << d;
    }
    for (const double d : {90.0, -90.0, 0.0})
        for (const double r : {0.0, 45.0, 90.0, 359.999999999})
            EXPECT_EQ(k::nest_parent(h8192.cell(r, d), 6), h128.cell(r, d)) << r << " " << d;
    EXPECT_EQ(h128.cell(360.0, 10.0), h128.cell(0.0, 10.0));
    EXPECT_THROW(h128.cell(std::nan(""), 0), std::invalid_argument);
    EXPECT_THROW(h128.cell(10, 90.5), std::invalid_argument);
    EXPECT_THROW(k::HealpixNest(100), std::invalid_argument);
}

TEST(Healpix, DiscCellsHoldEveryPointOfTheDisc) {
    const k::HealpixNest h(128);
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<double> u(-1, 1);
    const double centres[][2] = {{10, 0}, {359.999, 0.001}, {0.0005, 41.81}, {45, 89.999}, {200, -89.99}, {120, 41.8103}};
    for (const auto& c : centres) {
        const double radius = 11.0 / 3600;
        auto cells = h.disc_cells(c[0], c[1], radius);
        for (int i = 0; i < 20000; ++i) {
            // A point within the disc: offset in the tangent plane, then checked by separation.
            const double dd = u(rng) * radius, dr = u(rng) * radius / std::max(1e-6, std::cos(c[1] * M_PI / 180));
            double ra = std::fmod(c[0] + dr + 360.0, 360.0), dec = std::clamp(c[1] + dd, -90.0, 90.0);
            if (k::separation_arcsec(c[0], c[1], ra, dec) > 11.0) continue;
            ASSERT_TRUE(std::binary_search(cells.begin(), cells.end(), h.cell(ra, dec))) << ra << " " << dec;
        }
    }
}

TEST(SkyIndex, AgreesWithBruteForce) {
    std::mt19937_64 rng(11);
    std::uniform_real_distribution<double> u(0, 1);
    std::vector<k::UnitVector> pts;
    std::vector<double> pra, pdec;
    // Clusters at the poles, on RA = 0/360 and a uniform sprinkle; duplicates too.
    for (int i = 0; i < 3000; ++i) {
        double ra = 360 * u(rng), dec = std::asin(2 * u(rng) - 1) * 180 / M_PI;
        if (i % 4 == 0) dec = 89.99 + 0.01 * u(rng);
        if (i % 4 == 1) ra = (u(rng) < 0.5 ? 0.0 : 359.99) + 0.01 * u(rng);
        if (i % 50 == 0 && i > 0) {
            ra = pra.back();
            dec = pdec.back();
        }
        pra.push_back(ra);
        pdec.push_back(dec);
        pts.push_back(k::unit_vector(ra, dec));
    }
    const k::SkyIndex index(pts);
    std::vector<std::pair<std::uint32_t, double>> got;
    for (int q = 0; q < 2000; ++q) {
        const std::size_t base = static_cast<std::size_t>(q) % pts.size();
        const double qra = std::fmod(pra[base] + 0.003 * (u(rng) - 0.5) + 360, 360);
        const double qdec = std::clamp(pdec[base] + 0.003 * (u(rng) - 0.5), -90.0, 90.0);
        const auto v = k::unit_vector(qra, qdec);
        const double radius = q % 3 == 0 ? 1.0 : q % 3 == 1 ? 11.0 : 60.0;
        const double c2 = k::chord2_of_arcsec(radius);
        index.within(v, c2, got);
        std::vector<std::uint32_t> want;
        std::optional<std::pair<std::uint32_t, double>> nearest;
        for (std::uint32_t i = 0; i < pts.size(); ++i) {
            const double sep = k::separation_arcsec(qra, qdec, pra[i], pdec[i]);
            if (sep <= radius * (1 - 1e-9)) want.push_back(i);
            const double d2 = k::chord2(v, pts[i]);
            if (d2 <= c2 && (!nearest || d2 < nearest->second)) nearest = std::make_pair(i, d2);
        }
        std::vector<std::uint32_t> have;
        for (const auto& [i, d2] : got) have.push_back(i);
        for (auto w : want) EXPECT_TRUE(std::binary_search(have.begin(), have.end(), w)) << "query " << q;
        for (auto h : have) EXPECT_LE(k::separation_arcsec(qra, qdec, pra[h], pdec[h]), radius * (1 + 1e-9));
        EXPECT_EQ(index.any_within(v, c2), !have.empty());
        const auto n = index.nearest(v, c2);
        ASSERT_EQ(n.has_value(), nearest.has_value());
        if (n) {
            EXPECT_EQ(n->second, nearest->second);
        }
    }
    EXPECT_FALSE(k::SkyIndex().any_within(k::unit_vector(0, 0), 1.0));
}

TEST(SkyIndex, ChordsAndSeparations) {
    EXPECT_NEAR(k::arcsec_of_chord2(k::chord2_of_arcsec(11.0)), 11.0, 1e-9);
    EXPECT_NEAR(k::separation_arcsec(0, 0, 0, 1), 3600.0, 1e-7);
    EXPECT_NEAR(k::separation_arcsec(359.9999, 0, 0.0001, 0), 0.72, 1e-7);
    EXPECT_NEAR(k::separation_arcsec(10, 90, 190, 90), 0.0, 1e-6);
    EXPECT_NEAR(k::separation_arcsec(0, 0, 180, 0), 180 * 3600.0, 1e-6);
}

TEST(Strata, BinsAndNames) {
    EXPECT_EQ(k::nobs_z_bin(0), 0);
    EXPECT_EQ(k::nobs_z_bin(1), 1);
    EXPECT_EQ(k::nobs_z_bin(2), 1);
    EXPECT_EQ(k::nobs_z_bin(3), 2);
    EXPECT_EQ(k::nobs_z_bin(5), 2);
    EXPECT_EQ(k::nobs_z_bin(6), 3);
    EXPECT_EQ(k::nobs_z_bin(10), 3);
    EXPECT_EQ(k::nobs_z_bin(11), 4);
    EXPECT_EQ(k::nobs_z_bin(300), 4);
    EXPECT_EQ(k::nobs_z_bin_name(4), "11+");
    EXPECT_EQ(k::type_bin("SER"), 0);
    EXPECT_EQ(k::type_bin("DEV"), 1);
    EXPECT_EQ(k::type_bin("REX"), 2);
    for (const char* t : {"EXP", "PSF", "DUP", "COMP", ""}) EXPECT_EQ(k::type_bin(t), 3) << t;
    EXPECT_EQ(k::stratum_name(k::stratum_id(2, 1)), "3-5/DEV");
    EXPECT_EQ(k::stratum_name(k::kNumStrata - 1), "11+/OTHER");
}

TEST(Strata, LrgVariantsAsSeed003) {
    EXPECT_EQ(k::lrg_variant_index("v3"), 2);
    EXPECT_EQ(k::lrg_variant_index("v5_very_relaxed"), 4);
    EXPECT_EQ(k::lrg_variant_index("v6"), -1);
    const auto& v3 = k::kLrgVariants[2];
    EXPECT_TRUE(k::lrg_colour_cut(v3, 20.3, 0.5, 0.9));
    EXPECT_FALSE(k::lrg_colour_cut(v3, 20.4, 0.5, 0.9));  // strict z < 20.4
    EXPECT_FALSE(k::lrg_colour_cut(v3, 20.0, 0.4, 0.9));  // strict r-z > 0.4
    EXPECT_FALSE(k::lrg_colour_cut(v3, 20.0, 0.5, 0.8));
    EXPECT_FALSE(k::lrg_colour_cut(v3, std::nan(""), 0.5, 0.9));
    EXPECT_FALSE(k::lrg_colour_cut(k::kLrgVariants[1], 20.0, 0.5, 1.0));  // v2 needs z-W1 > 1.6
    EXPECT_TRUE(k::lrg_colour_cut(k::kLrgVariants[4], 21.4, 0.35, 0.9));
}

TEST(Strata, QuotasAndDraws) {
    EXPECT_EQ(k::stratum_quota(3, 100, 0.85).n1, 255);
    EXPECT_EQ(k::stratum_quota(3, 100, 0.85).n2, 45);
    EXPECT_EQ(k::stratum_quota(1, 5, 0.85).n1, 4);  // 4.25 -> 4
    EXPECT_EQ(k::stratum_quota(1, 5, 0.85).n2, 1);
    EXPECT_EQ(k::stratum_quota(0, 100, 0.85).n1, 0);
    EXPECT_EQ(k::draw_u("0001m002_17", 42), k::draw_u("0001m002_17", 42));
    EXPECT_NE(k::draw_u("0001m002_17", 42), k::draw_u("0001m002_17", 43));
    double sum = 0;
    const int n = 100000;
    for (int i = 0; i < n; ++i) {
        const double u = k::draw_u("1550p025_" + std::to_string(i), 42);
        ASSERT_GE(u, 0.0);
        ASSERT_LT(u, 1.0);
        sum += u;
    }
    EXPECT_NEAR(sum / n, 0.5, 0.005);
    EXPECT_NEAR(k::ellipticity(0.3, 0.4), 0.5, 1e-15);
}

}  // namespace
