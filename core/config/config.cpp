// Config loading and validation (see config.hpp).
#include "core/config/config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "core/util/sha256.hpp"

namespace dhs::config {

const char* type_name(ValueType t) {
    switch (t) {
        case ValueType::integer: return "integer";
        case ValueType::real: return "number";
        case ValueType::boolean: return "boolean (true/false)";
        case ValueType::string: return "string";
        case ValueType::string_list: return "list of strings";
        case ValueType::real_list: return "list of numbers";
        case ValueType::integer_list: return "list of integers";
    }
    return "?";
}

namespace {

int line_of(const YAML::Node& n) {
    auto m = n.Mark();
    return m.line >= 0 ? m.line + 1 : 0;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j)
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0u : 1u)});
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

std::string suggestion(const Schema& schema, const std::string& key) {
    // A key that extends or truncates a known one, else the nearest within 3 edits.
    std::string best;
    std::size_t best_d = 4;
    for (const auto& k : schema.keys()) {
        bool prefix = k.key.rfind(key, 0) == 0 || key.rfind(k.key, 0) == 0;
        std::size_t d = prefix ? 0 : edit_distance(k.key, key);
        if (d < best_d) {
            best_d = d;
            best = k.key;
        }
    }
    return best.empty() ? "" : fmt::format(" (did you mean '{}'?)", best);
}

std::string bounds_text(const KeySpec& s) {
    if (s.min && s.max) return fmt::format("in [{}, {}]", *s.min, *s.max);
    if (s.min) return fmt::format(">= {}", *s.min);
    if (s.max) return fmt::format("<= {}", *s.max);
    return "";
}

// Validates one scalar item of a number, string or bool key; throws ConfigError.
void check_item(const KeySpec& s, ValueType item_type, const YAML::Node& n, const std::string& file, int line) {
    auto fail = [&](const std::string& why) { throw_config_error(s.key, file, line, why); };
    if (!n.IsScalar()) fail(fmt::format("expected a {}, got a {}", type_name(item_type),
                                        n.IsSequence() ? "list" : (n.IsMap() ? "mapping" : "null")));
    const std::string& text = n.Scalar();
    switch (item_type) {
        case ValueType::integer: {
            long long v = 0;
            if (!YAML::convert<long long>::decode(n, v))
                fail(fmt::format("'{}' is not an integer", text));
            if ((s.min && static_cast<double>(v) < *s.min) || (s.max && static_cast<double>(v) > *s.max))
                fail(fmt::format("{} is out of range: must be {}", v, bounds_text(s)));
            break;
        }
        case ValueType::real: {
            double v = 0;
            if (!YAML::convert<double>::decode(n, v)) fail(fmt::format("'{}' is not a number", text));
            if (!std::isfinite(v)) fail(fmt::format("'{}' is not a finite number", text));
            if ((s.min && v < *s.min) || (s.max && v > *s.max))
                fail(fmt::format("{} is out of range: must be {}", text, bounds_text(s)));
            break;
        }
        case ValueType::boolean: {
            bool v = false;
            if (!YAML::convert<bool>::decode(n, v)) fail(fmt::format("'{}' is not a boolean (true/false)", text));
            break;
        }
        case ValueType::string: {
            if (!s.choices.empty() && std::find(s.choices.begin(), s.choices.end(), text) == s.choices.end()) {
                std::string all;
                for (const auto& c : s.choices) all += (all.empty() ? "" : ", ") + c;
                fail(fmt::format("'{}' is not one of: {}", text, all));
            }
            break;
        }
        default: fail("internal: bad item type");
    }
}

void check_value(const KeySpec& s, const YAML::Node& n, const std::string& file, int line) {
    if (!n.IsDefined() || n.IsNull()) throw_config_error(s.key, file, line, "has no value");
    auto list_of = [&](ValueType item) {
        if (!n.IsSequence())
            throw_config_error(s.key, file, line, fmt::format("expected a {} (e.g. [a, b])", type_name(s.type)));
        for (const auto& it : n) check_item(s, item, it, file, line > 0 && line_of(it) > 0 ? line_of(it) : line);
    };
    switch (s.type) {
        case ValueType::string_list: list_of(ValueType::string); break;
        case ValueType::real_list: list_of(ValueType::real); break;
        case ValueType::integer_list: list_of(ValueType::integer); break;
        default: check_item(s, s.type, n, file, line);
    }
}

