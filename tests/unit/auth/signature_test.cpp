// The signature auth item and crypto::PublicKey: SendGrid ECDSA P-256 and Standard Webhooks
// v1a Ed25519 with the published vectors, key formats (PEM, base64 DER SPKI, whpk_),
// tampering, rotation, tolerance, and BuildErrors for bad keys. Context.now is fixed.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "auth_values.hpp"
#include "hookd/auth/items.hpp"
#include "hookd/crypto/encoding.hpp"
#include "hookd/crypto/keys.hpp"

using namespace hookd;
using namespace hookd::auth;

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;
using Pkey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

std::string run(const Check& check, const Headers& headers, std::string body, std::int64_t now) {
  http::Request r;
  r.method = "POST";
  r.target = "/hook";
  for (const auto& [k, v] : headers) r.headers.emplace_back(k, v);
  r.body = std::move(body);
  Result result =
      check.check(r, Context{std::chrono::system_clock::time_point(std::chrono::seconds(now))});
  if (result.passed()) return "pass";
  BOOST_TEST((result.verdict == Verdict::unauthorized));
  return std::string(result.reason) + (result.challenge.empty() ? "" : "+challenge");
}

std::unique_ptr<Check> build(std::string scheme, std::vector<std::string> keys) {
  config::SignatureAuthConfig c;
  c.scheme = std::move(scheme);
  c.public_keys = std::move(keys);
  return make_signature(c, kWhere);
}

std::string flip(std::string s, std::size_t i) {
  s.at(i) ^= 0x01;
  return s;
}

// --- OpenSSL helpers that play the sender (signing) and export key formats. ---

Pkey generate(const char* type, const char* curve = nullptr) {
  EVP_PKEY* key = curve ? EVP_PKEY_Q_keygen(nullptr, nullptr, type, curve)
                        : EVP_PKEY_Q_keygen(nullptr, nullptr, type);
  BOOST_REQUIRE(key);
  return Pkey(key, EVP_PKEY_free);
}

std::string der_spki(EVP_PKEY* key) {
  unsigned char* out = nullptr;
  int n = i2d_PUBKEY(key, &out);
  BOOST_REQUIRE(n > 0);
  std::string der(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
  OPENSSL_free(out);
  return der;
}

std::string pem_spki(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  BOOST_REQUIRE(PEM_write_bio_PUBKEY(bio.get(), key) == 1);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

// ECDSA-SHA256 (DER) or Ed25519 over the concatenation of `parts`.
std::string sign(EVP_PKEY* key, std::initializer_list<std::string_view> parts) {
  std::string message;
  for (auto p : parts) message.append(p);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  bool ed = EVP_PKEY_is_a(key, "ED25519");
  BOOST_REQUIRE(EVP_DigestSignInit(ctx.get(), nullptr, ed ? nullptr : EVP_sha256(), nullptr, key) ==
                1);
  std::size_t len = 0;
  const auto* m = reinterpret_cast<const unsigned char*>(message.data());
  BOOST_REQUIRE(EVP_DigestSign(ctx.get(), nullptr, &len, m, message.size()) == 1);
  std::string sig(len, '\0');
  BOOST_REQUIRE(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, m,
                               message.size()) == 1);
  sig.resize(len);
  return sig;
}

void expect_build_error(const std::string& scheme, const std::vector<std::string>& keys,
                        const std::string& mention) {
  try {
    build(scheme, keys);
    BOOST_ERROR("expected a BuildError mentioning " + mention);
  } catch (const BuildError& e) {
    std::string what = e.what();
    BOOST_TEST(e.where.line == kWhere.line);
    BOOST_TEST(e.where.column == kWhere.column);
    BOOST_TEST(e.str().starts_with("hooks.yaml:12:9: signature"), e.str());
    BOOST_TEST(what.find(mention) != std::string::npos, what);
    for (const auto& k : keys) {
      if (k.size() > 8) BOOST_TEST(what.find(k) == std::string::npos, what);
    }
  }
}

// sendgrid-nodejs packages/eventwebhook/src/eventwebhook.spec.js
const std::string kSgKey =
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62g"
    "w+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==";
const std::string kSgSig =
    "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluL"
    "tEZtM=";
constexpr std::int64_t kSgTs = 1600112502;
const std::string kSgBody =
    R"([{"email":"hello@world.com","event":"dropped","reason":"Bounced Address","sg_event_id":)"
    R"("ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA","sg_message_id":"LRzXl_NHStOGhQ4k)"
    R"(ofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0","smtp-id":"<LRzXl_NHStOGhQ4k)"
    R"(ofSm_A@ismtpd0039p1iad1.sendgrid.net>","timestamp":1600112492}])"
    "\r\n";

