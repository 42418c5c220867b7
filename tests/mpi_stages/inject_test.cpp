// Tests of the `inject` stage (mpi_stages/inject) through `dhs run --stages inject` on fixture
// hosts (sample.h5:/hosts + cutouts.h5:/stamps written here: noise + a Sersic galaxy per stamp):
// the same injections.h5 for 1, 2 and 3 ranks; injected stamp - host = injection; controls
// bit-identical to their host stamps; injected flux = source flux x magnification (0.1%); the
// selection-function cells get their counts from hosts of their PSF/depth bin; template-bank and
// grid_small designs; the S/N rejection step; the planted core shortcut; clear errors before work
// for out-of-range parameters, empty bins and missing inputs.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "core/hdf5/result_file.hpp"
#include "tests/mpi_stages/inject_support.hpp"
#include "kernels/rendering/profile_render.hpp"
#include "kernels/rendering/sersic.hpp"
#include "tests/support/test_support.hpp"

namespace fs = std::filesystem;
using dhs::Column;
using dhs::DType;
using dhs::Table;

namespace {

const std::string kDhs = std::string(DHS_BINARY_DIR) + "/apps/dhs/dhs";
constexpr int S = 101;
constexpr std::size_t kPix = S * S;

struct Host {
    std::string id, brick, split;
    double ra, dec, mag_r, psf_r, depth;
};

// 3 PSF/depth bins x 4 hosts (splits alternating), plus a host with no stamp.
std::vector<Host> hosts() {
    std::vector<Host> h;
    const double bins[3][2] = {{1.05, 23.0}, {1.35, 23.1}, {1.65, 24.0}};
    for (int b = 0; b < 3; ++b)
        for (int k = 0; k < 4; ++k) {
            const int i = b * 4 + k;
            const std::string brick = i < 6 ? "1501p022" : "1500p022";
            h.push_back({brick + "_" + std::to_string(i), brick, k % 2 ? "test" : "train", 150.1 + 0.01 * i, 2.2,
                         18.5 + 0.1 * i, bins[b][0] + 0.01 * k, bins[b][1]});
        }
    return h;
}

std::string empty_h5(const std::string& path) {
    const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
    return path;
}

double psfdepth_ivar(double depth_mag) {  // inverse of -2.5 (log10(5 / sqrt(ivar)) - 9)
    const double sigma = std::pow(10.0, 9.0 - depth_mag / 2.5) / 5.0;
    return 1.0 / (sigma * sigma);
}

// The host stamp planes (g, r, z) of host i: noise of sigma 0.01 + a de Vaucouleurs galaxy.
void host_stamp(int i, const Host& h, std::vector<float>& img, std::vector<float>& ivar, std::vector<std::int32_t>& mask) {
    img.assign(3 * kPix, 0.0f);
    ivar.assign(3 * kPix, 1e4f);
    mask.assign(kPix, 0);
    std::mt19937_64 gen(1000 + static_cast<unsigned>(i));
    std::normal_distribution<double> noise(0.0, 0.01);
    const double colour[3] = {1.4, 0.0, -0.9};
    for (int b = 0; b < 3; ++b) {
        const double flux = std::pow(10.0, (22.5 - h.mag_r - colour[b]) / 2.5);
        const dhs::kernels::SersicProfile gal(flux, 0.8, 4.0, {0.8, 0.3});
        std::span<float> plane(img.data() + b * kPix, kPix);
        dhs::kernels::accumulate_profile(gal, plane, S, S, 0.262, 50, 50, 3);
        for (auto& v : plane) v += static_cast<float>(noise(gen));
    }
    if (i == 3) {  // a masked, NaN corner
        for (int k = 0; k < 10; ++k) {
            img[k] = NAN;
            ivar[k] = 0.0f;
            mask[k] = 1 << 2;
        }
    }
}

struct Fixture {
    dhs::test::TempDir dir{"dhs-inject-test-"};
    std::string sample, cutouts;
    Fixture() {
        const auto hs = hosts();
        sample = empty_h5(dir.file("sample.h5"));
        cutouts = empty_h5(dir.file("cutouts.h5"));
        Table t;
        std::vector<std::string> id, brick, split;
        std::vector<double> ra, dec, mg, mr, mz, pg, pr, pz, depth;
        for (const auto& h : hs) {
            id.push_back(h.id);
            brick.push_back(h.brick);
            split.push_back(h.split);
            ra.push_back(h.ra);
            dec.push_back(h.dec);
            mg.push_back(h.mag_r + 1.4);
            mr.push_back(h.mag_r);
            mz.push_back(h.mag_r - 0.9);
            pg.push_back(h.psf_r + 0.15);
            pr.push_back(h.psf_r);
            pz.push_back(h.psf_r - 0.1);
            depth.push_back(psfdepth_ivar(h.depth));
        }
        // A host without a stamp.
        id.push_back("1500p022_99");
        brick.push_back("1500p022");
        split.push_back("train");
        for (auto* v : {&ra, &dec, &mg, &mr, &mz, &pg, &pr, &pz, &depth}) v->push_back(v->back());
        t.add(Column("galaxy_id", id));
        t.add(Column("brickname", brick));
        t.add(Column("ra", ra));
        t.add(Column("dec", dec));
        t.add(Column("split", split));
        t.add(Column("mag_g", mg));
        t.add(Column("mag_r", mr));
        t.add(Column("mag_z", mz));
        t.add(Column("psfsize_g", pg));
        t.add(Column("psfsize_r", pr));
        t.add(Column("psfsize_z", pz));
        t.add(Column("psfdepth_r", depth));
        dhs::hdf5::ResultAppender a(sample);
        a.write_table("/hosts", t);
        a.close();

        // Stamps: a "negatives" row that shares host 0's id (must not be used), then the hosts in
        // reverse order; psfsize_r of the cutouts 0.01" above the sample's (the one that counts).
        std::vector<std::string> sid = {hs[0].id}, set = {"negatives"};
        std::vector<float> image(3 * kPix, 7.0f), invvar(3 * kPix, 1.0f);
        std::vector<std::int32_t> masks(kPix, 0);
        std::vector<double> cg = {1}, cr = {1}, cz = {1};
        for (int i = static_cast<int>(hs.size()) - 1; i >= 0; --i) {
            std::vector<float> im, iv;
            std::vector<std::int32_t> m;
            host_stamp(i, hs[static_cast<std::size_t>(i)], im, iv, m);
            image.insert(image.end(), im.begin(), im.end());
            invvar.insert(invvar.end(), iv.begin(), iv.end());
            masks.insert(masks.end(), m.begin(), m.end());
            sid.push_back(hs[static_cast<std::size_t>(i)].id);
            set.push_back("hosts");
            cg.push_back(hs[static_cast<std::size_t>(i)].psf_r + 0.16);
            cr.push_back(hs[static_cast<std::size_t>(i)].psf_r + 0.01);
            cz.push_back(hs[static_cast<std::size_t>(i)].psf_r - 0.09);
        }
        Table st;
        st.add(Column("galaxy_id", sid));
        st.add(Column("target_set", set));
        st.add(Column("psfsize_g", cg));
        st.add(Column("psfsize_r", cr));
        st.add(Column("psfsize_z", cz));
        st.add(Column("image", image, {3, S, S}));
        st.add(Column("invvar", invvar, {3, S, S}));
        st.add(Column("maskbits", masks, {S, S}));
        dhs::hdf5::ResultAppender b(cutouts);
        b.write_table("/stamps", st);
        b.close();
    }

