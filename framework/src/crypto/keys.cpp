// PublicKey: parsing (PEM, base64 DER SPKI, whpk_) and ECDSA P-256 / Ed25519 verification.
#include "hookd/crypto/keys.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstring>

#include "hookd/crypto/encoding.hpp"

namespace hookd::crypto {
namespace {

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};

std::shared_ptr<EVP_PKEY> own(EVP_PKEY* key) {
  return key ? std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free) : nullptr;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::shared_ptr<EVP_PKEY> from_pem(std::string_view pem) {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return nullptr;
  return own(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
}

std::shared_ptr<EVP_PKEY> from_der(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  auto key = own(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  // Trailing bytes after the SPKI mean it is not the key we were given.
  if (key && p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) return nullptr;
  return key;
}

bool is_p256(EVP_PKEY* key) {
  char group[64] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) != 1) return false;
  std::string_view name(group, len);
  return name == "prime256v1" || name == "P-256" || name == "secp256r1";
}

// A failed parse or verify leaves entries on this thread's OpenSSL error queue; clear them
// so they cannot be mistaken for an error of the next TLS operation on an I/O thread.
struct ClearErrors {
  ~ClearErrors() { ERR_clear_error(); }
};

}  // namespace

std::optional<PublicKey> PublicKey::parse(std::string_view text, std::string& error) {
  ClearErrors clear;
  text = trim(text);
  std::shared_ptr<EVP_PKEY> key;
  if (text.starts_with("whpk_")) {
    auto raw = base64_decode(text.substr(5));
    if (!raw) {
      error = "not valid base64 after whpk_";
      return std::nullopt;
    }
    if (raw->size() != 32) {
      error = "a whpk_ key is a 32-byte Ed25519 public key, got " + std::to_string(raw->size()) +
              " bytes";
      return std::nullopt;
    }
    key = own(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                          reinterpret_cast<const unsigned char*>(raw->data()),
                                          raw->size()));
  } else if (text.starts_with("-----BEGIN")) {
    key = from_pem(text);
    if (!key) {
      error = "not a PEM public key (expected -----BEGIN PUBLIC KEY-----)";
      return std::nullopt;
    }
  } else {
    std::string compact;
    for (char c : text) {
      if (!is_space(c)) compact += c;
    }
    auto der = base64_decode(compact);
    if (!der) {
      error = "not a PEM public key, base64 DER SubjectPublicKeyInfo or whpk_ key";
      return std::nullopt;
    }
    key = from_der(*der);
    if (!key) {
      error = "base64 decodes, but not to a DER SubjectPublicKeyInfo";
      return std::nullopt;
    }
  }
  if (!key) {
    error = "OpenSSL refused the key";
    return std::nullopt;
  }
  if (EVP_PKEY_is_a(key.get(), "ED25519")) return PublicKey(std::move(key), Type::ed25519);
  if (EVP_PKEY_is_a(key.get(), "EC") && is_p256(key.get())) {
    return PublicKey(std::move(key), Type::ec_p256);
  }
  error = std::string("unsupported key type ") + EVP_PKEY_get0_type_name(key.get()) +
          " (expected EC P-256 or Ed25519)";
  return std::nullopt;
}

bool PublicKey::verify(std::span<const std::string_view> message,
                       std::string_view signature) const {
  ClearErrors clear;
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  const auto* sig = reinterpret_cast<const unsigned char*>(signature.data());
  if (type_ == Type::ed25519) {
    if (signature.size() != 64) return false;
    std::size_t total = 0;
    for (auto part : message) total += part.size();
    std::string joined;
    joined.reserve(total);
    for (auto part : message) joined.append(part);
    if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1) return false;
    return EVP_DigestVerify(ctx.get(), sig, signature.size(),
                            reinterpret_cast<const unsigned char*>(joined.data()),
                            joined.size()) == 1;
  }
  if (signature.empty()) return false;
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1) {
    return false;
  }
  for (auto part : message) {
    if (EVP_DigestVerifyUpdate(ctx.get(), part.data(), part.size()) != 1) return false;
  }
  return EVP_DigestVerifyFinal(ctx.get(), sig, signature.size()) == 1;
}

}  // namespace hookd::crypto
