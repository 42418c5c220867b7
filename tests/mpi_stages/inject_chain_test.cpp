// The injection stage in the chain on the mock sky: dhs mock-sky (configs/mock_sky_test.yaml),
// then `dhs run configs/demo.yaml --stages sample,cutouts,inject` (Sersic sources, 2 per cell) on
// 1 and 2 ranks: the same injections.h5 (every dataset, byte for byte); every control is its host's
// cutouts.h5 stamp bit for bit; as many controls as injections. With cutouts.stamp_size 65 alone
// changed, the injections and the validation follow the cutouts' side.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "core/hdf5/result_file.hpp"
#include "tests/mpi_stages/inject_support.hpp"
#include "tests/support/test_support.hpp"

using dhs::Column;
using dhs::DType;
using dhs::Table;

namespace {

const std::string kDhs = std::string(DHS_BINARY_DIR) + "/apps/dhs/dhs";
constexpr std::size_t kPix = 101 * 101;

using dhs::test::inject::bytes;
using dhs::test::inject::contents;
using dhs::test::inject::injections;

TEST(Inject, ChainOnTheMockSky) {
    const dhs::test::TempDir dir("dhs-inject-chain-");
    const std::string mock = dir.file("mock"), cfg = std::string(DHS_SOURCE_DIR) + "/configs/demo.yaml";
    ASSERT_EQ(std::system((kDhs + " mock-sky --out " + mock + " --config " + DHS_SOURCE_DIR +
                           "/configs/mock_sky_test.yaml > " + mock + ".log 2>&1").c_str()),
              0);
    const std::string sets = "--set survey.root=" + mock +
                             " --set inject.source=sersic --set inject.per_cell=2 --set run.log_level=warn";
    auto chain = [&](const std::string& out, int ranks) {
        std::string cmd = ranks > 1 ? std::string(DHS_MPIEXEC) + " -n " + std::to_string(ranks) +
                                          " " DHS_MPIEXEC_PREFLAGS " " + kDhs
                                    : kDhs;
        cmd += " run " + cfg + " --out " + out + " --stages sample,cutouts,inject " + sets + " > " + out + ".log 2>&1";
        return std::system(cmd.c_str());
    };
    const std::string one = dir.file("chain1"), two = dir.file("chain2");
    ASSERT_EQ(chain(one, 1), 0);
    ASSERT_EQ(chain(two, 2), 0);
    const auto a = contents(one + "/injections.h5"), b = contents(two + "/injections.h5");
    ASSERT_EQ(a.size(), b.size());
    for (const auto& [k, v] : a) EXPECT_TRUE(b.at(k) == v) << k << " differs with 2 ranks";
    const auto t = injections(one + "/injections.h5");
    ASSERT_GT(t.num_rows(), 0u);
    dhs::hdf5::ResultReader cut(one + "/cutouts.h5");
    const auto st = cut.read_table("/stamps", {"galaxy_id", "target_set", "image"});
    std::map<std::string, std::size_t> row;
    for (std::size_t i = 0; i < st.num_rows(); ++i)
        if (st.column("target_set").strings()[i] == "hosts") row.emplace(st.column("galaxy_id").strings()[i], i);
    const auto simg = st.column("image").values<float>(), img = t.column("image").values<float>();
    int controls = 0;
    for (std::size_t i = 0; i < t.num_rows(); ++i) {
        if (!t.column("is_control").as<int>()[i]) continue;
        ++controls;
        const std::size_t r = row.at(t.column("host_galaxy_id").strings()[i]);
        EXPECT_EQ(std::memcmp(img.data() + i * 3 * kPix, simg.data() + r * 3 * kPix, 3 * kPix * sizeof(float)), 0) << i;
    }
    EXPECT_EQ(2 * controls, static_cast<int>(t.num_rows()));
}

// Only the cutouts stage has a stamp-size key: with cutouts.stamp_size 65 and no other key
// changed, the injections are 65 x 65 (the host stamps' side) and validation audits them as such.
TEST(Inject, StampSizeFollowsTheCutouts) {
    const dhs::test::TempDir dir("dhs-inject-size-");
    const std::string mock = dir.file("mock"), out = dir.file("run");
    ASSERT_EQ(std::system((kDhs + " mock-sky --out " + mock + " --config " + DHS_SOURCE_DIR +
                           "/configs/mock_sky_test.yaml > " + mock + ".log 2>&1").c_str()),
              0);
    const std::string cmd = kDhs + " run " + DHS_SOURCE_DIR + "/configs/demo.yaml --out " + out +
                            " --stages sample,cutouts,inject,validate --set survey.root=" + mock +
                            " --set inject.source=sersic --set inject.per_cell=2 --set run.log_level=warn"
                            " --set cutouts.stamp_size=65 > " + out + ".log 2>&1";
    const int rc = std::system(cmd.c_str());
    ASSERT_TRUE(rc == 0 || WEXITSTATUS(rc) == 3) << "see " << out << ".log";  // 3: gates failed, still written
    dhs::hdf5::ResultReader inj(out + "/injections.h5"), cut(out + "/cutouts.h5"), val(out + "/validation.h5");
    EXPECT_EQ(cut.read_column("/stamps/image", 0, 0).shape(), (std::vector<std::size_t>{3, 65, 65}));
    EXPECT_EQ(inj.read_column("/injections/image", 0, 0).shape(), (std::vector<std::size_t>{3, 65, 65}));
    // Every injection passes the size check; a cutout exactly when cutouts.h5 says its stamp is whole.
    const auto size_ok = val.read_column("/metrics/size_ok").as<int>();
    const auto source = val.read_column("/metrics/source").strings();
    const auto row = val.read_column("/metrics/source_row").as<std::int64_t>();
    const auto cut_ok = cut.read_column("/stamps/size_ok").as<int>();
    std::size_t injections = 0;
    for (std::size_t i = 0; i < size_ok.size(); ++i) {
        if (source[i] == "injections") {
            ++injections;
            EXPECT_EQ(size_ok[i], 1) << "injection row " << row[i];
        } else {
            EXPECT_EQ(size_ok[i], cut_ok.at(static_cast<std::size_t>(row[i]))) << "cutouts row " << row[i];
        }
    }
    EXPECT_GT(injections, 0u);
}

}  // namespace
