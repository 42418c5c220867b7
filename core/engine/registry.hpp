// The string-keyed registry of stages, in pipeline order. A stage compiled out of this
// build (no libtorch, say) is registered as unavailable with the reason, so naming it gives
// a clear error instead of a missing symbol; a stage built into a companion executable (one
// that loads a heavy library the others never need) is registered with that executable's
// name, and a command that runs it re-executes as the companion before anything starts.
// After ADIOS2's core/IO.cpp factory.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/config/config.hpp"
#include "core/engine/stage.hpp"

namespace dhs::engine {

class StageRegistry {
public:
    using Factory = std::function<std::unique_ptr<Stage>()>;
    using ConfigDeclarer = std::function<void(config::Schema&)>;

    /// @brief Registers an available stage with its config section(s). A stage that is not
    /// `in_default_run` (the skeleton) runs only when named in run.stages or --stages.
    void add(const std::string& name, const std::string& summary, Factory factory, ConfigDeclarer declare = {},
             bool in_default_run = true);
    /// @brief Registers a stage that this build lacks; create() throws with `reason`. Its config
    /// keys may still be declared (`declare`), so that one config serves builds with and without it.
    void add_unavailable(const std::string& name, const std::string& summary, const std::string& reason,
                         ConfigDeclarer declare = {});

    /// @brief Registers a stage that runs in the companion executable `executable` (beside
    /// this one): it counts as available and in the default run, but create() throws; the
    /// command must re-execute as the companion first (companion_of says which).
    void add_companion(const std::string& name, const std::string& summary, const std::string& executable,
                       ConfigDeclarer declare = {}, bool in_default_run = true);
    /// @brief The companion executable that runs `name`, or "" when this executable does.
    std::string companion_of(const std::string& name) const;

    bool has(const std::string& name) const;
    bool available(const std::string& name) const;
    /// @brief A new instance. @throws Error naming the stage (unknown, or unavailable + why).
    std::unique_ptr<Stage> create(const std::string& name) const;
    /// @brief Names in pipeline order (available ones only unless `all`).
    std::vector<std::string> names(bool all = false) const;
    /// @brief The stages a run executes when none are named: available and in_default_run.
    std::vector<std::string> default_run() const;
    std::string summary(const std::string& name) const;
    /// @brief Declares every registered stage's config keys in `schema`.
    void declare_config(config::Schema& schema) const;

private:
    struct Entry {
        std::string name, summary, unavailable_reason, companion;
        bool in_default_run = true;
        Factory factory;
        ConfigDeclarer declare;
    };
    const Entry* find(const std::string& name) const;
    std::vector<Entry> entries_;
};

}  // namespace dhs::engine
