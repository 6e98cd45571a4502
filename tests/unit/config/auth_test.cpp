// Route auth items and the oauth section: what each item requires, presets for event
// fields, and checks across sections.
#include <boost/test/unit_test.hpp>

#include "helpers.hpp"

using namespace hookd::config;
using hookd::config::test::all_errors;
using hookd::config::test::load;
using hookd::config::test::load_ok;
using hookd::config::test::one_error;

namespace {
std::string route_with(const std::string& auth_lines, const std::string& extra = "") {
  return "routes:\n  - name: r\n    path: /r\n    auth:\n" + auth_lines + extra;
}
const std::string kOauth = "oauth:\n  clients:\n    - { id: jofi, secret: s3cret }\n";
}  // namespace

BOOST_AUTO_TEST_SUITE(config_auth)

BOOST_AUTO_TEST_CASE(every_item_kind) {
  auto c = load_ok(
      route_with(
          "      - ip_allow: [10.0.0.0/8, \"::1/128\"]\n"
          "      - any:\n"
          "          - basic: { username: jofi, password: \"${env:PW}\" }\n"
          "          - bearer: { issuer: self }\n"
          "          - bearer: { jwks: keys.json, issuer: https://as.example, audience: hookd,"
          " algorithms: [ES256] }\n"
          "      - hmac: { scheme: github, secrets: [a, b], tolerance: 2m }\n"
          "      - signature: { scheme: sendgrid, public_key: MFkw }\n") +
          kOauth,
      {{"PW", "pw"}});
  const auto& items = c.routes[0].auth.items;
  BOOST_REQUIRE_EQUAL(items.size(), 4u);
  BOOST_TEST((items[0].kind == AuthItemConfig::Kind::ip_allow));
  BOOST_TEST(items[0].ip_allow.size() == 2u);
  BOOST_TEST((items[1].kind == AuthItemConfig::Kind::any));
  BOOST_REQUIRE_EQUAL(items[1].any.size(), 3u);
  BOOST_TEST(items[1].any[0].basic.password.str() == "pw");
  BOOST_TEST(items[1].any[1].bearer.self_issued);
  BOOST_TEST(items[1].any[2].bearer.algorithms == std::vector<std::string>{"ES256"});
  BOOST_TEST(items[2].hmac.secrets.size() == 2u);
  BOOST_TEST((items[2].hmac.tolerance == std::chrono::minutes(2)));
  BOOST_TEST(items[3].signature.public_keys == std::vector<std::string>{"MFkw"});
  BOOST_TEST(items[0].where.line == 5);
  BOOST_TEST(items[0].where.column == 9);
  BOOST_REQUIRE(c.oauth.has_value());
  BOOST_TEST(c.oauth->clients[0].secret.str() == "s3cret");
  BOOST_TEST(c.oauth->token_path == "/oauth/token");
}

BOOST_AUTO_TEST_CASE(presets_fill_event_fields_unless_the_route_sets_them) {
  auto gh = load_ok(route_with("      - hmac: { scheme: github, secrets: [x] }\n"));
  BOOST_TEST(gh.routes[0].event.id.text == "header:X-GitHub-Delivery");
  BOOST_TEST(gh.routes[0].event.type.text == "header:X-GitHub-Event");
  auto sw =
      load_ok(route_with("      - hmac: { scheme: standard-webhooks, secrets: [whsec_AA==] }\n",
                         "    event: { type: json:/kind }\n"));
  BOOST_TEST(sw.routes[0].event.id.text == "header:webhook-id");
  BOOST_TEST(sw.routes[0].event.type.text == "json:/kind");
  auto st = load_ok(route_with("      - any: [ { hmac: { scheme: stripe, secrets: [x] } } ]\n"));
  BOOST_TEST(st.routes[0].event.id.text == "json:/id");
}

