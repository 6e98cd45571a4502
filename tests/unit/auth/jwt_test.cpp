// JWS signing and verification, claim checks, algorithm confusion, and JWKS parsing.
#include "hookd/auth/jwt.hpp"
#include "auth_values.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include "hookd/crypto/encoding.hpp"

using namespace hookd;
using namespace hookd::auth;
namespace json = boost::json;
using std::chrono::seconds;

namespace {

PKeyPtr ec_key() {
  return adopt_pkey(EVP_EC_gen("P-256"));
}
PKeyPtr ed_key() {
  return adopt_pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
}
PKeyPtr rsa_key(unsigned bits = 2048) {
  return adopt_pkey(EVP_RSA_gen(bits));
}

std::string b64(std::string_view s) {
  return crypto::base64url_encode(s);
}

std::string bn_param(EVP_PKEY* key, const char* name, int width = 0) {
  BIGNUM* bn = nullptr;
  BOOST_REQUIRE(EVP_PKEY_get_bn_param(key, name, &bn) == 1);
  int n = width ? width : BN_num_bytes(bn);
  std::string out(static_cast<std::size_t>(n), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), n);
  BN_free(bn);
  return out;
}

// The public JWK of a key, written by hand from its parameters.
json::object jwk_of(EVP_PKEY* key, std::string kid) {
  json::object o;
  if (EVP_PKEY_is_a(key, "RSA")) {
    o["kty"] = "RSA";
    o["n"] = b64(bn_param(key, OSSL_PKEY_PARAM_RSA_N));
    o["e"] = b64(bn_param(key, OSSL_PKEY_PARAM_RSA_E));
  } else if (EVP_PKEY_is_a(key, "EC")) {
    o["kty"] = "EC";
    o["crv"] = "P-256";
    o["x"] = b64(bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, 32));
    o["y"] = b64(bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32));
  } else {
    std::string raw(32, '\0');
    std::size_t len = 32;
    EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(raw.data()), &len);
    o["kty"] = "OKP";
    o["crv"] = "Ed25519";
    o["x"] = b64(raw);
  }
  if (!kid.empty()) o["kid"] = kid;
  return o;
}

std::string jwks_of(std::initializer_list<json::object> keys) {
  json::array a;
  for (const auto& k : keys) a.push_back(k);
  return json::serialize(json::object{{"keys", a}});
}

// The public half of a signing key, through a JWKS document, so verification never
// touches the private key object.
JwtKey public_of(const JwtKey& key) {
  auto keys = parse_jwks(jwks_of({jwk_of(key.pkey.get(), key.kid)}));
  BOOST_REQUIRE_EQUAL(keys.size(), 1u);
  return keys[0];
}

json::object claims(std::int64_t exp_offset = 600) {
  return {{"iss", "https://issuer.example"},
          {"sub", "client-1"},
          {"aud", "hookd"},
          {"iat", kNowS},
          {"exp", kNowS + exp_offset}};
}

JwtPolicy policy() {
  JwtPolicy p;
  p.issuer = "https://issuer.example";
  p.audience = "hookd";
  return p;
}

JwtStatus verify(const std::string& token, const JwtKey& key, const JwtPolicy& p = policy()) {
  std::vector<JwtKey> keys{public_of(key)};
  return verify_jwt(token, keys, p, kNow).status;
}

std::string sign(const json::object& c, const JwtKey& key) {
  return sign_jwt(json::serialize(c), key);
}