    // Writes a config (base keys + `extra` YAML lines under inject:) and returns its path.
    std::string config(const std::string& name, const std::string& extra) const {
        const std::string path = dir.file(name + ".yaml");
        std::ofstream f(path);
        f << "run:\n  seed: 7\n  log_level: warn\n  progress_interval_s: 60\ninject:\n"
          << "  sample_file: " << sample << "\n  cutouts_file: " << cutouts << "\n  batch_size: 16\n" << extra;
        return path;
    }
    // Runs `dhs run` on `ranks` ranks; returns the exit status; the log (stdout + stderr) in *log.
    int run(const std::string& cfg, const std::string& out, int ranks, std::string* log = nullptr,
            const std::string& sets = "") const {
        const std::string logf = out + ".log";
        std::string cmd = ranks > 0 ? std::string(DHS_MPIEXEC) + " -n " + std::to_string(ranks) +
                                          " " DHS_MPIEXEC_PREFLAGS " " + kDhs
                                    : kDhs;
        cmd += " run " + cfg + " --out " + out + " --stages inject " + sets + " > " + logf + " 2>&1";
        const int rc = std::system(cmd.c_str());
        std::ifstream in(logf);
        std::stringstream s;
        s << in.rdbuf();
        if (log) *log = s.str();
        const int status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
        if (status != 0 && !log) std::fprintf(stderr, "%s\nexit %d:\n%s\n", cmd.c_str(), status, s.str().c_str());
        return status;
    }
};

Fixture& fixture() {
    static Fixture f;
    return f;
}

using dhs::test::inject::bytes;
using dhs::test::inject::contents;
using dhs::test::inject::injections;

// Host stamp planes by galaxy id, read back from the fixture.
std::map<std::string, std::pair<std::vector<float>, std::vector<float>>> host_stamps() {
    dhs::hdf5::ResultReader r(fixture().cutouts);
    const auto t = r.read_table("/stamps");
    std::map<std::string, std::pair<std::vector<float>, std::vector<float>>> out;
    const auto img = t.column("image").values<float>(), iv = t.column("invvar").values<float>();
    for (std::size_t i = 0; i < t.num_rows(); ++i) {
        if (t.column("target_set").strings()[i] != "hosts") continue;
        out[t.column("galaxy_id").strings()[i]] = {{img.begin() + i * 3 * kPix, img.begin() + (i + 1) * 3 * kPix},
                                                  {iv.begin() + i * 3 * kPix, iv.begin() + (i + 1) * 3 * kPix}};
    }
    return out;
}

const char* kBase = "  grid: selection_function\n  per_cell: 2\n  empty_cells: skip\n";

class InjectRun : public ::testing::Test {
protected:
    static std::string one;
    static void SetUpTestSuite() {
        auto& f = fixture();
        one = f.dir.file("run1");
        ASSERT_EQ(f.run(f.config("base", kBase), one, 0), 0);
    }
};
std::string InjectRun::one;

TEST_F(InjectRun, SameFileForOneTwoAndThreeRanks) {
    auto& f = fixture();
    const auto a = contents(one + "/injections.h5");
    EXPECT_EQ(a.size(), 55u + 11u + 5u);
    for (int n : {2, 3}) {
        const std::string out = f.dir.file("run" + std::to_string(n));
        ASSERT_EQ(f.run(f.config("base", kBase), out, n), 0) << n << " ranks";
        const auto b = contents(out + "/injections.h5");
        ASSERT_EQ(a.size(), b.size());
        for (const auto& [k, v] : a) EXPECT_TRUE(b.at(k) == v) << k << " differs with " << n << " ranks";
    }
}

TEST_F(InjectRun, CellsGetTheirCountsFromHostsOfTheirBin) {
    const auto t = injections(one + "/injections.h5");
    // 3 PSF/depth bins x 11 theta_E cells x (2 injections + 2 controls).
    ASSERT_EQ(t.num_rows(), 3u * 11u * 4u);
    const auto hs = hosts();
    std::map<std::string, Host> by_id;
    for (const auto& h : hs) by_id[h.id] = h;
    std::map<std::int64_t, int> inj, ctrl;
    const auto ctl = t.column("is_control").as<int>();
    const auto cell = t.column("cell_id").as<std::int64_t>();
    const auto cp = t.column("cell_psf").as<int>(), cd = t.column("cell_depth").as<int>(),
               ct = t.column("cell_theta_e").as<int>();
    const auto te = t.column("theta_e_arcsec").as<double>(), psf = t.column("psf_fwhm_r").as<double>();
    std::set<std::int64_t> ids;
    for (std::size_t i = 0; i < t.num_rows(); ++i) {
        ids.insert(t.column("injection_id").as<std::int64_t>()[i]);
        (ctl[i] ? ctrl : inj)[cell[i]] += 1;
        const Host& h = by_id.at(t.column("host_galaxy_id").strings()[i]);
        EXPECT_EQ(static_cast<int>(std::floor((h.psf_r + 0.01 - 0.825) / 0.15)), cp[i]);  // cutouts' psfsize bins
        EXPECT_EQ(static_cast<int>(std::floor((h.depth - 22.25) / 0.5)), cd[i]);
        EXPECT_NEAR(psf[i], h.psf_r + 0.01, 1e-12);
        EXPECT_EQ(cell[i], (ct[i] * 7 + cp[i]) * 5 + cd[i]);
        if (!ctl[i]) {
            EXPECT_DOUBLE_EQ(te[i], 0.5 + 0.25 * ct[i]);
        }
        EXPECT_EQ(t.column("grid").strings()[i], "selection_function");
        EXPECT_EQ(t.column("split").strings()[i], h.split);
    }
    EXPECT_EQ(ids.size(), t.num_rows());
    EXPECT_EQ(inj.size(), 33u);
    for (const auto& [c, n] : inj) EXPECT_EQ(n, 2) << c;
    for (const auto& [c, n] : ctrl) EXPECT_EQ(n, 2) << c;
    // The coverage table lists all 385 cells.
    dhs::hdf5::ResultReader r(one + "/injections.h5");
    const auto cov = r.read_table("/coverage");
    EXPECT_EQ(cov.num_rows(), 385u);
    const auto n_inj = cov.column("injections").as<int>(), hosts_avail = cov.column("hosts_available").as<int>();
    int filled = 0;
    for (std::size_t i = 0; i < cov.num_rows(); ++i) {
        if (n_inj[i] > 0) {
            ++filled;
            EXPECT_EQ(hosts_avail[i], 4);
        }
    }
    EXPECT_EQ(filled, 33);
}

TEST_F(InjectRun, InjectedMinusHostIsTheInjectionAndControlsAreTheirHosts) {
    const auto t = injections(one + "/injections.h5");
    const auto stamps = host_stamps();
    const auto img = t.column("image").values<float>(), inj = t.column("injection").values<float>(),
               iv = t.column("invvar").values<float>();
    const auto ctl = t.column("is_control").as<int>();
    int paired = 0, unpaired = 0, injections = 0;
    for (std::size_t i = 0; i < t.num_rows(); ++i) {
        const auto& gid = t.column("host_galaxy_id").strings()[i];
        const auto& [h_img, h_iv] = stamps.at(gid);
        const float* im = img.data() + i * 3 * kPix;
        const float* in = inj.data() + i * 3 * kPix;
        EXPECT_EQ(std::memcmp(iv.data() + i * 3 * kPix, h_iv.data(), 3 * kPix * sizeof(float)), 0) << gid;
        if (ctl[i]) {
            EXPECT_EQ(std::memcmp(im, h_img.data(), 3 * kPix * sizeof(float)), 0) << "control " << i << " is not its host";
            for (std::size_t k = 0; k < 3 * kPix; ++k) ASSERT_EQ(in[k], 0.0f);
            const auto& kind = t.column("control_kind").strings()[i];
            (kind == "paired" ? paired : unpaired) += 1;
            EXPECT_EQ(kind == "paired", gid == t.column("task_host_galaxy_id").strings()[i]);
            EXPECT_EQ(t.column("arc_snr").as<double>()[i], 0.0);
            continue;
        }
        ++injections;
        EXPECT_EQ(t.column("control_kind").strings()[i], "");
        double peak = 0;
        for (std::size_t k = 0; k < 3 * kPix; ++k) {
            if (std::isnan(h_img[k])) {
                EXPECT_TRUE(std::isnan(im[k]));
                continue;
            }
            ASSERT_NEAR(im[k] - h_img[k], in[k], 1e-6f * (std::abs(h_img[k]) + std::abs(in[k]))) << i << " " << k;
            peak = std::max(peak, static_cast<double>(in[k]));
        }
        EXPECT_GT(peak, 0.0);
    }
    EXPECT_EQ(injections, 66);
    EXPECT_GT(paired, 5);
    EXPECT_GT(unpaired, 5);
    // Host 3's NaN corner: 10 of 10201 pixels.
    const auto bad = t.column("bad_pixel_frac").as<double>();
    for (std::size_t i = 0; i < t.num_rows(); ++i)
        EXPECT_DOUBLE_EQ(bad[i], t.column("host_galaxy_id").strings()[i] == "1501p022_3" ? 10.0 / kPix : 0.0);
}

TEST_F(InjectRun, InjectedFluxIsSourceFluxTimesMagnification) {
    const auto t = injections(one + "/injections.h5");
    const auto inj = t.column("injection").values<float>();
    const auto ctl = t.column("is_control").as<int>(), valid = t.column("physics_valid").as<int>();
    const auto mu = t.column("magnification").as<double>();
    const char* fluxes[3] = {"src_flux_g", "src_flux_r", "src_flux_z"};
    int checked = 0;
    for (std::size_t i = 0; i < t.num_rows(); ++i) {
        if (ctl[i]) continue;
        ASSERT_TRUE(valid[i]) << i;
        EXPECT_GT(mu[i], 1.0);
        for (int b = 0; b < 3; ++b) {
            double sum = 0;
            for (std::size_t k = 0; k < kPix; ++k) sum += inj[i * 3 * kPix + b * kPix + k];
            EXPECT_NEAR(sum / (t.column(fluxes[b]).as<double>()[i] * mu[i]), 1.0, 1e-3) << i << " band " << b;
        }
        // Source colours within 0.2 mag of the host's (g - r = 1.4, r - z = 0.9).
        const double fg = t.column("src_flux_g").as<double>()[i], fr = t.column("src_flux_r").as<double>()[i],
                     fz = t.column("src_flux_z").as<double>()[i];
        EXPECT_NEAR(-2.5 * std::log10(fg / fr), 1.4, 0.2 + 1e-9);
        EXPECT_NEAR(-2.5 * std::log10(fr / fz), 0.9, 0.2 + 1e-9);
        EXPECT_GE(t.column("src_mag_r").as<double>()[i], 22.0);
        EXPECT_LE(t.column("src_mag_r").as<double>()[i], 26.0);
        ++checked;
    }
    EXPECT_EQ(checked, 66);
    // arc_snr is the matched-filter S/N in r: sqrt(sum inj^2 invvar) with invvar 1e4.
    const auto snr = t.column("arc_snr").as<double>();
    for (std::size_t i = 0; i < t.num_rows(); ++i) {
        if (ctl[i] || t.column("host_galaxy_id").strings()[i] == "1501p022_3") continue;
        double s = 0;
        for (std::size_t k = 0; k < kPix; ++k) s += std::pow(inj[i * 3 * kPix + kPix + k], 2) * 1e4;
        EXPECT_NEAR(snr[i], std::sqrt(s), 1e-4 * snr[i]);
    }
}

TEST_F(InjectRun, CalibrationReportsTheArcSnrShares) {
    dhs::hdf5::ResultReader r(one + "/injections.h5");
    const auto cal = r.read_table("/calibration");
    ASSERT_EQ(cal.num_rows(), 5u);
    const auto count = cal.column("count").as<int>();
    EXPECT_EQ(count[0] + count[1] + count[2] + count[3] + count[4], 66);
    EXPECT_DOUBLE_EQ(cal.column("target_fraction").as<double>()[1], 0.4);
    EXPECT_EQ(r.int_attribute("/calibration", "injections"), 66);
}

TEST(Inject, TemplateBankSources) {
    auto& f = fixture();
    const std::string bank = f.dir.file("bank.h5");
    ASSERT_EQ(std::system((kDhs + " make-template-bank --out " + bank + " --n 6 --size 65 > /dev/null").c_str()), 0);
    {  // the same bank from 2 ranks; unit-flux templates with their pixel scale
        const std::string bank2 = f.dir.file("bank2.h5");
        ASSERT_EQ(std::system((std::string(DHS_MPIEXEC) + " -n 2 " DHS_MPIEXEC_PREFLAGS " " + kDhs +
                               " make-template-bank --out " + bank2 + " --n 6 --size 65 > /dev/null")
                                  .c_str()),
                  0);
        dhs::hdf5::ResultReader a(bank), b(bank2);
        EXPECT_EQ(a.string_attribute("/", "format"), "dhs-template-bank");
        for (const auto& d : a.datasets("/templates"))
            EXPECT_TRUE(bytes(a.read_column("/templates/" + d)) == bytes(b.read_column("/templates/" + d))) << d;
        const auto img = a.read_column("/templates/image");
        ASSERT_EQ(img.shape(), (std::vector<std::size_t>{65, 65}));
        for (std::size_t i = 0; i < 6; ++i) {
            double sum = 0;
            for (std::size_t k = 0; k < 65 * 65; ++k) sum += img.values<float>()[i * 65 * 65 + k];
            EXPECT_NEAR(sum, 1.0, 1e-5);
        }
        EXPECT_DOUBLE_EQ(a.read_column("/templates/pixel_scale_arcsec").as<double>()[0], 0.03);
    }
    const std::string out = f.dir.file("run-template");
    ASSERT_EQ(f.run(f.config("template", "  grid: prior\n  n_tasks: 12\n  control_fraction: 0\n  source: template\n"
                                         "  template_bank: " + bank + "\n"),
                    out, 0),
              0);
    const auto t = injections(out + "/injections.h5");
    ASSERT_EQ(t.num_rows(), 12u);
    const auto inj = t.column("injection").values<float>();
    for (std::size_t i = 0; i < t.num_rows(); ++i) {
        EXPECT_EQ(t.column("source_kind").strings()[i], "template");
        EXPECT_GE(t.column("template_index").as<int>()[i], 0);
        EXPECT_LT(t.column("template_index").as<int>()[i], 6);
        EXPECT_TRUE(std::isnan(t.column("src_n").as<double>()[i]));
        EXPECT_GT(t.column("src_reff_arcsec").as<double>()[i], 0.05);
        EXPECT_EQ(t.column("oversample").as<int>()[i], 16);  // 0.03" template pixels
        double sum = 0;
        for (std::size_t k = 0; k < kPix; ++k) sum += inj[i * 3 * kPix + kPix + k];
        EXPECT_NEAR(sum / (t.column("src_flux_r").as<double>()[i] * t.column("magnification").as<double>()[i]), 1.0, 1e-3);
    }
}

TEST(Inject, GridSmallDesign) {
    auto& f = fixture();
    const std::string out = f.dir.file("run-grid");
    ASSERT_EQ(f.run(f.config("grid", "  grid: grid_small\n  per_cell: 1\n  control_fraction: 0\n  psf_model: gaussian\n"),
                    out, 0),
              0);
    const auto t = injections(out + "/injections.h5");
    ASSERT_EQ(t.num_rows(), 48u);
    std::set<std::int64_t> cells;
    const double te_values[3] = {0.3, 0.6, 1.0};
    for (std::size_t i = 0; i < t.num_rows(); ++i) {
        cells.insert(t.column("cell_id").as<std::int64_t>()[i]);
        EXPECT_DOUBLE_EQ(t.column("theta_e_arcsec").as<double>()[i], te_values[t.column("cell_theta_e").as<int>()[i]]);
        const double dmag = t.column("src_dmag").as<double>()[i];
        EXPECT_TRUE(dmag == 1.0 || dmag == 2.0);
        EXPECT_NEAR(t.column("src_mag_r").as<double>()[i] - t.column("host_mag_r").as<double>()[i], dmag, 1e-12);
        EXPECT_EQ(t.column("resolved").as<int>()[i],
                  t.column("theta_e_arcsec").as<double>()[i] / t.column("psf_fwhm_r").as<double>()[i] >= 0.5);
    }
    EXPECT_EQ(cells.size(), 48u);
}

TEST(Inject, RejectionStepPlacesArcSnrInTheTargetBins) {
    auto& f = fixture();
    const std::string out = f.dir.file("run-snr");
    ASSERT_EQ(f.run(f.config("snr", "  grid: prior\n  n_tasks: 40\n  control_fraction: 0\n  snr_rejection: true\n"
                                    "  psf_model: gaussian\n  src_reff_range: [0.2, 0.4]\n"),
                    out, 0),
              0);
    const auto t = injections(out + "/injections.h5");
    const double edges[5] = {0.8, 2.0, 8.0, 20.0, INFINITY};
    int met = 0;
    std::map<int, int> per_bin;
    for (std::size_t i = 0; i < t.num_rows(); ++i) {
        const int b = t.column("snr_target_bin").as<int>()[i];
        ASSERT_GE(b, 0);
        if (!t.column("snr_target_met").as<int>()[i]) continue;
        ++met;
        ++per_bin[b];
        const double s = t.column("arc_snr").as<double>()[i];
        EXPECT_GE(s, edges[b] * (1 - 1e-6)) << i;
        EXPECT_LT(s, edges[b + 1] * (1 + 1e-6)) << i;
        EXPECT_GE(t.column("src_mag_r").as<double>()[i], 22.0);
        EXPECT_LE(t.column("src_mag_r").as<double>()[i], 28.5);  // inject.snr_rejection_mag_max
    }
    EXPECT_GE(met, 30);
    EXPECT_GE(per_bin[0] + per_bin[1], met / 2);  // 80% of the targets are below arc_snr 8
}

TEST(Inject, PlantedCoreShortcutBrightensInjectedCores) {
    auto& f = fixture();
    const std::string out = f.dir.file("run-plant");
    ASSERT_EQ(f.run(f.config("plant", "  grid: prior\n  n_tasks: 6\n  control_fraction: 0.5\n  plant_core_shortcut: 0.5\n"),
                    out, 0),
              0);
    const auto t = injections(out + "/injections.h5");
    const auto stamps = host_stamps();
    const auto img = t.column("image").values<float>();
    for (std::size_t i = 0; i < t.num_rows(); ++i) {
        const auto& h = stamps.at(t.column("host_galaxy_id").strings()[i]).first;
        const std::size_t c = kPix + 50 * S + 50;  // r-band centre pixel
        if (t.column("is_control").as<int>()[i])
            EXPECT_EQ(img[i * 3 * kPix + c], h[c]);
        else
            EXPECT_GT(img[i * 3 * kPix + c], 1.45f * h[c]);
    }
}

TEST(Inject, OutOfRangeParametersAndEmptyBinsFailBeforeWork) {
    auto& f = fixture();
    struct Case {
        const char* name;
        std::string yaml;
        int rc;
        const char* words;
    };
    const std::vector<Case> cases = {
        {"q", std::string(kBase) + "  lens_q_range: [0.5, 1.2]\n", 2, "inject.lens_q_range"},
        {"te", "  grid: prior\n  theta_e_range: [-0.5, 2.0]\n", 2, "inject.theta_e_range"},
        // Cross-key checks run before the run directory is created too (the stage's check_config:
        // exit 2); what needs the hosts runs when the stage plans (exit 1), still before any unit.
        {"order", "  grid: prior\n  src_reff_range: [0.3, 0.1]\n", 2, "min <= max"},
        {"empty", "  grid: selection_function\n  per_cell: 2\n", 1, "32 of 35 PSF/depth bins hold no host"},
        {"rej", "  grid: sota\n  snr_rejection: true\n", 2, "inject.snr_rejection"},
        {"bank", "  grid: prior\n  source: template\n", 2, "inject.template_bank"},
    };
    for (const auto& c : cases) {
        const std::string out = f.dir.file(std::string("bad-") + c.name);
        std::string log;
        const int rc = f.run(f.config(c.name, c.yaml), out, 0, &log);
        EXPECT_EQ(rc, c.rc) << c.name << ": " << log;
        EXPECT_NE(log.find(c.words), std::string::npos) << c.name << ": " << log;
        EXPECT_FALSE(fs::exists(out + "/injections.h5")) << c.name;
        EXPECT_FALSE(fs::exists(out + "/journal/inject/spool")) << c.name;
    }
    // A missing cutouts file is named.
    std::string log;
    const std::string out = f.dir.file("bad-missing");
    EXPECT_NE(f.run(f.config("missing", kBase), out, 0, &log, "--set inject.cutouts_file=/nonexistent/cutouts.h5"), 0);
    EXPECT_NE(log.find("/nonexistent/cutouts.h5"), std::string::npos) << log;
}

}  // namespace
