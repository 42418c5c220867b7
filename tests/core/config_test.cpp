// Tests of core/config: schema validation, errors naming key/file/line, --set overrides,
// defaults and the resolved YAML that provenance hashes.
#include <gtest/gtest.h>

#include <fstream>

#include "core/config/config.hpp"
#include "core/error.hpp"

using dhs::ConfigError;
using dhs::config::Config;
using dhs::config::Schema;
using dhs::config::ValueType;

namespace {

Schema test_schema() {
    Schema s;
    dhs::config::declare_run_section(s);
    s.add({.key = "sample.radius_arcsec", .type = ValueType::real, .description = "r", .default_yaml = "11.0",
           .min = 0.0, .max = 60.0});
    s.add({.key = "sample.splits", .type = ValueType::real_list, .description = "p", .default_yaml = "[0.7, 0.15, 0.15]",
           .min = 0.0, .max = 1.0});
    s.add({.key = "sample.count", .type = ValueType::integer, .description = "n", .default_yaml = "100", .min = 1});
    s.add({.key = "sample.enabled", .type = ValueType::boolean, .description = "b", .default_yaml = "true"});
    s.add({.key = "sample.variant", .type = ValueType::string, .description = "v", .default_yaml = "v3",
           .choices = {"v1", "v2", "v3"}});
    s.add({.key = "sample.deep.level", .type = ValueType::integer, .description = "nested", .default_yaml = "1"});
    s.add({.key = "paths.root", .type = ValueType::string, .description = "required"});
    return s;
}

// Expects a ConfigError and checks its fields.
void expect_config_error(const std::string& yaml, const std::string& key, int line, const std::string& what_part,
                         const std::vector<std::string>& sets = {}) {
    Schema s = test_schema();
    try {
        Config::load_string(yaml, "test.yaml", s, sets);
        FAIL() << "no ConfigError for key " << key;
    } catch (const ConfigError& e) {
        EXPECT_EQ(e.key(), key) << e.what();
        EXPECT_EQ(e.line(), line) << e.what();
        EXPECT_NE(std::string(e.what()).find(what_part), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
}

const char* kGood =
    "run:\n"
    "  seed: 7\n"
    "sample:\n"
    "  radius_arcsec: 5.5\n"
    "  splits: [0.5, 0.25, 0.25]\n"
    "  deep:\n"
    "    level: 3\n"
    "paths:\n"
    "  root: /data\n";

}  // namespace

TEST(Config, LoadsValuesAndDefaults) {
    Schema s = test_schema();
    auto c = Config::load_string(kGood, "good.yaml", s);
    EXPECT_EQ(c.get_int("run.seed"), 7);
    EXPECT_DOUBLE_EQ(c.get_real("sample.radius_arcsec"), 5.5);
    EXPECT_EQ(c.get_reals("sample.splits"), (std::vector<double>{0.5, 0.25, 0.25}));
    EXPECT_EQ(c.get_int("sample.count"), 100);  // default
    EXPECT_TRUE(c.get_bool("sample.enabled"));
    EXPECT_EQ(c.get_string("sample.variant"), "v3");
    EXPECT_EQ(c.get_int("sample.deep.level"), 3);
    EXPECT_EQ(c.get_string("paths.root"), "/data");
    EXPECT_EQ(c.origin_of("run.seed"), "good.yaml:2");
    EXPECT_EQ(c.origin_of("sample.count"), "default");
}

TEST(Config, SetOverridesAnyKey) {
    Schema s = test_schema();
    auto c = Config::load_string(kGood, "good.yaml", s,
                                 {"run.seed=99", "sample.variant=v1", "sample.splits=[0.8, 0.1, 0.1]",
                                  "sample.deep.level=5"});
    EXPECT_EQ(c.get_int("run.seed"), 99);
    EXPECT_EQ(c.get_string("sample.variant"), "v1");
    EXPECT_EQ(c.get_reals("sample.splits")[0], 0.8);
    EXPECT_EQ(c.get_int("sample.deep.level"), 5);
    EXPECT_EQ(c.origin_of("run.seed"), "--set");
}

TEST(Config, UnknownKeyNamesKeyFileAndLine) {
    expect_config_error("run:\n  seed: 1\n  sede: 2\npaths:\n  root: x\n", "run.sede", 3, "unknown key");
    expect_config_error("paths:\n  root: x\nbogus:\n  a: 1\n", "bogus", 3, "unknown section");
    expect_config_error("paths:\n  root: x\nsample:\n  deep:\n    levl: 1\n", "sample.deep.levl", 5, "unknown key");
}

TEST(Config, UnknownKeySuggestsNearest) {
    Schema s = test_schema();
    try {
        Config::load_string("paths:\n  root: x\nrun:\n  sed: 1\n", "t.yaml", s);
        FAIL();
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("did you mean 'run.seed'"), std::string::npos) << e.what();
    }
}

TEST(Config, WrongTypeNamesKeyAndLine) {
    expect_config_error("paths:\n  root: x\nrun:\n  seed: abc\n", "run.seed", 4, "not an integer");
    expect_config_error("paths:\n  root: x\nrun:\n  seed: 1.5\n", "run.seed", 4, "not an integer");
    expect_config_error("paths:\n  root: x\nsample:\n  radius_arcsec: big\n", "sample.radius_arcsec", 4, "not a number");
    expect_config_error("paths:\n  root: x\nsample:\n  enabled: maybe\n", "sample.enabled", 4, "not a boolean");
    expect_config_error("paths:\n  root: x\nsample:\n  splits: 0.5\n", "sample.splits", 4, "list of numbers");
    expect_config_error("paths:\n  root: x\nsample:\n  splits: [0.5, x]\n", "sample.splits", 4, "not a number");
    expect_config_error("paths:\n  root: [a, b]\n", "paths.root", 2, "expected a string");
    expect_config_error("paths:\n  root: x\nsample: 3\n", "sample", 3, "is a section");
    expect_config_error("paths:\n  root:\n", "paths.root", 2, "has no value");
}

TEST(Config, OutOfRangeNamesKeyAndLine) {
    expect_config_error("paths:\n  root: x\nsample:\n  radius_arcsec: -1\n", "sample.radius_arcsec", 4, "out of range");
    expect_config_error("paths:\n  root: x\nsample:\n  count: 0\n", "sample.count", 4, "out of range");
    expect_config_error("paths:\n  root: x\nsample:\n  splits: [0.5, 1.5]\n", "sample.splits", 4, "out of range");
    expect_config_error("paths:\n  root: x\nsample:\n  variant: v9\n", "sample.variant", 4, "not one of");
    expect_config_error("paths:\n  root: x\nsample:\n  radius_arcsec: .nan\n", "sample.radius_arcsec", 4, "finite");
    expect_config_error("paths:\n  root: x\nrun:\n  log_level: loud\n", "run.log_level", 4, "not one of");
}

TEST(Config, BadSetOverridesNameTheKey) {
    expect_config_error(kGood, "run.sed", 0, "unknown key", {"run.sed=3"});
    expect_config_error(kGood, "run.seed", 0, "not an integer", {"run.seed=x"});
    expect_config_error(kGood, "sample.count", 0, "out of range", {"sample.count=-4"});
    expect_config_error(kGood, "nonsense", 0, "section.key=value", {"nonsense"});
}

TEST(Config, DuplicateAndMissingRequired) {
    expect_config_error("paths:\n  root: x\nrun:\n  seed: 1\n  seed: 2\n", "run.seed", 5, "given twice");
    expect_config_error("run:\n  seed: 1\n", "paths.root", 0, "required");
}

TEST(Config, InvalidYamlIsAnError) {
    Schema s = test_schema();
    EXPECT_THROW(Config::load_string("run: [unclosed\n", "bad.yaml", s), ConfigError);
    EXPECT_THROW(Config::load_string("- a\n- b\n", "list.yaml", s), ConfigError);
    try {
        Config::load_file("/nonexistent/dir/c.yaml", s);
        FAIL();
    } catch (const ConfigError& e) {
        EXPECT_EQ(e.file(), "/nonexistent/dir/c.yaml");
        EXPECT_NE(std::string(e.what()).find("cannot be read"), std::string::npos) << e.what();
    }
}

// Fuzz regression (tests/fuzz, fuzz_config): a key that is a list or a mapping made
// YAML::Node::as<std::string>() throw yaml-cpp's TypedBadConversion past every caller (dhs
// config ended in std::terminate). Now a ConfigError naming the file and line.
TEST(Config, KeyThatIsAListOrMappingIsAConfigError) {
    Schema s = test_schema();
    for (const std::string text : {"? [a, b]\n: 1\n", "run:\n  ? {x: 1}\n  : 2\n", "? [run]\n: {seed: 3}\n"}) {
        try {
            Config::load_string(text, "keys.yaml", s);
            FAIL() << "accepted: " << text;
        } catch (const ConfigError& e) {
            EXPECT_EQ(e.file(), "keys.yaml");
            EXPECT_GT(e.line(), 0);
            EXPECT_NE(std::string(e.what()).find("plain name"), std::string::npos) << e.what();
        }
    }
}

TEST(Config, ResolvedYamlRoundTripsWithTheSameDigest) {
    Schema s = test_schema();
    auto a = Config::load_string(kGood, "good.yaml", s, {"sample.count=12"});
    std::string text = a.resolved_yaml();
    auto b = Config::load_string(text, "resolved.yaml", s);
    EXPECT_EQ(b.resolved_yaml(), text);
    EXPECT_EQ(a.sha256(), b.sha256());
    EXPECT_EQ(a.sha256().size(), 64u);
    EXPECT_EQ(b.get_int("sample.count"), 12);
    EXPECT_EQ(b.get_int("sample.deep.level"), 3);
    auto c = Config::load_string(kGood, "good.yaml", s, {"sample.count=13"});
    EXPECT_NE(a.sha256(), c.sha256());
}

TEST(Config, LoadFileNamesTheFile) {
    Schema s = test_schema();
    std::string path = ::testing::TempDir() + "/dhs_config_test.yaml";
    {
        std::ofstream(path) << "paths:\n  root: x\nrun:\n  seed: -3\n";
    }
    try {
        Config::load_file(path, s);
        FAIL();
    } catch (const ConfigError& e) {
        EXPECT_EQ(e.file(), path);
        EXPECT_EQ(e.line(), 4);
        EXPECT_NE(std::string(e.what()).find(path + ":4"), std::string::npos) << e.what();
    }
}

TEST(Config, SchemaRejectsBadDeclarations) {
    Schema s;
    s.add({.key = "a.b", .type = ValueType::integer, .description = "", .default_yaml = "1"});
    EXPECT_THROW(s.add({.key = "a.b", .type = ValueType::integer, .description = ""}), dhs::Error);
    EXPECT_THROW(s.add({.key = "nodot", .type = ValueType::integer, .description = ""}), dhs::Error);
    EXPECT_THROW(s.add({.key = "a.c", .type = ValueType::integer, .description = "", .default_yaml = "x"}),
                 ConfigError);
}

TEST(Config, ReadingWithTheWrongTypeIsAProgramError) {
    Schema s = test_schema();
    auto c = Config::load_string(kGood, "good.yaml", s);
    EXPECT_THROW(c.get_string("run.seed"), dhs::Error);
    EXPECT_THROW(c.get_int("no.such"), dhs::Error);
}
