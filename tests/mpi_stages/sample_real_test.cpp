// Tests of the sampling stage on the real DR8 sweep and Tractor files (../shared/data/real):
// healpix_64/128 and split of every row equal healpy + hashlib (the predecessor's Python), and
// `dhs run` with the real lenscat file completes on 2 ranks with every pool row checking out.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "core/fits/sweep_reader.hpp"
#include "core/fits/table_writer.hpp"
#include "core/hdf5/result_file.hpp"
#include "mpi_stages/common/sections.hpp"
#include "mpi_stages/mock_sky/mock_sky.hpp"
#include "mpi_stages/sample/sample.hpp"
#include "tests/mpi_stages/sample_support.hpp"

namespace {

using namespace dhs::test::sample;
using dhs::hdf5::ResultReader;

// Every row of the real DR8 sweep and Tractor files: the stage's derivation equals healpy + hashlib.
TEST(SampleReal, HealpixAndSplitOfEveryRealRowMatchPython) {
    if (!python_has("healpy, fitsio, numpy")) GTEST_SKIP() << "Debian python3 with healpy and fitsio needed";
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(kRealDir)) {
        const auto n = e.path().filename().string();
        if (n.rfind("sweep-", 0) == 0 || n.rfind("tractor-", 0) == 0) files.push_back(e.path().string());
    }
    std::sort(files.begin(), files.end());
    ASSERT_EQ(files.size(), 6u);
    std::string cmd = kPython + " " + kReference + " fits 42";
    for (const auto& f : files) cmd += " " + f;
    const auto py = sh(cmd);
    ASSERT_EQ(py.rc, 0) << py.output;
    std::map<std::pair<std::string, std::int64_t>, std::tuple<std::int64_t, std::int64_t, std::string>> want;
    {
        std::istringstream in(py.output);
        std::string f, split;
        std::int64_t row, h64, h128;
        while (in >> f >> row >> h64 >> h128 >> split) want[{f, row}] = {h64, h128, split};
    }
    ASSERT_EQ(want.size(), 36u);
    auto c = dhs::config::Config::load_string("sample: {n2_catalog: ''}\n", "test", dhs::stages::pipeline_schema(),
                                              {"sample.lens_catalog=" + kLenscat});
    const auto p = dhs::stages::sample::read_params(c);
    const auto in = dhs::stages::sample::load_inputs(p);
    int checked = 0;
    for (const auto& f : files) {
        dhs::fits::SweepReader r(f);
        const Table t = r.read(dhs::stages::sample::sweep_requests(), 0, r.num_rows());
        std::vector<std::int8_t> cache(12 * 128 * 128, -1);
        const auto d = dhs::stages::sample::derive_block(t, p, *in, cache, f, 0);
        const std::string name = fs::path(f).filename().string();
        for (std::size_t i = 0; i < t.num_rows(); ++i) {
            const auto& [h64, h128, split] = want.at({name, static_cast<std::int64_t>(i)});
            EXPECT_EQ(d.healpix_64[i], h64) << name << " row " << i;
            EXPECT_EQ(d.healpix_128[i], h128) << name << " row " << i;
            EXPECT_EQ(dhs::stages::sample::split_names()[static_cast<std::size_t>(d.split[i])], split) << name << " row " << i;
            ++checked;
        }
    }
    EXPECT_EQ(checked, 36);
}

// The stage on the real sweeps and the real lenscat file: completes, every pool row checks out.
TEST(SampleReal, RunsOnTheRealSweepsWithTheRealLenscat) {
    dhs::test::TempDir tmp("dhs-sample-real-");
    const auto out = tmp.path() / "run";
    const auto r = sh(mpirun(2) + kDhs + " run " + kConfig + " --out " + out.string() +
                      " --stages sample --set \"sample.sweep_files=[" + kRealDir + "/sweep-*.fits, " + kRealDir +
                      "/tractor-*.fits]\" --set sample.lens_catalog=" + kLenscat + " --set \"sample.n2_catalog=''\"");
    ASSERT_EQ(r.rc, 0) << r.output;
    ResultReader h((out / "sample.h5").string());
    EXPECT_EQ(h.int_attribute("/positives", "catalog_rows").value_or(0), 32838);
    EXPECT_EQ(h.int_attribute("/positives", "catalog_confident_rows").value_or(0), 2309);
    EXPECT_GT(h.table_rows("/pool"), 0u);
    EXPECT_EQ(h.table_rows("/lenses"), static_cast<std::uint64_t>(h.int_attribute("/positives", "lenses").value_or(-1)));
    // DR8 files have no PSFSIZE: NaN; their shapes come from SHAPEDEV/SHAPEEXP.
    for (auto v : h.read_column("/pool/psfsize_r").as<double>()) EXPECT_TRUE(std::isnan(v));
    for (auto v : h.read_column("/pool/shape_r").as<double>()) EXPECT_TRUE(std::isfinite(v));
    if (python_has("healpy, h5py, numpy")) {
        const auto py = sh(kPython + " " + kReference + " h5 42 " + (out / "sample.h5").string() + " /pool");
        ASSERT_EQ(py.rc, 0) << py.output;
        EXPECT_NE(py.output.find(" 0\n"), std::string::npos) << py.output;
    }
}

}  // namespace
