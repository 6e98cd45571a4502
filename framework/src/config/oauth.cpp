// The top-level `oauth` section: the built-in OAuth 2.0 client-credentials token endpoint.
#include <algorithm>

#include "sections.hpp"

namespace hookd::config {
namespace {

void read_path(Reader& r, const Entry& e, std::string& out) {
  std::string v;
  r.read_string(e, v);
  if (v.empty()) return;
  if (!v.starts_with('/') || v.find_first_of("?# ") != std::string::npos) {
    r.error(e.mark(), e.path + ": expected a path starting with '/', got '" + v + "'");
    return;
  }
  out = v;
}

void read_client(Reader& r, const Entry& e, OAuthClientConfig& c) {
  Location where = r.location(e.mark());
  r.read_map(e, {{"id", [&](const Entry& v) { r.read_string(v, c.id); }},
                 {"secret",
                  [&](const Entry& v) {
                    if (auto s = r.scalar(v, "a secret string"); s && !s->text.empty()) {
                      c.secret = Secret(s->text);
                      r.inbound_secret(v, *s);
                    } else if (s) {
                      r.error(v.mark(), v.path + ": must not be empty");
                    }
                  }},
                 {"secret_sha256",
                  [&](const Entry& v) {
                    if (auto s = r.scalar(v, "64 hex digits"); s && is_sha256_hex(s->text)) {
                      c.secret_sha256 = Secret(s->text);
                      r.inbound_secret(v, *s);
                    } else if (s) {
                      r.error(v.mark(), v.path + ": expected 64 hex digits (a SHA-256)");
                    }
                  }},
                 {"routes", [&](const Entry& v) {
                    // Route names; that each names a route is checked with the routes
                    // (check_across_sections in loader.cpp).
                    c.routes.emplace();
                    for (auto& [value, entry] : r.read_string_list(v)) {
                      c.routes->push_back(value.text);
                      c.route_where.push_back(r.location(entry.mark()));
                    }
                    if (c.routes->empty()) {
                      r.error(v.mark(), v.path +
                                            ": must name at least one route (without "
                                            "'routes' the client may use every route)");
                    }
                  }}});
  if (c.id.empty()) r.error(where, e.path + ": missing the required key 'id'");
  if (c.id.find(':') != std::string::npos) {
    r.error(where, e.path + ".id: must not contain ':'");
  }
  if (c.secret.empty() == c.secret_sha256.empty()) {
    r.error(where, e.path + ": give exactly one of 'secret' and 'secret_sha256'");
  }
}

}  // namespace

void read_oauth(Reader& r, const Entry& e, OAuthConfig& out) {
  r.read_map(e, {{"token_path", [&](const Entry& v) { read_path(r, v, out.token_path); }},
                 {"jwks_path", [&](const Entry& v) { read_path(r, v, out.jwks_path); }},
                 {"issuer", [&](const Entry& v) { r.read_string(v, out.issuer); }},
                 {"token_ttl", [&](const Entry& v) { r.read_duration(v, out.token_ttl, true); }},
                 {"signing_key", [&](const Entry& v) { r.read_string(v, out.signing_key); }},
                 {"audience", [&](const Entry& v) { r.read_string(v, out.audience); }},
                 {"clients", [&](const Entry& v) {
                    if (!v.value.IsSequence()) {
                      r.error(v.mark(), v.path + ": expected a list of clients, got " +
                                            Reader::kind(v.value));
                      return;
                    }
                    std::size_t i = 0;
                    for (const auto& element : v.value) {
                      Entry item{element, element.Mark(),
                                 v.path + "[" + std::to_string(i++) + "]"};
                      OAuthClientConfig client;
                      read_client(r, item, client);
                      for (const auto& other : out.clients) {
                        if (!client.id.empty() && other.id == client.id) {
                          r.error(item.mark(), item.path + ": client id '" + client.id +
                                                   "' appears twice");
                        }
                      }
                      out.clients.push_back(std::move(client));
                    }
                  }}});
  if (out.clients.empty()) {
    r.error(e.mark(), e.path + ".clients: the token endpoint needs at least one client");
  }
  if (out.token_path == out.jwks_path) {
    r.error(e.mark(), e.path + ": token_path and jwks_path must differ");
  }
}

}  // namespace hookd::config
