// SHA-256 against the official vectors in the shared reference file (same inputs as XXH64).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <xxhash.h>

#include <cstdio>

#include "core/util/sha256.hpp"

TEST(Sha256, KnownVectors) {
    EXPECT_EQ(dhs::util::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(dhs::util::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    // The split hash of SPEC Stage 1 hashes "{healpix_128}_{seed}".
    dhs::util::Sha256 h;
    auto a = dhs::util::to_hex(h.digest("12345_42"));
    auto b = dhs::util::to_hex(h.digest("12345_42"));  // context reuse gives the same digest
    EXPECT_EQ(a, b);
    EXPECT_EQ(a, dhs::util::sha256_hex("12345_42"));
}

// The shared file holds xxHash's official sanity vectors and the SHA-256 of the same
// inputs; the input is the first LEN bytes of a generated buffer (formula in its header).
TEST(Sha256, SharedReferenceVectors) {
    std::ifstream in(std::string(DHS_SHARED_DIR) + "/data/real/reference/xxhash_sanity_vectors.csv");
    ASSERT_TRUE(in) << "missing shared reference file";
    std::string buffer(4096, '\0');
    std::uint64_t g = 2654435761ULL;
    for (auto& c : buffer) {
        c = static_cast<char>((g >> 56) & 0xFF);
        g *= 11400714785074694797ULL;
    }
    std::string line;
    int checked = 0;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#' || line.rfind("algo,", 0) == 0) continue;
        std::vector<std::string> f;
        std::stringstream fs(line);
        for (std::string x; std::getline(fs, x, ',');) f.push_back(x);
        ASSERT_EQ(f.size(), 5u) << line;
        std::size_t len = std::stoul(f[1]);
        ASSERT_LE(len, buffer.size());
        std::string_view input(buffer.data(), len);
        std::string text;  // rows "XXH64_STR:'abc'" hash the quoted string instead
        if (auto q = f[0].find(":'"); q != std::string::npos) {
            text = f[0].substr(q + 2, f[0].size() - q - 3);
            input = text;
            f[0] = f[0].substr(0, f[0].find('_'));
        }
        EXPECT_EQ(dhs::util::sha256_hex(input), f[4]) << line;
        std::uint64_t seed = std::stoull(f[2]);
        char hex[17];
        if (f[0] == "XXH64") {
            std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH64(input.data(), len, seed)));
            EXPECT_EQ(std::string(hex), f[3]) << line;
        } else if (f[0] == "XXH32") {
            std::snprintf(hex, sizeof hex, "%08x", XXH32(input.data(), len, static_cast<std::uint32_t>(seed)));
            EXPECT_EQ(std::string(hex), f[3]) << line;
        }
        ++checked;
    }
    EXPECT_GT(checked, 10);
}