std::string unsigned_token(std::string_view header, const json::object& c,
                           std::string_view sig = "") {
  return b64(header) + "." + b64(json::serialize(c)) + "." + std::string(sig);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(auth_jwt)

BOOST_AUTO_TEST_CASE(es256_round_trip) {
  JwtKey key = make_jwt_key(ec_key(), "ec-1");
  BOOST_TEST(key.algorithm == JwsAlgorithm::es256);
  std::string token = sign(claims(), key);
  auto sig = crypto::base64url_decode(token.substr(token.rfind('.') + 1));
  BOOST_REQUIRE(sig);
  BOOST_TEST(sig->size() == 64u);  // JWS r||s, not DER
  std::vector<JwtKey> keys{public_of(key)};
  auto result = verify_jwt(token, keys, policy(), kNow);
  BOOST_TEST(result.ok());
  BOOST_TEST(result.subject == "client-1");
}

BOOST_AUTO_TEST_CASE(eddsa_round_trip) {
  JwtKey key = make_jwt_key(ed_key(), "ed-1");
  BOOST_TEST(key.algorithm == JwsAlgorithm::eddsa);
  BOOST_TEST(verify(sign(claims(), key), key) == JwtStatus::valid);
}

BOOST_AUTO_TEST_CASE(rs256_verify) {
  JwtKey key = make_jwt_key(rsa_key(), "rsa-1");
  BOOST_TEST(key.algorithm == JwsAlgorithm::rs256);
  // Signed independently of sign_jwt: EVP_DigestSign with SHA-256 and PKCS#1 v1.5.
  std::string input =
      b64(R"({"alg":"RS256","kid":"rsa-1"})") + "." + b64(json::serialize(claims()));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t n = 512;
  std::string sig(n, '\0');
  BOOST_REQUIRE(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key.pkey.get()) == 1);
  BOOST_REQUIRE(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &n,
                               reinterpret_cast<const unsigned char*>(input.data()),
                               input.size()) == 1);
  EVP_MD_CTX_free(ctx);
  sig.resize(n);
  BOOST_TEST(verify(input + "." + b64(sig), key) == JwtStatus::valid);
  BOOST_TEST(verify(sign(claims(), key), key) == JwtStatus::valid);
}

BOOST_AUTO_TEST_CASE(time_claims) {
  JwtKey key = make_jwt_key(ec_key());
  BOOST_TEST(verify(sign(claims(-3600), key), key) == JwtStatus::expired);
  BOOST_TEST(verify(sign(claims(-30), key), key) == JwtStatus::valid);  // within the leeway
  BOOST_TEST(verify(sign(claims(-60), key), key) == JwtStatus::expired);
  auto c = claims();
  c["nbf"] = kNowS + 3600;
  BOOST_TEST(verify(sign(c, key), key) == JwtStatus::not_yet_valid);
  c["nbf"] = kNowS + 30;
  BOOST_TEST(verify(sign(c, key), key) == JwtStatus::valid);
  c = claims();
  c["iat"] = kNowS + 3600;
  BOOST_TEST(verify(sign(c, key), key) == JwtStatus::not_yet_valid);
  c = claims();
  c.erase("exp");
  BOOST_TEST(verify(sign(c, key), key) == JwtStatus::missing_expiry);
  c["exp"] = "tomorrow";
  BOOST_TEST(verify(sign(c, key), key) == JwtStatus::malformed);
  c["exp"] = static_cast<double>(kNowS) + 100.5;  // NumericDate may be fractional
  BOOST_TEST(verify(sign(c, key), key) == JwtStatus::valid);
  c["exp"] = 1e300;
  BOOST_TEST(verify(sign(c, key), key) == JwtStatus::valid);
}

BOOST_AUTO_TEST_CASE(issuer_and_audience) {
  JwtKey key = make_jwt_key(ed_key());
  auto c = claims();
  c["iss"] = "https://evil.example";
  BOOST_TEST(verify(sign(c, key), key) == JwtStatus::wrong_issuer);
  c.erase("iss");
  BOOST_TEST(verify(sign(c, key), key) == JwtStatus::wrong_issuer);
  c = claims();
  c["aud"] = "someone-else";
  BOOST_TEST(verify(sign(c, key), key) == JwtStatus::wrong_audience);
  c["aud"] = json::array{"a", "hookd"};
  BOOST_TEST(verify(sign(c, key), key) == JwtStatus::valid);
  c["aud"] = json::array{"a", "b"};
  BOOST_TEST(verify(sign(c, key), key) == JwtStatus::wrong_audience);
  c.erase("aud");
  BOOST_TEST(verify(sign(c, key), key) == JwtStatus::wrong_audience);
  JwtPolicy open = policy();
  open.audience.clear();  // no audience configured: `aud` is not looked at
  BOOST_TEST(verify(sign(c, key), key, open) == JwtStatus::valid);
}

