// The geometry of a stamp file: the side and the bands of its (N, bands, S, S) image dataset.
// Only the stage that cuts stamps has a stamp-size key (cutouts.stamp_size); every stage that
// reads stamps takes their side and bands from its input file, so it cannot disagree with it.
#pragma once

#include <string>
#include <vector>

namespace dhs::stages {

struct StampGeometry {
    int size = 0;                    ///< S, odd (the target's pixel is the centre)
    std::vector<std::string> bands;  ///< in stamp order
};

/// @brief The comma-joined band list the `bands` attribute of an image dataset holds.
std::string join_bands(const std::vector<std::string>& bands);

/// @brief The geometry of dataset `image` of `file`: S from its shape, the bands from its
/// `bands` attribute (g, r, z when the attribute is absent, SPEC's stamp layout).
/// @throws DataError naming the file and dataset when it is missing, not (N, B, S, S) with S odd,
/// or its `bands` attribute does not name B bands.
StampGeometry read_stamp_geometry(const std::string& file, const std::string& image);

}  // namespace dhs::stages
