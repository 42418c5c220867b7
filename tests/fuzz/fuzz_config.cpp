// fuzz_config: the YAML configuration loader (core/config/config.*) on any text, as `dhs
// config` and `dhs run` use it: Config::load_string against a schema, `--set` overrides, then
// the resolved YAML and its SHA-256. The schema is the `run` section, a `fuzz` section with a
// key of every type (bounds, choices, nesting) and, when DHS_FUZZ_CONFIG_KEYS names the output
// of `dhs config --keys` (scripts/fuzz.sh writes it), every key of the pipeline with its type
// and default, so that the configs/*.yaml seeds load. Text after a line "#--set" gives one
// override per line. A dhs::Error (ConfigError) is the right answer to a bad config; any other
// exception (yaml-cpp's own, say) escapes and is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "core/config/config.hpp"
#include "core/error.hpp"

namespace {

using dhs::config::KeySpec;
using dhs::config::Schema;
using dhs::config::ValueType;

void declare_fuzz_section(Schema& s) {
    s.add({.key = "fuzz.count", .type = ValueType::integer, .description = "an integer in [0, 100]",
           .default_yaml = "3", .min = 0, .max = 100});
    s.add({.key = "fuzz.ratio", .type = ValueType::real, .description = "a number >= 0.1", .default_yaml = "0.5",
           .min = 0.1});
    s.add({.key = "fuzz.flag", .type = ValueType::boolean, .description = "a boolean", .default_yaml = "false"});
    s.add({.key = "fuzz.mode", .type = ValueType::string, .description = "a choice", .default_yaml = "a",
           .choices = {"a", "b", "c"}});
    s.add({.key = "fuzz.name", .type = ValueType::string, .description = "any string", .default_yaml = "''"});
    s.add({.key = "fuzz.bands", .type = ValueType::string_list, .description = "strings from a set",
           .default_yaml = "[g, r]", .choices = {"g", "r", "i", "z"}});
    s.add({.key = "fuzz.edges", .type = ValueType::real_list, .description = "numbers in [-1, 1]",
           .default_yaml = "[0.0, 0.5]", .min = -1, .max = 1});
    s.add({.key = "fuzz.sizes", .type = ValueType::integer_list, .description = "integers >= 1",
           .default_yaml = "[1, 2]", .min = 1});
    s.add({.key = "fuzz.deep.inner.value", .type = ValueType::real, .description = "a nested key",
           .default_yaml = "1"});
}

/// Keys from `dhs config --keys` lines "key  (type[, unit], default YAML)".
void declare_listed_keys(Schema& s, const char* path) {
    std::ifstream in(path);
    const std::regex line_re(R"(^(\S+)  \((.*), default (.*)\)$)");
    const std::vector<std::pair<std::string, ValueType>> types = {
        {"list of strings", ValueType::string_list}, {"list of numbers", ValueType::real_list},
        {"list of integers", ValueType::integer_list}, {"integer", ValueType::integer},
        {"number", ValueType::real}, {"boolean", ValueType::boolean}, {"string", ValueType::string}};
    for (std::string line; std::getline(in, line);) {
        std::smatch m;
        if (!std::regex_match(line, m, line_re) || s.find(m[1]) != nullptr) continue;
        for (const auto& [word, type] : types) {
            if (m[2].str().rfind(word, 0) != 0) continue;
            try {
                s.add({.key = m[1], .type = type, .description = "", .default_yaml = m[3].str()});
            } catch (const dhs::Error&) {  // a default that does not read back: leave the key out
            }
            break;
        }
    }
}

const Schema& schema() {
    static const Schema s = [] {
        Schema x;
        dhs::config::declare_run_section(x);
        declare_fuzz_section(x);
        if (const char* keys = std::getenv("DHS_FUZZ_CONFIG_KEYS")) declare_listed_keys(x, keys);
        return x;
    }();
    return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> overrides;
    if (const auto at = text.find("\n#--set\n"); at != std::string::npos) {
        std::istringstream rest(text.substr(at + 8));
        for (std::string o; std::getline(rest, o);) overrides.push_back(o);
        text.resize(at + 1);
    }
    try {
        dhs::config::Config c = dhs::config::Config::load_string(text, "fuzz.yaml", schema(), overrides);
        (void)c.sha256();
        (void)c.origin_of("run.seed");
        (void)c.get_int("run.seed");
        (void)c.get_strings("run.stages");
        (void)c.get_reals("fuzz.edges");
        (void)c.get_ints("fuzz.sizes");
        c.set("fuzz.name", text.substr(0, 64));
    } catch (const dhs::Error&) {
    }
    return 0;
}
