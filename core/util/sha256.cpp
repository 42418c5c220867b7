// Sha256: OpenSSL EVP with a cached EVP_MD and a reused EVP_MD_CTX (see sha256.hpp).
#include "core/util/sha256.hpp"

#include <openssl/evp.h>

#include "core/error.hpp"

namespace dhs::util {

struct Sha256::Impl {
    EVP_MD_CTX* ctx = nullptr;
    const EVP_MD* md = nullptr;
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
    impl_->ctx = EVP_MD_CTX_new();
    impl_->md = EVP_sha256();
    if (impl_->ctx == nullptr || impl_->md == nullptr) throw Error("OpenSSL: cannot create a SHA-256 context");
    reset();
}

Sha256::~Sha256() { EVP_MD_CTX_free(impl_->ctx); }

void Sha256::reset() {
    if (EVP_DigestInit_ex(impl_->ctx, impl_->md, nullptr) != 1) throw Error("OpenSSL: EVP_DigestInit_ex failed");
}

void Sha256::update(std::string_view bytes) {
    if (EVP_DigestUpdate(impl_->ctx, bytes.data(), bytes.size()) != 1)
        throw Error("OpenSSL: EVP_DigestUpdate failed");
}

Sha256::Digest Sha256::finish() {
    Digest d{};
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(impl_->ctx, d.data(), &n) != 1 || n != d.size())
        throw Error("OpenSSL: EVP_DigestFinal_ex failed");
    return d;
}

Sha256::Digest Sha256::digest(std::string_view bytes) {
    reset();
    update(bytes);
    return finish();
}

std::string to_hex(const Sha256::Digest& d) {
    static const char* hex = "0123456789abcdef";
    std::string s;
    s.reserve(64);
    for (auto b : d) {
        s.push_back(hex[b >> 4]);
        s.push_back(hex[b & 15]);
    }
    return s;
}

std::string sha256_hex(std::string_view bytes) {
    Sha256 h;
    return to_hex(h.digest(bytes));
}

}  // namespace dhs::util
