// The state of the built-in OAuth server, shared by oauth_server.cpp (construction, reload,
// JWKS endpoint, verifier) and oauth_token.cpp (the token endpoint). Private to src/auth.
#pragma once

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "hookd/auth/log_limiter.hpp"
#include "hookd/auth/oauth.hpp"

namespace hookd::auth {

// One `oauth` config, loaded: immutable once published by Core::publish().
struct OAuthServer::Settings {
  using TimePoint = std::chrono::system_clock::time_point;
  struct Client {
    std::string id;
    std::string secret_sha256;  // 32 bytes; the plain secret is never kept
    std::optional<std::vector<std::string>> routes;  // nullopt: every route
    bool may_use(std::string_view route) const;
  };
  // A signing key replaced by a reload: verifies (and is published) until `until`.
  struct Retired {
    SigningKey key;
    TimePoint until;
  };

  // Loads the signing keys and hashes the client secrets; throws std::runtime_error.
  explicit Settings(const config::OAuthConfig& config);

  // Takes over from `current` at `now`: its retired keys that still verify, and its signing
  // key when this one differs (until now + its token_ttl). Before publishing.
  void succeed(const Settings& current, TimePoint now);

  const Client* find_client(std::string_view id) const;
  // The keys that verify at `now`: the signing key, the .previous file's, the retired ones
  // whose tokens may still be valid.
  std::span<const JwtKey> keys_at(TimePoint now) const;
  // The JWKS document of keys_at(now).
  std::string jwks_at(TimePoint now) const;
  // The signed access token of `client_id` issued at `now`.
  std::string issue(std::string_view client_id, TimePoint now) const;

  std::string token_path;
  std::string jwks_path;
  std::string issuer;
  std::string audience;
  std::chrono::seconds token_ttl{3600};
  // The longest token_ttl the current key has signed under (a reload may have shortened
  // token_ttl since): how long its tokens may still live when it is replaced.
  std::chrono::seconds longest_ttl{0};
  std::chrono::seconds signed_ttl() const { return std::max(longest_ttl, token_ttl); }
  std::vector<Client> clients;
  SigningKey key;
  std::optional<SigningKey> previous;  // verify-only, during a manual rotation
  std::vector<Retired> retired;        // latest `until` first
  JwtPolicy policy;                    // iss, aud, typ at+jwt, the keys' algorithms

 private:
  void index_keys();
  std::vector<JwtKey> keys_;               // key, previous, then retired's, in that order
  std::vector<std::string> jwks_members_;  // the public JWK of each of keys_
};

// What the endpoints, the verifier and the OAuthServer handle share: the current Settings,
// the clock, the throttle and the log limiter (which a reload keeps).
struct OAuthServer::Core final : SelfIssuedVerifier {
  Core(std::shared_ptr<const Settings> settings, Clock clock, Throttling throttling);

  std::shared_ptr<const Settings> settings() const;
  void publish(std::shared_ptr<const Settings> next);

  JwtVerification verify(std::string_view token, std::string_view audience, std::string_view route,
                         std::chrono::system_clock::time_point now) const override;

  const Clock clock;
  const Throttling throttling;
  Throttle throttle;         // per (client id, source): throttling.strict
  Throttle client_throttle;  // per client id, and per source: throttling.client
  LogLimiter failure_log{std::chrono::seconds(1)};  // failed client authentications

 private:
  mutable std::mutex mutex_;  // guards settings_ (the pointer, not what it points to)
  std::shared_ptr<const Settings> settings_;
};

std::shared_ptr<http::Endpoint> make_token_endpoint(std::shared_ptr<OAuthServer::Core> core);

}  // namespace hookd::auth
