// The built-in OAuth 2.0 token endpoint and `bearer: {issuer: self}` through the TLS
// listener: JOFI's "client id, client secret and a URL for your authorization server".
#include <sys/stat.h>

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <csignal>
#include <functional>
#include <thread>

#include "db.hpp"
#include "eventually.hpp"
#include "hookd/crypto/encoding.hpp"
#include "server_process.hpp"
#include "tls_client.hpp"

using namespace hookd::test;
using hookd::crypto::base64_encode;

namespace {

std::string oauth_config() {
  return "server:\n"
         "  listen: 127.0.0.1:0\n"
         "  tls: { cert: tls/cert.pem, key: tls/key.pem }\n"
         "admin: { listen: 127.0.0.1:0 }\n"
         "storage: { path: hookd.db }\n"
         "oauth:\n"
         "  issuer: hookd-test\n"
         "  audience: hookd\n"
         "  token_ttl: 10m\n"
         "  signing_key: keys/oauth.pem\n"
         "  clients:\n"
         "    - { id: jofi, secret: \"s3cret/+&=\" }\n"
         "routes:\n"
         "  - name: jofi\n"
         "    path: /webhooks/incoming/jofi\n"
         "    auth: [ { bearer: { issuer: self } } ]\n"
         "    event: { id: json:/id, type: json:/type }\n";
}

const HeaderList kForm{{"Content-Type", "application/x-www-form-urlencoded"}};


std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Two clients, `limits` and `batch` given; `oauth_extra` replaces the signing key line.
std::string reload_config(const std::string& clients, const std::string& signing_key,
                          const std::string& max_body, const std::string& max_events) {
  return "server:\n"
         "  listen: 127.0.0.1:0\n"
         "  tls: { cert: tls/cert.pem, key: tls/key.pem }\n"
         "  limits: { max_body: " +
         max_body +
         " }\n"
         "admin: { listen: 127.0.0.1:0 }\n"
         "storage: { path: hookd.db, batch: { max_events: " +
         max_events +
         " } }\n"
         "oauth:\n"
         "  issuer: hookd-test\n"
         "  token_ttl: 10m\n"
         "  signing_key: " +
         signing_key +
         "\n"
         "  clients:\n" +
         clients +
         "routes:\n"
         "  - name: jofi\n"
         "    path: /webhooks/incoming/jofi\n"
         "    auth: [ { bearer: { issuer: self } } ]\n"
         "    event: { id: json:/id, type: json:/type }\n";
}

std::string token_of(const HttpResponse& r) {
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  return std::string(boost::json::parse(r.body).at("access_token").as_string());
}

std::string kid_of(const std::string& token) {
  auto header = hookd::crypto::base64url_decode(token.substr(0, token.find('.')));
  BOOST_REQUIRE(header);
  return std::string(boost::json::parse(*header).at("kid").as_string());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(oauth_end_to_end)

BOOST_AUTO_TEST_CASE(client_credentials_then_bearer) {
  TempDir dir;
  ServerProcess server(dir, oauth_config());
  struct stat st {};
  BOOST_REQUIRE(::stat(dir.file("keys/oauth.pem").c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);

  TlsClient c(server.port());
  std::string event = R"({"id":"evt_oauth","type":"invitation.accepted"})";
  auto none = c.post("/webhooks/incoming/jofi", event);
  BOOST_TEST(none.status == 401);
  BOOST_TEST(none.header("www-authenticate").starts_with("Bearer"));

  // client_secret_basic: id and secret form-urlencoded inside the Basic credentials.
  HeaderList basic = kForm;
  basic.emplace_back("Authorization", "Basic " + base64_encode("jofi:s3cret%2F%2B%26%3D"));
  auto token = c.post("/oauth/token", "grant_type=client_credentials", basic);
  BOOST_TEST_REQUIRE(token.status == 200, token.body);
  BOOST_TEST(token.header("cache-control") == "no-store");
  auto json = boost::json::parse(token.body).as_object();
  BOOST_TEST(json.at("token_type").as_string() == "Bearer");
  BOOST_TEST(json.at("expires_in").to_number<int>() == 600);
  std::string access = std::string(json.at("access_token").as_string());

  auto ok = c.post("/webhooks/incoming/jofi", event, {{"Authorization", "Bearer " + access}});
  BOOST_TEST(ok.status == 202);
  auto tampered = access;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  auto bad = c.post("/webhooks/incoming/jofi", R"({"id":"evt_2","type":"t"})",
                    {{"Authorization", "Bearer " + tampered}});
  BOOST_TEST(bad.status == 401);

  // client_secret_post works too; a wrong secret is 401 invalid_client.
  auto post = c.post("/oauth/token",
                     "grant_type=client_credentials&client_id=jofi&client_secret=s3cret%2F%2B%26%3D",
                     kForm);
  BOOST_TEST(post.status == 200);
  auto wrong = c.post("/oauth/token",
                      "grant_type=client_credentials&client_id=jofi&client_secret=nope", kForm);
  BOOST_TEST(wrong.status == 401);
  BOOST_TEST(wrong.body.find("invalid_client") != std::string::npos);
  auto grant = c.post("/oauth/token", "grant_type=password", basic);
  BOOST_TEST(grant.status == 400);
  BOOST_TEST(grant.body.find("unsupported_grant_type") != std::string::npos);

  auto jwks = c.request("GET", "/oauth/jwks", "");
  BOOST_TEST(jwks.status == 200);
  BOOST_TEST(boost::json::parse(jwks.body).as_object().at("keys").as_array().size() >= 1u);

  Db db(dir.file("hookd.db"));
  BOOST_TEST(db.integer("SELECT count(*) FROM events") == 1);
  BOOST_TEST(db.text("SELECT headers FROM events")->find(access) == std::string::npos);
  BOOST_TEST(server.log().find("s3cret") == std::string::npos);
  BOOST_TEST(server.log().find(access) == std::string::npos);
}

// Issue 14 (6): after 5 failures `jofi` got 429 but `nosuch` 401, telling which ids exist.
// Each id fails from a source of its own (the strict counter is per id and source, issue
// 24 item 5), so only the counter of that id from that source can block it.
BOOST_AUTO_TEST_CASE(unknown_client_id_throttled_like_a_known_one) {
  TempDir dir;
  ServerProcess server(dir, oauth_config());
  int source = 10;
  for (const std::string id : {"jofi", "nosuch"}) {
    ++source;
    for (int i = 0; i < 5; ++i) {
      TlsClient c(server.port(), 0, false, "127.0.0." + std::to_string(source));
      auto r =
          c.post("/oauth/token",
                 "grant_type=client_credentials&client_id=" + id + "&client_secret=guess", kForm);
      BOOST_TEST(r.status == 401);
    }
    TlsClient c(server.port(), 0, false, "127.0.0." + std::to_string(source));
    auto r =
        c.post("/oauth/token",
               "grant_type=client_credentials&client_id=" + id + "&client_secret=guess", kForm);
    BOOST_TEST(r.status == 429, id);
    BOOST_TEST(!r.header("retry-after").empty());
    BOOST_TEST(r.body.find("temporarily_unavailable") != std::string::npos);
  }
  // Ten failures in well under ten seconds: the warning is rate-limited.
  BOOST_TEST(count(server.log(), "client authentication failed") < 10u);
}

// oauth.clients[].routes: a client's tokens pass `bearer: {issuer: self}` only on its routes;
// `hookd sign` picks a client the route accepts.
BOOST_AUTO_TEST_CASE(tokens_scoped_to_routes) {
  TempDir dir;
  ServerProcess server(
      dir, "server:\n"
           "  listen: 127.0.0.1:0\n"
           "  tls: { cert: tls/cert.pem, key: tls/key.pem }\n"
           "admin: { listen: 127.0.0.1:0 }\n"
           "storage: { path: hookd.db }\n"
           "oauth:\n"
           "  signing_key: keys/oauth.pem\n"
           "  clients:\n"
           "    - { id: ci, secret: ci-secret, routes: [ci] }\n"
           "    - { id: jofi, secret: jofi-secret }\n"
           "routes:\n"
           "  - { name: jofi, path: /jofi, auth: [ { bearer: { issuer: self } } ] }\n"
           "  - { name: ci, path: /ci, auth: [ { bearer: { issuer: self } } ] }\n");
  TlsClient c(server.port());
  auto token = [&](const std::string& id) {
    return token_of(c.post("/oauth/token",
                           "grant_type=client_credentials&client_id=" + id + "&client_secret=" +
                               id + "-secret",
                           kForm));
  };
  const std::string ci = token(std::string("ci"));
  const std::string jofi = token(std::string("jofi"));
  auto post = [&](const std::string& path, const std::string& t) {
    return c.post(path, "{}", {{"Authorization", "Bearer " + t}}).status;
  };
  BOOST_TEST(post("/ci", ci) == 202);
  BOOST_TEST(post("/jofi", ci) == 401);
  BOOST_TEST(post("/jofi", jofi) == 202);
  BOOST_TEST(post("/ci", jofi) == 202);

  auto out = run_hookd(dir.path().string(), "sign -c hookd.yaml --route jofi");
  BOOST_TEST_REQUIRE(out.code == 0, out.output);
  auto at = out.output.find("Bearer ");
  BOOST_REQUIRE(at != std::string::npos);
  auto end = out.output.find_first_of("'\n", at);
  const std::string signed_token = out.output.substr(at + 7, end - at - 7);
  auto payload = hookd::crypto::base64url_decode(signed_token.substr(
      signed_token.find('.') + 1, signed_token.rfind('.') - signed_token.find('.') - 1));
  BOOST_REQUIRE(payload);
  BOOST_TEST(boost::json::parse(*payload).at("client_id").as_string() == "jofi");
  BOOST_TEST(post("/jofi", signed_token) == 202);
}

// SIGHUP applies the oauth section: a removed client is refused at once (and so are its
// tokens), a changed secret replaces the old one, a new signing key signs while the old one
// keeps verifying; sections a reload cannot apply are named in a warning.
BOOST_AUTO_TEST_CASE(sighup_applies_oauth_changes) {
  TempDir dir;
  ServerProcess server(dir, reload_config("    - { id: jofi, secret: first-secret }\n"
                                          "    - { id: partner, secret: partner-secret }\n",
                                          "keys/oauth.pem", "64KiB", "1024"));
  TlsClient c(server.port());  // one keep-alive connection across the reload
  auto post_token = [&](const std::string& id, const std::string& secret) {
    return c.post("/oauth/token",
                  "grant_type=client_credentials&client_id=" + id + "&client_secret=" + secret,
                  kForm);
  };
  auto post_event = [&](const std::string& id, const std::string& token) {
    return c
        .post("/webhooks/incoming/jofi", R"({"id":")" + id + R"(","type":"t"})",
              {{"Authorization", "Bearer " + token}})
        .status;
  };
  const std::string jofi_old = token_of(post_token("jofi", "first-secret"));
  const std::string partner_old = token_of(post_token("partner", "partner-secret"));
  BOOST_TEST(post_event("e1", partner_old) == 202);

  dir.write("hookd.yaml", reload_config("    - { id: jofi, secret: second-secret }\n",
                                        "keys/oauth-2.pem", "128KiB", "512"));
  server.signal(SIGHUP);
  BOOST_REQUIRE(eventually([&] { return server.log().find("reloaded") != std::string::npos; }));

  // The removed client: no token, and its token no longer passes the route.
  auto revoked = post_token("partner", "partner-secret");
  BOOST_TEST(revoked.status == 401);
  BOOST_TEST(revoked.body.find("invalid_client") != std::string::npos);
  BOOST_TEST(post_event("e2", partner_old) == 401);
  // The changed secret: the old one refused, the new one accepted, signed by the new key.
  BOOST_TEST(post_token("jofi", "first-secret").status == 401);
  const std::string jofi_new = token_of(post_token("jofi", "second-secret"));
  BOOST_TEST(kid_of(jofi_new) != kid_of(jofi_old));
  BOOST_TEST(post_event("e3", jofi_new) == 202);
  // A token of the old key still verifies until it expires; the JWKS has both keys.
  BOOST_TEST(post_event("e4", jofi_old) == 202);
  auto jwks = boost::json::parse(c.request("GET", "/oauth/jwks", "").body);
  std::vector<std::string> kids;
  for (const auto& k : jwks.at("keys").as_array()) kids.emplace_back(k.at("kid").as_string());
  BOOST_TEST((kids == std::vector<std::string>{kid_of(jofi_new), kid_of(jofi_old)}));

  const std::string log = server.log();
  BOOST_TEST(log.find("reload: changes to server.limits, storage take effect only after a "
                      "restart") != std::string::npos,
             log);
  BOOST_TEST(log.find("clients removed (their tokens are refused): partner") != std::string::npos);
  BOOST_TEST(log.find("new secret for: jofi") != std::string::npos);
  BOOST_TEST(log.find("partner-secret") == std::string::npos);  // no secret value in the log
  BOOST_TEST(log.find("first-secret") == std::string::npos);
  BOOST_TEST(log.find("second-secret") == std::string::npos);
  BOOST_TEST(count(log, "take effect only after a restart") == 1u);
  server.signal(SIGTERM);
  BOOST_TEST(server.wait() == 0);
}

// The whole section may come and go with SIGHUP; a signing key that cannot be loaded
// refuses the reload and the old config keeps serving.
BOOST_AUTO_TEST_CASE(sighup_adds_removes_or_refuses_the_oauth_section) {
  TempDir dir;
  const std::string no_oauth =
      "server:\n"
      "  listen: 127.0.0.1:0\n"
      "  tls: { cert: tls/cert.pem, key: tls/key.pem }\n"
      "admin: { listen: 127.0.0.1:0 }\n"
      "storage: { path: hookd.db }\n"
      "routes:\n"
      "  - { name: open, path: /open, auth: none }\n";
  auto with_oauth = [&](const std::string& key) {
    return no_oauth + "oauth:\n  signing_key: " + key +
           "\n  clients:\n    - { id: jofi, secret: s3cret }\n";
  };
  ServerProcess server(dir, no_oauth);
  TlsClient c(server.port());
  const std::string form = "grant_type=client_credentials&client_id=jofi&client_secret=s3cret";
  BOOST_TEST(c.post("/oauth/token", form, kForm).status == 404);
  auto reload = [&](const std::string& yaml, const std::string& expect, std::size_t n) {
    dir.write("hookd.yaml", yaml);
    server.signal(SIGHUP);
    BOOST_REQUIRE(eventually([&] { return count(server.log(), expect) == n; }));
  };

  reload(with_oauth("keys/oauth.pem"), "reloaded", 1);
  BOOST_TEST(c.post("/oauth/token", form, kForm).status == 200);
  BOOST_TEST(server.log().find("oauth: the token endpoint was added") != std::string::npos);

  dir.write("bad.pem", "not a key\n");
  reload(with_oauth("bad.pem"), "reload refused", 1);
  BOOST_TEST(server.log().find("bad.pem") != std::string::npos);
  BOOST_TEST(c.post("/oauth/token", form, kForm).status == 200);

  reload(no_oauth, "reloaded", 2);
  BOOST_TEST(c.post("/oauth/token", form, kForm).status == 404);
  BOOST_TEST(c.request("GET", "/oauth/jwks", "").status == 404);
  reload(with_oauth("keys/oauth.pem"), "reloaded", 3);
  BOOST_TEST(c.post("/oauth/token", form, kForm).status == 200);
  BOOST_TEST(server.log().find("oauth: the token endpoint is back") != std::string::npos);
  BOOST_TEST(server.log().find("s3cret") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
