// The built-in OAuth server: token endpoint (both client auth methods, RFC 6749 errors),
// signing key creation and loading, JWKS endpoint, and the issued tokens.
#include "hookd/auth/oauth.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <filesystem>

#include "oauth_fixture.hpp"

using namespace hookd;
using namespace hookd::auth;
using namespace hookd::test::oauth;
namespace json = boost::json;
using std::chrono::seconds;

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
