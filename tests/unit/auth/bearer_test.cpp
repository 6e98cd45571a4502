// The `bearer` auth item: header parsing, results and challenges, JWKS files, build errors.
#include "hookd/auth/bearer.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include "auth_values.hpp"
#include "hookd/auth/items.hpp"
#include "hookd/crypto/encoding.hpp"
#include "temp_dir.hpp"

using namespace hookd;
using namespace hookd::auth;
namespace json = boost::json;
using std::chrono::seconds;

namespace {

// An EC P-256 signing key and the JWKS file of its public half.
struct Issuer {
  JwtKey key = make_jwt_key(adopt_pkey(EVP_EC_gen("P-256")), "k1");

  std::string jwks() const {
    auto coord = [&](const char* name) {
      BIGNUM* bn = nullptr;
      EVP_PKEY_get_bn_param(key.pkey.get(), name, &bn);
      std::string out(32, '\0');
      BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), 32);
      BN_free(bn);
      return crypto::base64url_encode(out);
    };
    json::object jwk{{"kty", "EC"},
                     {"crv", "P-256"},
                     {"kid", key.kid},
                     {"x", coord(OSSL_PKEY_PARAM_EC_PUB_X)},
                     {"y", coord(OSSL_PKEY_PARAM_EC_PUB_Y)}};
    return json::serialize(json::object{{"keys", json::array{jwk}}});
  }

  std::string token(std::int64_t exp_offset = 600, std::string aud = "hookd") const {
    json::object c{{"iss", "https://as.example"},
                   {"sub", "svc"},
                   {"aud", aud},
                   {"iat", kNowS},
                   {"exp", kNowS + exp_offset}};
    return sign_jwt(json::serialize(c), key);
  }
};

config::BearerAuthConfig external(const std::string& jwks_path) {
  config::BearerAuthConfig c;
  c.jwks = jwks_path;
  c.issuer = "https://as.example";
  c.audience = "hookd";
  return c;
}

