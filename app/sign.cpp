// `hookd sign --route R [--body FILE]`: the headers a sender would attach to pass the
// route's auth chain, made with the secrets the config holds, and a ready curl line.
#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "commands.hpp"
#include "config_file.hpp"
#include "hookd/auth/oauth.hpp"
#include "hookd/config/address.hpp"
#include "hookd/crypto/compare.hpp"
#include "hookd/crypto/encoding.hpp"
#include "hookd/crypto/hmac.hpp"
#include "hookd/ingest/extract.hpp"

namespace hookd::app {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Signed {
  Headers headers;
  std::string query;  // appended to the path (twilio JSON bodies)
};

std::string now_unix() {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
}

std::string mac(crypto::MacAlgorithm alg, const std::string& key,
                std::initializer_list<std::string_view> parts) {
  return std::string(crypto::HmacKey(alg, key).mac(parts).view());
}

// application/x-www-form-urlencoded pairs sorted as Twilio signs them.
std::string twilio_params(const std::string& body) {
  auto pairs = auth::parse_form(body);
  if (!pairs) throw std::runtime_error("the body is not valid form data");
  std::sort(pairs->begin(), pairs->end());
  std::string out;
  for (const auto& [k, v] : *pairs) out += k + v;
  return out;
}

std::optional<Signed> sign_hmac(const config::HmacAuthConfig& h, const std::string& body,
                                const std::string& content_type) {
  using A = crypto::MacAlgorithm;
  const std::string& secret = h.secrets.front().str();
  std::string ts = now_unix();
  Signed out;
  if (h.scheme == "github") {
    out.headers = {
        {"X-Hub-Signature-256", "sha256=" + crypto::hex_encode(mac(A::sha256, secret, {body}))},
        {"X-GitHub-Delivery", ingest::generate_event_id()},
        {"X-GitHub-Event", "ping"}};
  } else if (h.scheme == "stripe") {
    out.headers = {
        {"Stripe-Signature",
         "t=" + ts + ",v1=" + crypto::hex_encode(mac(A::sha256, secret, {ts, ".", body}))}};
  } else if (h.scheme == "standard-webhooks") {
    auto key = crypto::base64_decode(secret.substr(6));
    if (!key) throw std::runtime_error("the whsec_ secret is not base64");
    std::string id = "msg_" + ingest::generate_event_id();
    out.headers = {{"webhook-id", id},
                   {"webhook-timestamp", ts},
                   {"webhook-signature",
                    "v1," + crypto::base64_encode(mac(A::sha256, *key, {id, ".", ts, ".", body}))}};
  } else if (h.scheme == "slack") {
    out.headers = {{"X-Slack-Request-Timestamp", ts},
                   {"X-Slack-Signature",
                    "v0=" + crypto::hex_encode(mac(A::sha256, secret, {"v0:", ts, ":", body}))}};
  } else if (h.scheme == "shopify") {
    out.headers = {
        {"X-Shopify-Hmac-Sha256", crypto::base64_encode(mac(A::sha256, secret, {body}))}};
  } else if (h.scheme == "docusign") {
    out.headers = {
        {"X-DocuSign-Signature-1", crypto::base64_encode(mac(A::sha256, secret, {body}))}};
  } else if (h.scheme == "twilio") {
    std::string signed_url = h.url;
    if (content_type.starts_with("application/x-www-form-urlencoded")) {
      signed_url += twilio_params(body);
    } else {
      out.query = "bodySHA256=" + crypto::hex_encode(crypto::sha256(body));
      signed_url += (h.url.find('?') == std::string::npos ? "?" : "&") + out.query;
    }
    out.headers = {
        {"X-Twilio-Signature", crypto::base64_encode(mac(A::sha1, secret, {signed_url}))}};
  } else if (h.scheme == "generic") {
    auto alg = *crypto::parse_mac_algorithm(h.algorithm);
    std::string id = ingest::generate_event_id();
    std::string payload = h.payload;
    auto replace = [&payload](const std::string& key, const std::string& value) {
      for (auto p = payload.find(key); p != std::string::npos;
           p = payload.find(key, p + value.size())) {
        payload.replace(p, key.size(), value);
      }
    };
    replace("{timestamp}", ts);
    replace("{id}", id);
    replace("{body}", body);
    auto m = mac(alg, secret, {payload});
    out.headers = {{h.header, h.prefix + (h.encoding == "base64" ? crypto::base64_encode(m)
                                                                 : crypto::hex_encode(m))}};
    if (!h.timestamp_header.empty()) out.headers.emplace_back(h.timestamp_header, ts);
    if (!h.id_header.empty()) out.headers.emplace_back(h.id_header, id);
  } else {
    return std::nullopt;
  }
  return out;
}

// What one item needs attached; nullopt (with `why`) when the config cannot produce it.
std::optional<Signed> sign_item(const config::AuthItemConfig& item, const config::Config& cfg,
                                const std::string& body, const std::string& content_type,
                                std::string& why) {
  using K = config::AuthItemConfig::Kind;
  switch (item.kind) {
    case K::basic:
      if (item.basic.password.empty()) {
        why = "basic: the config holds only the password's SHA-256";
        return std::nullopt;
      }
      return Signed{
          {{"Authorization", "Basic " + crypto::base64_encode(item.basic.username + ":" +
                                                              item.basic.password.str())}},
          {}};
    case K::bearer: {
      if (!item.bearer.self_issued || !cfg.oauth) {
        why = "bearer: tokens of an external authorization server cannot be made here";
        return std::nullopt;
      }
      auth::OAuthServer server(*cfg.oauth);
      return Signed{
          {{"Authorization", "Bearer " + server.issue_token(cfg.oauth->clients.front().id)}}, {}};
    }
    case K::hmac:
      return sign_hmac(item.hmac, body, content_type);
    case K::signature:
      why = "signature: asymmetric signatures need the sender's private key";
      return std::nullopt;
    case K::ip_allow:
      return Signed{};  // nothing to attach: the request must come from an allowed address
    case K::any:
      for (const auto& sub : item.any) {
        if (auto s = sign_item(sub, cfg, body, content_type, why)) return s;
      }
      return std::nullopt;
  }
  return std::nullopt;
}

// Every item of the chain must pass, so every one must be signable; their headers add up.
std::optional<Signed> sign_chain(const std::vector<config::AuthItemConfig>& items,
                                 const config::Config& cfg, const std::string& body,
                                 const std::string& content_type, std::string& why) {
  Signed all;
  for (const auto& item : items) {
    auto s = sign_item(item, cfg, body, content_type, why);
    if (!s) return std::nullopt;
    all.headers.insert(all.headers.end(), s->headers.begin(), s->headers.end());
    if (!s->query.empty()) all.query = s->query;
  }
  return all;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

int sign(const std::string& path, const std::string& route_name, const std::string& body_file,
         const std::string& content_type) {
  auto cfg = load_config(path);
  if (!cfg) return kExitUserError;
  const config::RouteConfig* route = nullptr;
  for (const auto& r : cfg->routes) {
    if (r.name == route_name) route = &r;
  }
  if (route == nullptr) {
    fmt::print(stderr, "no route named '{}' in {}\n", route_name, path);
    return kExitUserError;
  }
  std::string body;
  if (body_file.empty()) {
    body = "{\"id\":\"" + ingest::generate_event_id() + "\",\"type\":\"test.event\"}";
  } else {
    std::ifstream in(body_file, std::ios::binary);
    if (!in) {
      fmt::print(stderr, "cannot read {}\n", body_file);
      return kExitUserError;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    body = ss.str();
  }
  std::string why = "the route has no auth item that can be signed";
  std::optional<Signed> s;
  try {
    s = route->auth.open ? Signed{} : sign_chain(route->auth.items, *cfg, body, content_type, why);
  } catch (const std::exception& e) {
    why = e.what();
  }
  if (!s) {
    fmt::print(stderr, "route '{}': cannot sign: {}\n", route_name, why);
    return kExitUserError;
  }
  for (const auto& [k, v] : s->headers) fmt::print("{}: {}\n", k, v);

  auto listen = config::parse_listen_address(cfg->server.listen.front());
  std::string host = "localhost";
  if (listen && listen->host != "0.0.0.0" && listen->host != "::") {
    host = listen->v6 ? "[" + listen->host + "]" : listen->host;
  }
  std::string url = fmt::format("https://{}:{}{}{}", host, listen ? listen->port : 8443,
                                route->path, s->query.empty() ? "" : "?" + s->query);
  std::string curl =
      "curl -k " + shell_quote(url) + " -H " + shell_quote("Content-Type: " + content_type);
  for (const auto& [k, v] : s->headers) curl += " -H " + shell_quote(k + ": " + v);
  curl += body_file.empty() ? " --data-binary " + shell_quote(body)
                            : " --data-binary @" + shell_quote(body_file);
  fmt::print("\n{}\n", curl);
  return kExitOk;
}

}  // namespace

Command add_sign(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "sign", "Print the headers (and a curl line) a sender would attach for a route");
  struct Options {
    std::string config = kDefaultConfig;
    std::string route;
    std::string body;
    std::string content_type = "application/json";
  };
  auto o = std::make_shared<Options>();
  sub->add_option("-c,--config", o->config, "Config file")->capture_default_str();
  sub->add_option("--route", o->route, "Route name")->required();
  sub->add_option("--body", o->body, "File with the body to sign (default: a small JSON event)");
  sub->add_option("--content-type", o->content_type, "Content type of the body")
      ->capture_default_str();
  return {sub, [o] { return sign(o->config, o->route, o->body, o->content_type); }};
}

}  // namespace hookd::app
