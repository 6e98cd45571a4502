// The shared state of the built-in OAuth server, between oauth_server.cpp (construction,
// JWKS endpoint) and oauth_token.cpp (the token endpoint). Private to src/auth.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hookd/auth/oauth.hpp"

namespace hookd::auth {

struct OAuthServer::State {
  struct Client {
    std::string id;
    std::string secret_sha256;  // 32 bytes; the plain secret is never kept
  };

  State(const config::OAuthConfig& config, Clock clock, AuthThrottle::Limits limits);

  std::string token_path;
  std::string jwks_path;
  std::string issuer;
  std::string audience;
  std::chrono::seconds token_ttl{3600};
  std::vector<Client> clients;
  SigningKey key;
  std::optional<SigningKey> previous;  // verify-only, during a rotation
  TokenVerifier verifier;
  std::string jwks;  // the JWKS document served at jwks_path
  Clock clock;
  AuthThrottle throttle;

  const Client* find_client(std::string_view id) const;
  // The signed access token of `client_id` issued at `now`.
  std::string issue(std::string_view client_id, std::chrono::system_clock::time_point now) const;
};

std::shared_ptr<http::Endpoint> make_token_endpoint(std::shared_ptr<OAuthServer::State> state);

}  // namespace hookd::auth
