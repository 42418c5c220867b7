// Helpers shared by the unit tests (header-only, test code only): paths of the shared data
// tree (DHS_SHARED_DIR, defined for every test by dhs_add_test), a reader of the reference
// CSVs, a private temporary directory, and fitsverify checks of written FITS files.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace dhs::test {

// DHS_SHARED_DIR + "/" + relative.
inline std::string shared_path(const std::string& relative) {
    return std::string(DHS_SHARED_DIR) + "/" + relative;
}

// A shared reference file: DHS_SHARED_DIR/data/real/reference/<name>.
inline std::string reference_path(const std::string& name) {
    return shared_path("data/real/reference/" + name);
}

// Rows of a CSV (empty lines, comment lines starting '#' and the header line skipped), split
// on commas. Throws std::runtime_error when the file cannot be opened.
inline std::vector<std::vector<std::string>> csv_rows(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    std::vector<std::vector<std::string>> rows;
    std::string line;
    bool header = true;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        if (header) {
            header = false;
            continue;
        }
        std::vector<std::string> cells;
        std::stringstream ss(line);
        std::string cell;
        while (std::getline(ss, cell, ',')) cells.push_back(cell);
        rows.push_back(cells);
    }
    return rows;
}

// Rows of a CSV with a header line (no quoting, as the mock sky writes them) as maps column ->
// text. Throws std::runtime_error when the file cannot be opened.
inline std::vector<std::map<std::string, std::string>> csv_records(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    const auto split = [](const std::string& line) {
        std::vector<std::string> out;
        std::stringstream ss(line);
        for (std::string cell; std::getline(ss, cell, ',');) out.push_back(cell);
        return out;
    };
    std::string line;
    std::getline(in, line);
    const auto header = split(line);
    std::vector<std::map<std::string, std::string>> rows;
    while (std::getline(in, line)) {
        const auto cells = split(line);
        std::map<std::string, std::string> row;
        for (std::size_t k = 0; k < header.size() && k < cells.size(); ++k) row[header[k]] = cells[k];
        rows.push_back(std::move(row));
    }
    return rows;
}

// A private temporary directory ::testing::TempDir() + prefix + "XXXXXX" (mkdtemp), removed
// with its contents when the object is destroyed.
class TempDir {
public:
    explicit TempDir(const std::string& prefix) {
        std::string tmpl = ::testing::TempDir() + prefix + "XXXXXX";
        if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
    std::filesystem::path path_;
};

inline constexpr const char* kFitsverify = "/usr/bin/fitsverify";

// fitsverify -q on `path`: "" when it reports no error and no warning, else its output.
// Returns std::nullopt when the program is not installed.
inline std::optional<std::string> fitsverify_problems(const std::string& path) {
    if (!std::filesystem::exists(kFitsverify)) return std::nullopt;
    const std::string cmd = std::string(kFitsverify) + " -q '" + path + "' 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) return "popen failed";
    std::string out;
    char buf[512];
    while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
    const int rc = pclose(p);
    const bool ok = rc == 0 && out.find("verification OK") != std::string::npos &&
                    out.find("warning") == std::string::npos && out.find("error") == std::string::npos;
    return ok ? "" : out.empty() ? "exit status " + std::to_string(rc) : out;
}

}  // namespace dhs::test

// Expects fitsverify to find no problem in `path`; skips the test when it is not installed.
#define EXPECT_FITSVERIFY_OK(path)                                                         \
    do {                                                                                   \
        const auto problems = ::dhs::test::fitsverify_problems(path);                      \
        if (!problems) GTEST_SKIP() << ::dhs::test::kFitsverify << " is not installed";    \
        EXPECT_EQ(*problems, "") << "fitsverify reports problems in " << (path);           \
    } while (0)
