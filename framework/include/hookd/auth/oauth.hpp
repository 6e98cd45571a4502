// The built-in OAuth 2.0 authorization server: the client-credentials token endpoint
// (RFC 6749 4.4), the JWKS of its signing key, and the verifier of the tokens it issues.
// See docs/security.md ("Bearer tokens and the OAuth endpoint").
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hookd/auth/bearer.hpp"
#include "hookd/auth/jwt.hpp"
#include "hookd/auth/throttle.hpp"
#include "hookd/config/config.hpp"
#include "hookd/http/router.hpp"

namespace hookd::auth {

// The token signer's key: a PEM private key file, EC P-256 (ES256) or Ed25519 (EdDSA).
// Immutable; copies share the OpenSSL key; safe to use from several threads.
class SigningKey {
 public:
  // Loads the key at `path`; when the file does not exist, creates an EC P-256 key there
  // first (mode 0600, parent directories created, never replacing a file that appeared
  // meanwhile). Throws std::runtime_error naming the file when it cannot be read, parsed
  // or written, or holds another kind of key.
  static SigningKey load_or_create(const std::string& path);
  // Loads only; a missing file is an error too.
  static SigningKey load(const std::string& path);

  const JwtKey& signer() const { return signer_; }      // the private key, with the kid
  const JwtKey& verifier() const { return verifier_; }  // the public half, same kid
  // RFC 7638 JWK thumbprint of the public key: stable across restarts.
  const std::string& kid() const { return signer_.kid; }
  // The public JWK: {"kty","crv","x",("y"),"kid","alg","use":"sig"}, as JSON text.
  const std::string& public_jwk() const { return public_jwk_; }

 private:
  SigningKey(JwtKey signer, JwtKey verifier, std::string public_jwk)
      : signer_(std::move(signer)),
        verifier_(std::move(verifier)),
        public_jwk_(std::move(public_jwk)) {}
  JwtKey signer_;
  JwtKey verifier_;
  std::string public_jwk_;
};

// `application/x-www-form-urlencoded` (the WHATWG/HTML rules: `+` is a space, %XX a byte).
// nullopt on a malformed escape.
std::optional<std::string> form_urldecode(std::string_view text);
// The name/value pairs in order, duplicates kept; nullopt on a malformed escape.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_form(std::string_view body);

// How the token endpoint throttles failed client authentications.
struct OAuthThrottling {
  // Failed client authentications per presented client id from one source: 5 in a row,
  // then one more try per 12 s (5 a minute).
  Throttle::Limits strict{5, std::chrono::seconds(12), 100'000};
  // Per client id over all sources, and per source over all ids
  // (server.limits.auth_throttle.credential_*): ceilings that only many sources failing
  // together (or one source spraying many ids) reach.
  Throttle::Limits client{1000, std::chrono::milliseconds(100), 100'000};
  unsigned ipv6_prefix = 48;  // server.limits.ipv6_prefix
  // Called (on an I/O thread) for each request refused by the client-wide ceiling.
  std::function<void()> on_client_throttled;
};

// The authorization server of the `oauth` config section.
// Reload: prepare() loads a new `oauth` config next to the running one, apply() switches to
// it at once for the token endpoint, the JWKS and the verifier, whatever router they were
// reached through. A changed signing key signs from then on; the one it replaces stays in
// the JWKS and keeps verifying for the old token_ttl (the life of the tokens it signed). The
// throttle's counters survive.
// Ownership: the endpoints and the verifier share the server's state and keep it alive while
// a router or chain holds them; the OAuthServer itself may go away before them.
// Thread-safety: the endpoints and the verifier may run on every I/O thread at once, and
// concurrently with prepare()/apply(); prepare()/apply() from one thread at a time.
class OAuthServer {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;
  struct Settings;  // one loaded `oauth` config (oauth_internal.hpp)
  struct Core;      // what the endpoints and the verifier share (oauth_internal.hpp)

  // Loads (or creates) the signing key, and `signing_key + ".previous"` when that file
  // exists (verified and published, never used to sign: see the rotation docs). Throws
  // std::runtime_error naming the file on a bad key. `clock` defaults to the system clock.
  using Throttling = OAuthThrottling;
  explicit OAuthServer(const config::OAuthConfig& config, Clock clock = {},
                       Throttling throttling = {});
  ~OAuthServer();
  OAuthServer(OAuthServer&&) noexcept;
  OAuthServer& operator=(OAuthServer&&) noexcept;

  // A reload in two steps, so that nothing changes when another part of the new config
  // fails: prepare() loads `config` (keys, clients) and throws std::runtime_error as the
  // constructor does, without changing anything; apply() switches to it and returns a
  // one-line summary of what changed for the log (client ids, key ids, never a secret),
  // empty when nothing did.
  std::shared_ptr<Settings> prepare(const config::OAuthConfig& config) const;
  std::string apply(std::shared_ptr<Settings> next);
  std::string reload(const config::OAuthConfig& config) { return apply(prepare(config)); }

  // Verifies the tokens this server issues (`bearer: {issuer: self}`), always against the
  // current config; shared by the chains that use it.
  std::shared_ptr<const SelfIssuedVerifier> verifier() const;
  // The key that signs now (a copy sharing the OpenSSL key).
  SigningKey signing_key() const;

  // POST token_path: the client-credentials grant. name() "oauth-token".
  std::shared_ptr<http::Endpoint> token_endpoint() const;
  // GET jwks_path: {"keys":[...]}. name() "oauth-jwks".
  std::shared_ptr<http::Endpoint> jwks_endpoint() const;

  // A signed access token for a configured client, without asking for its secret (for
  // `hookd sign`, which already holds the config). Throws std::invalid_argument for an
  // unknown client.
  std::string issue_token(std::string_view client_id) const;

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace hookd::auth