BOOST_AUTO_TEST_CASE(item_errors_at_their_location) {
  auto e = one_error(route_with("      - basic: { username: a }\n"));
  BOOST_TEST(e.str() ==
             "test.yaml:5:9: routes[0].auth[0].basic: give exactly one of "
             "'password' and 'password_sha256'");
  auto f = one_error(route_with("      - hmac: { scheme: gitlab, secrets: [x] }\n"));
  BOOST_TEST(f.message.find("expected one of github, stripe") != std::string::npos);
  BOOST_TEST(f.where.column == 25);
  auto g = one_error(route_with("      - hmac: { scheme: twilio, secrets: [x] }\n"));
  BOOST_TEST(g.message.find("give 'url'") != std::string::npos);
  auto h = one_error(route_with("      - hmac: { scheme: standard-webhooks, secrets: [abc] }\n"));
  BOOST_TEST(h.message.find("whsec_") != std::string::npos);
  auto i = one_error(route_with("      - hmac: { scheme: github, secrets: [x], header: X-Sig }\n"));
  BOOST_TEST(i.message.find("are for scheme generic") != std::string::npos);
  auto j = one_error(route_with("      - magic: {}\n"));
  BOOST_TEST(j.message.find("unknown key 'magic'") != std::string::npos);
  auto k =
      one_error(route_with("      - { basic: { username: a, password: b }, ip_allow: [x] }\n"));
  BOOST_TEST(k.message.find("a map with one key") != std::string::npos);
  auto l =
      one_error(route_with("      - hmac: { scheme: generic, secrets: [x], header: X-S,"
                           " payload: \"{timestamp}.{body}\" }\n"));
  BOOST_TEST(l.message.find("timestamp_header") != std::string::npos);
  auto m = one_error(route_with("      - bearer: { jwks: k.json }\n"));
  BOOST_TEST(m.message.find("'issuer'") != std::string::npos);
  auto n =
      one_error(route_with("      - bearer: { issuer: x, jwks: k.json, algorithms: [HS256] }\n"));
  BOOST_TEST(n.message.find("expected one of RS256, ES256, EdDSA, got 'HS256'") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(secrets_never_in_messages) {
  auto r = load(route_with("      - basic: { username: a, password: \"${env:PW}\", "
                           "password_sha256: \"${env:PW}\" }\n"),
                {{"PW", "hunter2-very-secret"}});
  BOOST_TEST(!r.ok());
  BOOST_TEST(all_errors(r).find("hunter2") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(self_issued_bearer_needs_the_oauth_section) {
  auto e = one_error(route_with("      - bearer: { issuer: self }\n"));
  BOOST_TEST(e.str() ==
             "test.yaml:5:9: `bearer: {issuer: self}` needs the top-level `oauth` "
             "section (the token endpoint whose tokens it verifies)");
}

BOOST_AUTO_TEST_CASE(oauth_section) {
  auto c = load_ok(
      "oauth:\n  token_path: /token\n  issuer: me\n  token_ttl: 10m\n"
      "  signing_key: k.pem\n  audience: aud\n  clients:\n"
      "    - { id: a, secret_sha256: " +
      std::string(64, 'a') + " }\n");
  BOOST_TEST(c.oauth->token_path == "/token");
  BOOST_TEST((c.oauth->token_ttl == std::chrono::minutes(10)));
  BOOST_TEST(c.oauth->clients[0].secret_sha256.str() == std::string(64, 'a'));
  auto e = one_error("oauth:\n  clients: []\n");
  BOOST_TEST(e.message == "oauth.clients: the token endpoint needs at least one client");
  auto f = one_error("oauth:\n  clients:\n    - { id: a, secret: x, secret_sha256: y }\n");
  BOOST_TEST(f.message.find("expected 64 hex digits") != std::string::npos);
  auto g = load("oauth:\n  clients:\n    - { id: a, secret: x }\n    - { id: a, secret: y }\n");
  BOOST_TEST(all_errors(g).find("appears twice") != std::string::npos);
  auto h = one_error(kOauth + "routes:\n  - { name: r, path: /oauth/token, auth: none }\n");
  BOOST_TEST(h.message.find("of the oauth endpoint") != std::string::npos);
}

// OAuth tokens scoped to routes: a client's `routes` must name routes of the file.
BOOST_AUTO_TEST_CASE(oauth_client_routes) {
  const std::string routes =
      "routes:\n"
      "  - { name: a, path: /a, auth: [ { bearer: { issuer: self } } ] }\n"
      "  - { name: b, path: /b, auth: [ { bearer: { issuer: self } } ] }\n";
  auto c = load_ok(routes +
                   "oauth:\n  clients:\n    - { id: x, secret: s, routes: [a] }\n"
                   "    - { id: y, secret: s }\n");
  BOOST_REQUIRE(c.oauth->clients[0].routes.has_value());
  BOOST_TEST(*c.oauth->clients[0].routes == std::vector<std::string>{"a"});
  BOOST_TEST(!c.oauth->clients[1].routes.has_value());  // every route
  auto e =
      one_error(routes + "oauth:\n  clients:\n    - { id: x, secret: s, routes: [a, nope] }\n");
  BOOST_TEST(e.str() == "test.yaml:6:39: oauth client 'x': no route is named 'nope'");
  auto f = one_error(routes + "oauth:\n  clients:\n    - { id: x, secret: s, routes: [] }\n");
  BOOST_TEST(f.message.find("must name at least one route") != std::string::npos);
}

// Every self-issued token carries aud = oauth.audience: another audience on the item would
// refuse them all, so it is a config error; the same one is fine.
BOOST_AUTO_TEST_CASE(self_issued_audience_must_be_the_endpoints) {
  const std::string oauth = "oauth:\n  audience: hooks\n  clients:\n    - { id: x, secret: s }\n";
  load_ok(route_with("      - bearer: { issuer: self, audience: hooks }\n") + oauth);
  auto e = one_error(route_with("      - any: [ { bearer: { issuer: self, audience: other } } ]\n") +
                     oauth);
  BOOST_TEST(e.message.find("audience 'other' would refuse every token") != std::string::npos,
             e.message);
}

BOOST_AUTO_TEST_CASE(bearer_typ) {
  auto c = load_ok(
      route_with("      - bearer: { jwks: keys.json, issuer: https://as.example, typ: at+jwt }\n"));
  BOOST_TEST(c.routes[0].auth.items[0].bearer.typ == "at+jwt");
  // Self-issued tokens are always at+jwt: nothing to configure.
  auto e = one_error(route_with("      - bearer: { issuer: self, typ: JWT }\n") + kOauth);
  BOOST_TEST(e.message.find("it takes no 'jwks', 'algorithms' or 'typ'") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
