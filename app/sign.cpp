// `hookd sign --route R [--body FILE]`: the headers a sender would attach to pass the
// route's auth chain, made with the secrets the config holds, and a ready curl line.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "commands.hpp"
#include "config_file.hpp"
#include "hookd/auth/oauth.hpp"
#include "hookd/auth/sign.hpp"
#include "hookd/config/address.hpp"
#include "hookd/ingest/extract.hpp"

namespace hookd::app {
namespace {

using auth::Signed;

std::string now_unix() {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
}

// What one item needs attached; nullopt (with `why`) when the config cannot produce it.
std::optional<Signed> sign_item(const config::AuthItemConfig& item, const config::Config& cfg,
                                const std::string& route, const std::string& body,
                                const std::string& content_type, std::string& why) {
  using K = config::AuthItemConfig::Kind;
  switch (item.kind) {
    case K::basic:
      if (item.basic.password.empty()) {
        why = "basic: the config holds only the password's SHA-256";
        return std::nullopt;
      }
      return Signed{{{"Authorization",
                      auth::basic_authorization(item.basic.username, item.basic.password.str())}},
                    {}};
    case K::bearer: {
      if (!item.bearer.self_issued || !cfg.oauth) {
        why = "bearer: tokens of an external authorization server cannot be made here";
        return std::nullopt;
      }
      // The first client whose tokens this route accepts (oauth.clients[].routes).
      for (const auto& client : cfg.oauth->clients) {
        if (client.routes && std::find(client.routes->begin(), client.routes->end(), route) ==
                                 client.routes->end()) {
          continue;
        }
        auth::OAuthServer server(*cfg.oauth);
        return Signed{{{"Authorization", "Bearer " + server.issue_token(client.id)}}, {}};
      }
      why = "bearer: no oauth client may use route '" + route + "' (see their 'routes')";
      return std::nullopt;
    }
    case K::hmac:
      return auth::HmacSigner(item.hmac).sign(body, ingest::generate_event_id(), "ping", now_unix(),
                                              content_type);
    case K::signature:
      why = "signature: asymmetric signatures need the sender's private key";
      return std::nullopt;
    case K::ip_allow:
      return Signed{};  // nothing to attach: the request must come from an allowed address
    case K::any:
      for (const auto& sub : item.any) {
        if (auto s = sign_item(sub, cfg, route, body, content_type, why)) return s;
      }
      return std::nullopt;
  }
  return std::nullopt;
}

// Every item of the chain must pass, so every one must be signable; their headers add up.
std::optional<Signed> sign_chain(const std::vector<config::AuthItemConfig>& items,
                                 const config::Config& cfg, const std::string& route,
                                 const std::string& body, const std::string& content_type,
                                 std::string& why) {
  Signed all;
  for (const auto& item : items) {
    auto s = sign_item(item, cfg, route, body, content_type, why);
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
    s = route->auth.open
            ? Signed{}
            : sign_chain(route->auth.items, *cfg, route->name, body, content_type, why);
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
