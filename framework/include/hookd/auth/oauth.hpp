// The built-in OAuth 2.0 authorization server: the client-credentials token endpoint
// (RFC 6749 4.4), the JWKS of its signing key, and the verifier of the tokens it issues.
// See docs/security.md ("Bearer tokens and the OAuth endpoint").
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "hookd/auth/bearer.hpp"
#include "hookd/auth/jwt.hpp"
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

// Brute-force throttle of client authentication: counts failures per key (a client id, a
// peer address) in a window that opens with the first failure, and blocks a key that
// reached `max_failures` until its window ends. At most `max_entries` keys are kept;
// expired ones go first, then the oldest.
// Thread-safety: every member locks an internal mutex.
class AuthThrottle {
 public:
  using TimePoint = std::chrono::system_clock::time_point;
  struct Limits {
    std::size_t max_failures = 5;
    std::chrono::seconds window{60};
    std::size_t max_entries = 10000;
  };

  AuthThrottle() : AuthThrottle(Limits{}) {}
  explicit AuthThrottle(Limits limits) : limits_(limits) {}

  // How long `key` must wait before it is heard again; zero when it is not blocked.
  std::chrono::seconds retry_after(const std::string& key, TimePoint now) const;
  // Counts one failure; true when the key is blocked from now on.
  bool record_failure(const std::string& key, TimePoint now);
  void forget(const std::string& key);
  std::size_t size() const;

  // The key of a peer address: IPv4 as is, IPv6 by its /64 (one host usually owns the
  // whole prefix), v4-mapped IPv6 as the IPv4 address.
  static std::string peer_key(std::string_view address);

 private:
  struct Entry {
    std::string key;
    TimePoint start;
    std::size_t failures = 0;
  };
  bool expired(const Entry& e, TimePoint now) const;

  Limits limits_;
  mutable std::mutex mutex_;
  std::list<Entry> order_;  // by window start, oldest first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

// `application/x-www-form-urlencoded` (the WHATWG/HTML rules: `+` is a space, %XX a byte).
// nullopt on a malformed escape.
std::optional<std::string> form_urldecode(std::string_view text);
// The name/value pairs in order, duplicates kept; nullopt on a malformed escape.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_form(std::string_view body);

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
  explicit OAuthServer(const config::OAuthConfig& config, Clock clock = {},
                       AuthThrottle::Limits throttle = {});
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
