// The search stage's parts (stage `search`): its parameters, the targets (the sample's pool and
// known lenses, filtered by magnitude, type, LRG selection and HEALPix cell), the candidates
// (the highest-scoring targets) and their crossmatch with the lens catalogue, and the true
// lenses' ranks on a mock sky. search_stage.cpp composes them with the cutout stage's cutting
// and the scoring stages' inference.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/config/config.hpp"
#include "mpi_stages/cutouts/cutouts.hpp"
#include "mpi_stages/score/inference.hpp"

namespace dhs::stages::search {

/// @brief Which targets are searched (on top of search.target_sets).
struct TargetCuts {
    double max_mag_z = 99;
    std::vector<std::string> types;     ///< empty: every type
    std::string lrg_variant;            ///< "" or v1..v5
    std::vector<std::int64_t> healpix_64;  ///< empty: every cell
};

struct Params {
    cutouts::Params cut;                ///< cutouts.* with target_sets = search.target_sets
    TargetCuts cuts;
    score::InferenceParams inference;   ///< search.model / device / learners / threads / batch_size
    double top_fraction = 1e-4, threshold = -1, known_lens_radius_arcsec = 5;
    std::int64_t max_candidates = 10000;
    std::string truth_file;             ///< "" when there is no truth table
};

/// @throws ConfigError naming the key.
Params read_params(const config::Config& c, const std::string& run_dir);

/// @brief The targets that pass the cuts, with their home bricks (cutouts::list_targets, then
/// the cuts on the sample's columns). @throws Error / DataError naming the file and column.
std::vector<cutouts::TargetRef> searched_targets(const Params& p);

/// @brief The candidates among n scores: the ceil(top_fraction x n) highest p_lens (at least one
/// when top_fraction > 0 and n > 0) and every p_lens >= threshold (threshold >= 0), at most
/// max_candidates, highest first (ties: lower row first). Pure. @returns row indices.
std::vector<std::int64_t> choose_candidates(const std::vector<float>& p_lens, double top_fraction, double threshold,
                                            std::int64_t max_candidates);

/// @brief The 1-based rank of every row by p_lens (highest first; ties: lower row first). Pure.
std::vector<std::int64_t> ranks_by_score(const std::vector<float>& p_lens);

/// @brief A catalogued lens near a position: its index into the catalogue and separation.
struct LensMatch {
    std::int64_t index = -1;  ///< -1: none within the radius
    double sep_arcsec = 0;
};
/// @brief The nearest of the lenses (ra, dec in degrees) within `radius_arcsec` of every
/// position (kernels::SkyIndex). Pure.
std::vector<LensMatch> nearest_lenses(const std::vector<double>& ra, const std::vector<double>& dec,
                                      const std::vector<double>& lens_ra, const std::vector<double>& lens_dec,
                                      double radius_arcsec);

}  // namespace dhs::stages::search