// RFC 9068 access tokens carry `typ: at+jwt`; a policy that asks for it refuses an ID token
// or any other JWT signed by the same key (RFC 8725 3.11).
BOOST_AUTO_TEST_CASE(typ_checked_when_the_policy_sets_it) {
  JwtKey key = make_jwt_key(ec_key(), "k");
  JwtPolicy at = policy();
  at.typ = "at+jwt";
  auto typed = [&](std::string_view typ) { return sign_jwt(json::serialize(claims()), key, typ); };
  BOOST_TEST(verify(typed("at+jwt"), key, at) == JwtStatus::valid);
  BOOST_TEST(verify(typed("AT+JWT"), key, at) == JwtStatus::valid);
  BOOST_TEST(verify(typed("application/at+jwt"), key, at) == JwtStatus::valid);
  BOOST_TEST(verify(typed("Application/AT+jwt"), key, at) == JwtStatus::valid);
  BOOST_TEST(verify(typed("JWT"), key, at) == JwtStatus::wrong_type);
  BOOST_TEST(verify(typed("at+jwt2"), key, at) == JwtStatus::wrong_type);
  BOOST_TEST(verify(typed("text/at+jwt"), key, at) == JwtStatus::wrong_type);
  BOOST_TEST(verify(typed("application/"), key, at) == JwtStatus::wrong_type);
  // No typ at all, or not a string.
  std::string header = R"({"alg":"ES256","kid":"k"})";
  BOOST_TEST(verify(sign_jws(header, json::serialize(claims()), key), key, at) ==
             JwtStatus::wrong_type);
  header = R"({"alg":"ES256","kid":"k","typ":7})";
  BOOST_TEST(verify(sign_jws(header, json::serialize(claims()), key), key, at) ==
             JwtStatus::wrong_type);
  // A policy without typ looks at none.
  BOOST_TEST(verify(typed("JWT"), key) == JwtStatus::valid);
  // client_id is reported (RFC 9068 2.2).
  auto c = claims();
  c["client_id"] = "jofi";
  std::vector<JwtKey> keys{public_of(key)};
  BOOST_TEST(verify_jwt(sign_jwt(json::serialize(c), key, "at+jwt"), keys, at, kNow).client_id ==
             "jofi");
}

BOOST_AUTO_TEST_CASE(alg_none_refused) {
  JwtKey key = make_jwt_key(ec_key());
  for (const char* header : {R"({"alg":"none"})", R"({"alg":"None"})", R"({"alg":"NONE"})"}) {
    BOOST_TEST(verify(unsigned_token(header, claims()), key) == JwtStatus::disallowed_algorithm);
    BOOST_TEST(verify(unsigned_token(header, claims(), "AAAA"), key) ==
               JwtStatus::disallowed_algorithm);
  }
  BOOST_TEST(verify(unsigned_token(R"({"typ":"JWT"})", claims(), "AAAA"), key) ==
             JwtStatus::malformed);
}

BOOST_AUTO_TEST_CASE(hs256_with_the_rsa_public_key_refused) {
  // The classic confusion: HMAC keyed with the verifier's public key bytes.
  JwtKey key = make_jwt_key(rsa_key(), "rsa-1");
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key.pkey.get());
  char* pem = nullptr;
  long pem_len = BIO_get_mem_data(bio, &pem);
  std::string public_pem(pem, static_cast<std::size_t>(pem_len));
  BIO_free(bio);
  for (const char* header :
       {R"({"alg":"HS256","typ":"JWT"})", R"({"alg":"HS256","kid":"rsa-1"})"}) {
    std::string input = b64(header) + "." + b64(json::serialize(claims()));
    unsigned char mac[32];
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), public_pem.data(), static_cast<int>(public_pem.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &mac_len);
    std::string token = input + "." + b64(std::string_view(reinterpret_cast<char*>(mac), mac_len));
    BOOST_TEST(verify(token, key) == JwtStatus::disallowed_algorithm);
    JwtPolicy everything = policy();
    BOOST_TEST(verify(token, key, everything) == JwtStatus::disallowed_algorithm);
  }
  BOOST_TEST(!parse_jws_algorithm("HS256"));
  BOOST_TEST(!parse_jws_algorithm("none"));
}

