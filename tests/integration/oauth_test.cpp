// The built-in OAuth 2.0 token endpoint and `bearer: {issuer: self}` through the TLS
// listener: JOFI's "client id, client secret and a URL for your authorization server".
#include <sys/stat.h>

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include "db.hpp"
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

BOOST_AUTO_TEST_SUITE_END()
