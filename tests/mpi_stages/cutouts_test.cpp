// Tests of the cutout stage (`dhs run --stages cutouts`) on mock skies written by `dhs mock-sky`
// with sample files built here from their truth tables:
//  A: configs/mock_sky_test.yaml (two 600 px bricks). Every stamp equals the coadd pixels read
//     directly with cfitsio at the WCS position (image with NaN where invvar is 0, invvar,
//     maskbits), pixel/offset/psfsize/quality columns are recomputed independently, edge
//     targets (also synthetic ones) carry NaN beyond the coadd and the "edge" flag, the
//     calibration star's centroid sits at the stamp centre plus the recorded offset, rows are in
//     canonical order, and 1, 2 and 3 ranks give identical /stamps and /bricks. `dhs export-npz`
//     output opens with numpy with the seed's keys, shapes and the stamps' values.
//  B: the same footprint at 1.6"/px, so neighbouring coadds overlap by ~19 px: the edge policy
//     picks the more complete coadd (nearest_complete) or keeps the home brick (home).
//  Also sample -> cutouts with configs/demo.yaml on sky A.
//  C: B damaged: one brick's coadds deleted, one band's image deleted, one invvar tile
//     corrupted: targets are flagged with the reasons (cut from the neighbour when it holds
//     them), never zero, and the rest are cut as usual.
#include <gtest/gtest.h>
#include <fitsio.h>
#include <hdf5.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <numbers>
#include <random>
#include <sstream>

#include "core/error.hpp"
#include "core/fits/brick_image.hpp"
#include "core/fits/coadd_writer.hpp"
#include "core/hdf5/result_file.hpp"
#include "kernels/geometry/brick_geometry.hpp"
#include "tests/support/test_support.hpp"

namespace fs = std::filesystem;
using dhs::Column;
using dhs::Table;