YAML::Node parse_yaml(const std::string& text, const std::string& origin) {
    try {
        return YAML::Load(text);
    } catch (const YAML::Exception& e) {
        throw ConfigError("", origin, e.mark.line + 1,
                          fmt::format("not valid YAML (column {}): {}", e.mark.column + 1, e.msg));
    }
}

}  // namespace

Schema& Schema::add(KeySpec spec) {
    if (index_.count(spec.key)) throw Error("config schema: key '" + spec.key + "' declared twice");
    if (spec.key.find('.') == std::string::npos)
        throw Error("config schema: key '" + spec.key + "' must be 'section.name'");
    if (spec.default_yaml) check_value(spec, parse_yaml(*spec.default_yaml, "schema"), "schema default", 0);
    index_[spec.key] = keys_.size();
    keys_.push_back(std::move(spec));
    return *this;
}

const KeySpec* Schema::find(const std::string& key) const {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &keys_[it->second];
}

bool Schema::has_prefix(const std::string& prefix) const {
    std::string p = prefix + ".";
    auto it = index_.lower_bound(p);
    return it != index_.end() && it->first.compare(0, p.size(), p) == 0;
}

void Config::assign(const std::string& key, const YAML::Node& node, const std::string& file, int line) {
    const KeySpec* s = schema_->find(key);
    if (s == nullptr) throw_config_error(key, file, line, "unknown key" + suggestion(*schema_, key));
    check_value(*s, node, file, line);
    values_[key] = Value{YAML::Clone(node), line > 0 ? fmt::format("{}:{}", file, line) : file};
}

Config Config::load_file(const std::string& path, const Schema& schema, const std::vector<std::string>& overrides) {
    std::ifstream in(path);
    if (!in) throw ConfigError("", path, 0, "cannot be read (missing or not readable)");
    std::stringstream ss;
    ss << in.rdbuf();
    return load_string(ss.str(), path, schema, overrides);
}

Config Config::load_string(const std::string& yaml_text, const std::string& origin, const Schema& schema,
                           const std::vector<std::string>& overrides) {
    Config c;
    c.schema_ = &schema;
    c.source_ = origin;
    YAML::Node root = parse_yaml(yaml_text, origin);
    if (root.IsDefined() && !root.IsNull() && !root.IsMap())
        throw ConfigError("", origin, line_of(root), "the top level must be a mapping of sections");

    // Walk the document: known keys are assigned, known prefixes recursed, the rest rejected.
    std::set<std::string> seen;
    std::function<void(const YAML::Node&, const std::string&)> walk = [&](const YAML::Node& map,
                                                                          const std::string& prefix) {
        for (const auto& kv : map) {
            int line = line_of(kv.first);
            // A key that is a list or a mapping ("? [a, b]: 1") has no name: as<std::string>()
            // would throw yaml-cpp's own exception past every caller (found by fuzzing).
            if (!kv.first.IsScalar())
                throw_config_error(prefix, origin, line,
                                   fmt::format("a key must be a plain name, not a {}",
                                               kv.first.IsSequence() ? "list" : kv.first.IsMap() ? "mapping" : "null"));
            std::string name = kv.first.as<std::string>();
            std::string key = prefix.empty() ? name : prefix + "." + name;
            if (!seen.insert(key).second) throw_config_error(key, origin, line, "given twice");
            if (schema.find(key) != nullptr) {
                c.assign(key, kv.second, origin, line);
            } else if (schema.has_prefix(key)) {
                if (!kv.second.IsMap())
                    throw_config_error(key, origin, line, "is a section: expected a mapping of keys");
                walk(kv.second, key);
            } else {
                throw_config_error(key, origin, line,
                                   (prefix.empty() ? "unknown section" : "unknown key") + suggestion(schema, key));
            }
        }
    };
    if (root.IsMap()) walk(root, "");

    for (const auto& o : overrides) {
        auto eq = o.find('=');
        if (eq == std::string::npos || eq == 0)
            throw_config_error(o, "--set", 0, "expected --set section.key=value");
        c.set(o.substr(0, eq), o.substr(eq + 1), "--set");
    }

    // Defaults for what was not given; required keys must have been given.
    for (const auto& s : schema.keys()) {
        if (c.values_.count(s.key)) continue;
        if (!s.default_yaml) throw_config_error(s.key, origin, 0, "is required but not given");
        c.values_[s.key] = Value{parse_yaml(*s.default_yaml, "schema"), "default"};
    }
    return c;
}

void Config::set(const std::string& key, const std::string& yaml_value, const std::string& origin) {
    if (schema_->find(key) == nullptr) throw_config_error(key, origin, 0, "unknown key" + suggestion(*schema_, key));
    YAML::Node n;
    try {
        n = YAML::Load(yaml_value);
    } catch (const YAML::Exception& e) {
        throw_config_error(key, origin, 0, fmt::format("value '{}' is not valid YAML: {}", yaml_value, e.msg));
    }
    assign(key, n, origin, 0);
}

