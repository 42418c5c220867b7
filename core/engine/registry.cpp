// StageRegistry and the default members of Stage (see registry.hpp, stage.hpp).
#include "core/engine/registry.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/error.hpp"
#include "core/mpi/comm.hpp"

namespace dhs::engine {

void Stage::reduce(const StageContext&, const mpi::Comm&, const std::string&) const {}

std::vector<float> Stage::serve(std::span<const std::int64_t>, std::span<const float>, const StageContext&) const {
    throw Error("stage '" + name() + "' has serving ranks but does not serve requests");
}

UnitOutput CollectiveStage::process(const WorkUnit& unit, const StageContext&) const {
    throw Error("stage '" + name() + "' is collective: it has no work units (asked for '" + unit.id + "')");
}

std::int64_t Stage::memory_per_unit(const WorkUnit& unit, const StageContext& ctx) const {
    std::int64_t bytes_per_row = 0;
    for (const auto& g : output_groups(ctx))
        for (const auto& c : g.schema.columns())
            bytes_per_row += static_cast<std::int64_t>(c.cell_size() * (c.dtype() == DType::string ? 32 : dtype_size(c.dtype())));
    return 2 * unit.rows_out * bytes_per_row;
}

std::optional<StageEstimate> Stage::estimate(const StageContext& ctx, const PlanEstimates&,
                                             const std::vector<WorkUnit>* plan) const {
    if (plan == nullptr) return std::nullopt;
    StageEstimate e;
    e.units = static_cast<double>(plan->size());
    const auto groups = output_groups(ctx);
    for (const auto& u : *plan) {
        e.bytes_in += static_cast<double>(u.bytes_in);
        if (!groups.empty()) e.rows[groups.front().name] += static_cast<double>(u.rows_out);
        e.memory_per_unit = std::max(e.memory_per_unit, memory_per_unit(u, ctx));
    }
    e.basis = "the plan";
    return e;
}

void StageRegistry::add(const std::string& name, const std::string& summary, Factory factory, ConfigDeclarer declare,
                        bool in_default_run) {
    if (has(name)) throw Error("stage '" + name + "' registered twice");
    entries_.push_back({name, summary, "", "", in_default_run, std::move(factory), std::move(declare)});
}

void StageRegistry::add_unavailable(const std::string& name, const std::string& summary, const std::string& reason,
                                    ConfigDeclarer declare) {
    if (has(name)) throw Error("stage '" + name + "' registered twice");
    entries_.push_back({name, summary, reason, "", false, {}, std::move(declare)});
}

void StageRegistry::add_companion(const std::string& name, const std::string& summary, const std::string& executable,
                                  ConfigDeclarer declare, bool in_default_run) {
    if (has(name)) throw Error("stage '" + name + "' registered twice");
    entries_.push_back({name, summary, "", executable, in_default_run, {}, std::move(declare)});
}

std::string StageRegistry::companion_of(const std::string& name) const {
    const Entry* e = find(name);
    return e != nullptr ? e->companion : "";
}

const StageRegistry::Entry* StageRegistry::find(const std::string& name) const {
    for (const auto& e : entries_)
        if (e.name == name) return &e;
    return nullptr;
}

bool StageRegistry::has(const std::string& name) const { return find(name) != nullptr; }
bool StageRegistry::available(const std::string& name) const {
    const Entry* e = find(name);
    return e != nullptr && e->unavailable_reason.empty();
}

std::unique_ptr<Stage> StageRegistry::create(const std::string& name) const {
    const Entry* e = find(name);
    if (e == nullptr) {
        std::string known;
        for (const auto& x : entries_) known += (known.empty() ? "" : ", ") + x.name;
        throw Error(fmt::format("unknown stage '{}' (this build knows: {})", name, known));
    }
    if (!e->unavailable_reason.empty())
        throw Error(fmt::format("stage '{}' is not available in this build: {}", name, e->unavailable_reason));
    if (!e->companion.empty())
        throw Error(fmt::format("stage '{}' runs in the executable '{}' (beside this one), not in this one", name,
                                e->companion));
    return e->factory();
}

std::vector<std::string> StageRegistry::names(bool all) const {
    std::vector<std::string> out;
    for (const auto& e : entries_)
        if (all || e.unavailable_reason.empty()) out.push_back(e.name);
    return out;
}

std::vector<std::string> StageRegistry::default_run() const {
    std::vector<std::string> out;
    for (const auto& e : entries_)
        if (e.unavailable_reason.empty() && e.in_default_run) out.push_back(e.name);
    return out;
}

std::string StageRegistry::summary(const std::string& name) const {
    const Entry* e = find(name);
    return e ? e->summary : "";
}

void StageRegistry::declare_config(config::Schema& schema) const {
    for (const auto& e : entries_)
        if (e.declare) e.declare(schema);
}

}  // namespace dhs::engine
