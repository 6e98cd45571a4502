// OAuthServer::Settings: one `oauth` config loaded (clients with hashed secrets, signing
// keys, verification policy), the keys a reload retires, and the tokens it issues.
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "hookd/crypto/compare.hpp"
#include "hookd/crypto/encoding.hpp"
#include "oauth_internal.hpp"

namespace hookd::auth {
namespace {
namespace json = boost::json;
using Settings = OAuthServer::Settings;

std::vector<Settings::Client> hashed_clients(const config::OAuthConfig& config) {
  std::vector<Settings::Client> out;
  for (const auto& c : config.clients) {
    Settings::Client client{c.id, {}, c.routes};
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

}  // namespace

bool Settings::Client::may_use(std::string_view route) const {
  return !routes || std::find(routes->begin(), routes->end(), route) != routes->end();
}

Settings::Settings(const config::OAuthConfig& config)
    : token_path(config.token_path),
      jwks_path(config.jwks_path),
      issuer(config.issuer),
      audience(config.audience),
      token_ttl(std::chrono::duration_cast<std::chrono::seconds>(config.token_ttl)),
      clients(hashed_clients(config)),
      key(SigningKey::load_or_create(config.signing_key)),
      previous(previous_key(config.signing_key)) {
  if (token_ttl.count() <= 0) throw std::runtime_error("oauth: token_ttl must be at least 1s");
  index_keys();
}

void Settings::succeed(const Settings& current, TimePoint now) {
  auto verifies_already = [this](const SigningKey& k) {
    return k.kid() == key.kid() || (previous && k.kid() == previous->kid()) ||
           std::any_of(retired.begin(), retired.end(),
                       [&](const Retired& r) { return r.key.kid() == k.kid(); });
  };
  retired.clear();
  longest_ttl = current.key.kid() == key.kid() ? current.signed_ttl() : std::chrono::seconds(0);
  // The replaced key signed tokens up to now: they live for the longest token_ttl it signed
  // under, and the verifier accepts them for its leeway beyond `exp`.
  if (!verifies_already(current.key)) {
    retired.push_back({current.key, now + current.signed_ttl() + current.policy.leeway});
  }
  for (const auto& r : current.retired) {
    if (r.until > now && !verifies_already(r.key)) retired.push_back(r);
  }
  std::sort(retired.begin(), retired.end(),
            [](const Retired& a, const Retired& b) { return a.until > b.until; });
  index_keys();
}

void Settings::index_keys() {
  keys_.clear();
  jwks_members_.clear();
  auto add = [this](const SigningKey& k) {
    keys_.push_back(k.verifier());
    jwks_members_.push_back(k.public_jwk());
  };
  add(key);
  if (previous) add(*previous);
  for (const auto& r : retired) add(r.key);
  policy = JwtPolicy{};
  policy.algorithms.clear();
  for (const auto& k : keys_) {
    if (std::find(policy.algorithms.begin(), policy.algorithms.end(), k.algorithm) ==
        policy.algorithms.end()) {
      policy.algorithms.push_back(k.algorithm);
    }
  }
  policy.issuer = issuer;
  policy.audience = audience;
  policy.typ = "at+jwt";  // RFC 9068 2.1: what issue() writes
}

std::span<const JwtKey> Settings::keys_at(TimePoint now) const {
  // Retired keys come last, latest `until` first: the keys still valid are a prefix.
  std::size_t n = keys_.size() - retired.size();
  for (const auto& r : retired) {
    if (r.until <= now) break;
    ++n;
  }
  return std::span<const JwtKey>(keys_.data(), n);
}

std::string Settings::jwks_at(TimePoint now) const {
  const std::size_t n = keys_at(now).size();
  std::string doc = R"({"keys":[)";
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0) doc += ',';
    doc += jwks_members_[i];
  }
  doc += "]}";
  return doc;
}

const Settings::Client* Settings::find_client(std::string_view id) const {
  for (const auto& c : clients) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

std::string Settings::issue(std::string_view client_id, TimePoint now) const {
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

}  // namespace hookd::auth
