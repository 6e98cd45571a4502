// The hmac auth item, scheme by scheme: the providers' published vectors, then tampering
// (body, signature, secret), prefixes, two-sided tolerance, rotation, several signatures,
// and the BuildErrors of bad config. Context.now is fixed in every test.
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "auth_values.hpp"
#include "hookd/auth/items.hpp"
#include "hookd/crypto/compare.hpp"
#include "hookd/crypto/encoding.hpp"
#include "hookd/crypto/hmac.hpp"

using namespace hookd;
using namespace hookd::auth;
using crypto::MacAlgorithm;

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

Context at(std::int64_t unix_seconds) {
  return Context{std::chrono::system_clock::time_point(std::chrono::seconds(unix_seconds))};
}

// "pass", or the reason; "+challenge" is appended when a failure carries one (it must not).
std::string run(const Check& check, const Headers& headers, std::string body, std::int64_t now,
                std::string_view target = "/hook") {
  http::Request r;
  r.method = "POST";
  r.target = target;
  for (const auto& [k, v] : headers) r.headers.emplace_back(k, v);
  r.body = std::move(body);
  r.peer = "127.0.0.1";
  Result result = check.check(r, at(now));
  if (result.passed()) return "pass";
  BOOST_TEST((result.verdict == Verdict::unauthorized));
  return std::string(result.reason) + (result.challenge.empty() ? "" : "+challenge");
}

config::HmacAuthConfig hmac_config(std::string scheme, std::vector<std::string> secrets) {
  config::HmacAuthConfig c;
  c.scheme = std::move(scheme);
  for (auto& s : secrets) c.secrets.emplace_back(std::move(s));
  return c;
}

std::unique_ptr<Check> build(const config::HmacAuthConfig& c) {
  return make_hmac(c, kWhere);
}

std::string raw_mac(MacAlgorithm a, std::string_view key,
                    std::initializer_list<std::string_view> parts) {
  return std::string(crypto::HmacKey(a, key).mac(parts).view());
}
std::string hex_sha256(std::string_view key, std::initializer_list<std::string_view> parts) {
  return crypto::hex_encode(raw_mac(MacAlgorithm::sha256, key, parts));
}
std::string b64_sha256(std::string_view key, std::initializer_list<std::string_view> parts) {
  return crypto::base64_encode(raw_mac(MacAlgorithm::sha256, key, parts));
}

std::string flip(std::string s, std::size_t i) {
  s.at(i) ^= 0x01;
  return s;
}
// Changes one hex digit (keeps the text valid hex).
std::string flip_hex(std::string s, std::size_t i) {
  s.at(i) = s.at(i) == '0' ? '1' : '0';
  return s;
}

