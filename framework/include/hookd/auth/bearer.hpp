// TokenVerifier: the keys and policy that bearer access tokens are checked against, and
// SelfIssuedVerifier, what `bearer: {issuer: self}` asks of the built-in oauth endpoint.
// The `bearer` auth item (make_bearer in items.hpp) uses both.
#pragma once

#include <chrono>
#include <memory>
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

// The tokens of the built-in oauth endpoint (auth/oauth.hpp), checked against its config as
// it is at the moment of the call: a reload (SIGHUP) changes its keys, clients and audience,
// and chains built before it see the change.
// Thread-safety: verify() runs on every I/O thread at once.
// Ownership: shared (std::shared_ptr) by the chains and the endpoint, so that a router still
// answering a request after a reload keeps what it uses alive.
class SelfIssuedVerifier {
 public:
  virtual ~SelfIssuedVerifier() = default;
  // Signature (a current key, or a retired one until its tokens expired), `typ` at+jwt,
  // `exp`, `iss`, `aud` (`audience` when not empty, else the endpoint's), and the token's
  // `client_id` still a configured client that may use `route`.
  virtual JwtVerification verify(std::string_view token, std::string_view audience,
                                 std::string_view route,
                                 std::chrono::system_clock::time_point now) const = 0;
};

// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive, RFC 6750
// 2.1), or nullopt when there is no such header or the token is empty.
std::optional<std::string_view> bearer_token(const http::Request& request);

}  // namespace hookd::auth