namespace {

const std::string kDhs = std::string(DHS_BINARY_DIR) + "/apps/dhs/dhs";
const std::string kMockConfig = std::string(DHS_SOURCE_DIR) + "/configs/mock_sky_test.yaml";
const std::string kMpi = std::string(DHS_MPIEXEC) + " " DHS_MPIEXEC_PREFLAGS " -n ";
const char* kBands[3] = {"g", "r", "z"};
constexpr int kS = 101, kH = 50;
constexpr double kCoreRadius = 8;

int sh(const std::string& cmd) {
    const int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/// One target row of a sample group.
struct Row {
    std::string galaxy_id, brickname, type;
    double ra = 0, dec = 0;
    float flux_r = 0;
};

/// Writes a sample.h5 with groups positives / negatives / hosts (the sampling stage's columns).
void write_sample(const std::string& path, const std::map<std::string, std::vector<Row>>& groups) {
    H5Fclose(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    dhs::hdf5::ResultAppender app(path);
    for (const auto& [name, rows] : groups) {
        std::vector<std::string> gid, brick, type, split;
        std::vector<double> ra, dec;
        std::vector<float> flux;
        std::vector<std::int16_t> nobs;
        for (std::size_t i = 0; i < rows.size(); ++i) {
            gid.push_back(rows[i].galaxy_id);
            brick.push_back(rows[i].brickname);
            type.push_back(rows[i].type);
            split.push_back(i % 3 == 0 ? "val" : "train");
            ra.push_back(rows[i].ra);
            dec.push_back(rows[i].dec);
            flux.push_back(rows[i].flux_r);
            nobs.push_back(static_cast<std::int16_t>(3 + i % 4));
        }
        Table t;
        t.add(Column("galaxy_id", gid));
        t.add(Column("brickname", brick));
        t.add(Column("ra", ra));
        t.add(Column("dec", dec));
        t.add(Column("type", type));
        t.add(Column("nobs_z", nobs));
        t.add(Column("flux_r", flux));
        t.add(Column("split", split));
        app.write_table("/" + name, t);
    }
    app.close();
}

/// The mock sky's objects (truth/objects.csv, columns found by name) as sample groups: lens
/// hosts are positives, LRGs hosts, everything else negatives.
std::map<std::string, std::vector<Row>> truth_groups(const fs::path& sky) {
    std::ifstream in(sky / "truth" / "objects.csv");
    std::string line;
    std::getline(in, line);
    std::map<std::string, std::size_t> col;
    {
        std::stringstream h(line);
        std::string name;
        for (std::size_t k = 0; std::getline(h, name, ','); ++k) col[name] = k;
    }
    for (const char* c : {"brickname", "objid", "population", "type", "ra", "dec", "flux_r"})
        if (!col.count(c)) ADD_FAILURE() << "truth/objects.csv has no column " << c;
    std::map<std::string, std::vector<Row>> g;
    while (std::getline(in, line)) {
        std::vector<std::string> c;
        std::stringstream s(line);
        std::string cell;
        while (std::getline(s, cell, ',')) c.push_back(cell);
        if (c.size() < col.size()) continue;
        Row r{c[col["brickname"]] + "_" + c[col["objid"]], c[col["brickname"]], c[col["type"]],
              std::stod(c[col["ra"]]),   std::stod(c[col["dec"]]),   std::stof(c[col["flux_r"]])};
        const std::string& pop = c[col["population"]];
        g[pop == "lens_host" ? "positives" : pop == "lrg" ? "hosts" : "negatives"].push_back(r);
    }
    return g;
}

void write_config(const fs::path& path, const fs::path& root, const fs::path& sample, const std::string& extra = "") {
    std::ofstream f(path);
    f << "run:\n  seed: 42\n  log_level: warn\nsurvey:\n  root: " << root.string() << "\ncutouts:\n  sample_file: "
      << sample.string() << "\n  unit_targets: 40\n"
      << extra;
}

std::string coadd(const fs::path& root, const std::string& brick, const std::string& kind) {
    return dhs::fits::coadd_path(root.string(), brick, kind);
}

/// The sky position of zero-based pixel (x, y) of a brick's coadd.
dhs::fits::SkyRaDec sky_of(const fs::path& root, const std::string& brick, double x, double y) {
    return dhs::fits::BrickImage::open(coadd(root, brick, "image-r")).wcs().pixel_to_sky(x, y);
}

bool same_float(float a, float b) { return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, 4) == 0; }

bool has_note(const std::string& reason, const std::string& note) {
    std::stringstream s(reason);
    std::string x;
    while (std::getline(s, x, ';'))
        if (x == note) return true;
    return false;
}

Table read_group(const fs::path& run, const std::string& group) {
    return dhs::hdf5::ResultReader((run / "cutouts.h5").string()).read_table(group);
}

/// Row index of a galaxy (the first with this id).
std::size_t row_of(const Table& t, const std::string& gid) {
    const auto& ids = t.column("galaxy_id").strings();
    for (std::size_t i = 0; i < ids.size(); ++i)
        if (ids[i] == gid) return i;
    ADD_FAILURE() << "no row for " << gid;
    return 0;
}

/// Checks every stamp against the coadds read directly (cfitsio), and the metadata and
/// quality columns against independent computations. Missing files and flagged corrupt
/// products must read as NaN (maskbits -1).
void check_against_coadds(const fs::path& root, const Table& t) {
    const auto n = t.num_rows();
    const auto& status = t.column("status").strings();
    const auto& reason = t.column("reason").strings();
    const auto& brick = t.column("brickname").strings();
    const auto px = t.column("pixel_x").as<long>(), py = t.column("pixel_y").as<long>();
    const auto ox = t.column("offset_x").as<float>(), oy = t.column("offset_y").as<float>();
    const auto ra = t.column("ra").as<double>(), dec = t.column("dec").as<double>();
    const auto image = t.column("image").values<float>(), invvar = t.column("invvar").values<float>();
    const auto mask = t.column("maskbits").values<std::int32_t>();
    const auto nan_frac = t.column("nan_frac").as<float>(), core_nan = t.column("core_nan_frac").as<float>(),
               outside_frac = t.column("outside_frac").as<float>();
    const auto size_ok = t.column("size_ok").as<int>();
    const std::size_t plane = kS * kS;
    int checked = 0;
    for (std::size_t i = 0; i < n; ++i) {
        SCOPED_TRACE(t.column("galaxy_id").strings()[i] + " [" + reason[i] + "]");
        ASSERT_TRUE(status[i] == "ok" || status[i] == "partial" || status[i] == "failed");
        if (status[i] == "failed") {
            for (std::size_t q = 0; q < 3 * plane; ++q) ASSERT_TRUE(std::isnan(image[i * 3 * plane + q]));
            for (std::size_t q = 0; q < plane; ++q) ASSERT_EQ(mask[i * plane + q], -1);
            EXPECT_FALSE(size_ok[i]);
            continue;
        }
        // Centre pixel and offset from the source coadd's WCS.
        std::string ref;
        for (const char* k : {"image-g", "image-r", "image-z", "invvar-g"})
            if (ref.empty() && fs::exists(coadd(root, brick[i], k))) ref = k;
        ASSERT_FALSE(ref.empty());
        const auto ref_img = dhs::fits::BrickImage::open(coadd(root, brick[i], ref));
        const auto p = ref_img.wcs().sky_to_pixel(ra[i], dec[i]);
        EXPECT_EQ(px[i], static_cast<long>(std::floor(p.x + 0.5)));
        EXPECT_EQ(py[i], static_cast<long>(std::floor(p.y + 0.5)));
        EXPECT_EQ(ox[i], static_cast<float>(p.x - static_cast<double>(px[i])));
        EXPECT_EQ(oy[i], static_cast<float>(p.y - static_cast<double>(py[i])));
        const long x0 = px[i] - kH, y0 = py[i] - kH;
        long outside = 0;
        for (long y = y0; y < y0 + kS; ++y)
            for (long x = x0; x < x0 + kS; ++x) outside += x < 0 || y < 0 || x >= ref_img.width() || y >= ref_img.height();
        EXPECT_EQ(outside_frac[i], static_cast<float>(static_cast<double>(outside) / plane));
        EXPECT_EQ(has_note(reason[i], "edge"), outside > 0);
        // Pixels: invvar, image (NaN where invvar == 0), maskbits, psfsize.
        bool all_images = true;
        for (int b = 0; b < 3; ++b) {
            const std::string ik = std::string("image-") + kBands[b], vk = std::string("invvar-") + kBands[b];
            const bool have_iv = fs::exists(coadd(root, brick[i], vk)) && !has_note(reason[i], "corrupt:" + vk);
            const bool have_im = fs::exists(coadd(root, brick[i], ik)) && !has_note(reason[i], "corrupt:" + ik);
            all_images = all_images && have_im;
            EXPECT_EQ(have_im, !has_note(reason[i], "missing:" + ik) && !has_note(reason[i], "corrupt:" + ik));
            std::vector<float> iv(plane, NAN), im(plane, NAN);
            if (have_iv) {
                try {
                    dhs::fits::BrickImage::open(coadd(root, brick[i], vk)).read_box(x0, y0, kS, kS, std::span<float>(iv));
                } catch (const dhs::Error& e) {
                    ADD_FAILURE() << "cfitsio cannot read " << vk << " where the stage did not flag it: " << e.what();
                    continue;
                }
            }
            if (have_im) {
                dhs::fits::BrickImage::open(coadd(root, brick[i], ik)).read_box(x0, y0, kS, kS, std::span<float>(im));
                if (have_iv)
                    for (std::size_t q = 0; q < plane; ++q)
                        if (iv[q] == 0.0f) im[q] = NAN;
            }
            long bad_im = 0, bad_iv = 0;
            for (std::size_t q = 0; q < plane; ++q) {
                bad_im += !same_float(image[(i * 3 + b) * plane + q], im[q]);
                bad_iv += !same_float(invvar[(i * 3 + b) * plane + q], iv[q]);
            }
            EXPECT_EQ(bad_im, 0) << ik;
            EXPECT_EQ(bad_iv, 0) << vk;
            const std::string pk = std::string("psfsize-") + kBands[b];
            const float psf = t.column(std::string("psfsize_") + kBands[b]).as<float>()[i];
            if (fs::exists(coadd(root, brick[i], pk)))
                EXPECT_TRUE(same_float(psf, dhs::fits::BrickImage::open(coadd(root, brick[i], pk)).read_box(px[i], py[i], 1, 1)[0]));
            else
                EXPECT_TRUE(std::isnan(psf));
        }
        if (fs::exists(coadd(root, brick[i], "maskbits"))) {
            const auto m = dhs::fits::BrickImage::open(coadd(root, brick[i], "maskbits")).read_box_int(x0, y0, kS, kS, -1);
            EXPECT_TRUE(std::equal(m.begin(), m.end(), mask.begin() + static_cast<long>(i * plane)));
        }
        // Quality columns recomputed.
        long nan = 0, core = 0, core_n = 0;
        for (int b = 0; b < 3; ++b)
            for (int y = 0; y < kS; ++y)
                for (int x = 0; x < kS; ++x) {
                    const bool isnan = std::isnan(image[(i * 3 + b) * plane + y * kS + x]);
                    nan += isnan;
                    if ((x - kH) * (x - kH) + (y - kH) * (y - kH) < kCoreRadius * kCoreRadius) {
                        ++core;
                        core_n += isnan;
                    }
                }
        EXPECT_EQ(nan_frac[i], static_cast<float>(static_cast<double>(nan) / (3.0 * plane)));
        EXPECT_EQ(core_nan[i], static_cast<float>(static_cast<double>(core_n) / static_cast<double>(core)));
        EXPECT_EQ(size_ok[i] != 0, outside == 0 && all_images);
        EXPECT_EQ(status[i] == "ok", reason[i].empty() || reason[i] == "home_missing");
        ++checked;
    }
    EXPECT_GT(checked, 0);
}

/// Every dataset of group `g` equal (bitwise for floats) in two runs.
void expect_same_group(const fs::path& a, const fs::path& b, const std::string& g) {
    dhs::hdf5::ResultReader ra((a / "cutouts.h5").string()), rb((b / "cutouts.h5").string());
    const auto names = ra.datasets(g);
    ASSERT_EQ(names, rb.datasets(g));
    for (const auto& nme : names) {
        const Column ca = ra.read_column(g + "/" + nme), cb = rb.read_column(g + "/" + nme);
        ASSERT_EQ(ca.dtype(), cb.dtype()) << nme;
        ASSERT_EQ(ca.size(), cb.size()) << nme;
        if (ca.dtype() == dhs::DType::string)
            EXPECT_EQ(ca.strings(), cb.strings()) << nme;
        else if (ca.dtype() == dhs::DType::float32)
            EXPECT_EQ(0, std::memcmp(ca.values<float>().data(), cb.values<float>().data(), ca.size() * 4)) << nme;
        else
            EXPECT_EQ(ca.as<double>(), cb.as<double>()) << nme;
    }
}

class Cutouts : public ::testing::Test {
protected:
    static fs::path base, skyA, skyB, skyC;
    static void SetUpTestSuite() {
        base = fs::temp_directory_path() / ("dhs-cutouts-test-" + std::to_string(::getpid()));
        fs::remove_all(base);
        fs::create_directories(base);
        skyA = base / "skyA";
        skyB = base / "skyB";
        skyC = base / "skyC";
        ASSERT_EQ(sh(kDhs + " mock-sky --out " + skyA.string() + " --config " + kMockConfig + " >/dev/null 2>&1"), 0);
        ASSERT_EQ(sh(kDhs + " mock-sky --out " + skyB.string() + " --config " + kMockConfig +
                     " --set survey.pixel_scale_arcsec=1.6 >/dev/null 2>&1"),
                  0);
        fs::copy(skyB, skyC, fs::copy_options::recursive);
    }
    static void TearDownTestSuite() { fs::remove_all(base); }
};
fs::path Cutouts::base, Cutouts::skyA, Cutouts::skyB, Cutouts::skyC;

TEST_F(Cutouts, StampsAreTheCoaddPixelsForAnyRankCount) {
    auto groups = truth_groups(skyA);
    // Synthetic edge targets of 1501p022: 40 columns beyond the coadd, a corner, one outside.
    const auto e1 = sky_of(skyA, "1501p022", 10.3, 300.2), e2 = sky_of(skyA, "1501p022", 595.6, 3.4),
               e3 = sky_of(skyA, "1501p022", -80.0, 300.0);
    groups["negatives"].push_back({"edge_left", "1501p022", "REX", e1.ra, e1.dec, 1.0f});
    groups["negatives"].push_back({"edge_corner", "1501p022", "REX", e2.ra, e2.dec, 1.0f});
    groups["negatives"].push_back({"outside", "1501p022", "REX", e3.ra, e3.dec, 1.0f});
    write_sample((base / "sampleA.h5").string(), groups);
    write_config(base / "a.yaml", skyA, base / "sampleA.h5");
    const std::string run = kDhs + " run " + (base / "a.yaml").string() + " --stages cutouts --out ";
    ASSERT_EQ(sh(run + (base / "a1").string()), 0);
    ASSERT_EQ(sh(kMpi + "2 " + run + (base / "a2").string()), 0);
    ASSERT_EQ(sh(kMpi + "3 " + run + (base / "a3").string()), 0);
    for (const char* g : {"/stamps", "/bricks"}) {
        expect_same_group(base / "a1", base / "a2", g);
        expect_same_group(base / "a1", base / "a3", g);
    }

    const Table t = read_group(base / "a1", "/stamps");
    std::size_t total = 0;
    for (const auto& [k, v] : groups) total += v.size();
    ASSERT_EQ(t.num_rows(), total);
    check_against_coadds(skyA, t);

    // Canonical order: bricks by BRICKID, then set (positives, negatives, hosts), then row.
    const auto& wall = dhs::kernels::brick_wall();
    const auto& sets = t.column("target_set").strings();
    const auto rows = t.column("sample_row").as<long>();
    const auto& gid = t.column("galaxy_id").strings();
    const std::map<std::string, int> order = {{"positives", 0}, {"negatives", 1}, {"hosts", 2}};
    auto key = [&](std::size_t i) {
        const std::string home = groups.at(sets[i])[static_cast<std::size_t>(rows[i])].brickname;
        return std::make_tuple(wall.brick_by_name(home)->brickid, order.at(sets[i]), rows[i]);
    };
    for (std::size_t i = 1; i < t.num_rows(); ++i) EXPECT_LT(key(i - 1), key(i)) << i;
    for (std::size_t i = 0; i < t.num_rows(); ++i)
        EXPECT_EQ(gid[i], groups.at(sets[i])[static_cast<std::size_t>(rows[i])].galaxy_id);

    // The synthetic edge targets.
    const auto& reason = t.column("reason").strings();
    const auto& status = t.column("status").strings();
    const auto outside = t.column("outside_frac").as<double>();
    const std::size_t left = row_of(t, "edge_left"), corner = row_of(t, "edge_corner"), out = row_of(t, "outside");
    EXPECT_EQ(status[left], "partial");
    EXPECT_NEAR(outside[left], 40.0 * 101 / (101.0 * 101), 1e-7);
    EXPECT_EQ(status[corner], "partial");
    EXPECT_NEAR(outside[corner], 1.0 - (4.0 + 50) * (50 + 4) / (101.0 * 101), 1e-7);  // cx = 596, cy = 3
    EXPECT_EQ(status[out], "failed");
    EXPECT_TRUE(has_note(reason[out], "center_outside"));
    int edges = 0;
    for (const auto& r : reason) edges += has_note(r, "edge");
    EXPECT_GE(edges, 3);

    // The calibration star (objid 0) of each brick sits at the stamp centre + offset.
    const auto ox = t.column("offset_x").as<double>(), oy = t.column("offset_y").as<double>();
    const auto image = t.column("image").values<float>();
    for (const char* b : {"1501p022", "1503p022"}) {
        const std::size_t i = row_of(t, std::string(b) + "_0");
        ASSERT_EQ(status[i], "ok");
        const float* r = image.data() + (i * 3 + 1) * kS * kS;
        double cx = kH, cy = kH;
        for (int it = 0; it < 4; ++it) {
            double s = 0, sx = 0, sy = 0;
            for (int y = 0; y < kS; ++y)
                for (int x = 0; x < kS; ++x) {
                    if ((x - cx) * (x - cx) + (y - cy) * (y - cy) > 64) continue;
                    s += r[y * kS + x];
                    sx += r[y * kS + x] * x;
                    sy += r[y * kS + x] * y;
                }
            cx = sx / s;
            cy = sy / s;
        }
        EXPECT_NEAR(cx - kH, ox[i], 0.05) << b;
        EXPECT_NEAR(cy - kH, oy[i], 0.05) << b;
    }

    // /bricks: both bricks, every tile decoded at most once per file.
    const Table br = read_group(base / "a1", "/bricks");
    ASSERT_EQ(br.num_rows(), 2u);
    for (auto n : br.column("tiles_decoded").as<long>()) EXPECT_LE(n, 10 * 36);
    const auto attrs = dhs::hdf5::ResultReader((base / "a1" / "cutouts.h5").string());
    EXPECT_EQ(*attrs.string_attribute("/stamps/image", "layout"), "NCHW");
    EXPECT_EQ(*attrs.string_attribute("/stamps/image", "bands"), "g,r,z");
    EXPECT_EQ(*attrs.int_attribute("/stamps", "n_failed"), 1);
}

TEST_F(Cutouts, ExportNpzOpensWithNumpy) {
    if (!fs::exists("/usr/bin/python3") || sh("/usr/bin/python3 -c 'import numpy, h5py' 2>/dev/null") != 0)
        GTEST_SKIP() << "/usr/bin/python3 with numpy and h5py is needed";
    fs::path run = base / "a1";  // the first test's run, when it ran
    const fs::path out = base / "npz";
    if (!fs::exists(run / "cutouts.h5")) {
        run = base / "npz-run";
        write_sample((base / "sampleN.h5").string(), truth_groups(skyA));
        write_config(base / "n.yaml", skyA, base / "sampleN.h5");
        ASSERT_EQ(sh(kDhs + " run " + (base / "n.yaml").string() + " --stages cutouts --out " + run.string()), 0);
    }
    ASSERT_EQ(sh(kDhs + " export-npz --in " + (run / "cutouts.h5").string() + " --out " + out.string() +
                 " --select target_set=positives,hosts --with-invvar --with-maskbits"),
              0);
    const std::string script = R"PY(
import csv, sys, numpy as np, h5py
h5, out = sys.argv[1], sys.argv[2]
s = h5py.File(h5, 'r')['stamps']
sets = s['target_set'][:].astype(str); gids = s['galaxy_id'][:].astype(str)
rows = {(t, g): i for i, (t, g) in enumerate(zip(sets, gids))}
want = [i for i in range(len(sets)) if sets[i] in ('positives', 'hosts')]
man = list(csv.DictReader(open(out + '/manifest.csv')))
assert len(man) == len(want) > 0, (len(man), len(want))
keys = {'cutout', 'meta_galaxy_id', 'meta_ra', 'meta_dec', 'meta_type', 'meta_nobs_z', 'meta_psfsize_z',
        'meta_flux_r', 'meta_cutout_url', 'meta_download_timestamp', 'invvar', 'maskbits'}
for m in man:
    z = np.load(out + '/' + m['filename'])
    assert keys <= set(z.files), set(z.files)
    i = rows[(m['target_set'], m['galaxy_id'])]
    c = z['cutout']
    assert c.shape == (101, 101, 3) and c.dtype == np.float32, (c.shape, c.dtype)
    ref = s['image'][i].transpose(1, 2, 0)
    assert np.array_equal(c, ref, equal_nan=True)
    assert np.array_equal(z['invvar'], s['invvar'][i].transpose(1, 2, 0), equal_nan=True)
    assert np.array_equal(z['maskbits'], s['maskbits'][i]) and z['maskbits'].dtype == np.int32
    assert str(z['meta_galaxy_id']) == gids[i]
    assert z['meta_ra'].dtype == np.float64 and float(z['meta_ra']) == s['ra'][i]
    assert float(z['meta_dec']) == s['dec'][i]
    assert str(z['meta_type']) == s['type'][i].decode()
    assert int(z['meta_nobs_z']) == s['nobs_z'][i]
    assert z['meta_psfsize_z'].dtype == np.float32 and np.float32(z['meta_psfsize_z']) == s['psfsize_z'][i]
    assert np.float32(z['meta_flux_r']) == s['flux_r'][i]
    assert str(z['meta_cutout_url']).startswith('file://') and str(z['meta_download_timestamp']).endswith('Z')
    assert int(m['label']) == (m['target_set'] == 'positives')
print('ok', len(man))
)PY";
    std::ofstream(base / "check_npz.py") << script;
    EXPECT_EQ(sh("/usr/bin/python3 " + (base / "check_npz.py").string() + " " + (run / "cutouts.h5").string() + " " +
                 out.string()),
              0);
}

TEST_F(Cutouts, SampleThenCutoutsOnTheMockSky) {
    const fs::path run = base / "chain";
    const std::string demo = std::string(DHS_SOURCE_DIR) + "/configs/demo.yaml";
    ASSERT_EQ(sh(kDhs + " run " + demo + " --set survey.root=" + skyA.string() + " --set run.log_level=warn" +
                 " --stages sample,cutouts --out " + run.string()),
              0);
    dhs::hdf5::ResultReader sample((run / "sample.h5").string());
    const Table t = read_group(run, "/stamps");
    std::size_t want = 0;
    for (const char* g : {"/positives", "/negatives", "/hosts"}) want += sample.table_rows(g);
    EXPECT_GT(want, 0u);
    ASSERT_EQ(t.num_rows(), want);
    // Each stamp row is its sample row.
    const auto& sets = t.column("target_set").strings();
    const auto rows = t.column("sample_row").as<std::uint64_t>();
    const auto& gid = t.column("galaxy_id").strings();
    for (std::size_t i = 0; i < t.num_rows(); ++i)
        EXPECT_EQ(gid[i], sample.read_rows("/" + sets[i] + "/galaxy_id", {rows[i]}).strings()[0]);
    check_against_coadds(skyA, t);
}

// Sky position `px` pixels (of 1.6") east of the RA edge between 1501p022 and 1503p022 (negative: west).
dhs::fits::SkyRaDec beside_edge(double px, double dec = 2.25) {
    return {150.25 + px * 1.6 / 3600.0 / std::cos(dec * std::numbers::pi / 180.0), dec};
}

TEST_F(Cutouts, EdgePolicyPicksTheMoreCompleteCoadd) {
    auto groups = truth_groups(skyB);
    const auto m = beside_edge(5), w = beside_edge(-3);
    // In 1503p022 5 px from the edge but labelled 1501p022; in 1501p022 3 px from the edge.
    groups["negatives"].push_back({"mislabelled", "1501p022", "EXP", m.ra, m.dec, 2.0f});
    groups["negatives"].push_back({"inner", "1501p022", "EXP", w.ra, w.dec, 2.0f});
    write_sample((base / "sampleB.h5").string(), groups);
    write_config(base / "b.yaml", skyB, base / "sampleB.h5");
    write_config(base / "bh.yaml", skyB, base / "sampleB.h5", "  edge_policy: home\n");
    ASSERT_EQ(sh(kDhs + " run " + (base / "b.yaml").string() + " --stages cutouts --out " + (base / "b1").string()), 0);
    ASSERT_EQ(sh(kDhs + " run " + (base / "bh.yaml").string() + " --stages cutouts --out " + (base / "bh").string()), 0);
    const Table t = read_group(base / "b1", "/stamps"), th = read_group(base / "bh", "/stamps");
    check_against_coadds(skyB, t);
    check_against_coadds(skyB, th);
    const auto& bn = t.column("brickname").strings();
    const auto& bnh = th.column("brickname").strings();
    const auto out = t.column("outside_frac").as<double>(), outh = th.column("outside_frac").as<double>();
    const std::size_t i = row_of(t, "mislabelled"), ih = row_of(th, "mislabelled");
    EXPECT_EQ(bn[i], "1503p022");
    EXPECT_EQ(bnh[ih], "1501p022");
    EXPECT_GT(outh[ih], out[i]);
    EXPECT_GT(out[i], 0.0);  // ~19 px of overlap: no coadd holds the whole stamp
    const std::size_t j = row_of(t, "inner");
    EXPECT_EQ(bn[j], "1501p022");  // its own coadd holds more of it than the neighbour's
    EXPECT_GT(out[j], 0.0);
}

TEST_F(Cutouts, MissingAndCorruptInputsAreFlaggedNeverZero) {
    // Damage sky C: 1501p022 gone, 1503p022 without image-g, one invvar-r tile scrambled.
    const auto west = beside_edge(-5), far = dhs::fits::SkyRaDec{150.125, 2.25};
    const auto hit = sky_of(skyC, "1503p022", 350.0, 350.0), clean = sky_of(skyC, "1503p022", 120.0, 450.0);
    fs::remove_all(skyC / "coadd" / "150" / "1501p022");
    fs::remove(coadd(skyC, "1503p022", "image-g"));
    {
        const std::string path = coadd(skyC, "1503p022", "invvar-r");
        fitsfile* f = nullptr;
        int st = 0, type = 0;
        fits_open_file(&f, path.c_str(), READONLY, &st);
        fits_movabs_hdu(f, 2, &type, &st);
        LONGLONG len = 0, off = 0, start = 0, dstart = 0, dend = 0;
        long naxis1 = 0, naxis2 = 0;
        fits_read_descriptll(f, 1, 3 * 6 + 3 + 1, &len, &off, &st);  // tile (3, 3): x, y in [300, 400)
        fits_get_hduaddrll(f, &start, &dstart, &dend, &st);
        fits_read_key(f, TLONG, "NAXIS1", &naxis1, nullptr, &st);
        fits_read_key(f, TLONG, "NAXIS2", &naxis2, nullptr, &st);
        fits_close_file(f, &st);
        ASSERT_EQ(st, 0);
        std::fstream io(path, std::ios::in | std::ios::out | std::ios::binary);
        io.seekp(static_cast<std::streamoff>(dstart + naxis1 * naxis2 + off + 6));
        std::mt19937 rng(1);
        for (LONGLONG k = 0; k < len - 8; ++k) io.put(static_cast<char>(rng() | 0xF0));
    }
    auto groups = truth_groups(skyC);
    groups["negatives"].push_back({"home_missing_edge", "1501p022", "REX", west.ra, west.dec, 1.0f});
    groups["negatives"].push_back({"home_missing_far", "1501p022", "REX", far.ra, far.dec, 1.0f});
    groups["negatives"].push_back({"corrupt_tile", "1503p022", "REX", hit.ra, hit.dec, 1.0f});
    groups["negatives"].push_back({"clean", "1503p022", "REX", clean.ra, clean.dec, 1.0f});
    write_sample((base / "sampleC.h5").string(), groups);
    write_config(base / "c.yaml", skyC, base / "sampleC.h5");
    ASSERT_EQ(sh(kDhs + " run " + (base / "c.yaml").string() + " --stages cutouts --out " + (base / "c1").string()), 0);
    const Table t = read_group(base / "c1", "/stamps");
    check_against_coadds(skyC, t);
    const auto& reason = t.column("reason").strings();
    const auto& status = t.column("status").strings();
    const auto& bn = t.column("brickname").strings();
    const std::size_t e = row_of(t, "home_missing_edge"), f = row_of(t, "home_missing_far"),
                      c = row_of(t, "corrupt_tile"), k = row_of(t, "clean");
    EXPECT_EQ(bn[e], "1503p022");
    EXPECT_EQ(status[e], "partial");
    EXPECT_TRUE(has_note(reason[e], "home_missing") && has_note(reason[e], "edge")) << reason[e];
    EXPECT_EQ(status[f], "failed");
    EXPECT_TRUE(has_note(reason[f], "home_missing") && has_note(reason[f], "no_coadd")) << reason[f];
    EXPECT_TRUE(has_note(reason[c], "corrupt:invvar-r")) << reason[c];
    EXPECT_FALSE(has_note(reason[k], "corrupt:invvar-r")) << reason[k];
    // Every 1503p022 stamp misses g: none is ok.
    int g_missing = 0;
    for (std::size_t i = 0; i < t.num_rows(); ++i) {
        if (bn[i] != "1503p022") continue;
        EXPECT_TRUE(has_note(reason[i], "missing:image-g")) << reason[i];
        EXPECT_NE(status[i], "ok");
        ++g_missing;
    }
    EXPECT_GT(g_missing, 10);
    // The invvar of the corrupt tile's target is NaN in r; its r image stays (invvar unknown).
    const auto invvar = t.column("invvar").values<float>();
    for (std::size_t q = 0; q < kS * kS; ++q) ASSERT_TRUE(std::isnan(invvar[(c * 3 + 1) * kS * kS + q]));
}

}  // namespace
