// TokenVerifier: the keys and policy that bearer access tokens are checked against. The
// `bearer` auth item (make_bearer in items.hpp) and the built-in oauth endpoint share it.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/auth/jwt.hpp"
#include "hookd/http/request.hpp"

namespace hookd::auth {

// Verifies JWT access tokens against a fixed set of keys and a policy (algorithms, `iss`,
// `aud`, leeway).
// Thread-safety: immutable after construction; verify() runs on every I/O thread at once.
// Ownership: copies share the (immutable) OpenSSL keys.
class TokenVerifier {
 public:
  TokenVerifier(std::vector<JwtKey> keys, JwtPolicy policy);

  // The keys of a JWKS file whose algorithm `policy` allows. Throws JwtError naming the
  // file when it cannot be read or parsed, or when no key is left.
  static TokenVerifier from_jwks_file(const std::string& path, JwtPolicy policy);

  JwtVerification verify(std::string_view token, std::chrono::system_clock::time_point now) const;

  const std::vector<JwtKey>& keys() const { return keys_; }
  const JwtPolicy& policy() const { return policy_; }

 private:
  std::vector<JwtKey> keys_;
  JwtPolicy policy_;
};

// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive, RFC 6750
// 2.1), or nullopt when there is no such header or the token is empty.
std::optional<std::string_view> bearer_token(const http::Request& request);

}  // namespace hookd::auth
