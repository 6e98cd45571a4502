// Public keys for signature verification (ECDSA P-256 with SHA-256, Ed25519), parsed from
// PEM SPKI, base64 DER SPKI or `whpk_<base64 raw Ed25519 key>`, over EVP_DigestVerify.
#pragma once

#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

struct evp_pkey_st;  // OpenSSL's EVP_PKEY, kept out of this header

namespace hookd::crypto {

// An immutable public key. Owns one reference to an EVP_PKEY (freed with the last copy).
//
// Thread-safety: verify() is const and may run on many threads at once; each call uses
// its own EVP_MD_CTX, and OpenSSL 3 allows sharing an EVP_PKEY that nobody modifies.
class PublicKey {
 public:
  enum class Type { ec_p256, ed25519 };

  // Accepts, after trimming surrounding whitespace:
  //   - PEM "-----BEGIN PUBLIC KEY-----" (SubjectPublicKeyInfo),
  //   - base64 of the DER SubjectPublicKeyInfo (line breaks inside are ignored),
  //   - whpk_<base64 of the raw 32-byte Ed25519 public key> (Standard Webhooks).
  // Only EC P-256 and Ed25519 keys are accepted. On failure returns nullopt and sets
  // `error` to a short reason (it never quotes the input).
  static std::optional<PublicKey> parse(std::string_view text, std::string& error);

  Type type() const { return type_; }

  // ECDSA P-256: `signature` is DER (r, s); the message is hashed with SHA-256 and fed in
  // pieces. Ed25519: `signature` is the raw 64 bytes; Ed25519 cannot stream, so the pieces
  // are concatenated first (one copy of the message). False on any mismatch or malformed
  // signature; never throws for bad input.
  bool verify(std::span<const std::string_view> message, std::string_view signature) const;
  bool verify(std::initializer_list<std::string_view> message, std::string_view signature) const {
    return verify(std::span<const std::string_view>(message.begin(), message.size()), signature);
  }

 private:
  PublicKey(std::shared_ptr<evp_pkey_st> key, Type type) : key_(std::move(key)), type_(type) {}
  std::shared_ptr<evp_pkey_st> key_;
  Type type_;
};

}  // namespace hookd::crypto