Headers sg_headers(const std::string& sig, std::int64_t ts = kSgTs) {
  return {{"X-Twilio-Email-Event-Webhook-Signature", sig},
          {"X-Twilio-Email-Event-Webhook-Timestamp", std::to_string(ts)}};
}

// standard-webhooks / svix-webhooks server/svix-server/src/worker.rs
const std::string kSwKeypair =
    "6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg==";
const std::string kSwPublic = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=";
const std::string kSwSig =
    "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==";
const std::string kSwId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr std::int64_t kSwTs = 1614265330;
const std::string kSwBody = R"({"test": 2432232314})";

Headers sw_headers(const std::string& sig, const std::string& id = kSwId) {
  return {
      {"webhook-id", id}, {"webhook-timestamp", std::to_string(kSwTs)}, {"webhook-signature", sig}};
}

// The vector's private key (the first 32 bytes of seed‖pk).
Pkey svix_private_key() {
  auto raw = crypto::base64_decode(kSwKeypair);
  BOOST_REQUIRE(raw && raw->size() == 64);
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw->data()), 32);
  BOOST_REQUIRE(key);
  return Pkey(key, EVP_PKEY_free);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crypto_public_key)

BOOST_AUTO_TEST_CASE(formats) {
  std::string error;
  auto sg = crypto::PublicKey::parse(kSgKey, error);
  BOOST_TEST_REQUIRE(sg.has_value(), error);
  BOOST_TEST((sg->type() == crypto::PublicKey::Type::ec_p256));
  auto sw = crypto::PublicKey::parse(kSwPublic, error);
  BOOST_TEST_REQUIRE(sw.has_value(), error);
  BOOST_TEST((sw->type() == crypto::PublicKey::Type::ed25519));

  auto ec = generate("EC", "P-256");
  auto from_pem = crypto::PublicKey::parse(pem_spki(ec.get()), error);
  BOOST_TEST_REQUIRE(from_pem.has_value(), error);
  BOOST_TEST(from_pem->verify({"a", "bc"}, sign(ec.get(), {"abc"})));
  // Base64 DER split over lines (as pasted from a dashboard into a YAML block).
  std::string b64 = crypto::base64_encode(der_spki(ec.get()));
  b64.insert(40, "\n  ");
  auto from_der = crypto::PublicKey::parse("  " + b64 + "\n", error);
  BOOST_TEST_REQUIRE(from_der.has_value(), error);
  BOOST_TEST(from_der->verify({"abc"}, sign(ec.get(), {"abc"})));
}

BOOST_AUTO_TEST_CASE(rejected_keys) {
  std::string error;
  BOOST_TEST(!crypto::PublicKey::parse("not a key", error));
  BOOST_TEST(!error.empty());
  BOOST_TEST(!crypto::PublicKey::parse("whpk_AAAA", error));  // 3 bytes
  BOOST_TEST(error.find("32-byte") != std::string::npos);
  BOOST_TEST(!crypto::PublicKey::parse("whpk_!!!!", error));
  BOOST_TEST(!crypto::PublicKey::parse(crypto::base64_encode("not DER at all"), error));
  BOOST_TEST(!crypto::PublicKey::parse("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
                                       error));
  BOOST_TEST(!crypto::PublicKey::parse(
      crypto::base64_encode(der_spki(generate("EC", "P-384").get())), error));
  BOOST_TEST(error.find("unsupported") != std::string::npos, error);
  auto rsa = Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{1024}), EVP_PKEY_free);
  BOOST_TEST(!crypto::PublicKey::parse(pem_spki(rsa.get()), error));
  BOOST_TEST(error.find("unsupported") != std::string::npos, error);
  // Trailing garbage after the DER.
  std::string der = der_spki(generate("EC", "P-256").get()) + "x";
  BOOST_TEST(!crypto::PublicKey::parse(crypto::base64_encode(der), error));
}