Result run(const Check& check, std::optional<std::string> authorization) {
  http::Request req;
  req.method = "POST";
  req.target = "/hook";
  req.peer = "192.0.2.7";
  if (authorization) req.headers.emplace_back("Authorization", *authorization);
  return check.check(req, Context{kNow});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(auth_bearer)

BOOST_AUTO_TEST_CASE(external_jwks_results_and_challenges) {
  test::TempDir dir;
  Issuer issuer;
  auto check = make_bearer(external(dir.write("jwks.json", issuer.jwks())), {}, kWhere);

  BOOST_TEST(run(*check, "Bearer " + issuer.token()).passed());
  BOOST_TEST(run(*check, "bearer  " + issuer.token() + " ").passed());  // RFC 6750: any case

  Result missing = run(*check, std::nullopt);
  BOOST_TEST((missing.verdict == Verdict::unauthorized));
  BOOST_TEST(missing.reason == "missing_credentials");
  BOOST_TEST(missing.challenge == "Bearer realm=\"hookd\"");
  BOOST_TEST(run(*check, "Basic dXNlcjpwYXNz").reason == "missing_credentials");
  BOOST_TEST(run(*check, "Bearer ").reason == "missing_credentials");
  BOOST_TEST(run(*check, "Bearertoken").reason == "missing_credentials");

  Result expired = run(*check, "Bearer " + issuer.token(-3600));
  BOOST_TEST(expired.reason == "expired_token");
  BOOST_TEST(expired.challenge == "Bearer error=\"invalid_token\"");

  Result wrong_aud = run(*check, "Bearer " + issuer.token(600, "other"));
  BOOST_TEST(wrong_aud.reason == "invalid_token");
  BOOST_TEST(wrong_aud.challenge == "Bearer error=\"invalid_token\"");
  BOOST_TEST(run(*check, "Bearer garbage").reason == "invalid_token");
  Issuer stranger;
  BOOST_TEST(run(*check, "Bearer " + stranger.token()).reason == "invalid_token");
}

BOOST_AUTO_TEST_CASE(algorithms_restrict_the_keys) {
  test::TempDir dir;
  Issuer issuer;
  auto cfg = external(dir.write("jwks.json", issuer.jwks()));
  cfg.algorithms = {"RS256"};  // the file only has an EC key
  BOOST_CHECK_THROW(make_bearer(cfg, {}, kWhere), BuildError);
  cfg.algorithms = {"ES256", "HS256"};
  BOOST_CHECK_THROW(make_bearer(cfg, {}, kWhere), BuildError);
  cfg.algorithms = {"none"};
  BOOST_CHECK_THROW(make_bearer(cfg, {}, kWhere), BuildError);
  cfg.algorithms = {"ES256"};
  BOOST_TEST(run(*make_bearer(cfg, {}, kWhere), "Bearer " + issuer.token()).passed());
}

BOOST_AUTO_TEST_CASE(build_errors_name_the_item) {
  test::TempDir dir;
  try {
    make_bearer(external(dir.file("missing.json")), {}, kWhere);
    BOOST_FAIL("expected a BuildError");
  } catch (const BuildError& e) {
    BOOST_TEST(e.where.line == 12);
    BOOST_TEST(std::string(e.what()).find("missing.json") != std::string::npos);
  }
  BOOST_CHECK_THROW(make_bearer(external(dir.write("bad.json", "{nope")), {}, kWhere), BuildError);
  BOOST_CHECK_THROW(
      make_bearer(external(dir.write("oct.json", R"({"keys":[{"kty":"oct","k":"c2VjcmV0"}]})")), {},
                  kWhere),
      BuildError);
  BOOST_CHECK_THROW(make_bearer(external(dir.write("empty.json", R"({"keys":[]})")), {}, kWhere),
                    BuildError);
  config::BearerAuthConfig self;
  self.self_issued = true;
  BOOST_CHECK_THROW(make_bearer(self, {}, kWhere), BuildError);  // no oauth section
}

// Stands in for the oauth endpoint: remembers what the check asked, answers `answer`.
struct FakeSelfIssued final : SelfIssuedVerifier {
  JwtVerification verify(std::string_view token, std::string_view audience, std::string_view route,
                         std::chrono::system_clock::time_point now) const override {
    asked = {std::string(token), std::string(audience), std::string(route)};
    asked_at = now;
    return {answer, "svc", "svc"};
  }
  JwtStatus answer = JwtStatus::valid;
  mutable std::vector<std::string> asked;
  mutable std::chrono::system_clock::time_point asked_at;
};

BOOST_AUTO_TEST_CASE(self_issued_asks_the_context_verifier) {
  auto fake = std::make_shared<FakeSelfIssued>();
  config::BearerAuthConfig self;
  self.self_issued = true;
  auto check = make_bearer(self, BuildContext{fake, "orders"}, kWhere);
  BOOST_TEST(run(*check, "Bearer abc").passed());
  BOOST_TEST((fake->asked == std::vector<std::string>{"abc", "", "orders"}));
  BOOST_TEST((fake->asked_at == kNow));
  // A route may narrow the audience of self-issued tokens.
  self.audience = "hookd";
  auto narrow = make_bearer(self, BuildContext{fake, "orders"}, kWhere);
  BOOST_TEST(run(*narrow, "Bearer abc").passed());
  BOOST_TEST(fake->asked[1] == "hookd");
  for (auto status : {JwtStatus::unknown_client, JwtStatus::route_not_allowed,
                      JwtStatus::wrong_type, JwtStatus::bad_signature}) {
    fake->answer = status;
    BOOST_TEST(run(*check, "Bearer abc").reason == "invalid_token");
  }
  fake->answer = JwtStatus::expired;
  BOOST_TEST(run(*check, "Bearer abc").reason == "expired_token");
  BOOST_TEST(run(*check, "").reason == "missing_credentials");
}

// An external issuer's access tokens: `typ` is checked when the item sets it.
BOOST_AUTO_TEST_CASE(external_typ_is_checked_when_set) {
  test::TempDir dir;
  Issuer issuer;
  auto cfg = external(dir.write("jwks.json", issuer.jwks()));
  auto with_typ = [&](std::string_view typ) {
    json::object c{{"iss", "https://as.example"}, {"aud", "hookd"}, {"exp", kNowS + 600}};
    return "Bearer " + sign_jwt(json::serialize(c), issuer.key, typ);
  };
  // Not set: any typ passes (as before).
  BOOST_TEST(run(*make_bearer(cfg, {}, kWhere), with_typ("JWT")).passed());
  cfg.typ = "at+jwt";
  auto check = make_bearer(cfg, {}, kWhere);
  BOOST_TEST(run(*check, with_typ("at+jwt")).passed());
  BOOST_TEST(run(*check, with_typ("AT+JWT")).passed());
  BOOST_TEST(run(*check, with_typ("application/at+jwt")).passed());
  BOOST_TEST(run(*check, with_typ("JWT")).reason == "invalid_token");
  BOOST_TEST(run(*check, with_typ("x/at+jwt")).reason == "invalid_token");
}

BOOST_AUTO_TEST_CASE(bearer_token_extraction) {
  http::Request req;
  BOOST_TEST(!bearer_token(req));
  req.headers.emplace_back("authorization", "BEARER\tabc.def.ghi");
  BOOST_TEST(bearer_token(req).value_or("") == "abc.def.ghi");
}

BOOST_AUTO_TEST_SUITE_END()
