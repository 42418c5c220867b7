// Tests of the sampling stage on bad inputs: a sweep missing a required column and a
// truncated one are quarantined with file and column / NAXIS2 named while the good file
// completes; a malformed lens CSV stops the stage before any work, naming file, line, column.
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

// Bad inputs: a sweep without a required column and a truncated one are quarantined with
// their file and column/NAXIS2 named; the good file completes. A malformed lens CSV stops
// the stage before any work, naming the file, line and column.
TEST(SampleBad, BadSweepsAreQuarantinedAndTheRestCompletes) {
    dhs::test::TempDir tmp("dhs-sample-bad-");
    const auto mock = tmp.path() / "mock";
    ASSERT_EQ(sh(kDhs + " mock-sky --out " + mock.string() + " --config " + kMockConfig).rc, 0);
    const auto dir = mock / "sweep" / "10.1";
    fs::path good;
    for (const auto& e : fs::directory_iterator(dir)) good = e.path();
    // sweep-155p000-160p005.fits: the good file without FLUX_W1.
    {
        dhs::fits::SweepReader r(good.string());
        std::vector<std::string> names;
        std::vector<dhs::fits::FitsColumnSpec> spec;
        for (const auto& c : dhs::stages::mock_sky::sweep_columns())
            if (c.name != "FLUX_W1") {
                names.push_back(c.name);
                spec.push_back(c);
            }
        dhs::fits::write_fits_table((dir / "sweep-155p000-160p005.fits").string(), r.read_all(names), spec);
    }
    // sweep-160p000-165p005.fits: the good file cut in the middle of its rows.
    {
        std::ifstream in(good, std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), {});
        std::ofstream(dir / "sweep-160p000-165p005.fits", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    }
    const auto out = tmp.path() / "run";
    const auto r = sh(kDhs + " run " + kConfig + " --out " + out.string() + " --stages sample --set survey.root=" +
                      mock.string() + " --set sample.rows_per_unit=100000");
    EXPECT_EQ(r.rc, 3) << r.output;  // finished with quarantined units
    ResultReader h((out / "sample.h5").string());
    const auto ids = h.read_column("/failures/unit_id").strings();
    const auto msgs = h.read_column("/failures/message").strings();
    ASSERT_EQ(ids.size(), 2u);
    EXPECT_NE(ids[0].find("sweep-155p000-160p005.fits"), std::string::npos);
    EXPECT_NE(msgs[0].find("sweep-155p000-160p005.fits"), std::string::npos) << msgs[0];
    EXPECT_NE(msgs[0].find("FLUX_W1"), std::string::npos) << msgs[0];
    EXPECT_NE(ids[1].find("sweep-160p000-165p005.fits"), std::string::npos);
    EXPECT_NE(msgs[1].find("sweep-160p000-165p005.fits"), std::string::npos) << msgs[1];
    // Refused at open, once: the header claims more rows than the truncated file holds.
    EXPECT_NE(msgs[1].find("NAXIS2"), std::string::npos) << msgs[1];
    // The good file's rows are all there.
    const auto file_ids = h.read_column("/pool/sweep_file_id").as<int>();
    const auto files = h.read_column("/sweep_files/sweep_file").strings();
    EXPECT_GT(file_ids.size(), 50u);
    for (const int f : file_ids) EXPECT_EQ(files.at(static_cast<std::size_t>(f)), good.filename().string());
    EXPECT_EQ(h.table_rows("/positives"), 4u);
}

TEST(SampleBad, MalformedLensCsvStopsTheStageNamingLineAndColumn) {
    dhs::test::TempDir tmp("dhs-sample-badcsv-");
    const auto mock = tmp.path() / "mock";
    ASSERT_EQ(sh(kDhs + " mock-sky --out " + mock.string() + " --config " + kMockConfig).rc, 0);
    const std::string bad = tmp.file("bad-lenscat.csv");
    {
        std::ofstream f(bad);
        f << "name,RA [deg],DEC [deg],zlens,type,grading,ref\n"
          << "J1,150.1,2.2,0.5,galaxy,confident,x\n"
          << "J2,15O.2,2.2,0.5,galaxy,probable,x\n";  // letter O in the RA
    }
    auto r = sh(kDhs + " run " + kConfig + " --out " + tmp.file("run1") + " --stages sample --set survey.root=" +
                mock.string() + " --set sample.lens_catalog=" + bad);
    EXPECT_NE(r.rc, 0);
    EXPECT_NE(r.output.find("bad-lenscat.csv"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("line 3, column 'RA [deg]'"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("'15O.2' is not a number"), std::string::npos) << r.output;
    {
        std::ofstream f(bad);
        f << "name,RA [deg],DEC [deg],zlens,type,grading,ref\n"
          << "J1,150.1,2.2,0.5,galaxy,confident,x,extra\n";
    }
    r = sh(kDhs + " run " + kConfig + " --out " + tmp.file("run2") + " --stages sample --set survey.root=" +
           mock.string() + " --set sample.lens_catalog=" + bad);
    EXPECT_NE(r.rc, 0);
    EXPECT_NE(r.output.find("line 2"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("8 fields where the header has 7"), std::string::npos) << r.output;
}

}  // namespace
