// ACME account keys and JWS: the JWK and thumbprint of a fixed key against values computed
// with the openssl CLI, and every signature verified here with OpenSSL directly (r||s back
// to DER, public key rebuilt from the JWK), so the tests do not trust the code under test.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/test/unit_test.hpp>
#include <memory>
#include <stdexcept>
#include <string>

#include "hookd/crypto/encoding.hpp"
#include "hookd/crypto/hmac.hpp"
#include "hookd/tls/acme/jws.hpp"

using namespace hookd::tls::acme;
namespace json = boost::json;
using hookd::crypto::base64url_decode;
using hookd::crypto::base64url_encode;

namespace {

// Generated once with `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`,
// chosen so that x starts with a zero byte (the JWK must keep it: fixed 32-byte fields).
constexpr const char* kFixedKeyPem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgE+na8McOaJL+281T\n"
    "2aqjQnD5dmmTLhm6ZjVRUm7qRzqhRANCAAQAluW+/TDsIce6Kss0qOUcjjtG71o0\n"
    "9dM+NzLjN/WCmR573MMsvuq0xkrFji/bbDGPKYZoSYON57o5oKvfqj/h\n"
    "-----END PRIVATE KEY-----\n";
// From `openssl pkey -pubout -outform DER | tail -c 64` (x, y), base64url; and the
// thumbprint from `printf '%s' JWK | openssl dgst -sha256 -binary`, base64url.
constexpr const char* kFixedJwk =
    R"({"crv":"P-256","kty":"EC","x":"AJblvv0w7CHHuirLNKjlHI47Ru9aNPXTPjcy4zf1gpk",)"
    R"("y":"Hnvcwyy-6rTGSsWOL9tsMY8phmhJg43nujmgq9-qP-E"})";
constexpr const char* kFixedThumbprint = "g20pjhj6vHnPfWGgfYysNKaXcvfaEpN1vxodYi4aFkw";

std::string b64d(std::string_view text) {
  auto out = base64url_decode(text);
  BOOST_REQUIRE(out.has_value());
  return *out;
}

std::string sha256_here(std::string_view data) {
  unsigned char md[32];
  unsigned int n = 0;
  BOOST_REQUIRE(EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr) == 1);
  return {reinterpret_cast<const char*>(md), n};
}

// The public key a verifier would use: rebuilt from the JWK's x and y alone.
std::shared_ptr<EVP_PKEY> key_from_jwk(const json::object& jwk) {
  BOOST_REQUIRE(jwk.at("kty").as_string() == "EC");
  BOOST_REQUIRE(jwk.at("crv").as_string() == "P-256");
  const std::string x = b64d(jwk.at("x").as_string());
  const std::string y = b64d(jwk.at("y").as_string());
  BOOST_REQUIRE(x.size() == 32);
  BOOST_REQUIRE(y.size() == 32);
  std::string point = "\x04" + x + y;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>("prime256v1"),
                                       0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end()};
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr), EVP_PKEY_CTX_free);
  EVP_PKEY* key = nullptr;
  BOOST_REQUIRE(EVP_PKEY_fromdata_init(ctx.get()) == 1);
  BOOST_REQUIRE(EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params) == 1);
  return {key, EVP_PKEY_free};
}

// JWS ES256 signature (raw r||s) → DER → EVP_DigestVerify.
bool es256_verify(EVP_PKEY* key, std::string_view signing_input, std::string_view raw) {
  if (raw.size() != 64) return false;
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BN_bin2bn(bytes, 32, nullptr), BN_bin2bn(bytes + 32, 32, nullptr));
  unsigned char* der = nullptr;
  const int der_size = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = der_size > 0 &&
                  EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
                  EVP_DigestVerify(ctx, der, static_cast<std::size_t>(der_size),
                                   reinterpret_cast<const unsigned char*>(signing_input.data()),
                                   signing_input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  OPENSSL_free(der);
  return ok;
}

struct ParsedJws {
  std::string protected_b64, payload_b64, signature_b64;
  json::object header;
};

