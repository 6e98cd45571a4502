// Standard Webhooks signing for `resign:`: webhook-signature "v1,<base64 HMAC-SHA256>" over
// "{id}.{timestamp}.{body}" with the key from a whsec_ secret.
#pragma once

#include <openssl/types.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace hookd::plugins::forward {

// Strict standard-alphabet base64; the padding may be left out. False when invalid.
bool base64_decode(std::string_view text, std::string& out);
std::string base64_encode(std::string_view bytes);

// Thread-safety: sign() is const and may run on many threads at once (each call uses its
// own EVP_MAC_CTX; the fetched EVP_MAC is shared, which OpenSSL allows).
class Signer {
 public:
  // `secret` is "whsec_<base64 key>". Throws std::invalid_argument (never quoting the
  // secret) when the prefix is missing, the base64 is invalid or the key is empty.
  explicit Signer(std::string_view secret);
  ~Signer();
  Signer(const Signer&) = delete;
  Signer& operator=(const Signer&) = delete;

  // "v1,<base64>" for the given message id, unix timestamp (seconds) and body.
  std::string sign(std::string_view id, std::int64_t timestamp, std::string_view body) const;

 private:
  std::string key_;  // raw key bytes, cleansed in the destructor
  EVP_MAC* mac_ = nullptr;
};

}  // namespace hookd::plugins::forward