BOOST_AUTO_TEST_CASE(algorithm_must_be_allowed_and_fit_the_key) {
  JwtKey ec = make_jwt_key(ec_key(), "k");
  JwtPolicy rsa_only = policy();
  rsa_only.algorithms = {JwsAlgorithm::rs256};
  BOOST_TEST(verify(sign(claims(), ec), ec, rsa_only) == JwtStatus::disallowed_algorithm);

  // A token claiming EdDSA or RS256 for an EC key finds no key of that algorithm.
  JwtKey ed = make_jwt_key(ed_key(), "k");
  std::string payload = json::serialize(claims());
  BOOST_TEST(verify(sign_jws(R"({"alg":"ES256","kid":"k"})", payload, ec), ed) ==
             JwtStatus::unknown_key);
  std::string forged = sign_jws(R"({"alg":"ES256","kid":"k"})", payload, ec);
  forged = b64(R"({"alg":"RS256","kid":"k"})") + forged.substr(forged.find('.'));
  BOOST_TEST(verify(forged, ec) == JwtStatus::unknown_key);
  BOOST_TEST(verify(sign_jws(R"({"alg":"ES256","crit":["b64"]})", payload, ec), ec) ==
             JwtStatus::malformed);
}

BOOST_AUTO_TEST_CASE(tampering) {
  JwtKey key = make_jwt_key(ec_key());
  std::string token = sign(claims(), key);
  auto dot1 = token.find('.');
  auto dot2 = token.rfind('.');
  auto evil = claims();
  evil["sub"] = "admin";
  std::string swapped = token.substr(0, dot1 + 1) + b64(json::serialize(evil)) + token.substr(dot2);
  BOOST_TEST(verify(swapped, key) == JwtStatus::bad_signature);
  std::string flipped = token;
  flipped[dot2 + 5] = flipped[dot2 + 5] == 'A' ? 'B' : 'A';
  BOOST_TEST(verify(flipped, key) == JwtStatus::bad_signature);
  BOOST_TEST(verify(token.substr(0, dot2 + 1), key) == JwtStatus::bad_signature);
  JwtKey other = make_jwt_key(ec_key());
  BOOST_TEST(verify(token, other) == JwtStatus::bad_signature);
  BOOST_TEST(verify(token + ".x", key) == JwtStatus::malformed);
  BOOST_TEST(verify(token.substr(0, dot2), key) == JwtStatus::malformed);
  BOOST_TEST(verify("not a token", key) == JwtStatus::malformed);
  BOOST_TEST(verify("e30.e30.!!", key) == JwtStatus::malformed);
}

BOOST_AUTO_TEST_CASE(kid_selects_the_key) {
  JwtKey a = make_jwt_key(ec_key(), "a");
  JwtKey b = make_jwt_key(ec_key(), "b");
  std::vector<JwtKey> keys{public_of(a), public_of(b)};
  BOOST_TEST(verify_jwt(sign(claims(), b), keys, policy(), kNow).ok());
  BOOST_TEST(verify_jwt(sign(claims(), a), keys, policy(), kNow).ok());
  JwtKey stranger = make_jwt_key(ec_key(), "c");
  BOOST_TEST(verify_jwt(sign(claims(), stranger), keys, policy(), kNow).status ==
             JwtStatus::unknown_key);
  // b's signature under a's kid: a is tried, and fails.
  std::string payload = json::serialize(claims());
  BOOST_TEST(verify_jwt(sign_jws(R"({"alg":"ES256","kid":"a"})", payload, b), keys, policy(), kNow)
                 .status == JwtStatus::bad_signature);
  // Without a kid every key of the algorithm is tried.
  BOOST_TEST(verify_jwt(sign_jws(R"({"alg":"ES256"})", payload, b), keys, policy(), kNow).ok());
}