ParsedJws parse_jws(const std::string& text) {
  json::object outer = json::parse(text).as_object();
  BOOST_TEST(outer.size() == 3u);
  ParsedJws out;
  out.protected_b64 = std::string(outer.at("protected").as_string());
  out.payload_b64 = std::string(outer.at("payload").as_string());
  out.signature_b64 = std::string(outer.at("signature").as_string());
  out.header = json::parse(b64d(out.protected_b64)).as_object();
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(acme_jws)

BOOST_AUTO_TEST_CASE(fixed_key_matches_openssl_cli) {
  KeyPtr key = parse_private_key_pem(kFixedKeyPem);
  BOOST_TEST(jwk_json(*key) == kFixedJwk);
  BOOST_TEST(jwk_thumbprint(*key) == kFixedThumbprint);
}

BOOST_AUTO_TEST_CASE(thumbprint_is_sha256_of_canonical_jwk) {
  KeyPtr key = generate_p256_key();
  const std::string jwk = jwk_json(*key);
  BOOST_TEST(jwk.find_first_of(" \n\t") == std::string::npos);
  json::object parsed = json::parse(jwk).as_object();
  BOOST_TEST(parsed.size() == 4u);
  key_from_jwk(parsed);  // x and y are 32 bytes and form a point on P-256
  BOOST_TEST(jwk_thumbprint(*key) == base64url_encode(sha256_here(jwk)));
  BOOST_TEST(jwk_thumbprint(*key) != jwk_thumbprint(*generate_p256_key()));
}

BOOST_AUTO_TEST_CASE(private_key_pem_round_trips) {
  KeyPtr key = generate_p256_key();
  const std::string pem = private_key_pem(*key);
  BOOST_TEST(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));  // PKCS#8
  KeyPtr again = parse_private_key_pem(pem);
  BOOST_TEST(EVP_PKEY_eq(key.get(), again.get()) == 1);
  BOOST_TEST(jwk_json(*again) == jwk_json(*key));
}

