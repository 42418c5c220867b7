// YAML configuration with a declared schema: every key has a type, a default (or is
// required), a range or a set of choices, and a description. Loading validates every value
// before any work starts; an unknown key, a wrong type or an out-of-range value is a
// ConfigError naming the key, the file and the line. `--set section.key=value` overrides any
// key. Sections are declared by whoever owns them (core declares `run`, stages their own).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dhs::config {

enum class ValueType { integer, real, boolean, string, string_list, real_list, integer_list };

/// @brief Name of a ValueType as the error messages write it ("integer", "list of strings").
const char* type_name(ValueType t);

/// @brief One configuration key: its dotted name ("section.key"), type, default, limits.
struct KeySpec {
    std::string key;
    ValueType type = ValueType::string;
    std::string description;
    std::optional<std::string> default_yaml;  ///< YAML text of the default; nullopt = required
    std::optional<double> min, max;            ///< inclusive bounds for numbers and list items
    std::vector<std::string> choices;          ///< allowed strings (for strings and string lists)
    std::string unit;                           ///< e.g. "arcsec", "deg", "" for none
};

/// @brief The set of keys a program accepts. Keys are added in the order they are listed
/// in the resolved configuration.
class Schema {
public:
    /// @brief Adds a key. @throws Error if the key exists already or its default is invalid.
    Schema& add(KeySpec spec);
    const KeySpec* find(const std::string& key) const;
    bool has_prefix(const std::string& prefix) const;  ///< some key starts with "prefix."
    const std::vector<KeySpec>& keys() const { return keys_; }

private:
    std::vector<KeySpec> keys_;
    std::map<std::string, std::size_t> index_;
};

/// @brief A validated configuration: every schema key has a value.
class Config {
public:
    /// @brief Loads and validates a YAML file, then applies `overrides` ("a.b=value").
    /// @throws ConfigError naming key, file and line; Error if the file cannot be read.
    static Config load_file(const std::string& path, const Schema& schema,
                            const std::vector<std::string>& overrides = {});
    /// @brief Same from YAML text; `origin` names it in errors.
    static Config load_string(const std::string& yaml_text, const std::string& origin, const Schema& schema,
                              const std::vector<std::string>& overrides = {});

    std::int64_t get_int(const std::string& key) const;
    double get_real(const std::string& key) const;
    bool get_bool(const std::string& key) const;
    std::string get_string(const std::string& key) const;
    std::vector<std::string> get_strings(const std::string& key) const;
    std::vector<double> get_reals(const std::string& key) const;
    std::vector<std::int64_t> get_ints(const std::string& key) const;

    /// @brief Where the value of `key` came from: "file:line", "--set" or "default".
    std::string origin_of(const std::string& key) const;

    /// @brief Sets a value after loading (validated like --set). For programs that fill in
    /// derived values (the run directory, say) before writing the resolved config.
    void set(const std::string& key, const std::string& yaml_value, const std::string& origin = "program");

    /// @brief The resolved configuration as YAML, every key, in schema order. This exact text
    /// is written to RUN_DIR/config.yaml and hashed for provenance.
    std::string resolved_yaml() const;
    /// @brief Lower-case hex SHA-256 of resolved_yaml().
    std::string sha256() const;
    const std::string& source_name() const { return source_; }
    const Schema& schema() const { return *schema_; }

private:
    struct Value {
        YAML::Node node;
        std::string origin;
    };
    const Value& value(const std::string& key, ValueType expected) const;
    void assign(const std::string& key, const YAML::Node& node, const std::string& file, int line);

    const Schema* schema_ = nullptr;
    std::string source_;
    std::map<std::string, Value> values_;
};

/// @brief Declares the `run` section every dhs program has (seed, log level, stages...).
void declare_run_section(Schema& schema);

}  // namespace dhs::config
