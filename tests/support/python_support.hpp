// Test helpers (header-only, test code only) that run Debian's /usr/bin/python3 as an
// independent reference (numpy, scikit-learn, jsonschema): whether a module is importable,
// and running a script with arguments to collect its standard output.
#pragma once

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace dhs::test {

inline constexpr const char* kPython = "/usr/bin/python3";

// Runs `command` through the shell; returns its standard output and sets `status` (the exit
// status as pclose reports it).
inline std::string run_command(const std::string& command, int& status) {
    std::string out;
    FILE* p = popen(command.c_str(), "r");
    if (p == nullptr) {
        status = -1;
        return out;
    }
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    status = pclose(p);
    return out;
}

// True when /usr/bin/python3 exists and imports every module named (space-separated).
inline bool python_has(const std::string& modules) {
    if (!std::filesystem::exists(kPython)) return false;
    std::string imports;
    std::string m;
    for (char c : modules + " ") {
        if (c == ' ') {
            if (!m.empty()) imports += "import " + m + ";";
            m.clear();
        } else {
            m += c;
        }
    }
    int status = 0;
    run_command(std::string(kPython) + " -c '" + imports + "' >/dev/null 2>&1", status);
    return status == 0;
}

// Writes `script` to `dir`/name and runs it with `args` (each single-quoted); returns its
// standard output, or nullopt when it exits non-zero (its standard error goes to the test log).
inline std::optional<std::string> run_python(const std::filesystem::path& dir, const std::string& name,
                                             const std::string& script, const std::vector<std::string>& args = {}) {
    const auto path = dir / name;
    {
        std::ofstream f(path);
        f << script;
    }
    std::string cmd = std::string(kPython) + " '" + path.string() + "'";
    for (const auto& a : args) cmd += " '" + a + "'";
    int status = 0;
    std::string out = run_command(cmd, status);
    if (status != 0) return std::nullopt;
    return out;
}

}  // namespace dhs::test
