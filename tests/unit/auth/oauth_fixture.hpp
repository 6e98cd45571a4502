// Shared by the OAuth server's unit tests: a Fixture with a clock the test moves, and
// helpers for token requests and the tokens they return.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <cctype>
#include <cstdio>
#include <optional>
#include <string>

#include "hookd/auth/items.hpp"
#include "hookd/auth/oauth.hpp"
#include "hookd/crypto/compare.hpp"
#include "hookd/crypto/encoding.hpp"
#include "temp_dir.hpp"

namespace hookd::test::oauth {

using namespace hookd::auth;
namespace json = boost::json;
using std::chrono::seconds;

inline const auto kStart = std::chrono::system_clock::time_point(seconds(1'700'000'000));
inline constexpr std::string_view kForm = "application/x-www-form-urlencoded";

// Drives an endpoint's coroutine to completion on a private io_context.
inline http::Response run(http::Endpoint& endpoint, http::Request& request) {
  boost::asio::io_context io;
  std::optional<http::Response> out;
  std::exception_ptr error;
  boost::asio::co_spawn(io, endpoint.handle(request), [&](std::exception_ptr e, http::Response r) {
    error = e;
    out = std::move(r);
  });
  io.run();
  if (error) std::rethrow_exception(error);
  BOOST_REQUIRE(out);
  return std::move(*out);
}

// RFC 6749 appendix B: application/x-www-form-urlencoded.
inline std::string form_encode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

inline std::string basic(std::string_view id, std::string_view secret) {
  return "Basic " + crypto::base64_encode(form_encode(id) + ":" + form_encode(secret));
}

inline std::string header(const http::Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (http::iequals(k, name)) return v;
  }
  return {};
}

inline std::string error_of(const http::Response& r) {
  return std::string(json::parse(r.body).at("error").as_string());
}

inline json::object payload_of(std::string_view token) {
  auto first = token.find('.');
  auto second = token.find('.', first + 1);
  auto text = crypto::base64url_decode(token.substr(first + 1, second - first - 1));
  BOOST_REQUIRE(text);
  return json::parse(*text).as_object();
}

// What `bearer: {issuer: self}` on a route named `route` would say of `token`.
inline JwtVerification verify(const OAuthServer& server, std::string_view token,
                              std::chrono::system_clock::time_point now,
                              std::string_view route = "jofi") {
  return server.verifier()->verify(token, {}, route, now);
}

inline config::OAuthClientConfig client(std::string id, std::string secret) {
  config::OAuthClientConfig c;
  c.id = std::move(id);
  c.secret = config::Secret(std::move(secret));
  return c;
}

inline config::OAuthConfig oauth_config(const test::TempDir& dir) {
  config::OAuthConfig c;
  c.signing_key = dir.file("keys/oauth-key.pem");
  c.audience = "hookd";
  c.clients.push_back(client("jofi", "s3cret"));
  c.clients.push_back(client("a:b", "p@ss word+%"));
  config::OAuthClientConfig hashed;
  hashed.id = "hashed";
  hashed.secret_sha256 = config::Secret(crypto::hex_encode(crypto::sha256("hashed-secret")));
  c.clients.push_back(hashed);
  return c;
}

// An OAuthServer with a clock the test moves.
struct Fixture {
  // The defaults but a client-wide ceiling of 20 (one per second back), small enough for a
  // test to reach; `ceiling_hits` counts its refusals.
  Fixture() : Fixture(Throttle::Limits{5, seconds(12), 100'000}) {}
  explicit Fixture(Throttle::Limits strict)
      : server(
            oauth_config(dir), [this] { return now; },
            OAuthServer::Throttling{strict, Throttle::Limits{20, seconds(1), 100'000}, 48,
                                    [this] { ++ceiling_hits; }}) {}

  int ceiling_hits = 0;
  test::TempDir dir;
  std::chrono::system_clock::time_point now = kStart;
  OAuthServer server;
  std::shared_ptr<http::Endpoint> token = server.token_endpoint();

  http::Response post(std::string body, std::optional<std::string> authorization = {},
                      std::string peer = "192.0.2.10",
                      std::string content_type = std::string(kForm)) {
    http::Request req;
    req.method = "POST";
    req.target = "/oauth/token";
    req.headers.emplace_back("Content-Type", content_type);
    if (authorization) req.headers.emplace_back("Authorization", *authorization);
    req.body = std::move(body);
    req.peer = std::move(peer);
    return run(*token, req);
  }

  std::string issue_ok(const http::Response& r) {
    BOOST_REQUIRE_EQUAL(r.status, 200u);
    auto body = json::parse(r.body).as_object();
    BOOST_TEST(body.at("token_type").as_string() == "Bearer");
    BOOST_TEST(body.at("expires_in").as_int64() == 3600);
    BOOST_TEST(header(r, "Cache-Control") == "no-store");
    BOOST_TEST(header(r, "Pragma") == "no-cache");
    return std::string(body.at("access_token").as_string());
  }
};

}  // namespace hookd::test::oauth
