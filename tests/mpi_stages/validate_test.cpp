// Tests of the `validate` stage on hand-built cutouts.h5 / injections.h5 (tests/support/
// stamp_fixtures.hpp), run through `dhs run` with 1, 2 and 3 ranks: identical outputs for every
// rank count; per-stamp rows equal the kernel on the same stamps; bad stamps are listed with
// their reasons; every AUC of /shortcut_auc equals scikit-learn's on the /metrics rows (read
// with h5py) to 1e-12; clean fixtures pass every gate and flag the arc features
// expected_physics, planted shortcuts (brighter cores, noisier stamps) are flagged red and fail
// the gates; the summary validates against the documented JSON Schema (and a broken one does
// not); a missing input skips its comparison; no input at all, and a bad row (its batch is
// quarantined), are errors that name the file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/hdf5/result_file.hpp"
#include "kernels/stats/stamp_features.hpp"
#include "mpi_stages/validate/validate.hpp"
#include "tests/support/column_support.hpp"
#include "tests/support/python_support.hpp"
#include "tests/support/stamp_fixtures.hpp"
#include "tests/support/test_support.hpp"

namespace fs = std::filesystem;

namespace {

using dhs::Column;
using dhs::test::same_column;
using dhs::DType;
using dhs::hdf5::ResultReader;

const std::string kDhs = std::string(DHS_BINARY_DIR) + "/apps/dhs/dhs";
const std::string kSchema = std::string(DHS_SOURCE_DIR) + "/mpi_stages/validate/validation_summary.schema.json";

std::string slurp(const fs::path& p) {
    std::ifstream f(p);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

// Runs dhs (under mpirun for ranks > 1) with the validate-only config; returns the exit status.
int run_dhs(const fs::path& run_dir, int ranks, const std::string& extra = "") {
    const fs::path config = run_dir.parent_path() / "validate_test.yaml";
    std::string cmd = kDhs + " run " + config.string() + " --out " + run_dir.string() + " " + extra;
    if (ranks > 1)
        cmd = std::string(DHS_MPIEXEC) + " -n " + std::to_string(ranks) + " " DHS_MPIEXEC_PREFLAGS " " + cmd;
    cmd += " > " + (run_dir.string() + ".log") + " 2>&1";
    const int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

nlohmann::json summary(const fs::path& run_dir) { return nlohmann::json::parse(slurp(run_dir / "validation_summary.json")); }

// The flag rule: on max(ci_lower, 1 - ci_upper), green < 0.60 <= yellow <= 0.70 < red.
TEST(ValidateFlags, SeparationLevelsAndExpectedPhysics) {
    using dhs::stages::validate::separation_level;
    EXPECT_EQ(separation_level(0.45, 0.58, 0.60, 0.70), "green");
    EXPECT_EQ(separation_level(0.599, 0.65, 0.60, 0.70), "green");
    EXPECT_EQ(separation_level(0.60, 0.66, 0.60, 0.70), "yellow");
    EXPECT_EQ(separation_level(0.70, 0.80, 0.60, 0.70), "yellow");
    EXPECT_EQ(separation_level(0.7001, 0.80, 0.60, 0.70), "red");
    EXPECT_EQ(separation_level(0.10, 0.25, 0.60, 0.70), "red");     // lower in positives separates as well
    EXPECT_EQ(separation_level(0.33, 0.38, 0.60, 0.70), "yellow");  // 1 - 0.38 = 0.62
    EXPECT_EQ(separation_level(NAN, NAN, 0.60, 0.70), "not_evaluated");
    const std::vector<std::string> stems = {"annulus_brightness", "azimuthal_asymmetry"};
    EXPECT_TRUE(dhs::stages::validate::is_expected_physics("annulus_brightness_g", stems));
    EXPECT_TRUE(dhs::stages::validate::is_expected_physics("azimuthal_asymmetry", stems));
    EXPECT_FALSE(dhs::stages::validate::is_expected_physics("core_brightness_r", stems));
    const auto names = dhs::stages::validate::feature_names({"g", "r", "z"});
    EXPECT_EQ(names.size(), 27u);
    EXPECT_NE(std::find(names.begin(), names.end(), "azimuthal_asymmetry"), names.end());
    EXPECT_NE(std::find(names.begin(), names.end(), "mad_r"), names.end());
}

class Validate : public ::testing::Test {
protected:
    static inline fs::path base, clean1, clean2, clean3, shortcut, only_cutouts;
    static void SetUpTestSuite() {
        base = fs::temp_directory_path() / ("dhs-validate-test-" + std::to_string(::getpid()));
        fs::remove_all(base);
        fs::create_directories(base);
        {
            std::ofstream cfg(base / "validate_test.yaml");
            cfg << "run:\n  seed: 7\n  stages: [validate]\n  log_level: info\n"
                   "validate:\n  batch_size: 64\n  bootstrap_resamples: 200\n";
        }
        clean1 = base / "clean1";
        clean2 = base / "clean2";
        clean3 = base / "clean3";
        shortcut = base / "shortcut";
        only_cutouts = base / "only_cutouts";
        // One clean fixture, linked into the three rank-count runs.
        const fs::path fixture = base / "fixture_clean";
        fs::create_directories(fixture);
        dhs::test::StampFixture fx;
        dhs::test::write_stamp_fixture(fixture.string(), fx);
        for (const auto& d : {clean1, clean2, clean3}) {
            fs::create_directories(d);
            fs::create_symlink(fixture / "cutouts.h5", d / "cutouts.h5");
            fs::create_symlink(fixture / "injections.h5", d / "injections.h5");
        }
        dhs::test::StampFixture sc = fx;
        sc.core_shortcut = sc.noise_shortcut = true;
        fs::create_directories(shortcut);
        dhs::test::write_stamp_fixture(shortcut.string(), sc);
        // Cutouts only (no injections.h5), with one bad row: target_set "lenses" at row 150.
        dhs::test::StampFixture oc = fx;
        oc.injections = oc.controls = 0;
        oc.bogus_target_at = "lenses";
        fs::create_directories(only_cutouts);
        dhs::test::write_stamp_fixture(only_cutouts.string(), oc);
        ASSERT_EQ(run_dhs(clean1, 1), 0) << slurp(clean1.string() + ".log");
        ASSERT_EQ(run_dhs(clean2, 2), 0) << slurp(clean2.string() + ".log");
        ASSERT_EQ(run_dhs(clean3, 3), 0) << slurp(clean3.string() + ".log");
        ASSERT_EQ(run_dhs(shortcut, 1), 0) << slurp(shortcut.string() + ".log");
        ASSERT_EQ(run_dhs(only_cutouts, 2), 3) << slurp(only_cutouts.string() + ".log");  // 3: a unit quarantined
    }
    static void TearDownTestSuite() { fs::remove_all(base); }
};

TEST_F(Validate, SameOutputsForOneTwoAndThreeRanks) {
    ResultReader a((clean1 / "validation.h5").string());
    for (const auto& other : {clean2, clean3}) {
        ResultReader b((other / "validation.h5").string());
        for (const char* g : {"/metrics", "/failed_stamps", "/shortcut_auc", "/gates", "/comparisons"}) {
            const auto names = a.datasets(g);
            ASSERT_EQ(names, b.datasets(g)) << g;
            for (const auto& n : names) {
                if (n == "input") continue;  // the input paths name each run's own directory
                EXPECT_TRUE(same_column(a.read_column(std::string(g) + "/" + n), b.read_column(std::string(g) + "/" + n)))
                    << other << " " << g << "/" << n;
            }
        }
        auto sa = summary(clean1), sb = summary(other);
        sa.erase("timestamp");
        sb.erase("timestamp");
        for (auto* s : {&sa, &sb})
            for (const char* c : {"real", "injection"}) (*s)["comparisons"][c].erase("input");
        EXPECT_EQ(sa, sb) << other;
    }
    EXPECT_EQ(a.table_rows("/metrics"), 186u + 120u);
}

TEST_F(Validate, MetricsRowsEqualTheKernelOnTheSameStamps) {
    ResultReader in((clean1 / "cutouts.h5").string()), out((clean1 / "validation.h5").string());
    const dhs::kernels::FeatureRegions geometry(101, 101, dhs::kernels::StampFeatureSpec{});
    dhs::kernels::StampFeatureScratch scratch;
    const std::size_t n = 24;
    const Column image = in.read_column("/stamps/image", 0, n);
    const auto mask = in.read_column("/stamps/maskbits", 0, n).as<std::uint32_t>();
    const auto target = in.read_column("/stamps/target_set", 0, n).strings();
    const auto gid = in.read_column("/stamps/galaxy_id", 0, n).strings();
    const auto split = in.read_column("/stamps/split", 0, n).strings();
    const auto px = image.values<float>();
    const std::size_t cell = 3 * 101 * 101, plane = 101 * 101;
    const std::vector<std::string> bands = {"g", "r", "z"};
    const std::vector<std::string> stems = {"core_brightness", "annulus_brightness", "outer_brightness", "annulus_max",
                                            "annulus_std",     "azimuthal_asymmetry", "mad",            "radial_gradient"};
    const auto source = out.read_column("/metrics/source", 0, n).strings();
    const auto row = out.read_column("/metrics/source_row", 0, n).as<std::int64_t>();
    const auto id = out.read_column("/metrics/id", 0, n).strings();
    const auto cls = out.read_column("/metrics/class", 0, n).strings();
    const auto msplit = out.read_column("/metrics/split", 0, n).strings();
    const auto profile = out.read_column("/metrics/radial_profile", 0, n).as<float>();
    const auto box = out.read_column("/metrics/core_pixels", 0, n).as<float>();
    std::map<std::string, std::vector<double>> col;
    for (const auto& stem : stems)
        for (const auto& b : bands) {
            const std::string name = stem == "azimuthal_asymmetry" && b == "r" ? stem : stem + "_" + b;
            col[name] = out.read_column("/metrics/" + name, 0, n).as<double>();
        }
    for (const char* name : {"total_nan_frac", "core_nan_frac", "core_masked_frac"})
        col[name] = out.read_column(std::string("/metrics/") + name, 0, n).as<double>();
    for (std::size_t i = 0; i < n; ++i) {
        std::vector<float> prof(60), bx(768);
        const auto f = dhs::kernels::compute_stamp_features(geometry, 3, px.subspan(i * cell, cell),
                                                            std::span<const std::uint32_t>(mask).subspan(i * plane, plane),
                                                            1052, prof, bx, scratch);
        EXPECT_EQ(source[i], "cutouts");
        EXPECT_EQ(row[i], static_cast<std::int64_t>(i));
        EXPECT_EQ(id[i], gid[i]);
        EXPECT_EQ(cls[i], target[i].substr(0, target[i].size() - 1));  // positives -> positive ...
        EXPECT_EQ(msplit[i], split[i]);
        EXPECT_EQ(col["total_nan_frac"][i], f.total_nan_frac);
        EXPECT_EQ(col["core_nan_frac"][i], f.core_nan_frac);
        EXPECT_EQ(col["core_masked_frac"][i], f.core_masked_frac);  // maskbits given: finite
        for (std::size_t b = 0; b < 3; ++b) {
            const auto& bf = f.band[b];
            const double v[] = {bf.core_brightness, bf.annulus_brightness, bf.outer_brightness, bf.annulus_max,
                                bf.annulus_std,     bf.azimuthal_asymmetry, bf.mad,             bf.radial_gradient};
            for (std::size_t s2 = 0; s2 < stems.size(); ++s2) {
                const std::string name =
                    stems[s2] == "azimuthal_asymmetry" && bands[b] == "r" ? stems[s2] : stems[s2] + "_" + bands[b];
                EXPECT_EQ(col[name][i], v[s2]) << name << " row " << i;
            }
        }
        auto same = [](float x, float y) { return x == y || (std::isnan(x) && std::isnan(y)); };
        for (std::size_t k = 0; k < 60; ++k) EXPECT_TRUE(same(profile[i * 60 + k], prof[k])) << i << " " << k;
        for (std::size_t k = 0; k < 768; ++k) EXPECT_TRUE(same(box[i * 768 + k], bx[k])) << i << " " << k;
    }
    // Injection rows follow the cutouts rows.
    const auto s186 = out.read_column("/metrics/source", 186, 2).strings();
    const auto c186 = out.read_column("/metrics/class", 186, 2).strings();
    const auto i186 = out.read_column("/metrics/id", 186, 2).strings();
    const auto r186 = out.read_column("/metrics/source_row", 186, 2).as<std::int64_t>();
    EXPECT_EQ(s186, (std::vector<std::string>{"injections", "injections"}));
    EXPECT_EQ(c186, (std::vector<std::string>{"injection", "control"}));
    EXPECT_EQ(i186, (std::vector<std::string>{"inj_0", "inj_1"}));
    EXPECT_EQ(r186, (std::vector<std::int64_t>{0, 1}));
    EXPECT_TRUE(std::isnan(out.read_column("/metrics/core_masked_frac", 186, 1).as<double>()[0]));  // no maskbits
}

TEST_F(Validate, BadStampsAreListedWithTheirReasons) {
    ResultReader in((clean1 / "cutouts.h5").string()), out((clean1 / "validation.h5").string());
    const auto target = in.read_column("/stamps/target_set").strings();
    std::map<std::int64_t, std::string> expected;  // cutouts row -> reasons
    int nn = 0;
    for (std::size_t i = 0; i < target.size(); ++i) {
        if (target[i] != "negatives") continue;
        if (nn == 3) expected[static_cast<std::int64_t>(i)] = "nan_core";
        if (nn == 5) expected[static_cast<std::int64_t>(i)] = "masked_core";
        if (nn == 7) expected[static_cast<std::int64_t>(i)] = "size";
        if (nn == 9) expected[static_cast<std::int64_t>(i)] = "nan_total";
        ++nn;
    }
    ASSERT_EQ(out.table_rows("/failed_stamps"), expected.size());
    const auto rows = out.read_column("/failed_stamps/source_row").as<std::int64_t>();
    const auto reasons = out.read_column("/failed_stamps/failure_reasons").strings();
    const auto ids = out.read_column("/failed_stamps/id").strings();
    for (std::size_t i = 0; i < rows.size(); ++i) {
        ASSERT_TRUE(expected.count(rows[i])) << rows[i];
        EXPECT_EQ(reasons[i], expected[rows[i]]) << rows[i];
        EXPECT_EQ(ids[i], "gal_" + std::to_string(1000 + rows[i]));
    }
    const auto quality = out.read_column("/metrics/quality_ok").as<int>();
    int failed = 0;
    for (int q : quality) failed += q == 0;
    EXPECT_EQ(failed, 4);
    const auto j = summary(clean1);
    EXPECT_EQ(j["failed_stamps"], 4);
    EXPECT_EQ(j["failure_reasons"], nlohmann::json({{"masked_core", 1}, {"nan_core", 1}, {"nan_total", 1}, {"size", 1}}));
    EXPECT_EQ(j["total_cutouts"], 186);
    EXPECT_EQ(j["positives"], 60);
    EXPECT_EQ(j["negatives"], 120);
    EXPECT_EQ(j["hosts"], 6);
    EXPECT_EQ(j["injections"], 60);
    EXPECT_EQ(j["controls"], 60);
    EXPECT_DOUBLE_EQ(j["quality_pass_rate"].get<double>(), 302.0 / 306.0);
    // Two of the 180 real stamps fail for NaNs.
    EXPECT_DOUBLE_EQ(j["comparisons"]["real"]["gates"]["nan_rejection_rate"]["value"].get<double>(), 2.0 / 180.0);
}

TEST_F(Validate, EveryAucEqualsScikitLearnOnTheMetricsRows) {
    if (!dhs::test::python_has("numpy h5py sklearn")) GTEST_SKIP() << "/usr/bin/python3 with h5py and sklearn needed";
    const std::string script = R"PY(
import sys
import h5py
import numpy as np
from sklearn.metrics import roc_auc_score
f = h5py.File(sys.argv[1], "r")
m = f["metrics"]
source = m["source"][:].astype(str)
cls = m["class"][:].astype(str)
ok = m["quality_ok"][:].astype(bool)
a = f["shortcut_auc"]
classes = {"real": ("cutouts", "positive", "negative"), "injection": ("injections", "injection", "control")}
worst, n, nan_ok = 0.0, 0, 0
for comp, feat, auc in zip(a["comparison"][:].astype(str), a["feature"][:].astype(str), a["auc"][:]):
    src, pos, neg = classes[comp]
    x = m[feat][:]
    sel = (source == src) & ok & np.isfinite(x) & ((cls == pos) | (cls == neg))
    y = cls[sel] == pos
    if y.all() or not y.any():
        nan_ok += int(np.isnan(auc))
        continue
    worst = max(worst, abs(roc_auc_score(y, x[sel]) - auc))
    n += 1
print(n, nan_ok, "%.3g" % worst)
)PY";
    dhs::test::TempDir dir("validate_auc_");
    const auto out = dhs::test::run_python(dir.path(), "auc.py", script, {(clean1 / "validation.h5").string()});
    ASSERT_TRUE(out.has_value());
    std::istringstream in(*out);
    int n = 0, nan_ok = 0;
    double worst = 1;
    in >> n >> nan_ok >> worst;
    EXPECT_EQ(n, 2 * 27 - 1);  // 27 features per comparison; core_masked_frac has no maskbits for injections
    EXPECT_EQ(nan_ok, 1);
    EXPECT_LT(worst, 1e-12);
}

TEST_F(Validate, CleanStampsPassTheBrightnessGatesAndArcsAreExpectedPhysics) {
    const auto j = summary(clean1);
    EXPECT_EQ(j["primary_comparison"], "real");
    for (const char* c : {"real", "injection"}) {
        const auto& cmp = j["comparisons"][c];
        ASSERT_TRUE(cmp["available"].get<bool>()) << c;
        const auto& g = cmp["gates"];
        EXPECT_TRUE(g["core_brightness_ratio"]["passed"].get<bool>()) << c << " " << g["core_brightness_ratio"];
        EXPECT_NEAR(g["core_brightness_ratio"]["value"].get<double>(), 1.0, 0.10) << c;
        EXPECT_TRUE(g["nan_rejection_rate"]["passed"].get<bool>()) << c;
        const auto& f = cmp["shortcut_features"];
        for (const char* name : {"core_brightness_r", "mad_r", "outer_brightness_r"})
            EXPECT_EQ(f[name]["flag"], "green") << c << " " << name << " " << f[name];
        // The arcs lift one azimuthal sector: the asymmetry separates (red), and is expected physics.
        EXPECT_EQ(f["azimuthal_asymmetry_g"]["level"], "red") << c << " " << f["azimuthal_asymmetry_g"];
        for (const char* physics : {"annulus_max_r", "azimuthal_asymmetry", "azimuthal_asymmetry_g", "annulus_std_r"})
            EXPECT_EQ(f[physics]["flag"], "expected_physics") << c << " " << physics;
        // The classifiers ran (their values are for the log; the gates are checked below for shortcuts).
        EXPECT_FALSE(g["core_lr_auc"]["value"].is_null()) << c;
        EXPECT_FALSE(g["radial_profile_auc"]["value"].is_null()) << c;
    }
    EXPECT_EQ(j["comparisons"]["real"]["classifier_split"], "split_column");
    EXPECT_EQ(j["comparisons"]["injection"]["classifier_split"], "hashed");  // no split column in the fixture
    // The top level is the real comparison in the seed's layout.
    EXPECT_EQ(j["gates"], j["comparisons"]["real"]["gates"]);
    EXPECT_EQ(j["shortcut_features"], j["comparisons"]["real"]["shortcut_features"]);
    // The same gates in the HDF5 table.
    ResultReader out((clean1 / "validation.h5").string());
    const auto names = out.read_column("/gates/gate").strings();
    const auto comps = out.read_column("/gates/comparison").strings();
    EXPECT_EQ(names, (std::vector<std::string>{"core_brightness_ratio", "nan_rejection_rate", "core_lr_auc",
                                               "radial_profile_auc", "core_brightness_ratio", "nan_rejection_rate",
                                               "core_lr_auc", "radial_profile_auc"}));
    EXPECT_EQ(comps[0], "real");
    EXPECT_EQ(comps[4], "injection");
}

TEST_F(Validate, PlantedShortcutsAreFlaggedRedAndFailTheGates) {
    const auto j = summary(shortcut);
    EXPECT_FALSE(j["passed"].get<bool>());
    for (const char* c : {"real", "injection"}) {
        const auto& cmp = j["comparisons"][c];
        const auto& f = cmp["shortcut_features"];
        EXPECT_EQ(f["mad_r"]["flag"], "red") << c << " " << f["mad_r"];
        EXPECT_EQ(f["core_brightness_r"]["flag"], "red") << c << " " << f["core_brightness_r"];
        const auto& g = cmp["gates"];
        EXPECT_FALSE(g["core_brightness_ratio"]["passed"].get<bool>()) << c;
        EXPECT_GT(g["core_brightness_ratio"]["value"].get<double>(), 1.3) << c;
        EXPECT_FALSE(g["core_lr_auc"]["passed"].get<bool>()) << c << " " << g["core_lr_auc"];
        EXPECT_FALSE(cmp["passed"].get<bool>());
    }
    ResultReader out((shortcut / "validation.h5").string());
    EXPECT_EQ(out.int_attribute("/gates", "all_passed"), 0);
}

TEST_F(Validate, SummaryValidatesAgainstTheDocumentedSchema) {
    if (!dhs::test::python_has("jsonschema")) GTEST_SKIP() << "/usr/bin/python3 with jsonschema (python3-jsonschema) needed";
    dhs::test::TempDir dir("validate_schema_");
    // A broken copy (a gate removed, a flag misspelt) must fail: the check can fail.
    auto broken = summary(clean1);
    broken["gates"].erase("core_lr_auc");
    broken["shortcut_features"]["mad_r"]["flag"] = "greenish";
    {
        std::ofstream f(dir.file("broken.json"));
        f << broken.dump();
    }
    const std::string script = R"PY(
import json
import sys
import jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft7Validator.check_schema(schema)
v = jsonschema.Draft7Validator(schema)
for path in sys.argv[2:]:
    errors = sorted(v.iter_errors(json.load(open(path))), key=str)
    print(path.rsplit("/", 2)[-2] + "/" + path.rsplit("/", 1)[-1], len(errors))
    for e in errors[:3]:
        print("   ", e.message, file=sys.stderr)
)PY";
    const auto out = dhs::test::run_python(
        dir.path(), "schema.py", script,
        {kSchema, (clean1 / "validation_summary.json").string(), (shortcut / "validation_summary.json").string(),
         (only_cutouts / "validation_summary.json").string(), dir.file("broken.json")});
    ASSERT_TRUE(out.has_value());
    std::istringstream in(*out);
    std::map<std::string, int> errors;
    std::string name;
    int count = 0;
    while (in >> name >> count) errors[name] = count;
    ASSERT_EQ(errors.size(), 4u) << *out;
    EXPECT_EQ(errors["clean1/validation_summary.json"], 0);
    EXPECT_EQ(errors["shortcut/validation_summary.json"], 0);
    EXPECT_EQ(errors["only_cutouts/validation_summary.json"], 0);
    EXPECT_GE(errors[dir.path().filename().string() + "/broken.json"], 2);
}

TEST_F(Validate, AMissingInputSkipsItsComparison) {
    const auto j = summary(only_cutouts);
    EXPECT_EQ(j["primary_comparison"], "real");
    EXPECT_FALSE(j["comparisons"]["injection"]["available"].get<bool>());
    EXPECT_NE(j["comparisons"]["injection"]["reason"].get<std::string>().find("injections.h5 not found"),
              std::string::npos);
    EXPECT_TRUE(j["comparisons"]["real"]["available"].get<bool>());
    EXPECT_EQ(j["total_injections"], 0);
    EXPECT_EQ(j["total_cutouts"], 128);  // rows 128..185 quarantined (see below)
    EXPECT_NE(slurp(only_cutouts.string() + ".log").find("injection comparison skipped"), std::string::npos);
}

TEST_F(Validate, NoInputAndABadRowAreErrorsThatNameTheFile) {
    const fs::path empty = base / "empty";
    fs::create_directories(empty);
    EXPECT_EQ(run_dhs(empty, 1), 1);
    const std::string log = slurp(empty.string() + ".log");
    EXPECT_NE(log.find("cutouts.h5"), std::string::npos) << log;
    EXPECT_NE(log.find("injections.h5"), std::string::npos) << log;

    // The bad row's batch is quarantined; the rest is audited.
    ResultReader out((only_cutouts / "validation.h5").string());
    ASSERT_EQ(out.table_rows("/failures"), 1u);
    const std::string msg = out.read_column("/failures/message").strings()[0];
    EXPECT_NE(msg.find("cutouts.h5"), std::string::npos) << msg;
    EXPECT_NE(msg.find("target_set row 150"), std::string::npos) << msg;
    EXPECT_NE(msg.find("lenses"), std::string::npos) << msg;
    EXPECT_EQ(out.table_rows("/metrics"), 128u);  // the batch of rows 128..185 is quarantined
}

}  // namespace