BOOST_AUTO_TEST_CASE(jwks_each_key_type) {
  PKeyPtr rsa = rsa_key(), ec = ec_key(), ed = ed_key();
  std::vector<std::string> skipped;
  auto keys = parse_jwks(
      jwks_of({jwk_of(rsa.get(), "r"), jwk_of(ec.get(), "e"), jwk_of(ed.get(), "o")}), &skipped);
  BOOST_REQUIRE_EQUAL(keys.size(), 3u);
  BOOST_TEST(skipped.empty());
  BOOST_TEST((keys[0].algorithm == JwsAlgorithm::rs256 && keys[0].kid == "r"));
  BOOST_TEST((keys[1].algorithm == JwsAlgorithm::es256 && keys[1].kid == "e"));
  BOOST_TEST((keys[2].algorithm == JwsAlgorithm::eddsa && keys[2].kid == "o"));
  BOOST_TEST(EVP_PKEY_eq(keys[0].pkey.get(), rsa.get()) == 1);
  BOOST_TEST(EVP_PKEY_eq(keys[1].pkey.get(), ec.get()) == 1);
  BOOST_TEST(EVP_PKEY_eq(keys[2].pkey.get(), ed.get()) == 1);
  // One bare JWK is accepted too.
  BOOST_TEST(parse_jwks(json::serialize(jwk_of(ed.get(), ""))).size() == 1u);
}

BOOST_AUTO_TEST_CASE(jwks_skips_what_cannot_verify) {
  PKeyPtr ec = ec_key();
  auto enc = jwk_of(ec.get(), "enc");
  enc["use"] = "enc";
  auto wrong_alg = jwk_of(ec.get(), "wrong-alg");
  wrong_alg["alg"] = "RS256";
  auto right_alg = jwk_of(ec.get(), "right-alg");
  right_alg["alg"] = "ES256";
  right_alg["use"] = "sig";
  json::object oct{{"kty", "oct"}, {"k", "c2VjcmV0"}, {"kid", "hmac"}};
  json::object p384{{"kty", "EC"}, {"crv", "P-384"}, {"x", "AA"}, {"y", "AA"}};
  std::vector<std::string> skipped;
  auto keys = parse_jwks(
      jwks_of({enc, wrong_alg, right_alg, oct, p384, jwk_of(rsa_key(1024).get(), "small")}),
      &skipped);
  BOOST_REQUIRE_EQUAL(keys.size(), 1u);
  BOOST_TEST(keys[0].kid == "right-alg");
  BOOST_TEST(skipped.size() == 5u);
}

BOOST_AUTO_TEST_CASE(jwks_malformed) {
  BOOST_CHECK_THROW(parse_jwks("not json"), JwtError);
  BOOST_CHECK_THROW(parse_jwks("[]"), JwtError);
  BOOST_CHECK_THROW(parse_jwks(R"({"keys":{}})"), JwtError);
  BOOST_CHECK_THROW(parse_jwks(R"({"other":1})"), JwtError);
  auto ec = jwk_of(ec_key().get(), "e");
  auto short_x = ec;
  short_x["x"] = b64("short");
  BOOST_CHECK_THROW(parse_jwks(jwks_of({short_x})), JwtError);
  auto off_curve = ec;
  off_curve["y"] = b64(std::string(32, '\x01'));
  BOOST_CHECK_THROW(parse_jwks(jwks_of({off_curve})), JwtError);
  auto bad_b64 = ec;
  bad_b64["x"] = "***";
  BOOST_CHECK_THROW(parse_jwks(jwks_of({bad_b64})), JwtError);
  json::object no_n{{"kty", "RSA"}, {"e", "AQAB"}};
  BOOST_CHECK_THROW(parse_jwks(jwks_of({no_n})), JwtError);
}

BOOST_AUTO_TEST_CASE(unsupported_signing_keys) {
  BOOST_CHECK_THROW(make_jwt_key(rsa_key(1024)), JwtError);
  BOOST_CHECK_THROW(make_jwt_key(adopt_pkey(EVP_EC_gen("P-384"))), JwtError);
  BOOST_CHECK_THROW(make_jwt_key(nullptr), JwtError);
  // A public key cannot sign.
  JwtKey key = make_jwt_key(ec_key());
  BOOST_CHECK_THROW(sign(claims(), public_of(key)), JwtError);
}

BOOST_AUTO_TEST_SUITE_END()