BOOST_AUTO_TEST_CASE(bad_private_keys_are_refused_without_quoting_them) {
  const std::string secret =
      "-----BEGIN PRIVATE KEY-----\nTOPSECRETKEYMATERIAL\n"
      "-----END PRIVATE KEY-----\n";
  try {
    parse_private_key_pem(secret);
    BOOST_FAIL("a junk key was accepted");
  } catch (const std::runtime_error& e) {
    BOOST_TEST(std::string(e.what()).find("TOPSECRET") == std::string::npos);
  }
  BOOST_CHECK_THROW(parse_private_key_pem(""), std::runtime_error);

  // An encrypted key is refused (not prompted for on a terminal).
  KeyPtr key = generate_p256_key();
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  char passphrase[] = "pass phrase";
  BOOST_REQUIRE(PEM_write_bio_PKCS8PrivateKey(bio.get(), key.get(), EVP_aes_256_cbc(), passphrase,
                                              sizeof passphrase - 1, nullptr, nullptr) == 1);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  const std::string encrypted(data, static_cast<std::size_t>(n));
  BOOST_REQUIRE(encrypted.find("ENCRYPTED PRIVATE KEY") != std::string::npos);
  BOOST_CHECK_THROW(parse_private_key_pem(encrypted), std::runtime_error);

  // Other key types parse as PEM but cannot sign ES256.
  std::shared_ptr<EVP_PKEY> p384(EVP_EC_gen("P-384"), EVP_PKEY_free);
  BOOST_CHECK_THROW(parse_private_key_pem(private_key_pem(*p384)), std::runtime_error);
  std::shared_ptr<EVP_PKEY> ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), EVP_PKEY_free);
  BOOST_CHECK_THROW(parse_private_key_pem(private_key_pem(*ed)), std::runtime_error);
  BOOST_CHECK_THROW(jwk_json(*ed), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(new_account_jws_carries_the_jwk_and_verifies) {
  KeyPtr key = parse_private_key_pem(kFixedKeyPem);
  const std::string payload = R"({"termsOfServiceAgreed":true})";
  const std::string jws =
      sign_jws(*key, {"https://ca.example/acme/new-account", "nonce-1_x", ""}, payload);
  ParsedJws p = parse_jws(jws);

  BOOST_TEST(p.header.at("alg").as_string() == "ES256");
  BOOST_TEST(p.header.at("nonce").as_string() == "nonce-1_x");
  BOOST_TEST(p.header.at("url").as_string() == "https://ca.example/acme/new-account");
  BOOST_TEST(!p.header.contains("kid"));
  BOOST_TEST(json::value(p.header.at("jwk")) == json::parse(kFixedJwk));
  BOOST_TEST(b64d(p.payload_b64) == payload);

  const std::string signature = b64d(p.signature_b64);
  BOOST_TEST(signature.size() == 64u);
  auto verifier = key_from_jwk(p.header.at("jwk").as_object());
  BOOST_TEST(es256_verify(verifier.get(), p.protected_b64 + "." + p.payload_b64, signature));

  // The same check must reject a changed payload, header or signature.
  const std::string other_payload = base64url_encode(R"({"termsOfServiceAgreed":false})");
  BOOST_TEST(!es256_verify(verifier.get(), p.protected_b64 + "." + other_payload, signature));
  BOOST_TEST(!es256_verify(verifier.get(), p.protected_b64 + "x." + p.payload_b64, signature));
  std::string flipped = signature;
  flipped[40] = static_cast<char>(flipped[40] ^ 0x01);
  BOOST_TEST(!es256_verify(verifier.get(), p.protected_b64 + "." + p.payload_b64, flipped));
  // And a different key.
  KeyPtr stranger = generate_p256_key();
  BOOST_TEST(!es256_verify(stranger.get(), p.protected_b64 + "." + p.payload_b64, signature));
}

BOOST_AUTO_TEST_CASE(post_as_get_with_kid) {
  KeyPtr key = generate_p256_key();
  const std::string jws = sign_jws(
      *key, {"https://ca.example/acme/order/1", "n2", "https://ca.example/acme/acct/7"}, "");
  BOOST_TEST(jws.find(R"("payload":"")") != std::string::npos);
  ParsedJws p = parse_jws(jws);
  BOOST_TEST(p.payload_b64.empty());
  BOOST_TEST(p.header.at("kid").as_string() == "https://ca.example/acme/acct/7");
  BOOST_TEST(!p.header.contains("jwk"));
  BOOST_TEST(p.header.size() == 4u);
  BOOST_TEST(es256_verify(key.get(), p.protected_b64 + ".", b64d(p.signature_b64)));
}

// About half of ES256 signatures have an r or s below 2^248; the raw form must keep the
// leading zero bytes, so sign often enough that a missing pad shows up as a failure.
BOOST_AUTO_TEST_CASE(many_signatures_all_verify) {
  KeyPtr key = generate_p256_key();
  for (int i = 0; i < 300; ++i) {
    const std::string payload = "{\"i\":" + std::to_string(i) + "}";
    ParsedJws p = parse_jws(sign_jws(*key, {"https://ca.example/x", "n", "kid"}, payload));
    const std::string signature = b64d(p.signature_b64);
    BOOST_REQUIRE(signature.size() == 64u);
    BOOST_REQUIRE(es256_verify(key.get(), p.protected_b64 + "." + p.payload_b64, signature));
  }
}

BOOST_AUTO_TEST_CASE(header_strings_are_json_escaped) {
  KeyPtr key = generate_p256_key();
  ParsedJws p = parse_jws(sign_jws(*key, {"https://ca.example/a\"b\\c", "n\n", "k\"id"}, "{}"));
  BOOST_TEST(p.header.at("url").as_string() == "https://ca.example/a\"b\\c");
  BOOST_TEST(p.header.at("nonce").as_string() == "n\n");
  BOOST_TEST(p.header.at("kid").as_string() == "k\"id");
}

BOOST_AUTO_TEST_CASE(url_and_nonce_are_required) {
  KeyPtr key = generate_p256_key();
  BOOST_CHECK_THROW(sign_jws(*key, {"", "n", ""}, ""), std::invalid_argument);
  BOOST_CHECK_THROW(sign_jws(*key, {"https://ca.example/x", "", ""}, ""), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(external_account_binding_is_hs256_over_the_jwk) {
  KeyPtr key = parse_private_key_pem(kFixedKeyPem);
  // base64url of these bytes, from `printf … | base64 | tr '+/' '-_'`: it uses both '-'
  // and '_', so a decoder with the standard alphabet would fail here.
  const std::string hmac_key_b64 = "----__5ob29rZCBlYWIga2V5IDAxMjM0NTY3ODk";
  const std::string hmac_key("\xfb\xef\xbe\xff\xfehookd eab key 0123456789");
  const std::string url = "https://ca.example/acme/new-account";

  const std::string eab = external_account_binding("kid-42", hmac_key_b64, *key, url);
  ParsedJws p = parse_jws(eab);
  BOOST_TEST(b64d(p.protected_b64) ==
             R"({"alg":"HS256","kid":"kid-42","url":"https://ca.example/acme/new-account"})");
  BOOST_TEST(b64d(p.payload_b64) == kFixedJwk);

  hookd::crypto::HmacKey mac(hookd::crypto::MacAlgorithm::sha256, hmac_key);
  const auto expected = mac.mac(p.protected_b64 + "." + p.payload_b64);
  BOOST_TEST(b64d(p.signature_b64) == std::string(expected.view()));

  hookd::crypto::HmacKey wrong(hookd::crypto::MacAlgorithm::sha256, hmac_key + "x");
  BOOST_TEST(b64d(p.signature_b64) !=
             std::string(wrong.mac(p.protected_b64 + "." + p.payload_b64).view()));
}

BOOST_AUTO_TEST_CASE(external_account_binding_refuses_a_bad_key_without_quoting_it) {
  KeyPtr key = generate_p256_key();
  for (const char* bad : {"not base64url!SECRETPART", "SECRET+PART/with=std", ""}) {
    try {
      external_account_binding("kid", bad, *key, "https://ca.example/x");
      BOOST_FAIL("accepted HMAC key: " << bad);
    } catch (const std::runtime_error& e) {
      BOOST_TEST(std::string(e.what()).find("SECRET") == std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
