// SHA-256 through OpenSSL's EVP interface, with the digest context fetched once and reused
// (OpenSSL 3's one-shot SHA256() looks the algorithm up on every call, which dominates when
// hashing millions of short strings). Rank-local; one Sha256 object per thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace dhs::util {

class Sha256 {
public:
    using Digest = std::array<std::uint8_t, 32>;
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    /// @brief Digest of `bytes` in one call (reuses this object's context).
    Digest digest(std::string_view bytes);

    /// @brief Incremental use: reset(), update()..., finish().
    void reset();
    void update(std::string_view bytes);
    Digest finish();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// @brief Lower-case hex of a digest.
std::string to_hex(const Sha256::Digest& d);
/// @brief Lower-case hex SHA-256 of `bytes`.
std::string sha256_hex(std::string_view bytes);

}  // namespace dhs::util
