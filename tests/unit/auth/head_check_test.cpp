// Check::check_head (what is decided before the body is read) for every kind of item, and
// `any` with no items.
#include <boost/test/unit_test.hpp>

#include "auth_values.hpp"
#include "hookd/auth/items.hpp"
#include "hookd/crypto/encoding.hpp"

using namespace hookd;
using namespace hookd::auth;

namespace {

http::Request head(std::vector<std::pair<std::string_view, std::string_view>> headers) {
  http::Request r;
  r.method = "POST";
  r.target = "/hook";
  r.headers = std::move(headers);
  r.peer = "127.0.0.1";
  return r;
}

std::unique_ptr<Check> hmac(std::string scheme, std::string secret) {
  config::HmacAuthConfig c;
  c.scheme = std::move(scheme);
  c.secrets.emplace_back(std::move(secret));
  if (c.scheme == "twilio") c.url = "https://example.com/hook";
  if (c.scheme == "generic") {
    c.header = "X-Sig";
    c.payload = "{timestamp}.{body}";
    c.timestamp_header = "X-Time";
  }
  return make_hmac(c, kWhere);
}

std::string reason(const Result& r) {
  return r.passed() ? "pass" : std::string(r.reason);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(auth_head_check)

BOOST_AUTO_TEST_CASE(items_without_a_body_give_their_final_answer) {
  config::BasicAuthConfig b;
  b.username = "u";
  b.password = config::Secret("p");
  auto basic = make_basic(b);
  const std::string right = "Basic " + crypto::base64_encode("u:p");
  const std::string wrong = "Basic " + crypto::base64_encode("u:q");
  BOOST_TEST(reason(basic->check_head(head({{"Authorization", right}}), {})) == "pass");
  BOOST_TEST(reason(basic->check_head(head({{"Authorization", wrong}}), {})) == "bad_credentials");
  BOOST_TEST(reason(basic->check_head(head({}), {})) == "missing_credentials");
  auto ip = make_ip_allow({"10.0.0.0/8"}, kWhere);
  BOOST_TEST((ip->check_head(head({}), {}).verdict == Verdict::forbidden));
}

BOOST_AUTO_TEST_CASE(signing_items_check_only_that_their_headers_are_there) {
  struct Case {
    std::string scheme, secret;
    std::vector<std::pair<std::string_view, std::string_view>> headers;
  };
  const std::vector<Case> cases = {
      {"github", "s", {{"X-Hub-Signature-256", "sha256=00"}}},
      {"shopify", "s", {{"X-Shopify-Hmac-Sha256", "AA=="}}},
      {"docusign", "s", {{"X-DocuSign-Signature-2", "AA=="}}},
      {"stripe", "s", {{"Stripe-Signature", "t=1,v1=00"}}},
      {"slack", "s", {{"X-Slack-Signature", "v0=00"}, {"X-Slack-Request-Timestamp", "1"}}},
      {"twilio", "s", {{"X-Twilio-Signature", "AA=="}}},
      {"generic", "s", {{"X-Sig", "00"}, {"X-Time", "1"}}},
      {"standard-webhooks",
       "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
       {{"webhook-id", "i"}, {"webhook-timestamp", "1"}, {"webhook-signature", "v1,AA=="}}},
  };
  for (const auto& c : cases) {
    auto check = hmac(c.scheme, c.secret);
    // Present but wrong: nothing wrong yet (the MAC needs the body) ...
    BOOST_TEST(reason(check->check_head(head(c.headers), {})) == "pass", c.scheme);
    // ... and the whole request fails.
    BOOST_TEST(reason(check->check(head(c.headers), {})) != "pass", c.scheme);
    auto fewer = c.headers;
    fewer.pop_back();
    BOOST_TEST(reason(check->check_head(head(fewer), {})) == "missing_credentials", c.scheme);
  }
  config::SignatureAuthConfig sg;
  sg.scheme = "sendgrid";
  sg.public_keys = {
      "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+"
      "2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="};
  auto sendgrid = make_signature(sg, kWhere);
  BOOST_TEST(reason(sendgrid->check_head(head({{"X-Twilio-Email-Event-Webhook-Signature", "x"},
                                               {"X-Twilio-Email-Event-Webhook-Timestamp", "1"}}),
                                         {})) == "pass");
  BOOST_TEST(reason(sendgrid->check_head(head({{"X-Twilio-Email-Event-Webhook-Signature", "x"}}),
                                         {})) == "missing_credentials");
}

BOOST_AUTO_TEST_CASE(chains_and_any_combine_head_checks) {
  config::BasicAuthConfig b;
  b.username = "u";
  b.password = config::Secret("p");
  std::vector<std::unique_ptr<Check>> either;
  either.push_back(hmac("github", "s"));
  either.push_back(make_basic(b));
  auto any = make_any(std::move(either));
  const std::string right = "Basic " + crypto::base64_encode("u:p");
  BOOST_TEST(reason(any->check_head(head({{"Authorization", right}}), {})) == "pass");
  BOOST_TEST(reason(any->check_head(head({{"X-Hub-Signature-256", "x"}}), {})) == "pass");
  BOOST_TEST(reason(any->check_head(head({}), {})) == "missing_credentials");

  std::vector<std::unique_ptr<Check>> items;
  items.push_back(make_ip_allow({"127.0.0.0/8"}, kWhere));
  items.push_back(hmac("github", "s"));
  Chain chain(std::move(items));
  BOOST_TEST(reason(chain.check_head(head({{"X-Hub-Signature-256", "x"}}), {})) == "pass");
  BOOST_TEST(reason(chain.check_head(head({}), {})) == "missing_credentials");
}

// check_body() runs only the items that read the body: a Basic or bearer item is checked
// once per request (in check_head), a signature over the body after it.
BOOST_AUTO_TEST_CASE(check_body_skips_the_items_whose_head_answer_is_final) {
  struct Counting final : HeadCheck {
    mutable int calls = 0;
    Result check(const http::Request&, const Context&) const override {
      ++calls;
      return Result::ok();
    }
  };
  auto counting = std::make_unique<Counting>();
  const Counting* probe = counting.get();
  std::vector<std::unique_ptr<Check>> items;
  items.push_back(std::move(counting));
  items.push_back(hmac("github", "s"));
  Chain chain(std::move(items));
  BOOST_TEST(chain.reads_body());
  auto r = head({{"X-Hub-Signature-256", "sha256=00"}});
  BOOST_TEST(reason(chain.check_head(r, {})) == "pass");
  BOOST_TEST(probe->calls == 1);
  BOOST_TEST(reason(chain.check_body(r, {})) == "bad_signature");  // the MAC ran
  BOOST_TEST(probe->calls == 1);
  BOOST_TEST(reason(chain.check(r, {})) == "bad_signature");  // check() runs everything
  BOOST_TEST(probe->calls == 2);
  std::vector<std::unique_ptr<Check>> head_only;
  head_only.push_back(make_ip_allow({"127.0.0.0/8"}, kWhere));
  BOOST_TEST(!Chain(std::move(head_only)).reads_body());
}

// The loader refuses `any: []`, but an empty `any` built another way must not pass.
BOOST_AUTO_TEST_CASE(any_without_items_fails) {
  auto any = make_any({});
  BOOST_TEST(!any->check(head({}), {}).passed());
  BOOST_TEST(!any->check_head(head({}), {}).passed());
}

BOOST_AUTO_TEST_SUITE_END()