const Config::Value& Config::value(const std::string& key, ValueType expected) const {
    const KeySpec* s = schema_ ? schema_->find(key) : nullptr;
    if (s == nullptr) throw Error("config: program asked for undeclared key '" + key + "'");
    if (s->type != expected)
        throw Error(fmt::format("config: key '{}' is a {}, read as a {}", key, type_name(s->type), type_name(expected)));
    return values_.at(key);
}

std::int64_t Config::get_int(const std::string& key) const { return value(key, ValueType::integer).node.as<long long>(); }
double Config::get_real(const std::string& key) const { return value(key, ValueType::real).node.as<double>(); }
bool Config::get_bool(const std::string& key) const { return value(key, ValueType::boolean).node.as<bool>(); }
std::string Config::get_string(const std::string& key) const {
    return value(key, ValueType::string).node.as<std::string>();
}
std::vector<std::string> Config::get_strings(const std::string& key) const {
    return value(key, ValueType::string_list).node.as<std::vector<std::string>>();
}
std::vector<double> Config::get_reals(const std::string& key) const {
    return value(key, ValueType::real_list).node.as<std::vector<double>>();
}
std::vector<std::int64_t> Config::get_ints(const std::string& key) const {
    auto v = value(key, ValueType::integer_list).node.as<std::vector<long long>>();
    return {v.begin(), v.end()};
}

std::string Config::origin_of(const std::string& key) const {
    auto it = values_.find(key);
    return it == values_.end() ? "" : it->second.origin;
}

std::string Config::resolved_yaml() const {
    YAML::Emitter out;
    out << YAML::BeginMap;
    // Keys are grouped by section in schema order; deeper dots nest further.
    std::vector<std::string> open;  // currently open path components
    for (const auto& s : schema_->keys()) {
        std::vector<std::string> parts;
        std::stringstream ss(s.key);
        for (std::string p; std::getline(ss, p, '.');) parts.push_back(p);
        std::size_t common = 0;
        while (common < open.size() && common + 1 < parts.size() && open[common] == parts[common]) ++common;
        while (open.size() > common) {
            out << YAML::EndMap;
            open.pop_back();
        }
        for (std::size_t i = common; i + 1 < parts.size(); ++i) {
            out << YAML::Key << parts[i] << YAML::Value << YAML::BeginMap;
            open.push_back(parts[i]);
        }
        out << YAML::Key << parts.back() << YAML::Value;
        const YAML::Node& n = values_.at(s.key).node;
        if (n.IsSequence()) {
            out << YAML::Flow << n;
        } else {
            out << n;
        }
    }
    while (!open.empty()) {
        out << YAML::EndMap;
        open.pop_back();
    }
    out << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

std::string Config::sha256() const { return util::sha256_hex(resolved_yaml()); }

void declare_run_section(Schema& schema) {
    schema.add({.key = "run.seed", .type = ValueType::integer,
                .description = "master random seed: every draw in the pipeline derives from it",
                .default_yaml = "42", .min = 0, .max = 4294967295.0});
    schema.add({.key = "run.stages", .type = ValueType::string_list,
                .description = "stages to run, in order (empty: every stage available)", .default_yaml = "[]"});
    schema.add({.key = "run.log_level", .type = ValueType::string, .description = "log level of every rank",
                .default_yaml = "info", .choices = {"trace", "debug", "info", "warn", "error"}});
    schema.add({.key = "run.progress_interval_s", .type = ValueType::real,
                .description = "seconds between progress log lines on rank 0 when not on a terminal",
                .default_yaml = "10", .min = 0.1, .max = 3600, .unit = "s"});
    schema.add({.key = "run.units_in_flight", .type = ValueType::integer,
                .description = "work units queued per rank, so no rank waits on the scheduler",
                .default_yaml = "2", .min = 1, .max = 64});
    schema.add({.key = "run.gather_buffer_mb", .type = ValueType::integer,
                .description = "rows each rank holds in memory between collective HDF5 writes of the gather",
                .default_yaml = "16", .min = 1, .max = 65536, .unit = "MiB"});
    schema.add({.key = "run.keep_spool", .type = ValueType::boolean,
                .description = "keep each stage's per-unit spool files (the journal) after its HDF5 file is complete",
                .default_yaml = "false"});
}

}  // namespace dhs::config
