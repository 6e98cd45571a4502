// The built-in OAuth server: token endpoint (both client auth methods, RFC 6749 errors,
// throttling), signing key creation and reload, JWKS endpoint, and the issued tokens.
#include "hookd/auth/oauth.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sys/stat.h>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include "hookd/auth/items.hpp"
#include "hookd/crypto/compare.hpp"
#include "hookd/crypto/encoding.hpp"
#include "temp_dir.hpp"

using namespace hookd;
using namespace hookd::auth;
namespace json = boost::json;
using std::chrono::seconds;

namespace {

const auto kStart = std::chrono::system_clock::time_point(seconds(1'700'000'000));
constexpr std::string_view kForm = "application/x-www-form-urlencoded";

// Drives an endpoint's coroutine to completion on a private io_context.
http::Response run(http::Endpoint& endpoint, http::Request& request) {
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
std::string form_encode(std::string_view s) {
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

std::string basic(std::string_view id, std::string_view secret) {
  return "Basic " + crypto::base64_encode(form_encode(id) + ":" + form_encode(secret));
}

std::string header(const http::Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (http::iequals(k, name)) return v;
  }
  return {};
}

std::string error_of(const http::Response& r) {
  return std::string(json::parse(r.body).at("error").as_string());
}

json::object payload_of(std::string_view token) {
  auto first = token.find('.');
  auto second = token.find('.', first + 1);
  auto text = crypto::base64url_decode(token.substr(first + 1, second - first - 1));
  BOOST_REQUIRE(text);
  return json::parse(*text).as_object();
}

// What `bearer: {issuer: self}` on a route named `route` would say of `token`.
JwtVerification verify(const OAuthServer& server, std::string_view token,
                       std::chrono::system_clock::time_point now, std::string_view route = "jofi") {
  return server.verifier()->verify(token, {}, route, now);
}

config::OAuthClientConfig client(std::string id, std::string secret) {
  config::OAuthClientConfig c;
  c.id = std::move(id);
  c.secret = config::Secret(std::move(secret));
  return c;
}

config::OAuthConfig oauth_config(const test::TempDir& dir) {
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
  Fixture() : Fixture(Throttle::Limits{5, seconds(12), 100'000}) {}
  explicit Fixture(Throttle::Limits throttle)
      : server(
            oauth_config(dir), [this] { return now; }, throttle) {}

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

}  // namespace

BOOST_AUTO_TEST_SUITE(auth_oauth)

BOOST_AUTO_TEST_CASE(client_secret_post) {
  Fixture f;
  std::string token =
      f.issue_ok(f.post("grant_type=client_credentials&client_id=jofi&client_secret=s3cret"));
  auto claims = payload_of(token);
  BOOST_TEST(claims.at("iss").as_string() == "hookd");
  BOOST_TEST(claims.at("sub").as_string() == "jofi");
  BOOST_TEST(claims.at("aud").as_string() == "hookd");
  BOOST_TEST(claims.at("iat").as_int64() == 1'700'000'000);
  BOOST_TEST(claims.at("exp").as_int64() == 1'700'003'600);
  BOOST_TEST(!claims.at("jti").as_string().empty());
  auto verified = verify(f.server, token, kStart + seconds(10));
  BOOST_TEST(verified.ok());
  BOOST_TEST(verified.subject == "jofi");
  BOOST_TEST(verify(f.server, token, kStart + seconds(3700)).status == JwtStatus::expired);
  // Two tokens never share a jti.
  std::string again =
      f.issue_ok(f.post("grant_type=client_credentials&client_id=jofi&client_secret=s3cret"));
  BOOST_TEST(payload_of(again).at("jti") != claims.at("jti"));
}

BOOST_AUTO_TEST_CASE(client_secret_basic_is_form_urlencoded) {
  Fixture f;
  f.issue_ok(f.post("grant_type=client_credentials", basic("jofi", "s3cret")));
  // RFC 6749 2.3.1: "a:b" / "p@ss word+%" travel as "a%3Ab:p%40ss+word%2B%25".
  BOOST_TEST(basic("a:b", "p@ss word+%") ==
             "Basic " + crypto::base64_encode("a%3Ab:p%40ss+word%2B%25"));
  std::string token =
      f.issue_ok(f.post("grant_type=client_credentials", basic("a:b", "p@ss word+%")));
  BOOST_TEST(payload_of(token).at("sub").as_string() == "a:b");
  f.issue_ok(f.post("grant_type=client_credentials&client_id=hashed&client_secret=hashed-secret"));
  // Also fine: the same client_id in the body next to the Basic header.
  f.issue_ok(f.post("grant_type=client_credentials&client_id=jofi", basic("jofi", "s3cret")));
  // Lenient: a client that skips the url-encoding still authenticates.
  f.issue_ok(
      f.post("grant_type=client_credentials", "Basic " + crypto::base64_encode("jofi:s3cret")));
}

BOOST_AUTO_TEST_CASE(invalid_client) {
  Fixture f;
  for (const auto& [body, auth] : std::vector<std::pair<std::string, std::optional<std::string>>>{
           {"grant_type=client_credentials&client_id=jofi&client_secret=wrong", std::nullopt},
           {"grant_type=client_credentials", basic("jofi", "wrong")},
           {"grant_type=client_credentials", basic("nobody", "s3cret")},
           {"grant_type=client_credentials", basic("a:b", "p@ss word")},
           {"grant_type=client_credentials", std::nullopt},
           {"grant_type=client_credentials&client_id=jofi", std::nullopt},
           {"grant_type=client_credentials", "Basic !!!"},
           {"grant_type=client_credentials", "Bearer abc"}}) {
    // A fresh peer each time, so that the throttle stays out of this test.
    static int n = 0;
    http::Response r = f.post(body, auth, "198.51.100." + std::to_string(++n));
    BOOST_TEST(r.status == 401u);
    BOOST_TEST(error_of(r) == "invalid_client");
    BOOST_TEST(header(r, "WWW-Authenticate") == "Basic realm=\"hookd\"");
    BOOST_TEST(header(r, "Cache-Control") == "no-store");
  }
}

BOOST_AUTO_TEST_CASE(invalid_request_and_grant_type) {
  Fixture f;
  auto expect = [&](const http::Response& r, unsigned status, const std::string& error) {
    BOOST_TEST(r.status == status);
    BOOST_TEST(error_of(r) == error);
  };
  expect(f.post("grant_type=password&username=u&password=p", basic("jofi", "s3cret")), 400,
         "unsupported_grant_type");
  expect(f.post("client_id=jofi&client_secret=s3cret"), 400, "invalid_request");
  expect(f.post("grant_type=&client_id=jofi&client_secret=s3cret"), 400, "invalid_request");
  expect(f.post("grant_type=client_credentials&grant_type=client_credentials",
                basic("jofi", "s3cret")),
         400, "invalid_request");
  expect(f.post(R"({"grant_type":"client_credentials"})", basic("jofi", "s3cret"), "192.0.2.10",
                "application/json"),
         400, "invalid_request");
  expect(f.post("grant_type=client_credentials&client_secret=s3cret", basic("jofi", "s3cret")), 400,
         "invalid_request");  // two authentication methods
  expect(f.post("grant_type=client_credentials&client_id=other", basic("jofi", "s3cret")), 400,
         "invalid_request");
  expect(f.post("grant_type=client_credentials%zz", basic("jofi", "s3cret")), 400,
         "invalid_request");
  // The content type may carry a charset.
  f.issue_ok(f.post("grant_type=client_credentials", basic("jofi", "s3cret"), "192.0.2.10",
                    "application/x-www-form-urlencoded; charset=UTF-8"));
}

BOOST_AUTO_TEST_CASE(throttling_per_client) {
  Fixture f;
  const std::string good = "grant_type=client_credentials";
  for (int i = 0; i < 5; ++i) {
    auto r =
        f.post(good, basic("jofi", "guess" + std::to_string(i)), "203.0.113." + std::to_string(i));
    BOOST_TEST(r.status == 401u);
  }
  // Blocked for that client id from any address, even with the right secret, until it has
  // earned one try back (12 s: 5 a minute).
  auto blocked = f.post(good, basic("jofi", "s3cret"), "203.0.113.99");
  BOOST_TEST(blocked.status == 429u);
  BOOST_TEST(error_of(blocked) == "temporarily_unavailable");
  BOOST_TEST(header(blocked, "Retry-After") == "12");
  // Other clients are not affected.
  f.issue_ok(f.post(good, basic("a:b", "p@ss word+%"), "203.0.113.99"));
  f.now += seconds(5);
  BOOST_TEST(header(f.post(good, basic("jofi", "s3cret"), "203.0.113.99"), "Retry-After") == "7");
  f.now += seconds(7);  // one try earned: a wrong guess blocks again at once
  BOOST_TEST(f.post(good, basic("jofi", "guess5"), "203.0.113.98").status == 401u);
  BOOST_TEST(f.post(good, basic("jofi", "s3cret"), "203.0.113.99").status == 429u);
  f.now += seconds(12);
  f.issue_ok(f.post(good, basic("jofi", "s3cret"), "203.0.113.99"));
}

BOOST_AUTO_TEST_CASE(throttling_per_peer) {
  Fixture f;
  const std::string good = "grant_type=client_credentials";
  for (int i = 0; i < 5; ++i) {
    f.post(good, basic("user" + std::to_string(i), "x"), "2001:db8:1:2::" + std::to_string(i + 1));
  }
  // The whole /64 is blocked; other addresses are not.
  BOOST_TEST(f.post(good, basic("jofi", "s3cret"), "2001:db8:1:2::ff").status == 429u);
  f.issue_ok(f.post(good, basic("jofi", "s3cret"), "2001:db8:1:3::1"));
  f.now += seconds(12);
  f.issue_ok(f.post(good, basic("jofi", "s3cret"), "2001:db8:1:2::ff"));
}

// Issue 14 (5): 10,050 failures for unknown clients from fresh addresses used to evict the
// blocked client's counter (~5 guesses per 10,000 requests instead of 5 per minute).
BOOST_AUTO_TEST_CASE(throttle_cannot_be_flushed) {
  Fixture f(Throttle::Limits{5, seconds(12), 1000});  // a table the flood overflows 20 times
  const std::string good = "grant_type=client_credentials";
  for (int i = 0; i < 5; ++i) f.post(good, basic("jofi", "guess"), "203.0.113.9");
  BOOST_REQUIRE_EQUAL(f.post(good, basic("jofi", "s3cret"), "198.51.100.1").status, 429u);
  auto address = [](int i) {
    return "10." + std::to_string(i >> 16 & 255) + "." + std::to_string(i >> 8 & 255) + "." +
           std::to_string(i & 255);
  };
  // One unknown id from fresh addresses, then a fresh unknown id each time.
  for (int i = 0; i < 10'050; ++i) f.post(good, basic("nosuch", "x"), address(i));
  for (int i = 0; i < 10'050; ++i) {
    f.post(good, basic("nosuch-" + std::to_string(i), "x"), address(20'000 + i));
  }
  f.now += seconds(1);
  BOOST_TEST(f.post(good, basic("jofi", "guess-6"), "198.51.100.2").status == 429u);
  BOOST_TEST(f.post(good, basic("jofi", "s3cret"), "198.51.100.3").status == 429u);
  // The flood blocked nobody else.
  f.issue_ok(f.post(good, basic("a:b", "p@ss word+%"), "198.51.100.4"));
}

// Issue 14 (6): a 429 must not tell which client ids exist.
BOOST_AUTO_TEST_CASE(unknown_client_ids_are_throttled_like_known_ones) {
  Fixture f;
  const std::string good = "grant_type=client_credentials";
  for (const std::string id : {"jofi", "nosuch"}) {
    for (int i = 0; i < 5; ++i) {
      auto r = f.post(good, basic(id, "guess"), "203.0.113." + std::to_string(i) + "0");
      BOOST_TEST(r.status == 401u);
    }
    auto r = f.post(good, basic(id, "guess"), "198.51.100.77");
    BOOST_TEST(r.status == 429u, id);
    BOOST_TEST(header(r, "Retry-After") != "");
  }
  // client_secret_post the same way.
  auto r =
      f.post("grant_type=client_credentials&client_id=nosuch&client_secret=x", {}, "198.51.100.78");
  BOOST_TEST(r.status == 429u);
}

// The warning per failure is rate-limited: a guesser cannot flood the log.
BOOST_AUTO_TEST_CASE(failure_warnings_are_rate_limited) {
  Fixture f;
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  auto logger = spdlog::default_logger();
  logger->sinks().push_back(sink);
  const std::string good = "grant_type=client_credentials";
  for (int i = 0; i < 1000; ++i) {
    f.post(good, basic("user-" + std::to_string(i), "x"),
           "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250));
  }
  f.now += seconds(1);
  f.post(good, basic("last", "x"), "10.9.9.9");
  logger->sinks().pop_back();
  const std::string text = captured.str();
  std::size_t lines = 0;
  for (auto at = text.find("client authentication failed"); at != std::string::npos;
       at = text.find("client authentication failed", at + 1)) {
    ++lines;
  }
  BOOST_TEST(lines == 2u, text);
  BOOST_TEST(text.find("(999 more failures since the last line, not logged)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(issued_token_passes_the_bearer_item) {
  Fixture f;
  std::string token = f.issue_ok(f.post("grant_type=client_credentials", basic("jofi", "s3cret")));
  config::BearerAuthConfig self;
  self.self_issued = true;
  auto check = make_bearer(self, BuildContext{f.server.verifier(), "jofi"}, {"hookd.yaml", 1, 1});
  const std::string authorization = "Bearer " + token;  // the request holds views
  http::Request req;
  req.headers.emplace_back("Authorization", authorization);
  BOOST_TEST(check->check(req, Context{kStart + seconds(5)}).passed());
  BOOST_TEST(check->check(req, Context{kStart + seconds(7200)}).reason == "expired_token");
  // A token of another hookd (another key) does not pass.
  Fixture other;
  std::string foreign =
      other.issue_ok(other.post("grant_type=client_credentials", basic("jofi", "s3cret")));
  const std::string foreign_authorization = "Bearer " + foreign;
  http::Request req2;
  req2.headers.emplace_back("Authorization", foreign_authorization);
  BOOST_TEST(check->check(req2, Context{kStart + seconds(5)}).reason == "invalid_token");
  BOOST_TEST(verify(f.server, f.server.issue_token("jofi"), kStart).ok());
  BOOST_CHECK_THROW(f.server.issue_token("nobody"), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(signing_key_created_0600_and_reloaded) {
  test::TempDir dir;
  auto cfg = oauth_config(dir);
  BOOST_REQUIRE(!std::filesystem::exists(cfg.signing_key));
  std::string kid, token;
  {
    OAuthServer first(cfg);
    kid = first.signing_key().kid();
    token = first.issue_token("jofi");
  }
  struct stat st {};
  BOOST_REQUIRE(::stat(cfg.signing_key.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  OAuthServer second(cfg);
  BOOST_TEST(second.signing_key().kid() == kid);
  BOOST_TEST(verify(second, token, std::chrono::system_clock::now()).ok());
  BOOST_TEST(std::distance(std::filesystem::directory_iterator(dir.file("keys")),
                           std::filesystem::directory_iterator()) == 1);  // no temp files
}

BOOST_AUTO_TEST_CASE(ed25519_signing_key) {
  test::TempDir dir;
  auto cfg = oauth_config(dir);
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  std::filesystem::create_directories(dir.file("keys"));
  FILE* f = std::fopen(cfg.signing_key.c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  EVP_PKEY_free(key);
  ::chmod(cfg.signing_key.c_str(), 0600);
  OAuthServer server(cfg);
  std::string token = server.issue_token("jofi");
  auto header = json::parse(*crypto::base64url_decode(token.substr(0, token.find('.'))));
  BOOST_TEST(header.at("alg").as_string() == "EdDSA");
  BOOST_TEST(header.at("kid").as_string() == server.signing_key().kid());
  BOOST_TEST(verify(server, token, std::chrono::system_clock::now()).ok());
}

BOOST_AUTO_TEST_CASE(bad_signing_key_names_the_file) {
  test::TempDir dir;
  auto cfg = oauth_config(dir);
  cfg.signing_key = dir.write("garbage.pem", "not a key\n");
  try {
    OAuthServer server(cfg);
    BOOST_FAIL("expected an error");
  } catch (const std::runtime_error& e) {
    BOOST_TEST(std::string(e.what()).find("garbage.pem") != std::string::npos);
  }
  EVP_PKEY* rsa = EVP_RSA_gen(2048);
  FILE* f = std::fopen(dir.file("rsa.pem").c_str(), "w");
  PEM_write_PrivateKey(f, rsa, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  EVP_PKEY_free(rsa);
  cfg.signing_key = dir.file("rsa.pem");
  BOOST_CHECK_THROW(OAuthServer{cfg}, std::runtime_error);
}

BOOST_AUTO_TEST_CASE(jwks_endpoint_publishes_the_key) {
  Fixture f;
  http::Request req;
  req.method = "GET";
  req.target = "/oauth/jwks";
  auto jwks = f.server.jwks_endpoint();
  BOOST_TEST(jwks->allow() == "GET");
  BOOST_TEST(jwks->name() == "oauth-jwks");
  BOOST_TEST(f.token->name() == "oauth-token");
  http::Response r = run(*jwks, req);
  BOOST_TEST(r.status == 200u);
  auto doc = json::parse(r.body).as_object();
  const auto& key = doc.at("keys").as_array().at(0).as_object();
  BOOST_TEST(key.at("kty").as_string() == "EC");
  BOOST_TEST(key.at("crv").as_string() == "P-256");
  BOOST_TEST(key.at("alg").as_string() == "ES256");
  BOOST_TEST(key.at("use").as_string() == "sig");
  BOOST_TEST(key.at("kid").as_string() == f.server.signing_key().kid());
  BOOST_TEST(!key.contains("d"));  // never the private part
  auto keys = parse_jwks(r.body);
  std::string token = f.issue_ok(f.post("grant_type=client_credentials", basic("jofi", "s3cret")));
  JwtPolicy policy;
  policy.issuer = "hookd";
  policy.audience = "hookd";
  BOOST_TEST(verify_jwt(token, keys, policy, kStart).ok());
}

BOOST_AUTO_TEST_CASE(rotation_keeps_the_previous_key_verifying) {
  test::TempDir dir;
  auto cfg = oauth_config(dir);
  std::string old_token, old_kid;
  {
    OAuthServer old_server(cfg);
    old_token = old_server.issue_token("jofi");
    old_kid = old_server.signing_key().kid();
  }
  std::filesystem::rename(cfg.signing_key, cfg.signing_key + ".previous");
  OAuthServer server(cfg);
  BOOST_TEST(server.signing_key().kid() != old_kid);
  auto now = std::chrono::system_clock::now();
  BOOST_TEST(verify(server, old_token, now).ok());
  BOOST_TEST(verify(server, server.issue_token("jofi"), now).ok());
  http::Request req;
  auto doc = json::parse(run(*server.jwks_endpoint(), req).body);
  BOOST_TEST(doc.at("keys").as_array().size() == 2u);
}

// Reload (SIGHUP): the endpoint and the verifier handed out before it follow the new config.
BOOST_AUTO_TEST_CASE(reload_revokes_a_removed_client_and_its_tokens) {
  Fixture f;
  const std::string good = "grant_type=client_credentials";
  std::string token = f.issue_ok(f.post(good, basic("jofi", "s3cret")));
  auto check = make_bearer(
      [] {
        config::BearerAuthConfig c;
        c.self_issued = true;
        return c;
      }(),
      BuildContext{f.server.verifier(), "jofi"}, {"hookd.yaml", 1, 1});
  const std::string authorization = "Bearer " + token;
  http::Request req;
  req.headers.emplace_back("Authorization", authorization);
  BOOST_TEST(check->check(req, Context{kStart}).passed());

  auto cfg = oauth_config(f.dir);
  cfg.clients.erase(cfg.clients.begin());  // jofi
  BOOST_TEST(f.server.reload(cfg) == "clients removed (their tokens are refused): jofi");
  // The endpoint and the chain built before the reload see it at once.
  http::Response r = f.post(good, basic("jofi", "s3cret"));
  BOOST_TEST(r.status == 401u);
  BOOST_TEST(error_of(r) == "invalid_client");
  BOOST_TEST(verify(f.server, token, kStart).status == JwtStatus::unknown_client);
  BOOST_TEST(check->check(req, Context{kStart}).reason == "invalid_token");
  f.issue_ok(f.post(good, basic("a:b", "p@ss word+%")));
  BOOST_CHECK_THROW(f.server.issue_token("jofi"), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(reload_changes_a_secret_ttl_and_audience) {
  Fixture f;
  const std::string good = "grant_type=client_credentials";
  std::string before = f.issue_ok(f.post(good, basic("jofi", "s3cret")));
  auto cfg = oauth_config(f.dir);
  cfg.clients[0].secret = config::Secret("n3w-secret");
  cfg.token_ttl = std::chrono::minutes(10);
  cfg.audience = "hookd-2";
  std::string changes = f.server.reload(cfg);
  BOOST_TEST(changes == "new secret for: jofi; audience changed; token_ttl 3600s -> 600s");
  BOOST_TEST(changes.find("n3w") == std::string::npos);
  BOOST_TEST(f.post(good, basic("jofi", "s3cret"), "192.0.2.20").status == 401u);
  http::Response r = f.post(good, basic("jofi", "n3w-secret"), "192.0.2.21");
  BOOST_REQUIRE_EQUAL(r.status, 200u);
  auto body = json::parse(r.body).as_object();
  BOOST_TEST(body.at("expires_in").as_int64() == 600);
  std::string after(body.at("access_token").as_string());
  BOOST_TEST(payload_of(after).at("aud").as_string() == "hookd-2");
  BOOST_TEST(payload_of(after).at("exp").as_int64() == 1'700'000'600);
  BOOST_TEST(verify(f.server, after, kStart).ok());
  BOOST_TEST(verify(f.server, before, kStart).status == JwtStatus::wrong_audience);
  // A new issuer refuses the tokens of the old one.
  cfg.issuer = "hookd-new";
  f.server.reload(cfg);
  BOOST_TEST(verify(f.server, after, kStart).status == JwtStatus::wrong_issuer);
}

BOOST_AUTO_TEST_CASE(reload_rotates_the_signing_key) {
  Fixture f;
  const std::string good = "grant_type=client_credentials";
  const std::string old_kid = f.server.signing_key().kid();
  std::string old_token = f.issue_ok(f.post(good, basic("jofi", "s3cret")));
  auto jwks_kids = [&] {
    http::Request req;
    std::vector<std::string> kids;
    json::value doc = json::parse(run(*f.server.jwks_endpoint(), req).body);
    for (const auto& k : doc.at("keys").as_array()) kids.emplace_back(k.at("kid").as_string());
    return kids;
  };

  auto cfg = oauth_config(f.dir);
  cfg.signing_key = f.dir.file("keys/oauth-key-2.pem");  // created by the reload
  cfg.token_ttl = std::chrono::minutes(5);               // the old key still lives for the old ttl
  f.now += seconds(100);
  std::string changes = f.server.reload(cfg);
  const std::string new_kid = f.server.signing_key().kid();
  BOOST_TEST(new_kid != old_kid);
  BOOST_TEST(changes.find("signing key " + old_kid + " -> " + new_kid +
                          " (the old key verifies for 3600s more)") != std::string::npos);
  http::Response issued = f.post(good, basic("jofi", "s3cret"));
  BOOST_REQUIRE_EQUAL(issued.status, 200u);
  auto body = json::parse(issued.body).as_object();
  BOOST_TEST(body.at("expires_in").as_int64() == 300);
  std::string new_token(body.at("access_token").as_string());
  auto header = json::parse(*crypto::base64url_decode(new_token.substr(0, new_token.find('.'))));
  BOOST_TEST(header.at("kid").as_string() == new_kid);
  BOOST_TEST(verify(f.server, new_token, f.now).ok());
  BOOST_TEST(verify(f.server, old_token, f.now).ok());
  BOOST_TEST((jwks_kids() == std::vector<std::string>{new_kid, old_kid}));

  // A second reload keeps the retired key until its own deadline.
  f.now += seconds(1000);
  BOOST_TEST(f.server.reload(cfg).empty());
  BOOST_TEST(verify(f.server, old_token, f.now).ok());
  BOOST_TEST(jwks_kids().size() == 2u);

  // Old token_ttl (3600 s) after the reload the old key is gone from both, although the
  // verifier's leeway would still take the token itself.
  f.now = kStart + seconds(100 + 3600);
  BOOST_TEST(verify(f.server, old_token, f.now).status == JwtStatus::unknown_key);
  BOOST_TEST((jwks_kids() == std::vector<std::string>{new_kid}));

  // Back to the first key file: it signs again, and nothing is retired twice.
  cfg.signing_key = oauth_config(f.dir).signing_key;
  f.server.reload(cfg);
  BOOST_TEST(f.server.signing_key().kid() == old_kid);
  BOOST_TEST((jwks_kids() == std::vector<std::string>{old_kid, new_kid}));
}

BOOST_AUTO_TEST_CASE(reload_failure_changes_nothing_and_throttle_survives) {
  Fixture f;
  const std::string good = "grant_type=client_credentials";
  for (int i = 0; i < 5; ++i)
    f.post(good, basic("jofi", "guess"), "203.0.113." + std::to_string(i));
  BOOST_TEST(f.post(good, basic("jofi", "s3cret"), "203.0.113.50").status == 429u);

  auto bad = oauth_config(f.dir);
  bad.signing_key = f.dir.write("garbage.pem", "not a key\n");
  bad.clients.erase(bad.clients.begin());
  BOOST_CHECK_THROW(f.server.prepare(bad), std::runtime_error);
  f.issue_ok(f.post(good, basic("a:b", "p@ss word+%"), "203.0.113.51"));

  // A reload does not reset the counters: still blocked.
  f.server.reload(oauth_config(f.dir));
  BOOST_TEST(f.post(good, basic("jofi", "s3cret"), "203.0.113.52").status == 429u);
}

// RFC 9068: `bearer: {issuer: self}` takes only access tokens (typ at+jwt), not another JWT
// signed by the same key.
BOOST_AUTO_TEST_CASE(self_issued_tokens_must_be_at_jwt) {
  Fixture f;
  std::string token = f.server.issue_token("jofi");
  auto header = json::parse(*crypto::base64url_decode(token.substr(0, token.find('.'))));
  BOOST_TEST(header.at("typ").as_string() == "at+jwt");
  auto claims = json::serialize(payload_of(token));
  const SigningKey key = f.server.signing_key();
  const JwtKey& signer = key.signer();
  BOOST_TEST(verify(f.server, sign_jwt(claims, signer, "JWT"), kStart).status ==
             JwtStatus::wrong_type);
  BOOST_TEST(verify(f.server, sign_jwt(claims, signer, "application/at+jwt"), kStart).ok());
  BOOST_TEST(verify(f.server, sign_jwt(claims, signer, "AT+JWT"), kStart).ok());
}

// oauth.clients[].routes: a client's tokens pass `bearer: {issuer: self}` only there.
BOOST_AUTO_TEST_CASE(tokens_scoped_to_routes) {
  Fixture f;
  auto cfg = oauth_config(f.dir);
  cfg.clients[0].routes = std::vector<std::string>{"orders", "refunds"};
  f.server.reload(cfg);
  std::string token = f.server.issue_token("jofi");
  BOOST_TEST(verify(f.server, token, kStart, "orders").ok());
  BOOST_TEST(verify(f.server, token, kStart, "refunds").ok());
  BOOST_TEST(verify(f.server, token, kStart, "jofi").status == JwtStatus::route_not_allowed);
  BOOST_TEST(verify(f.server, token, kStart, "").status == JwtStatus::route_not_allowed);
  // Unscoped clients pass everywhere.
  BOOST_TEST(verify(f.server, f.server.issue_token("a:b"), kStart, "anything").ok());
  // The scope is read at verification time: a reload widens or narrows it.
  cfg.clients[0].routes.reset();
  BOOST_TEST(f.server.reload(cfg) == "new routes for: jofi");
  BOOST_TEST(verify(f.server, token, kStart, "jofi").ok());
}

BOOST_AUTO_TEST_CASE(form_decoding) {
  auto form = parse_form("a=1&b=x+y%21&&c&d=&%41=%e2%82%ac");
  BOOST_REQUIRE(form);
  std::vector<std::pair<std::string, std::string>> expected{
      {"a", "1"}, {"b", "x y!"}, {"c", ""}, {"d", ""}, {"A", "\xe2\x82\xac"}};
  BOOST_TEST((*form == expected));
  BOOST_TEST(!parse_form("a=%zz"));
  BOOST_TEST(!parse_form("a=%2"));
  BOOST_TEST(!form_urldecode("%"));
  BOOST_TEST(form_urldecode("p%40ss+word%2B%25").value_or("") == "p@ss word+%");
}

BOOST_AUTO_TEST_SUITE_END()
