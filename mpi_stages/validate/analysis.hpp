// Internal to the validation stage: what the reduce computes per comparison (feature AUCs with
// flags, the classifier AUCs, the gates) and how it is reported (the HDF5 tables, the summary
// JSON, the gate table printed by rank 0).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kernels/stats/roc_auc.hpp"
#include "mpi_stages/validate/validate.hpp"

namespace dhs::stages::validate {

/// @brief One feature's separation of the two classes of a comparison.
struct FeatureAuc {
    std::string feature;
    kernels::AucInterval auc;
    std::string level;          ///< green, yellow, red, not_evaluated
    std::string flag;           ///< level, or expected_physics for features that should separate
    bool expected_physics = false;
};

/// @brief One gate: value op threshold.
struct Gate {
    std::string name;
    double value = 0, threshold = 0;
    std::string op;              ///< "<" or "<="
    bool evaluated = false, passed = false;
    std::string note;            ///< why it was not evaluated, or how
    double ci_lower = 0, ci_upper = 0;  ///< classifier gates: the bootstrap interval (NaN otherwise)
    std::int64_t n_train = 0, n_test = 0;
};

/// @brief Everything the reduce found for one comparison.
struct ComparisonResult {
    Comparison def;
    bool available = false;
    std::string reason;          ///< why it is not available
    std::int64_t n_positive = 0, n_negative = 0, n_positive_ok = 0, n_negative_ok = 0;
    std::int64_t n_stamps = 0, n_stamps_ok = 0;  ///< every stamp of the source (all classes)
    std::string classifier_split;  ///< split_column, hashed or none
    std::vector<Gate> gates;
    std::vector<FeatureAuc> features;
    bool passed = false;           ///< every gate evaluated and passed
};

/// @brief Totals over /metrics for the summary.
struct Totals {
    std::int64_t cutouts = 0, positives = 0, negatives = 0, hosts = 0;
    std::int64_t injections_total = 0, injections = 0, controls = 0;
    std::int64_t stamps = 0, quality_ok = 0;
    std::map<std::string, std::int64_t> reasons;  ///< failure reason -> stamps
};

/// @brief The comparison the summary's top level reports (seed 001's single-comparison
/// layout): real when it has stamps of both classes, else injection when available, else the
/// first available one; null when none is.
const ComparisonResult* primary_comparison(const std::vector<ComparisonResult>& results);

/// @brief The summary JSON (seed 001 section 5 schema, extended; docs/validation.md).
nlohmann::ordered_json summary_json(const Params& p, const engine::StageContext& ctx,
                                    const std::vector<ComparisonResult>& results, const Totals& totals,
                                    const std::string& timestamp);
/// @brief Rank 0: writes /shortcut_auc, /gates and /comparisons into the stage file.
void write_result_tables(const std::string& path, const std::vector<ComparisonResult>& results, bool passed,
                         const std::string& primary);
/// @brief The gate table and the flagged features, as the log prints them (one string per line).
std::vector<std::string> gate_table_lines(const std::vector<ComparisonResult>& results);

}  // namespace dhs::stages::validate