BOOST_AUTO_TEST_CASE(malformed_signatures_are_false) {
  std::string error;
  auto sg = crypto::PublicKey::parse(kSgKey, error);
  auto sw = crypto::PublicKey::parse(kSwPublic, error);
  BOOST_REQUIRE(sg && sw);
  BOOST_TEST(!sg->verify({"x"}, ""));
  BOOST_TEST(!sg->verify({"x"}, "garbage"));
  BOOST_TEST(!sw->verify({"x"}, std::string(63, 'a')));
  BOOST_TEST(!sw->verify({"x"}, std::string(64, 'a')));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(auth_signature_sendgrid)

BOOST_AUTO_TEST_CASE(published_vector) {
  auto check = build("sendgrid", {kSgKey});
  BOOST_TEST(run(*check, sg_headers(kSgSig), kSgBody, kSgTs) == "pass");
}

BOOST_AUTO_TEST_CASE(tampering) {
  auto check = build("sendgrid", {kSgKey});
  // The trailing CRLF is part of the signed body.
  BOOST_TEST(run(*check, sg_headers(kSgSig), kSgBody.substr(0, kSgBody.size() - 2), kSgTs) ==
             "bad_signature");
  BOOST_TEST(run(*check, sg_headers(kSgSig), flip(kSgBody, 10), kSgTs) == "bad_signature");
  BOOST_TEST(run(*check, sg_headers(flip(kSgSig, 20)), kSgBody, kSgTs) == "bad_signature");
  BOOST_TEST(run(*check, sg_headers(kSgSig, kSgTs + 1), kSgBody, kSgTs) == "bad_signature");
  BOOST_TEST(run(*check, sg_headers("not base64"), kSgBody, kSgTs) == "bad_signature");
  // Another key (a flipped byte of the key's point does not parse, so a fresh key).
  auto other = build("sendgrid", {crypto::base64_encode(der_spki(generate("EC", "P-256").get()))});
  BOOST_TEST(run(*other, sg_headers(kSgSig), kSgBody, kSgTs) == "bad_signature");
  BOOST_TEST(run(*check, {sg_headers(kSgSig)[0]}, kSgBody, kSgTs) == "missing_credentials");
  BOOST_TEST(run(*check, {sg_headers(kSgSig)[1]}, kSgBody, kSgTs) == "missing_credentials");
  Headers bad_ts = sg_headers(kSgSig);
  bad_ts[1].second = "-1600112502";
  BOOST_TEST(run(*check, bad_ts, kSgBody, kSgTs) == "bad_signature");
}

BOOST_AUTO_TEST_CASE(stale_and_future_timestamps) {
  auto check = build("sendgrid", {kSgKey});
  BOOST_TEST(run(*check, sg_headers(kSgSig), kSgBody, kSgTs + 300) == "pass");
  BOOST_TEST(run(*check, sg_headers(kSgSig), kSgBody, kSgTs + 301) == "stale_timestamp");
  BOOST_TEST(run(*check, sg_headers(kSgSig), kSgBody, kSgTs - 301) == "stale_timestamp");
  config::SignatureAuthConfig c;
  c.scheme = "sendgrid";
  c.public_keys = {kSgKey};
  c.tolerance = std::chrono::hours(1);
  BOOST_TEST(run(*make_signature(c, kWhere), sg_headers(kSgSig), kSgBody, kSgTs + 3600) == "pass");
}

BOOST_AUTO_TEST_CASE(rotation_with_two_keys) {
  auto fresh = generate("EC", "P-256");
  auto check = build("sendgrid", {pem_spki(fresh.get()), kSgKey});
  BOOST_TEST(run(*check, sg_headers(kSgSig), kSgBody, kSgTs) == "pass");
  std::string ts = std::to_string(kSgTs);
  std::string sig = crypto::base64_encode(sign(fresh.get(), {ts, "[]"}));
  BOOST_TEST(run(*check, sg_headers(sig), "[]", kSgTs) == "pass");
  BOOST_TEST(run(*check, sg_headers(sig), "[ ]", kSgTs) == "bad_signature");
}

BOOST_AUTO_TEST_CASE(bad_keys_are_build_errors) {
  expect_build_error("sendgrid", {"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4m"},
                     "public_key");
  expect_build_error("sendgrid", {kSgKey, "not-a-key-at-all"}, "public_key[1]");
  expect_build_error("sendgrid", {kSwPublic}, "EC P-256");
  expect_build_error("sendgrid", {}, "public_key");
  expect_build_error("ecdsa", {kSgKey}, "unknown scheme");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(auth_signature_standard_webhooks)

BOOST_AUTO_TEST_CASE(published_vector) {
  auto check = build("standard-webhooks", {kSwPublic});
  BOOST_TEST(run(*check, sw_headers(kSwSig), kSwBody, kSwTs) == "pass");
  // Ed25519 is deterministic: the vector's private key reproduces the signature.
  auto sk = svix_private_key();
  BOOST_TEST("v1a," + crypto::base64_encode(
                          sign(sk.get(), {kSwId, ".", std::to_string(kSwTs), ".", kSwBody})) ==
             kSwSig);
}

BOOST_AUTO_TEST_CASE(every_key_format) {
  auto sk = svix_private_key();
  for (const auto& key : {pem_spki(sk.get()), crypto::base64_encode(der_spki(sk.get()))}) {
    auto check = build("standard-webhooks", {key});
    BOOST_TEST(run(*check, sw_headers(kSwSig), kSwBody, kSwTs) == "pass");
  }
}

BOOST_AUTO_TEST_CASE(tampering) {
  auto check = build("standard-webhooks", {kSwPublic});
  BOOST_TEST(run(*check, sw_headers(kSwSig), flip(kSwBody, 4), kSwTs) == "bad_signature");
  BOOST_TEST(run(*check, sw_headers(flip(kSwSig, 12)), kSwBody, kSwTs) == "bad_signature");
  BOOST_TEST(run(*check, sw_headers(kSwSig, flip(kSwId, 5)), kSwBody, kSwTs) == "bad_signature");
  auto other = generate("ED25519");
  auto wrong = build("standard-webhooks", {crypto::base64_encode(der_spki(other.get()))});
  BOOST_TEST(run(*wrong, sw_headers(kSwSig), kSwBody, kSwTs) == "bad_signature");
  // v1 (hmac) entries and other versions are not this item's.
  BOOST_TEST(run(*check, sw_headers("v1," + kSwSig.substr(4)), kSwBody, kSwTs) == "bad_signature");
  BOOST_TEST(run(*check, sw_headers("v1a," + kSwSig.substr(8)), kSwBody, kSwTs) == "bad_signature");
  BOOST_TEST(run(*check, {sw_headers(kSwSig)[0], sw_headers(kSwSig)[2]}, kSwBody, kSwTs) ==
             "missing_credentials");
}

BOOST_AUTO_TEST_CASE(several_signatures_and_rotation) {
  auto other = generate("ED25519");
  std::string ts = std::to_string(kSwTs);
  std::string other_sig =
      "v1a," + crypto::base64_encode(sign(other.get(), {kSwId, ".", ts, ".", kSwBody}));
  auto check = build("standard-webhooks", {kSwPublic});
  BOOST_TEST(
      run(*check,
          sw_headers("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= " + other_sig + " " + kSwSig),
          kSwBody, kSwTs) == "pass");
  BOOST_TEST(run(*check, sw_headers(other_sig), kSwBody, kSwTs) == "bad_signature");
  auto rotated = build("standard-webhooks", {pem_spki(other.get()), kSwPublic});
  BOOST_TEST(run(*rotated, sw_headers(other_sig), kSwBody, kSwTs) == "pass");
  BOOST_TEST(run(*rotated, sw_headers(kSwSig), kSwBody, kSwTs) == "pass");
  // svix-* names.
  Headers svix{{"svix-id", kSwId}, {"svix-timestamp", ts}, {"svix-signature", kSwSig}};
  BOOST_TEST(run(*check, svix, kSwBody, kSwTs) == "pass");
}

BOOST_AUTO_TEST_CASE(stale_and_future_timestamps) {
  auto check = build("standard-webhooks", {kSwPublic});
  BOOST_TEST(run(*check, sw_headers(kSwSig), kSwBody, kSwTs - 300) == "pass");
  BOOST_TEST(run(*check, sw_headers(kSwSig), kSwBody, kSwTs + 301) == "stale_timestamp");
  BOOST_TEST(run(*check, sw_headers(kSwSig), kSwBody, kSwTs - 301) == "stale_timestamp");
}

BOOST_AUTO_TEST_CASE(bad_keys_are_build_errors) {
  expect_build_error("standard-webhooks", {"whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqf"}, "32-byte");
  expect_build_error("standard-webhooks", {"whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4"},
                     "base64");
  expect_build_error("standard-webhooks", {kSgKey}, "Ed25519");
  // A secret pasted where the public key belongs is refused without being echoed.
  expect_build_error("standard-webhooks", {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, "public_key");
}

BOOST_AUTO_TEST_SUITE_END()
