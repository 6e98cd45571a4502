// Reloading the OAuth server (SIGHUP): clients, secrets, ttl, audience, issuer and the
// signing key change for the endpoints and the verifier handed out before; the throttle
// stays. Also what the self-issued verifier checks besides the JWT: typ, client, route.
#include <boost/test/unit_test.hpp>

#include "oauth_fixture.hpp"

using namespace hookd;
using namespace hookd::auth;
using namespace hookd::test::oauth;
namespace json = boost::json;
using std::chrono::seconds;

BOOST_AUTO_TEST_SUITE(auth_oauth_reload)

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

// A reload that shortens token_ttl, then one that replaces the key: the key's tokens from
// before the first still live for the longer ttl, and so does the retired key.
BOOST_AUTO_TEST_CASE(a_key_replaced_after_a_shorter_ttl_lives_for_the_longest) {
  Fixture f;
  const std::string good = "grant_type=client_credentials";
  std::string long_lived = f.issue_ok(f.post(good, basic("jofi", "s3cret")));  // 3600 s
  auto cfg = oauth_config(f.dir);
  cfg.token_ttl = std::chrono::minutes(1);
  f.server.reload(cfg);
  cfg.signing_key = f.dir.file("keys/oauth-key-2.pem");
  f.now += seconds(10);
  f.server.reload(cfg);
  f.now = kStart + seconds(3000);  // long past 10 s + the new 60 s ttl
  BOOST_TEST(verify(f.server, long_lived, f.now).ok());
  f.now = kStart + seconds(10 + 3600 + 60);
  BOOST_TEST(verify(f.server, long_lived, f.now).status == JwtStatus::unknown_key);
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

  // Within the verifier's leeway after the old token_ttl, the key still answers for its
  // tokens (the token itself is judged by its exp) ...
  f.now = kStart + seconds(100 + 3600 + 59);
  BOOST_TEST(jwks_kids().size() == 2u);
  // ... and old token_ttl (3600 s) plus the leeway (60 s) after the reload it is gone from
  // both.
  f.now = kStart + seconds(100 + 3600 + 60);
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
  for (int i = 0; i < 5; ++i) f.post(good, basic("jofi", "guess"), "203.0.113.5");
  BOOST_TEST(f.post(good, basic("jofi", "s3cret"), "203.0.113.5").status == 429u);

  auto bad = oauth_config(f.dir);
  bad.signing_key = f.dir.write("garbage.pem", "not a key\n");
  bad.clients.erase(bad.clients.begin());
  BOOST_CHECK_THROW(f.server.prepare(bad), std::runtime_error);
  f.issue_ok(f.post(good, basic("a:b", "p@ss word+%"), "203.0.113.51"));

  // A reload does not reset the counters: still blocked.
  f.server.reload(oauth_config(f.dir));
  BOOST_TEST(f.post(good, basic("jofi", "s3cret"), "203.0.113.5").status == 429u);
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

BOOST_AUTO_TEST_SUITE_END()
