// OAuthServer: the current Settings behind the token endpoint, the JWKS endpoint and the
// self-issued verifier; a reload swaps them and says what changed.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

#include "hookd/crypto/compare.hpp"
#include "oauth_internal.hpp"

namespace hookd::auth {
namespace {
using Settings = OAuthServer::Settings;
using Core = OAuthServer::Core;

const std::string kJwksName = "oauth-jwks";

class JwksEndpoint final : public http::Endpoint {
 public:
  explicit JwksEndpoint(std::shared_ptr<const Core> core) : core_(std::move(core)) {}
  std::string_view allow() const override { return "GET"; }
  const std::string& name() const override { return kJwksName; }
  boost::asio::awaitable<http::Response> handle(http::Request&) override {
    http::Response r = http::Response::json(200, core_->settings()->jwks_at(core_->clock()));
    r.content_type = "application/jwk-set+json";
    r.headers.emplace_back("Cache-Control", "public, max-age=300");
    co_return r;
  }

 private:
  std::shared_ptr<const Core> core_;
};

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// What a reload changed, for the log: client ids and key ids, never a secret.
std::string describe_changes(const Settings& before, const Settings& after) {
  std::vector<std::string> parts;
  std::vector<std::string> added, removed, secret, routes;
  for (const auto& c : after.clients) {
    const Settings::Client* old = before.find_client(c.id);
    if (old == nullptr) {
      added.push_back(c.id);
      continue;
    }
    if (!crypto::constant_time_equal(old->secret_sha256, c.secret_sha256)) secret.push_back(c.id);
    if (old->routes != c.routes) routes.push_back(c.id);
  }
  for (const auto& c : before.clients) {
    if (after.find_client(c.id) == nullptr) removed.push_back(c.id);
  }
  if (!added.empty()) parts.push_back("clients added: " + join(added));
  if (!removed.empty())
    parts.push_back("clients removed (their tokens are refused): " + join(removed));
  if (!secret.empty()) parts.push_back("new secret for: " + join(secret));
  if (!routes.empty()) parts.push_back("new routes for: " + join(routes));
  if (before.issuer != after.issuer) {
    parts.push_back("issuer changed (tokens with the old one are refused)");
  }
  if (before.audience != after.audience) parts.push_back("audience changed");
  if (before.token_ttl != after.token_ttl) {
    parts.push_back("token_ttl " + std::to_string(before.token_ttl.count()) + "s -> " +
                    std::to_string(after.token_ttl.count()) + "s");
  }
  if (before.token_path != after.token_path || before.jwks_path != after.jwks_path) {
    parts.push_back("endpoint paths changed");
  }
  if (before.key.kid() != after.key.kid()) {
    std::string part = "signing key " + before.key.kid() + " -> " + after.key.kid();
    if (std::any_of(after.retired.begin(), after.retired.end(),
                    [&](const Settings::Retired& r) { return r.key.kid() == before.key.kid(); })) {
      part += " (the old key verifies for " + std::to_string(before.token_ttl.count()) + "s more)";
    }
    parts.push_back(part);
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

}  // namespace

Core::Core(std::shared_ptr<const Settings> settings, Clock clock_fn, Throttling throttling_in)
    : clock(clock_fn ? std::move(clock_fn) : Clock(&std::chrono::system_clock::now)),
      throttling(std::move(throttling_in)),
      throttle(throttling.strict),
      client_throttle(throttling.client),
      settings_(std::move(settings)) {}

std::shared_ptr<const Settings> Core::settings() const {
  std::lock_guard lock(mutex_);
  return settings_;
}

void Core::publish(std::shared_ptr<const Settings> next) {
  std::lock_guard lock(mutex_);
  settings_.swap(next);
  // The old Settings is released outside the lock (by `next`), or later by the last
  // request that still holds it.
}

JwtVerification Core::verify(std::string_view token, std::string_view audience,
                             std::string_view route,
                             std::chrono::system_clock::time_point now) const {
  auto s = settings();
  JwtVerification v = verify_jwt(token, s->keys_at(now), s->policy, now);
  // The loader refuses a route audience other than oauth.audience, which is in every
  // token; should one come from a config built another way, it matches no token.
  if (v.ok() && !audience.empty() && audience != s->policy.audience) {
    v.status = JwtStatus::wrong_audience;
  }
  if (!v.ok()) return v;
  // A token outlives the config it was issued under: its client must still be configured
  // (a reload may have revoked it) and allowed on this route.
  const Settings::Client* client = s->find_client(v.client_id);
  if (client == nullptr) {
    v.status = JwtStatus::unknown_client;
  } else if (!client->may_use(route)) {
    v.status = JwtStatus::route_not_allowed;
  }
  return v;
}

OAuthServer::OAuthServer(const config::OAuthConfig& config, Clock clock, Throttling throttling)
    : core_(std::make_shared<Core>(std::make_shared<const Settings>(config), std::move(clock),
                                   std::move(throttling))) {}

OAuthServer::~OAuthServer() = default;
OAuthServer::OAuthServer(OAuthServer&&) noexcept = default;
OAuthServer& OAuthServer::operator=(OAuthServer&&) noexcept = default;

std::shared_ptr<Settings> OAuthServer::prepare(const config::OAuthConfig& config) const {
  return std::make_shared<Settings>(config);
}

std::string OAuthServer::apply(std::shared_ptr<Settings> next) {
  if (next == nullptr) throw std::invalid_argument("OAuthServer::apply: no settings");
  auto current = core_->settings();
  next->succeed(*current, core_->clock());
  std::string changes = describe_changes(*current, *next);
  core_->publish(std::move(next));
  return changes;
}

std::shared_ptr<const SelfIssuedVerifier> OAuthServer::verifier() const {
  return core_;
}

SigningKey OAuthServer::signing_key() const {
  return core_->settings()->key;
}

std::shared_ptr<http::Endpoint> OAuthServer::token_endpoint() const {
  return make_token_endpoint(core_);
}

std::shared_ptr<http::Endpoint> OAuthServer::jwks_endpoint() const {
  return std::make_shared<JwksEndpoint>(core_);
}

std::string OAuthServer::issue_token(std::string_view client_id) const {
  auto s = core_->settings();
  const Settings::Client* client = s->find_client(client_id);
  if (client == nullptr) {
    throw std::invalid_argument("oauth: no client '" + std::string(client_id) + "'");
  }
  return s->issue(client->id, core_->clock());
}

}  // namespace hookd::auth
