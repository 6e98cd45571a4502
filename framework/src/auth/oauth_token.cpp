// The token endpoint (RFC 6749 4.4): the client-credentials grant with client_secret_basic
// or client_secret_post, RFC 6749 5.2 error answers, and the brute-force throttle.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "hookd/crypto/compare.hpp"
#include "hookd/crypto/encoding.hpp"
#include "oauth_internal.hpp"

namespace hookd::auth {
namespace {
namespace json = boost::json;
using Core = OAuthServer::Core;
using Settings = OAuthServer::Settings;

const std::string kName = "oauth-token";

http::Response oauth_error(unsigned status, std::string_view error, std::string_view description) {
  json::object body;
  body["error"] = error;
  if (!description.empty()) body["error_description"] = description;
  http::Response r = http::Response::json(status, json::serialize(body));
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("Pragma", "no-cache");
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"hookd\"");
  return r;
}

// For logs: a client id is whatever the sender wrote, so keep it short and printable.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 64)) out += (c >= 0x20 && c < 0x7f && c != '\\') ? c : '?';
  if (s.size() > 64) out += "...";
  return out;
}

bool is_form(std::string_view content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  while (!content_type.empty() && content_type.back() == ' ') content_type.remove_suffix(1);
  while (!content_type.empty() && content_type.front() == ' ') content_type.remove_prefix(1);
  return http::iequals(content_type, "application/x-www-form-urlencoded");
}

// The token endpoint's body limit: a form with an id and a secret, with room to spare.
constexpr std::size_t kMaxFormBody = 16 * 1024;

// The throttle key of a presented client id: the id itself, or the SHA-256 of a long one
// (the table holds many keys; a client id can be as long as the body).
std::string throttle_key(std::string_view id) {
  if (id.size() <= 64) return "client:" + std::string(id);
  return "client-sha256:" + crypto::hex_encode(crypto::sha256(id));
}

struct Credentials {
  std::string id;
  std::string secret;
};

enum class BasicStatus { not_basic, malformed, ok };