// Runs `build` and expects a BuildError at kWhere whose message mentions `mention` and
// does not contain `secret`.
void expect_build_error(const std::function<void()>& build_it, const std::string& mention,
                        const std::string& secret) {
  try {
    build_it();
    BOOST_ERROR("expected a BuildError mentioning " + mention);
  } catch (const BuildError& e) {
    std::string what = e.what();
    BOOST_TEST(e.where.file == kWhere.file);
    BOOST_TEST(e.where.line == kWhere.line);
    BOOST_TEST(e.where.column == kWhere.column);
    BOOST_TEST(what.find(mention) != std::string::npos, what);
    if (!secret.empty()) BOOST_TEST(what.find(secret) == std::string::npos, what);
    BOOST_TEST(e.str().starts_with("hooks.yaml:12:9: "));
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(auth_hmac_github)

BOOST_AUTO_TEST_CASE(published_vectors) {
  // github/docs validating-webhook-deliveries.md
  auto a = build(hmac_config("github", {"It's a Secret to Everybody"}));
  BOOST_TEST(run(*a,
                 {{"X-Hub-Signature-256",
                   "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}},
                 "Hello, World!", 0) == "pass");
  // octokit/webhooks-methods.js test/sign.test.ts; header names are case-insensitive.
  auto b = build(hmac_config("github", {"mysecret"}));
  BOOST_TEST(run(*b,
                 {{"x-hub-signature-256",
                   "sha256=4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3"}},
                 R"({"foo":"bar"})", 0) == "pass");
}

BOOST_AUTO_TEST_CASE(tampering_and_malformed) {
  const std::string sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
  auto check = build(hmac_config("github", {"It's a Secret to Everybody"}));
  BOOST_TEST(run(*check, {{"X-Hub-Signature-256", sig}}, "Hello, World?", 0) == "bad_signature");
  BOOST_TEST(run(*check, {{"X-Hub-Signature-256", flip_hex(sig, 20)}}, "Hello, World!", 0) ==
             "bad_signature");
  auto other_secret = build(hmac_config("github", {flip("It's a Secret to Everybody", 3)}));
  BOOST_TEST(run(*other_secret, {{"X-Hub-Signature-256", sig}}, "Hello, World!", 0) ==
             "bad_signature");
  // Wrong prefix, no prefix, truncated, not hex, the legacy SHA-1 header alone.
  BOOST_TEST(run(*check, {{"X-Hub-Signature-256", "sha1=" + sig.substr(7)}}, "Hello, World!", 0) ==
             "bad_signature");
  BOOST_TEST(run(*check, {{"X-Hub-Signature-256", sig.substr(7)}}, "Hello, World!", 0) ==
             "bad_signature");
  BOOST_TEST(run(*check, {{"X-Hub-Signature-256", sig.substr(0, 40)}}, "Hello, World!", 0) ==
             "bad_signature");
  BOOST_TEST(run(*check, {{"X-Hub-Signature-256", "sha256=zz" + sig.substr(9)}}, "Hello, World!",
                 0) == "bad_signature");
  BOOST_TEST(run(*check, {{"X-Hub-Signature", "sha1=0000"}}, "Hello, World!", 0) ==
             "missing_credentials");
  BOOST_TEST(run(*check, {}, "Hello, World!", 0) == "missing_credentials");
}

BOOST_AUTO_TEST_CASE(rotation_with_two_secrets) {
  auto check = build(hmac_config("github", {"the new secret", "It's a Secret to Everybody"}));
  BOOST_TEST(run(*check,
                 {{"X-Hub-Signature-256",
                   "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}},
                 "Hello, World!", 0) == "pass");
  BOOST_TEST(run(*check,
                 {{"X-Hub-Signature-256", "sha256=" + hex_sha256("the new secret", {"body"})}},
                 "body", 0) == "pass");
  BOOST_TEST(run(*check, {{"X-Hub-Signature-256", "sha256=" + hex_sha256("a third", {"body"})}},
                 "body", 0) == "bad_signature");
}

BOOST_AUTO_TEST_CASE(no_secret_is_a_build_error) {
  expect_build_error([] { build(hmac_config("github", {})); }, "secrets", "");
  expect_build_error([] { build(hmac_config("gitlab", {"s3cr3t-value"})); }, "unknown scheme",
                     "s3cr3t-value");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(auth_hmac_stripe)

// stripe-node's vectors are for the HMAC primitive (crypto/hmac_test.cpp checks them);
// here full Stripe-Signature headers are built with that key and those payloads.
constexpr std::int64_t kT = 1700000000;
const std::string kSecret = "whsec_test_secret";

std::string stripe_header(std::string_view secret, std::int64_t t, std::string_view body) {
  std::string ts = std::to_string(t);
  return "t=" + ts + ",v1=" + hex_sha256(secret, {ts, ".", body});
}

BOOST_AUTO_TEST_CASE(signed_payloads_pass) {
  auto check = build(hmac_config("stripe", {kSecret}));
  for (std::string body : {std::string(), std::string(R"({"obj1":"hello","obj2":"world"})"),
                           std::string("\xF0\x9F\x98\x80")}) {
    BOOST_TEST(run(*check, {{"Stripe-Signature", stripe_header(kSecret, kT, body)}}, body, kT) ==
               "pass");
  }
  // The header as Stripe sends it: t, then v1, then the test-mode v0.
  std::string body = R"({"id":"evt_1","type":"charge.succeeded"})";
  std::string header = stripe_header(kSecret, kT, body) + ",v0=" + std::string(64, 'a');
  BOOST_TEST(run(*check, {{"Stripe-Signature", header}}, body, kT) == "pass");
  // The signed prefix of the hand-computed equivalent: HMAC(key, "{t}.{body}").
  BOOST_TEST(raw_mac(MacAlgorithm::sha256, "test_secret", {"1700000000", ".", ""}) ==
             raw_mac(MacAlgorithm::sha256, "test_secret", {"1700000000."}));
}

BOOST_AUTO_TEST_CASE(the_secret_includes_whsec) {
  auto check = build(hmac_config("stripe", {kSecret}));
  std::string body = "{}";
  BOOST_TEST(run(*check, {{"Stripe-Signature", stripe_header("test_secret", kT, body)}}, body,
                 kT) == "bad_signature");
}

BOOST_AUTO_TEST_CASE(tampering) {
  std::string body = R"({"obj1":"hello","obj2":"world"})";
  std::string header = stripe_header(kSecret, kT, body);
  auto check = build(hmac_config("stripe", {kSecret}));
  BOOST_TEST(run(*check, {{"Stripe-Signature", header}}, flip(body, 5), kT) == "bad_signature");
  BOOST_TEST(run(*check, {{"Stripe-Signature", flip_hex(header, header.size() - 3)}}, body, kT) ==
             "bad_signature");
  auto other = build(hmac_config("stripe", {flip(kSecret, 8)}));
  BOOST_TEST(run(*other, {{"Stripe-Signature", header}}, body, kT) == "bad_signature");
  // The timestamp is signed: changing it breaks the signature (and is not `stale`).
  std::string moved = "t=" + std::to_string(kT + 1) + header.substr(header.find(','));
  BOOST_TEST(run(*check, {{"Stripe-Signature", moved}}, body, kT) == "bad_signature");
}

BOOST_AUTO_TEST_CASE(only_v1_counts_and_the_header_must_be_complete) {
  std::string body = "{}", ts = std::to_string(kT);
  std::string mac = hex_sha256(kSecret, {ts, ".", body});
  auto check = build(hmac_config("stripe", {kSecret}));
  BOOST_TEST(run(*check, {{"Stripe-Signature", "t=" + ts + ",v0=" + mac}}, body, kT) ==
             "bad_signature");
  BOOST_TEST(run(*check, {{"Stripe-Signature", "t=" + ts + ",v2=" + mac}}, body, kT) ==
             "bad_signature");
  BOOST_TEST(run(*check, {{"Stripe-Signature", "v1=" + mac}}, body, kT) == "bad_signature");
  BOOST_TEST(run(*check, {{"Stripe-Signature", "t=soon,v1=" + mac}}, body, kT) == "bad_signature");
  BOOST_TEST(run(*check, {{"Stripe-Signature", "t=" + ts}}, body, kT) == "bad_signature");
  BOOST_TEST(run(*check, {{"Stripe-Signature", ""}}, body, kT) == "bad_signature");
  BOOST_TEST(run(*check, {}, body, kT) == "missing_credentials");
  // Order and spaces around items do not matter.
  BOOST_TEST(run(*check, {{"Stripe-Signature", "v1=" + mac + ", t=" + ts}}, body, kT) == "pass");
}

BOOST_AUTO_TEST_CASE(several_signatures_in_one_header) {
  std::string body = "{}", ts = std::to_string(kT);
  auto check = build(hmac_config("stripe", {kSecret}));
  std::string header = "t=" + ts + ",v1=" + hex_sha256("whsec_rolled", {ts, ".", body}) +
                       ",v1=nothex,v1=" + hex_sha256(kSecret, {ts, ".", body});
  BOOST_TEST(run(*check, {{"Stripe-Signature", header}}, body, kT) == "pass");
  std::string none = "t=" + ts + ",v1=" + hex_sha256("whsec_a", {ts, ".", body}) +
                     ",v1=" + hex_sha256("whsec_b", {ts, ".", body});
  BOOST_TEST(run(*check, {{"Stripe-Signature", none}}, body, kT) == "bad_signature");
}

BOOST_AUTO_TEST_CASE(rotation_with_two_secrets) {
  std::string body = "{}";
  auto check = build(hmac_config("stripe", {"whsec_old", kSecret}));
  BOOST_TEST(run(*check, {{"Stripe-Signature", stripe_header(kSecret, kT, body)}}, body, kT) ==
             "pass");
  BOOST_TEST(run(*check, {{"Stripe-Signature", stripe_header("whsec_old", kT, body)}}, body, kT) ==
             "pass");
}

BOOST_AUTO_TEST_CASE(tolerance_is_two_sided) {
  std::string body = "{}";
  std::string header = stripe_header(kSecret, kT, body);
  auto check = build(hmac_config("stripe", {kSecret}));  // default 5m
  BOOST_TEST(run(*check, {{"Stripe-Signature", header}}, body, kT + 300) == "pass");
  BOOST_TEST(run(*check, {{"Stripe-Signature", header}}, body, kT - 300) == "pass");
  BOOST_TEST(run(*check, {{"Stripe-Signature", header}}, body, kT + 301) == "stale_timestamp");
  BOOST_TEST(run(*check, {{"Stripe-Signature", header}}, body, kT - 301) == "stale_timestamp");
  auto c = hmac_config("stripe", {kSecret});
  c.tolerance = std::chrono::seconds(10);
  auto tight = build(c);
  BOOST_TEST(run(*tight, {{"Stripe-Signature", header}}, body, kT + 11) == "stale_timestamp");
  BOOST_TEST(run(*tight, {{"Stripe-Signature", header}}, body, kT + 10) == "pass");
  // A forged request is a bad signature, whatever its timestamp.
  BOOST_TEST(run(*check, {{"Stripe-Signature", header}}, "x", kT + 3600) == "bad_signature");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(auth_hmac_standard_webhooks)

// standard-webhooks libraries/python/tests/test_webhooks.py::test_sign_function
const std::string kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const std::string kId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr std::int64_t kTs = 1614265330;
const std::string kBody = R"({"test": 2432232314})";
const std::string kSig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

Headers sw_headers(const std::string& signature, const std::string& id = kId,
                   std::int64_t ts = kTs) {
  return {{"webhook-id", id},
          {"webhook-timestamp", std::to_string(ts)},
          {"webhook-signature", signature}};
}

std::string sw_sign(const std::string& secret, const std::string& id, std::int64_t ts,
                    const std::string& body) {
  auto key = crypto::base64_decode(std::string_view(secret).substr(6));
  BOOST_REQUIRE(key);
  return "v1," + b64_sha256(*key, {id, ".", std::to_string(ts), ".", body});
}

BOOST_AUTO_TEST_CASE(published_vector) {
  auto check = build(hmac_config("standard-webhooks", {kSecret}));
  BOOST_TEST(run(*check, sw_headers(kSig), kBody, kTs) == "pass");
  BOOST_TEST(sw_sign(kSecret, kId, kTs, kBody) == kSig);
}

BOOST_AUTO_TEST_CASE(svix_header_names) {
  auto check = build(hmac_config("standard-webhooks", {kSecret}));
  Headers h{{"svix-id", kId}, {"svix-timestamp", std::to_string(kTs)}, {"svix-signature", kSig}};
  BOOST_TEST(run(*check, h, kBody, kTs) == "pass");
}

// One family per request: a webhook-* header makes the svix-* ones irrelevant, so a captured
// svix triple cannot be completed with a forged webhook-id (nor the other way round).
BOOST_AUTO_TEST_CASE(header_families_are_never_mixed) {
  auto check = build(hmac_config("standard-webhooks", {kSecret}));
  const std::string ts = std::to_string(kTs);
  Headers mixed{
      {"webhook-id", "forged"}, {"svix-id", kId}, {"svix-timestamp", ts}, {"svix-signature", kSig}};
  BOOST_TEST(run(*check, mixed, kBody, kTs) == "missing_credentials");
  Headers mixed2{{"webhook-id", kId}, {"webhook-timestamp", ts}, {"svix-signature", kSig}};
  BOOST_TEST(run(*check, mixed2, kBody, kTs) == "missing_credentials");
}

// The verified id is handed to the route (its dedupe key), whichever family carried it.
BOOST_AUTO_TEST_CASE(the_signed_id_is_the_message_id) {
  auto check = build(hmac_config("standard-webhooks", {kSecret}));
  const std::string ts = std::to_string(kTs);
  for (std::string family : {"webhook-", "svix-"}) {
    http::Request r;
    const std::string id_name = family + "id", ts_name = family + "timestamp",
                      sig_name = family + "signature";
    r.headers = {{id_name, kId}, {ts_name, ts}, {sig_name, kSig}, {"svix-id", "forged"}};
    if (family == "svix-") r.headers.pop_back();
    r.body = kBody;
    Result result = check->check(r, at(kTs));
    BOOST_TEST(result.passed());
    BOOST_TEST(result.message_id == kId);
  }
}

BOOST_AUTO_TEST_CASE(tampering) {
  auto check = build(hmac_config("standard-webhooks", {kSecret}));
  BOOST_TEST(run(*check, sw_headers(kSig), flip(kBody, 3), kTs) == "bad_signature");
  BOOST_TEST(run(*check, sw_headers(flip(kSig, 10)), kBody, kTs) == "bad_signature");
  BOOST_TEST(run(*check, sw_headers(kSig, flip(kId, 6)), kBody, kTs) == "bad_signature");
  BOOST_TEST(run(*check, sw_headers(kSig, kId, kTs + 1), kBody, kTs) == "bad_signature");
  // One flipped byte of the decoded secret.
  auto key = *crypto::base64_decode(kSecret.substr(6));
  std::string other = "whsec_" + crypto::base64_encode(flip(key, 0));
  auto wrong = build(hmac_config("standard-webhooks", {other}));
  BOOST_TEST(run(*wrong, sw_headers(kSig), kBody, kTs) == "bad_signature");
  // Wrong version prefixes, v1a (asymmetric) alone, a malformed entry.
  BOOST_TEST(run(*check, sw_headers("v2," + kSig.substr(3)), kBody, kTs) == "bad_signature");
  BOOST_TEST(run(*check, sw_headers("v1a," + kSig.substr(3)), kBody, kTs) == "bad_signature");
  BOOST_TEST(run(*check, sw_headers(kSig.substr(3)), kBody, kTs) == "bad_signature");
  BOOST_TEST(run(*check, sw_headers("v1,not base64!"), kBody, kTs) == "bad_signature");
}

BOOST_AUTO_TEST_CASE(missing_headers) {
  auto check = build(hmac_config("standard-webhooks", {kSecret}));
  for (int drop = 0; drop < 3; ++drop) {
    Headers h = sw_headers(kSig);
    h.erase(h.begin() + drop);
    BOOST_TEST(run(*check, h, kBody, kTs) == "missing_credentials");
  }
  Headers h = sw_headers(kSig);
  h[1].second = "1614265330.5";
  BOOST_TEST(run(*check, h, kBody, kTs) == "bad_signature");
}

BOOST_AUTO_TEST_CASE(several_signatures_in_one_header) {
  auto check = build(hmac_config("standard-webhooks", {kSecret}));
  std::string other =
      sw_sign("whsec_" + crypto::base64_encode("another key, 24 bytes!!"), kId, kTs, kBody);
  BOOST_TEST(run(*check, sw_headers(other + " v1a,AAAA " + kSig), kBody, kTs) == "pass");
  BOOST_TEST(run(*check, sw_headers(kSig + " " + other), kBody, kTs) == "pass");
  BOOST_TEST(run(*check, sw_headers(other + " " + other), kBody, kTs) == "bad_signature");
}

BOOST_AUTO_TEST_CASE(rotation_with_two_secrets) {
  std::string fresh = "whsec_" + crypto::base64_encode(std::string(32, '\x42'));
  auto check = build(hmac_config("standard-webhooks", {fresh, kSecret}));
  BOOST_TEST(run(*check, sw_headers(kSig), kBody, kTs) == "pass");
  BOOST_TEST(run(*check, sw_headers(sw_sign(fresh, kId, kTs, kBody)), kBody, kTs) == "pass");
}

BOOST_AUTO_TEST_CASE(stale_and_future_timestamps) {
  auto check = build(hmac_config("standard-webhooks", {kSecret}));
  BOOST_TEST(run(*check, sw_headers(kSig), kBody, kTs + 299) == "pass");
  BOOST_TEST(run(*check, sw_headers(kSig), kBody, kTs - 299) == "pass");
  BOOST_TEST(run(*check, sw_headers(kSig), kBody, kTs + 301) == "stale_timestamp");
  BOOST_TEST(run(*check, sw_headers(kSig), kBody, kTs - 301) == "stale_timestamp");
}

BOOST_AUTO_TEST_CASE(bad_secrets_are_build_errors) {
  const std::string bad = "whsec_MfKQ9r8G*YqrTwjUPD8ILPZIo2LaLaSw";
  expect_build_error(
      [&] {
        build(hmac_config("standard-webhooks", {kSecret, bad}));
      },
      "secrets[1]: not valid base64 after whsec_", "MfKQ9r8G*Yqr");
  const std::string unpadded = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS";
  expect_build_error([&] { build(hmac_config("standard-webhooks", {unpadded})); },
                     "not valid base64", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS");
  expect_build_error([&] { build(hmac_config("standard-webhooks", {"MfKQ9r8GKYqrTwjUPD8I"})); },
                     "start with whsec_", "MfKQ9r8GKYqrTwjUPD8I");
  expect_build_error([&] { build(hmac_config("standard-webhooks", {"whsec_"})); }, "empty", "");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(auth_hmac_slack)

// Slack's documented example (api.slack.com/authentication/verifying-requests-from-slack).
const std::string kSecret = "8f742231b10e8888abcd99yyyzzz85a5";
constexpr std::int64_t kTs = 1531420618;
const std::string kBody =
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
    "G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"
    "collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%"
    "2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121."
    "803a0bc887a14d10d2c447fce8b6703c";
const std::string kSig = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

Headers slack_headers(const std::string& sig, std::int64_t ts = kTs) {
  return {{"X-Slack-Signature", sig}, {"X-Slack-Request-Timestamp", std::to_string(ts)}};
}

BOOST_AUTO_TEST_CASE(published_vector) {
  auto check = build(hmac_config("slack", {kSecret}));
  BOOST_TEST(run(*check, slack_headers(kSig), kBody, kTs) == "pass");
}

BOOST_AUTO_TEST_CASE(tampering_and_prefix) {
  auto check = build(hmac_config("slack", {kSecret}));
  BOOST_TEST(run(*check, slack_headers(kSig), flip(kBody, 40), kTs) == "bad_signature");
  BOOST_TEST(run(*check, slack_headers(flip_hex(kSig, 10)), kBody, kTs) == "bad_signature");
  BOOST_TEST(run(*check, slack_headers(kSig, kTs + 1), kBody, kTs) == "bad_signature");
  auto other = build(hmac_config("slack", {flip(kSecret, 0)}));
  BOOST_TEST(run(*other, slack_headers(kSig), kBody, kTs) == "bad_signature");
  BOOST_TEST(run(*check, slack_headers("v1=" + kSig.substr(3)), kBody, kTs) == "bad_signature");
  BOOST_TEST(run(*check, slack_headers(kSig.substr(3)), kBody, kTs) == "bad_signature");
  BOOST_TEST(run(*check, {{"X-Slack-Signature", kSig}}, kBody, kTs) == "missing_credentials");
  BOOST_TEST(run(*check, {{"X-Slack-Request-Timestamp", "1531420618"}}, kBody, kTs) ==
             "missing_credentials");
}

BOOST_AUTO_TEST_CASE(rotation_and_tolerance) {
  auto check = build(hmac_config("slack", {"rotated-signing-secret", kSecret}));
  BOOST_TEST(run(*check, slack_headers(kSig), kBody, kTs) == "pass");
  BOOST_TEST(run(*check, slack_headers(kSig), kBody, kTs + 301) == "stale_timestamp");
  BOOST_TEST(run(*check, slack_headers(kSig), kBody, kTs - 301) == "stale_timestamp");
  BOOST_TEST(run(*check, slack_headers(kSig), kBody, kTs + 300) == "pass");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(auth_hmac_shopify)

// Shopify/shopify-app-js lib/webhooks/__tests__/validate.test.ts
const std::string kSecret = "test_secret_key";
const std::string kBody = R"({"foo": "bar"})";
const std::string kSig = "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=";

BOOST_AUTO_TEST_CASE(published_vector_and_tampering) {
  auto check = build(hmac_config("shopify", {kSecret}));
  BOOST_TEST(run(*check, {{"X-Shopify-Hmac-Sha256", kSig}}, kBody, 0) == "pass");
  BOOST_TEST(run(*check, {{"X-Shopify-Hmac-Sha256", kSig}}, flip(kBody, 2), 0) == "bad_signature");
  BOOST_TEST(run(*check, {{"X-Shopify-Hmac-Sha256", flip(kSig, 4)}}, kBody, 0) == "bad_signature");
  auto other = build(hmac_config("shopify", {flip(kSecret, 1)}));
  BOOST_TEST(run(*other, {{"X-Shopify-Hmac-Sha256", kSig}}, kBody, 0) == "bad_signature");
  // Hex instead of base64, a sha256= prefix, padding dropped: all malformed.
  BOOST_TEST(run(*check, {{"X-Shopify-Hmac-Sha256", hex_sha256(kSecret, {kBody})}}, kBody, 0) ==
             "bad_signature");
  BOOST_TEST(run(*check, {{"X-Shopify-Hmac-Sha256", "sha256=" + kSig}}, kBody, 0) ==
             "bad_signature");
  BOOST_TEST(run(*check, {{"X-Shopify-Hmac-Sha256", kSig.substr(0, kSig.size() - 1)}}, kBody, 0) ==
             "bad_signature");
  BOOST_TEST(run(*check, {}, kBody, 0) == "missing_credentials");
}

BOOST_AUTO_TEST_CASE(rotation_with_two_secrets) {
  auto check = build(hmac_config("shopify", {"new_secret_key", kSecret}));
  BOOST_TEST(run(*check, {{"X-Shopify-Hmac-Sha256", kSig}}, kBody, 0) == "pass");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(auth_hmac_docusign)

// No published vector: the signature is computed here (base64 HMAC-SHA256 of the body).
const std::string kKey = "mVuGfq1B1cXwVEWRB8K2sd9Tme0ZzzNzMfnu8UHhZ4I=";
const std::string kBody = R"({"event":"envelope-completed","data":{"envelopeId":"abc"}})";

BOOST_AUTO_TEST_CASE(any_header_matching_any_key_passes) {
  auto check = build(hmac_config("docusign", {kKey}));
  std::string good = b64_sha256(kKey, {kBody});
  std::string other = b64_sha256("another connect key", {kBody});
  BOOST_TEST(run(*check, {{"X-DocuSign-Signature-1", good}}, kBody, 0) == "pass");
  BOOST_TEST(run(*check,
                 {{"X-DocuSign-Signature-1", other},
                  {"x-docusign-signature-2", "%%"},
                  {"X-DocuSign-Signature-3", good}},
                 kBody, 0) == "pass");
  BOOST_TEST(run(*check, {{"X-DocuSign-Signature-12", good}}, kBody, 0) == "pass");
  BOOST_TEST(run(*check, {{"X-DocuSign-Signature-1", other}, {"X-DocuSign-Signature-2", other}},
                 kBody, 0) == "bad_signature");
}

BOOST_AUTO_TEST_CASE(tampering_and_missing) {
  auto check = build(hmac_config("docusign", {kKey}));
  std::string good = b64_sha256(kKey, {kBody});
  BOOST_TEST(run(*check, {{"X-DocuSign-Signature-1", good}}, flip(kBody, 9), 0) == "bad_signature");
  BOOST_TEST(run(*check, {{"X-DocuSign-Signature-1", flip(good, 7)}}, kBody, 0) == "bad_signature");
  auto other = build(hmac_config("docusign", {flip(kKey, 2)}));
  BOOST_TEST(run(*other, {{"X-DocuSign-Signature-1", good}}, kBody, 0) == "bad_signature");
  BOOST_TEST(run(*check, {}, kBody, 0) == "missing_credentials");
  // Only numbered headers count.
  BOOST_TEST(run(*check, {{"X-DocuSign-Signature", good}, {"X-DocuSign-Signature-x", good}}, kBody,
                 0) == "missing_credentials");
}

BOOST_AUTO_TEST_CASE(rotation_with_two_secrets) {
  auto check = build(hmac_config("docusign", {"the second connect key", kKey}));
  BOOST_TEST(run(*check, {{"X-DocuSign-Signature-1", b64_sha256(kKey, {kBody})}}, kBody, 0) ==
             "pass");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(auth_hmac_twilio)

// twilio-node spec/validation.spec.js
const std::string kToken = "12345";
const std::string kFormBody =  // deliberately not in sorted order; '+' sent as %2B
    "To=%2B18005551212&CallSid=CA1234567890ABCDE&Digits=1234&From=%2B14158675309&"
    "Caller=%2B14158675309";
const std::string kFormSig = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
const std::string kJsonBody = R"({"property": "value", "boolean": true})";
const std::string kJsonSha = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
const std::string kJsonSig = "a9nBmqA0ju/hNViExpshrM61xv4=";
const Headers kForm{{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};

config::HmacAuthConfig twilio_config(std::string url, std::vector<std::string> secrets = {kToken}) {
  auto c = hmac_config("twilio", std::move(secrets));
  c.url = std::move(url);
  return c;
}

Headers with(Headers h, std::string name, std::string value) {
  h.emplace_back(std::move(name), std::move(value));
  return h;
}

BOOST_AUTO_TEST_CASE(published_form_vector) {
  auto check = build(twilio_config("https://mycompany.com/myapp.php"));
  BOOST_TEST(run(*check, with(kForm, "X-Twilio-Signature", kFormSig), kFormBody, 0,
                 "/myapp.php?foo=1&bar=2") == "pass");
  // A configured URL with a query: the request's query is what is signed.
  auto q = build(twilio_config("https://mycompany.com/myapp.php?ignored=1"));
  BOOST_TEST(run(*q, with(kForm, "X-Twilio-Signature", kFormSig), kFormBody, 0,
                 "/myapp.php?foo=1&bar=2") == "pass");
}

BOOST_AUTO_TEST_CASE(published_json_vector) {
  auto check = build(twilio_config("https://mycompany.com/myapp.php"));
  Headers h{{"Content-Type", "application/json"}, {"X-Twilio-Signature", kJsonSig}};
  const std::string target = "/myapp.php?foo=1&bar=2&bodySHA256=" + kJsonSha;
  BOOST_TEST(run(*check, h, kJsonBody, 0, target) == "pass");
  // The body is bound by its hash; the hash by the signature.
  BOOST_TEST(run(*check, h, flip(kJsonBody, 4), 0, target) == "bad_signature");
  BOOST_TEST(run(*check, h, kJsonBody, 0,
                 "/myapp.php?foo=1&bar=2&bodySHA256=" + flip_hex(kJsonSha, 0)) == "bad_signature");
  BOOST_TEST(run(*check, h, kJsonBody, 0, "/myapp.php?foo=1&bar=3&bodySHA256=" + kJsonSha) ==
             "bad_signature");
  // A JSON body without bodySHA256 would not be covered by the signature.
  BOOST_TEST(run(*check, h, kJsonBody, 0, "/myapp.php?foo=1&bar=2") == "bad_signature");
}

BOOST_AUTO_TEST_CASE(both_port_forms) {
  // Configured with :443, the sender signed without it (the published vector) ...
  auto with_port = build(twilio_config("https://mycompany.com:443/myapp.php"));
  BOOST_TEST(run(*with_port, with(kForm, "X-Twilio-Signature", kFormSig), kFormBody, 0,
                 "/myapp.php?foo=1&bar=2") == "pass");
  // ... and configured without a port, the sender signed with :443.
  std::string sorted =
      "CallSidCA1234567890ABCDECaller+14158675309Digits1234From+14158675309"
      "To+18005551212";
  std::string sig = crypto::base64_encode(raw_mac(
      MacAlgorithm::sha1, kToken, {"https://mycompany.com:443/myapp.php?foo=1&bar=2", sorted}));
  auto without = build(twilio_config("https://mycompany.com/myapp.php"));
  BOOST_TEST(run(*without, with(kForm, "X-Twilio-Signature", sig), kFormBody, 0,
                 "/myapp.php?foo=1&bar=2") == "pass");
  // http and :80 likewise; a non-default port is signed as configured only.
  std::string sig80 =
      crypto::base64_encode(raw_mac(MacAlgorithm::sha1, kToken, {"http://example.com:80/t", "ab"}));
  auto http = build(twilio_config("http://example.com/t"));
  BOOST_TEST(run(*http, with(kForm, "X-Twilio-Signature", sig80), "a=b", 0, "/t") == "pass");
  std::string sig8443 = crypto::base64_encode(
      raw_mac(MacAlgorithm::sha1, kToken, {"https://example.com:8443/t", "ab"}));
  auto custom = build(twilio_config("https://example.com:8443/t"));
  BOOST_TEST(run(*custom, with(kForm, "X-Twilio-Signature", sig8443), "a=b", 0, "/t") == "pass");
}

BOOST_AUTO_TEST_CASE(form_decoding_and_sorting) {
  // '+' is a space; duplicate keys are sorted by value; an empty value counts.
  std::string sig = crypto::base64_encode(
      raw_mac(MacAlgorithm::sha1, kToken, {"https://h.example/t", "Bodyhello worldTo1To2Z"}));
  auto check = build(twilio_config("https://h.example/t"));
  BOOST_TEST(run(*check, with(kForm, "X-Twilio-Signature", sig), "To=2&Body=hello+world&Z=&To=1", 0,
                 "/t") == "pass");
  BOOST_TEST(run(*check, with(kForm, "X-Twilio-Signature", sig), "To=2&Body=hello%2Bworld&Z=&To=1",
                 0, "/t") == "bad_signature");
  BOOST_TEST(run(*check, with(kForm, "X-Twilio-Signature", sig), "To=2&Body=%zz", 0, "/t") ==
             "bad_signature");
}

BOOST_AUTO_TEST_CASE(tampering_rotation_missing) {
  auto check = build(twilio_config("https://mycompany.com/myapp.php"));
  const std::string target = "/myapp.php?foo=1&bar=2";
  auto h = with(kForm, "X-Twilio-Signature", kFormSig);
  BOOST_TEST(run(*check, h, flip(kFormBody, 1), 0, target) == "bad_signature");
  BOOST_TEST(run(*check, h, kFormBody, 0, "/myapp.php?foo=1&bar=3") == "bad_signature");
  BOOST_TEST(run(*check, with(kForm, "X-Twilio-Signature", flip(kFormSig, 3)), kFormBody, 0,
                 target) == "bad_signature");
  auto other = build(twilio_config("https://mycompany.com/myapp.php", {"12344"}));
  BOOST_TEST(run(*other, h, kFormBody, 0, target) == "bad_signature");
  auto other_url = build(twilio_config("https://mycompany.com/other.php"));
  BOOST_TEST(run(*other_url, h, kFormBody, 0, target) == "bad_signature");
  auto rotated = build(twilio_config("https://mycompany.com/myapp.php", {"54321", kToken}));
  BOOST_TEST(run(*rotated, h, kFormBody, 0, target) == "pass");
  BOOST_TEST(run(*check, kForm, kFormBody, 0, target) == "missing_credentials");
}

BOOST_AUTO_TEST_CASE(bad_urls_are_build_errors) {
  expect_build_error([] { build(twilio_config("mycompany.com/myapp.php")); }, "url", kToken);
  expect_build_error([] { build(twilio_config("ftp://mycompany.com/")); }, "url", kToken);
  expect_build_error([] { build(twilio_config("https://mycompany.com:x/")); }, "port", kToken);
  expect_build_error([] { build(twilio_config("")); }, "url", kToken);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(auth_hmac_generic)

config::HmacAuthConfig generic(std::vector<std::string> secrets) {
  auto c = hmac_config("generic", std::move(secrets));
  c.header = "X-Signature";
  return c;
}

BOOST_AUTO_TEST_CASE(configured_like_github_passes_its_vector) {
  auto c = generic({"It's a Secret to Everybody"});
  c.header = "X-Hub-Signature-256";
  c.prefix = "sha256=";
  auto check = build(c);
  const std::string sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
  BOOST_TEST(run(*check, {{"X-Hub-Signature-256", sig}}, "Hello, World!", 0) == "pass");
  // The prefix is required when set.
  BOOST_TEST(run(*check, {{"X-Hub-Signature-256", sig.substr(7)}}, "Hello, World!", 0) ==
             "bad_signature");
  BOOST_TEST(run(*check, {{"X-Hub-Signature-256", "sha512=" + sig.substr(7)}}, "Hello, World!",
                 0) == "bad_signature");
}

BOOST_AUTO_TEST_CASE(configured_like_shopify_passes_its_vector) {
  auto c = generic({"test_secret_key"});
  c.encoding = "base64";
  auto check = build(c);
  BOOST_TEST(run(*check, {{"X-Signature", "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g="}},
                 R"({"foo": "bar"})", 0) == "pass");
}

BOOST_AUTO_TEST_CASE(template_with_timestamp_and_id) {
  auto c = generic({"custom-secret"});
  c.algorithm = "sha512";
  c.encoding = "base64";
  c.prefix = "v1=";
  c.payload = "{timestamp}.{id}.{body}";
  c.timestamp_header = "X-Timestamp";
  c.id_header = "X-Id";
  auto check = build(c);
  const std::int64_t t = 1700000000;
  const std::string body = R"({"event":"x"})";
  std::string sig = "v1=" + crypto::base64_encode(raw_mac(MacAlgorithm::sha512, "custom-secret",
                                                          {"1700000000.", "evt_1", ".", body}));
  Headers h{{"X-Signature", sig}, {"X-Timestamp", "1700000000"}, {"X-Id", "evt_1"}};
  BOOST_TEST(run(*check, h, body, t) == "pass");
  BOOST_TEST(run(*check, h, flip(body, 1), t) == "bad_signature");
  BOOST_TEST(run(*check, h, body, t + 301) == "stale_timestamp");
  BOOST_TEST(run(*check, h, body, t - 301) == "stale_timestamp");
  Headers other_id = h;
  other_id[2].second = "evt_2";
  BOOST_TEST(run(*check, other_id, body, t) == "bad_signature");
  Headers no_ts{h[0], h[2]};
  BOOST_TEST(run(*check, no_ts, body, t) == "missing_credentials");
  Headers no_id{h[0], h[1]};
  BOOST_TEST(run(*check, no_id, body, t) == "missing_credentials");
  Headers bad_ts = h;
  bad_ts[1].second = "2023-11-14T22:13:20Z";
  BOOST_TEST(run(*check, bad_ts, body, t) == "bad_signature");
}

BOOST_AUTO_TEST_CASE(sha1_hex_rotation_and_literal_braces) {
  auto c = generic({"old", "new"});
  c.algorithm = "sha1";
  c.payload = R"({"payload":{body}})";
  auto check = build(c);
  const std::string body = "[1,2]";
  std::string sig =
      crypto::hex_encode(raw_mac(MacAlgorithm::sha1, "new", {R"({"payload":)", body, "}"}));
  BOOST_TEST(run(*check, {{"X-Signature", sig}}, body, 0) == "pass");
  BOOST_TEST(run(*check, {{"X-Signature", flip_hex(sig, 0)}}, body, 0) == "bad_signature");
  auto wrong = generic({"nex"});
  wrong.algorithm = "sha1";
  wrong.payload = c.payload;
  BOOST_TEST(run(*build(wrong), {{"X-Signature", sig}}, body, 0) == "bad_signature");
  BOOST_TEST(run(*check, {}, body, 0) == "missing_credentials");
}

// "{timestamp}.{id}.{body}": the start of the body cannot move into the id (the id may not
// contain the text next to it), and the verified id is the route's dedupe key.
BOOST_AUTO_TEST_CASE(template_fields_cannot_shift) {
  auto c = generic({"s"});
  c.payload = "{timestamp}.{id}.{body}";
  c.timestamp_header = "X-Timestamp";
  c.id_header = "X-Id";
  auto check = build(c);
  const std::int64_t t = 1700000000;
  const std::string body = R"({"note":"v1.2","n":1})";
  const std::string sig = hex_sha256("s", {"1700000000.req-1.", body});
  Headers h{{"X-Signature", sig}, {"X-Timestamp", "1700000000"}, {"X-Id", "req-1"}};
  BOOST_TEST(run(*check, h, body, t) == "pass");
  Headers shifted{h[0], h[1], {"X-Id", R"(req-1.{"note":"v1)"}};
  BOOST_TEST(hex_sha256("s", {"1700000000.", shifted[2].second, ".", R"(2","n":1})"}) == sig);
  BOOST_TEST(run(*check, shifted, R"(2","n":1})", t) == "bad_signature");
  http::Request r;
  for (const auto& [k, v] : h) r.headers.emplace_back(k, v);
  r.body = body;
  auto result = check->check(r, at(t));
  BOOST_TEST(result.passed());
  BOOST_TEST(result.message_id == "req-1");
}

BOOST_AUTO_TEST_CASE(bad_config_is_a_build_error) {
  const std::string secret = "generic-secret-value";
  auto adjacent = generic({secret});
  adjacent.payload = "{timestamp}{id}.{body}";
  adjacent.timestamp_header = "X-Timestamp";
  adjacent.id_header = "X-Id";
  expect_build_error([&] { build(adjacent); }, "separator", secret);
  adjacent.payload = "{timestamp}1.{body}";
  adjacent.id_header.clear();
  expect_build_error([&] { build(adjacent); }, "digit", secret);
  auto c = generic({secret});
  c.payload = "{tstamp}.{body}";
  expect_build_error([&] { build(c); }, "{tstamp}", secret);
  c = generic({secret});
  c.timestamp_header = "X-Timestamp";
  expect_build_error([&] { build(c); }, "timestamp_header", secret);
  c = generic({secret});
  c.payload = "{timestamp}.{body}";
  expect_build_error([&] { build(c); }, "timestamp_header", secret);
  c = generic({secret});
  c.payload = "{id}";
  expect_build_error([&] { build(c); }, "{body}", secret);
  c = generic({secret});
  c.algorithm = "md5";
  expect_build_error([&] { build(c); }, "algorithm", secret);
  c = generic({secret});
  c.encoding = "base32";
  expect_build_error([&] { build(c); }, "encoding", secret);
  c = generic({secret});
  c.header.clear();
  expect_build_error([&] { build(c); }, "header", secret);
}

BOOST_AUTO_TEST_SUITE_END()
