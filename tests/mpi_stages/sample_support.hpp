// Helpers of the sampling stage's tests (sample_test, sample_real_test, sample_bad_test):
// running dhs and Python, paths, an independent haversine separation, bitwise column equality.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <variant>
#include <vector>

#include "core/table/table.hpp"
#include "tests/support/test_support.hpp"

namespace dhs::test::sample {

namespace fs = std::filesystem;
using dhs::Column;
using dhs::Table;


inline const std::string kDhs = std::string(DHS_BINARY_DIR) + "/apps/dhs/dhs";
inline const std::string kMockConfig = std::string(DHS_SOURCE_DIR) + "/configs/mock_sky_test.yaml";
inline const std::string kConfig = std::string(DHS_SOURCE_DIR) + "/tests/mpi_stages/sample_test.yaml";
inline const std::string kReference = std::string(DHS_SOURCE_DIR) + "/tests/mpi_stages/sample_reference.py";
inline const std::string kPython = "/usr/bin/python3";
inline const std::string kRealDir = std::string(DHS_SHARED_DIR) + "/data/real/desitarget";
inline const std::string kLenscat = std::string(DHS_SHARED_DIR) + "/data/real/lens_catalogs/lenscat/catalog.csv";

struct Result {
    int rc = -1;
    std::string output;
};

// Runs a shell command, capturing stdout and stderr.
inline Result sh(const std::string& cmd) {
    Result r;
    FILE* p = popen((cmd + " 2>&1").c_str(), "r");
    if (p == nullptr) return r;
    char buf[4096];
    while (std::fgets(buf, sizeof buf, p) != nullptr) r.output += buf;
    const int st = pclose(p);
    r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

inline std::string mpirun(int n) {
    return std::string(DHS_MPIEXEC) + " -n " + std::to_string(n) + " " DHS_MPIEXEC_PREFLAGS " ";
}

inline bool python_has(const std::string& modules) {
    return fs::exists(kPython) && sh(kPython + " -c 'import " + modules + "'").rc == 0;
}

// Haversine separation in arcsec (independent of the stage's chord arithmetic).
inline double haversine_arcsec(double ra1, double dec1, double ra2, double dec2) {
    const double d = M_PI / 180;
    const double s1 = std::sin((dec2 - dec1) * d / 2), s2 = std::sin((ra2 - ra1) * d / 2);
    const double h = s1 * s1 + std::cos(dec1 * d) * std::cos(dec2 * d) * s2 * s2;
    return 2 * std::asin(std::min(1.0, std::sqrt(h))) / d * 3600;
}

struct LensRow {
    double ra, dec;
};
inline std::vector<LensRow> lenscat_positions(const std::string& path) {
    std::vector<LensRow> out;
    for (const auto& r : dhs::test::csv_rows(path)) out.push_back({std::stod(r[1]), std::stod(r[2])});
    return out;
}

// Bitwise equality of two columns (NaN equals NaN of the same bits).
inline bool same(const Column& a, const Column& b) {
    if (a.dtype() != b.dtype() || a.num_rows() != b.num_rows() || a.shape() != b.shape()) return false;
    return std::visit(
        [&](const auto& va) {
            using V = std::decay_t<decltype(va)>;
            const auto& vb = std::get<V>(b.storage());
            if constexpr (std::is_same_v<typename V::value_type, std::string>) return va == vb;
            else return va.size() == vb.size() && (va.empty() || std::memcmp(va.data(), vb.data(), va.size() * sizeof(va[0])) == 0);
        },
        a.storage());
}

}  // namespace dhs::test::sample
