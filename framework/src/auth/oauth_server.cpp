// OAuthServer: builds the shared state from the `oauth` config (clients, signing keys,
// verifier), issues access tokens, and serves the JWKS of the signing keys.
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <filesystem>
#include <stdexcept>

#include "hookd/crypto/compare.hpp"
#include "hookd/crypto/encoding.hpp"
#include "oauth_internal.hpp"

namespace hookd::auth {
namespace {
namespace json = boost::json;
using State = OAuthServer::State;

const std::string kJwksName = "oauth-jwks";

std::vector<State::Client> hashed_clients(const config::OAuthConfig& config) {
  std::vector<State::Client> out;
  for (const auto& c : config.clients) {
    State::Client client{c.id, {}};
    if (!c.secret.empty()) {
      client.secret_sha256 = crypto::sha256(c.secret.str());
    } else if (auto digest = crypto::hex_decode(c.secret_sha256.str());
               digest && digest->size() == 32) {
      client.secret_sha256 = std::move(*digest);
    } else {
      throw std::runtime_error("oauth client '" + c.id +
                               "': give a secret or its SHA-256 as 64 hex digits");
    }
    out.push_back(std::move(client));
  }
  return out;
}

std::optional<SigningKey> previous_key(const std::string& signing_key) {
  const std::string path = signing_key + ".previous";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  spdlog::info("oauth: {} still verifies tokens (key rotation); delete it after token_ttl", path);
  return SigningKey::load(path);
}

TokenVerifier self_verifier(const State& s) {
  std::vector<JwtKey> keys{s.key.verifier()};
  if (s.previous) keys.push_back(s.previous->verifier());
  JwtPolicy policy;
  policy.algorithms.clear();
  for (const auto& k : keys) policy.algorithms.push_back(k.algorithm);
  policy.issuer = s.issuer;
  policy.audience = s.audience;
  return TokenVerifier(std::move(keys), std::move(policy));
}

std::string jwks_document(const State& s) {
  json::array keys;
  keys.push_back(json::parse(s.key.public_jwk()));
  if (s.previous) keys.push_back(json::parse(s.previous->public_jwk()));
  json::object doc;
  doc["keys"] = std::move(keys);
  return json::serialize(doc);
}

class JwksEndpoint final : public http::Endpoint {
 public:
  explicit JwksEndpoint(std::shared_ptr<const State> state) : state_(std::move(state)) {}
  std::string_view allow() const override { return "GET"; }
  const std::string& name() const override { return kJwksName; }
  boost::asio::awaitable<http::Response> handle(http::Request&) override {
    http::Response r = http::Response::json(200, state_->jwks);
    r.content_type = "application/jwk-set+json";
    r.headers.emplace_back("Cache-Control", "public, max-age=300");
    co_return r;
  }

 private:
  std::shared_ptr<const State> state_;
};

}  // namespace

State::State(const config::OAuthConfig& config, Clock clock_fn, AuthThrottle::Limits limits)
    : token_path(config.token_path),
      jwks_path(config.jwks_path),
      issuer(config.issuer),
      audience(config.audience),
      token_ttl(std::chrono::duration_cast<std::chrono::seconds>(config.token_ttl)),
      clients(hashed_clients(config)),
      key(SigningKey::load_or_create(config.signing_key)),
      previous(previous_key(config.signing_key)),
      verifier(self_verifier(*this)),
      jwks(jwks_document(*this)),
      clock(clock_fn ? std::move(clock_fn) : Clock(&std::chrono::system_clock::now)),
      throttle(limits) {
  if (token_ttl.count() <= 0) throw std::runtime_error("oauth: token_ttl must be at least 1s");
}

const State::Client* State::find_client(std::string_view id) const {
  for (const auto& c : clients) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

std::string State::issue(std::string_view client_id,
                         std::chrono::system_clock::time_point now) const {
  unsigned char nonce[16];
  if (RAND_bytes(nonce, sizeof nonce) != 1) throw std::runtime_error("RAND_bytes failed");
  const std::int64_t iat =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  json::object claims;
  claims["iss"] = issuer;
  claims["sub"] = client_id;
  claims["client_id"] = client_id;  // RFC 9068 2.2
  if (!audience.empty()) claims["aud"] = audience;
  claims["iat"] = iat;
  claims["exp"] = iat + token_ttl.count();
  claims["jti"] = crypto::base64url_encode(
      std::string_view(reinterpret_cast<const char*>(nonce), sizeof nonce));
  return sign_jwt(json::serialize(claims), key.signer(), "at+jwt");
}

OAuthServer::OAuthServer(const config::OAuthConfig& config, Clock clock,
                         AuthThrottle::Limits throttle)
    : state_(std::make_shared<State>(config, std::move(clock), throttle)) {}

OAuthServer::~OAuthServer() = default;
OAuthServer::OAuthServer(OAuthServer&&) noexcept = default;
OAuthServer& OAuthServer::operator=(OAuthServer&&) noexcept = default;

const TokenVerifier& OAuthServer::verifier() const {
  return state_->verifier;
}
const SigningKey& OAuthServer::signing_key() const {
  return state_->key;
}
const std::string& OAuthServer::token_path() const {
  return state_->token_path;
}
const std::string& OAuthServer::jwks_path() const {
  return state_->jwks_path;
}

std::shared_ptr<http::Endpoint> OAuthServer::token_endpoint() const {
  return make_token_endpoint(state_);
}

std::shared_ptr<http::Endpoint> OAuthServer::jwks_endpoint() const {
  return std::make_shared<JwksEndpoint>(state_);
}

std::string OAuthServer::issue_token(std::string_view client_id) const {
  const State::Client* client = state_->find_client(client_id);
  if (client == nullptr) {
    throw std::invalid_argument("oauth: no client '" + std::string(client_id) + "'");
  }
  return state_->issue(client->id, state_->clock());
}

}  // namespace hookd::auth