// RFC 6749 2.3.1: the id and secret are form-urlencoded, then joined by ':' and base64'd.
// Many clients skip the url-encoding, so the raw pair is a second candidate when it differs.
BasicStatus parse_basic(std::string_view value, std::vector<Credentials>& out) {
  constexpr std::string_view kScheme = "basic";
  if (value.size() <= kScheme.size() || !http::iequals(value.substr(0, kScheme.size()), kScheme) ||
      value[kScheme.size()] != ' ') {
    return BasicStatus::not_basic;
  }
  value.remove_prefix(kScheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  auto decoded = crypto::base64_decode(value);
  if (!decoded) return BasicStatus::malformed;
  auto colon = decoded->find(':');
  if (colon == std::string::npos || colon == 0) return BasicStatus::malformed;
  std::string raw_id = decoded->substr(0, colon);
  std::string raw_secret = decoded->substr(colon + 1);
  auto id = form_urldecode(raw_id);
  auto secret = form_urldecode(raw_secret);
  if (id && secret && !id->empty()) out.push_back({*id, *secret});
  if (!id || !secret || *id != raw_id || *secret != raw_secret) {
    out.push_back({std::move(raw_id), std::move(raw_secret)});
  }
  return BasicStatus::ok;
}

http::Response respond(Core& core, const http::Request& request) {
  const auto now = core.clock();
  const auto settings = core.settings();  // one config for the whole request
  const Settings& s = *settings;
  auto content_type = request.header("content-type");
  if (!content_type || !is_form(*content_type)) {
    return oauth_error(400, "invalid_request",
                       "the body must be application/x-www-form-urlencoded");
  }
  auto form = parse_form(request.body);
  if (!form) return oauth_error(400, "invalid_request", "malformed form encoding");
  // RFC 6749 3.2: no parameter twice; 3.1: a parameter without a value counts as omitted.
  std::set<std::string, std::less<>> seen;
  std::map<std::string, std::string, std::less<>> params;
  for (auto& [name, value] : *form) {
    if (!seen.insert(name).second) {
      return oauth_error(400, "invalid_request",
                         "parameter '" + printable(name) + "' appears more than once");
    }
    if (!value.empty()) params.emplace(name, std::move(value));
  }
  auto param = [&params](std::string_view name) -> const std::string* {
    auto it = params.find(name);
    return it == params.end() ? nullptr : &it->second;
  };
  const std::string* grant = param("grant_type");
  if (grant == nullptr) return oauth_error(400, "invalid_request", "missing grant_type");
  if (*grant != "client_credentials") {
    return oauth_error(400, "unsupported_grant_type", "only client_credentials is supported");
  }

  // Client authentication: exactly one method (RFC 6749 2.3).
  std::vector<Credentials> candidates;
  std::string_view method = "client_secret_post";
  if (auto authorization = request.header("authorization")) {
    method = "client_secret_basic";
    switch (parse_basic(*authorization, candidates)) {
      case BasicStatus::not_basic:
        return oauth_error(401, "invalid_client", "unsupported client authentication method");
      case BasicStatus::malformed:
        return oauth_error(401, "invalid_client", "malformed Basic credentials");
      case BasicStatus::ok:
        break;
    }
    if (param("client_secret") != nullptr) {
      return oauth_error(400, "invalid_request", "use one client authentication method");
    }
    if (const std::string* id = param("client_id");
        id != nullptr && std::none_of(candidates.begin(), candidates.end(),
                                      [&](const Credentials& c) { return c.id == *id; })) {
      return oauth_error(400, "invalid_request", "client_id differs from the Basic credentials");
    }
  } else {
    const std::string* id = param("client_id");
    const std::string* secret = param("client_secret");
    if (id == nullptr || secret == nullptr) {
      return oauth_error(401, "invalid_client", "client authentication required");
    }
    candidates.push_back({*id, *secret});
  }

  const Settings::Client* client = nullptr;
  for (const auto& c : candidates) client = client ? client : s.find_client(c.id);
  // Every presented id has counters, known or not, so that a 429 does not tell which ids
  // exist (an unknown id is blocked after as many failures as a known one): a strict one
  // per (id, source), so that guessing from one source is slow and cannot lock the client
  // out elsewhere, and far larger ceilings per id over all sources (a lockout takes many
  // sources, and is counted) and per source over all ids (spraying one weak secret).
  const std::string source = Throttle::peer_key(request.peer, core.throttling.ipv6_prefix);
  const std::string peer_key = "peer:" + source;
  const std::string client_key = throttle_key(client ? client->id : candidates.front().id);
  const std::string client_source_key = client_key + "@" + source;
  const auto strict_wait = std::max(core.throttle.retry_after(client_source_key, now),
                                    core.client_throttle.retry_after(peer_key, now));
  const auto client_wait = core.client_throttle.retry_after(client_key, now);
  if (client_wait > strict_wait && core.throttling.on_client_throttled) {
    core.throttling.on_client_throttled();
  }
  auto wait = std::max(strict_wait, client_wait);
  if (wait.count() > 0) {
    spdlog::debug("oauth: throttled a token request for '{}' from {}",
                  printable(candidates.front().id), request.peer);
    http::Response r = oauth_error(429, "temporarily_unavailable",
                                   "too many failed client authentications; retry later");
    r.headers.emplace_back("Retry-After", std::to_string(wait.count()));
    return r;
  }

  // Constant time in the secret: compare SHA-256 digests, also for an unknown client.
  static const std::string kNoClient(32, '\0');
  const Settings::Client* authenticated = nullptr;
  for (const auto& c : candidates) {
    const Settings::Client* known = s.find_client(c.id);
    bool equal = crypto::constant_time_equal(crypto::sha256(c.secret),
                                             known ? known->secret_sha256 : kNoClient);
    if (known && equal && !authenticated) authenticated = known;
  }
  if (authenticated == nullptr) {
    // Each secret form tested is a guess: client_secret_basic tests the url-decoded pair
    // and, when it differs, the raw one.
    bool blocked = false;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      blocked = core.throttle.record_failure(client_source_key, now) || blocked;
      blocked = core.client_throttle.record_failure(client_key, now) || blocked;
      blocked = core.client_throttle.record_failure(peer_key, now) || blocked;
    }
    // One line per second at most: a guesser must not be able to flood the log.
    if (auto suppressed = core.failure_log.admit(now)) {
      spdlog::warn("oauth: client authentication failed for '{}' from {} ({}): {}{}{}",
                   printable(candidates.front().id), request.peer, method,
                   client ? "wrong secret" : "unknown client",
                   blocked ? "; further attempts are refused (429) for a while" : "",
                   *suppressed > 0 ? fmt::format(" ({} more failures since the last line, "
                                                 "not logged)",
                                                 *suppressed)
                                   : std::string());
    }
    return oauth_error(401, "invalid_client", "client authentication failed");
  }
  // The client's counter from this source starts over; its client-wide ceiling does not (a
  // success now and then must not give a distributed guesser a fresh budget).
  core.throttle.forget(throttle_key(authenticated->id) + "@" + source);

  json::object body;
  body["access_token"] = s.issue(authenticated->id, now);
  body["token_type"] = "Bearer";
  body["expires_in"] = s.token_ttl.count();
  spdlog::info("oauth: issued an access token to '{}' from {} ({})", authenticated->id,
               request.peer, method);
  http::Response r = http::Response::json(200, json::serialize(body));
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("Pragma", "no-cache");
  return r;
}

class TokenEndpoint final : public http::Endpoint {
 public:
  explicit TokenEndpoint(std::shared_ptr<Core> core) : core_(std::move(core)) {}
  std::string_view allow() const override { return "POST"; }
  const std::string& name() const override { return kName; }
  // A client-credentials form is a few hundred bytes: a larger body is no token request,
  // and the endpoint has no credentials to check before it (they may be in the body).
  std::optional<std::size_t> body_limit() const override { return kMaxFormBody; }
  // Before the body: a body that is not a form, and a source at its ceiling, are answered
  // without reading (or reserving) anything.
  std::optional<http::Response> admit(const http::Request& head) override {
    auto content_type = head.header("content-type");
    if (!content_type || !is_form(*content_type)) {
      return oauth_error(400, "invalid_request",
                         "the body must be application/x-www-form-urlencoded");
    }
    const std::string peer_key =
        "peer:" + Throttle::peer_key(head.peer, core_->throttling.ipv6_prefix);
    if (auto wait = core_->client_throttle.retry_after(peer_key, core_->clock());
        wait.count() > 0) {
      http::Response r = oauth_error(429, "temporarily_unavailable",
                                     "too many failed client authentications; retry later");
      r.headers.emplace_back("Retry-After", std::to_string(wait.count()));
      return r;
    }
    return std::nullopt;
  }
  boost::asio::awaitable<http::Response> handle(http::Request& request) override {
    co_return respond(*core_, request);  // CPU only: one ECDSA/EdDSA signature at most
  }

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace

std::shared_ptr<http::Endpoint> make_token_endpoint(std::shared_ptr<OAuthServer::Core> core) {
  return std::make_shared<TokenEndpoint>(std::move(core));
}

}  // namespace hookd::auth
