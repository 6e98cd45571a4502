// The ACME client against a scripted fake CA: what Pebble does not provoke on demand —
// repeated badNonce, problem documents mapped to AcmeError, unreachable servers, missing
// challenge types, Retry-After and the polling bound, and clean-up on every failure.
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <vector>

#include "hookd/crypto/encoding.hpp"
#include "hookd/tls/acme/client.hpp"

namespace acme = hookd::tls::acme;
namespace json = boost::json;
using std::chrono::milliseconds;

namespace {

struct Request {
  std::string method, url, body;
};

acme::HttpReply reply(int status, std::string body,
                      std::map<std::string, std::string> headers = {}) {
  acme::HttpReply r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

acme::HttpReply problem(const std::string& type, const std::string& detail) {
  return reply(
      400, R"({"type":"urn:ietf:params:acme:error:)" + type + R"(","detail":")" + detail + R"("})");
}

// Answers each URL from its script (front first), else from the defaults: the directory, a
// nonce and an account. POST and newNonce answers carry a numbered Replay-Nonce unless
// scripted with one (the directory has none, like Pebble's).
class FakeCa : public acme::Transport {
 public:
  FakeCa() {
    defaults_["https://ca/dir"] = reply(200, R"({"newNonce":"https://ca/nonce",
        "newAccount":"https://ca/account","newOrder":"https://ca/order",
        "meta":{"termsOfService":"https://ca/tos"}})");
    defaults_["https://ca/nonce"] = reply(204, "");
    defaults_["https://ca/account"] =
        reply(201, R"({"status":"valid"})", {{"location", "https://ca/acct/1"}});
  }
  void script(const std::string& url, std::vector<acme::HttpReply> replies) {
    for (auto& r : replies) scripts_[url].push_back(std::move(r));
  }
  void set_default(const std::string& url, acme::HttpReply r) { defaults_[url] = std::move(r); }

  acme::HttpReply get(const std::string& url) override { return answer({"GET", url, ""}); }
  acme::HttpReply post_jose(const std::string& url, const std::string& body) override {
    return answer({"POST", url, body});
  }

  std::vector<Request> requests;
  bool unreachable = false;

 private:
  acme::HttpReply answer(Request request) {
    requests.push_back(request);
    if (unreachable) throw acme::TransportError("connection refused");
    acme::HttpReply r = reply(404, "");
    if (auto& s = scripts_[request.url]; !s.empty()) {
      r = s.front();
      s.pop_front();
    } else if (auto it = defaults_.find(request.url); it != defaults_.end()) {
      r = it->second;
    }
    if (request.method == "POST" || request.url == "https://ca/nonce") {
      r.headers.try_emplace("replay-nonce", "nonce-" + std::to_string(++nonces_));
    }
    return r;
  }
  std::map<std::string, std::deque<acme::HttpReply>> scripts_;
  std::map<std::string, acme::HttpReply> defaults_;
  int nonces_ = 0;
};

// The decoded protected header of a JWS request body.
json::object protected_header(const Request& r) {
  const json::value jws = json::parse(r.body);
  const auto decoded = hookd::crypto::base64url_decode(jws.at("protected").as_string());
  BOOST_REQUIRE(decoded.has_value());
  return json::parse(*decoded).as_object();
}

std::vector<Request> posts_to(const FakeCa& ca, const std::string& url) {
  std::vector<Request> out;
  for (const auto& r : ca.requests) {
    if (r.method == "POST" && r.url == url) out.push_back(r);
  }
  return out;
}

// A self-signed certificate, with an authority key identifier (what ARI names a
// certificate by) when `with_aki`.
std::shared_ptr<const hookd::tls::CertifiedKey> certificate(bool with_aki) {
  const acme::KeyPtr key = acme::generate_p256_key();
  std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), X509_free);
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 0x8123);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 86400);
  X509_set_pubkey(x.get(), key.get());
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("ari.test"), -1, -1, 0);
  X509_set_issuer_name(x.get(), X509_get_subject_name(x.get()));
  if (with_aki) {
    for (const auto& [nid, value] : {std::pair{NID_subject_key_identifier, "hash"},
                                     std::pair{NID_authority_key_identifier, "keyid:always"}}) {
      X509V3_CTX ctx;
      X509V3_set_ctx_nodb(&ctx);
      X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
      X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
      BOOST_REQUIRE(ext != nullptr);
      X509_add_ext(x.get(), ext, -1);
      X509_EXTENSION_free(ext);
    }
  }
  BOOST_REQUIRE(X509_sign(x.get(), key.get(), EVP_sha256()) != 0);
  return hookd::tls::make_certified_key(x.get(), key.get());
}

struct RecordingResponder : acme::ChallengeResponder {
  void present(acme::ChallengeType, const std::string& id, const std::string& token,
               const std::string&) override {
    presented.push_back(id + "/" + token);
  }
  void clean_up(acme::ChallengeType, const std::string& id, const std::string& token) override {
    cleaned.push_back(id + "/" + token);
  }
  std::vector<std::string> presented, cleaned;
};

struct Fixture {
  FakeCa ca;
  std::vector<milliseconds> sleeps;
  bool stopping = false;
  acme::Client client{ca, "https://ca/dir", acme::generate_p256_key(), [this](milliseconds d) {
                        sleeps.push_back(d);
                        return !stopping;
                      }};
  RecordingResponder responder;

  void register_account() { client.register_account({"ops@example.com", true, {}, {}}); }
  // An order for hooks.example.com with one pending authorization offering http-01.
  void script_pending_order(const std::string& authz_body = authz("pending", "")) {
    ca.script("https://ca/order", {reply(201, R"({"status":"pending",
        "authorizations":["https://ca/authz/1"],"finalize":"https://ca/order/1/fin"})",
                                         {{"location", "https://ca/order/1"}})});
    ca.script("https://ca/authz/1", {reply(200, authz_body)});
    ca.set_default("https://ca/chall/h", reply(200, R"({"status":"pending"})"));
  }
  static std::string authz(const std::string& status, const std::string& error) {
    return R"({"status":")" + status +
           R"(","identifier":{"type":"dns","value":"hooks.example.com"},"challenges":[
        {"type":"tls-alpn-01","url":"https://ca/chall/a","token":"ta"},
        {"type":"http-01","url":"https://ca/chall/h","token":"th")" +
           (error.empty() ? "" : R"(,"error":)" + error) + "}]}";
  }
  acme::AcmeError order_error() {
    try {
      client.order_certificate({"hooks.example.com"}, acme::ChallengeType::http_01, responder);
    } catch (const acme::AcmeError& e) {
      return e;
    }
    BOOST_FAIL("the order did not fail");
    throw std::logic_error("not reached");
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(acme_client, Fixture)

BOOST_AUTO_TEST_CASE(bad_nonce_is_retried_with_the_nonce_of_the_error) {
  ca.script("https://ca/account",
            {reply(400, R"({"type":"urn:ietf:params:acme:error:badNonce","detail":"stale"})",
                   {{"replay-nonce", "from-the-error"}})});
  register_account();
  const auto posts = posts_to(ca, "https://ca/account");
  BOOST_REQUIRE(posts.size() == 2u);
  BOOST_TEST(protected_header(posts[1]).at("nonce").as_string() == "from-the-error");
  BOOST_TEST(protected_header(posts[1]).contains("jwk"));
  BOOST_TEST(!protected_header(posts[1]).contains("kid"));
  // One newNonce for the first POST; the retry used the error's nonce.
  BOOST_TEST(std::count_if(ca.requests.begin(), ca.requests.end(),
                           [](const Request& r) { return r.url == "https://ca/nonce"; }) == 1);
  const json::value payload = json::parse(
      *hookd::crypto::base64url_decode(json::parse(posts[1].body).at("payload").as_string()));
  BOOST_TEST(json::serialize(payload) ==
             R"({"termsOfServiceAgreed":true,"contact":["mailto:ops@example.com"]})");
}

BOOST_AUTO_TEST_CASE(a_problem_becomes_an_acme_error_saying_what_was_done) {
  register_account();
  ca.script("https://ca/order", {problem("rejectedIdentifier", "not here")});
  const acme::AcmeError e = order_error();
  BOOST_TEST(std::string(e.what()) ==
             "newOrder for hooks.example.com: rejectedIdentifier: not here");
  BOOST_REQUIRE(e.problem.has_value());
  BOOST_TEST(e.problem->short_type() == "rejectedIdentifier");
  // After the account exists, requests are signed with its URL as kid.
  BOOST_TEST(protected_header(posts_to(ca, "https://ca/order").at(0)).at("kid").as_string() ==
             "https://ca/acct/1");
}

BOOST_AUTO_TEST_CASE(bad_nonce_without_end_gives_up) {
  for (int i = 0; i < 10; ++i) ca.script("https://ca/account", {problem("badNonce", "no")});
  BOOST_CHECK_EXCEPTION(register_account(), acme::AcmeError, [](const acme::AcmeError& e) {
    return e.problem && e.problem->short_type() == "badNonce";
  });
  BOOST_TEST(posts_to(ca, "https://ca/account").size() == 5u);
}

BOOST_AUTO_TEST_CASE(an_unreachable_server_is_named) {
  ca.unreachable = true;
  BOOST_CHECK_EXCEPTION(client.directory(), acme::AcmeError, [](const acme::AcmeError& e) {
    return std::string(e.what()) ==
           "cannot reach the ACME server at https://ca/dir: connection refused";
  });
}

BOOST_AUTO_TEST_CASE(a_required_eab_without_a_kid_is_refused_before_any_post) {
  ca.set_default("https://ca/dir", reply(200, R"({"newNonce":"https://ca/nonce",
      "newAccount":"https://ca/account","newOrder":"https://ca/order",
      "meta":{"externalAccountRequired":true}})"));
  BOOST_TEST(client.directory().external_account_required);
  BOOST_CHECK_EXCEPTION(register_account(), acme::AcmeError, [](const acme::AcmeError& e) {
    return std::string(e.what()).find("External Account Binding") != std::string::npos;
  });
  BOOST_TEST(posts_to(ca, "https://ca/account").empty());
}

BOOST_AUTO_TEST_CASE(eab_is_an_object_in_the_new_account_payload) {
  client.register_account({"", true, "kid-1", "c2VjcmV0LWtleS1mb3ItaG1hYw"});
  const json::object payload =
      json::parse(
          *hookd::crypto::base64url_decode(
              json::parse(posts_to(ca, "https://ca/account").at(0).body).at("payload").as_string()))
          .as_object();
  BOOST_TEST(!payload.contains("contact"));
  const json::object& eab = payload.at("externalAccountBinding").as_object();
  const json::object header =
      json::parse(*hookd::crypto::base64url_decode(eab.at("protected").as_string())).as_object();
  BOOST_TEST(header.at("kid").as_string() == "kid-1");
  BOOST_TEST(header.at("url").as_string() == "https://ca/account");
}

BOOST_AUTO_TEST_CASE(a_bad_eab_key_is_refused_without_repeating_it) {
  BOOST_CHECK_EXCEPTION(
      client.register_account({"", true, "kid-1", "not base64url!!"}), acme::AcmeError,
      [](const acme::AcmeError& e) {
        BOOST_TEST_MESSAGE(e.what());
        return std::string(e.what()).starts_with("newAccount: External Account Binding") &&
               std::string(e.what()).find("base64url!!") == std::string::npos;
      });
  BOOST_TEST(posts_to(ca, "https://ca/account").empty());
}

BOOST_AUTO_TEST_CASE(renewal_info_asks_the_directory_s_renewal_info_url) {
  ca.set_default("https://ca/dir", reply(200, R"({"newNonce":"https://ca/nonce",
      "newAccount":"https://ca/account","newOrder":"https://ca/order",
      "renewalInfo":"https://ca/ari/"})"));
  const auto cert = certificate(/*with_aki=*/true);
  const std::string url = "https://ca/ari/" + acme::ari_certificate_id(*cert);
  ca.script(url, {reply(200, R"({"suggestedWindow":{"start":"2026-01-01T00:00:00Z",
      "end":"2026-01-02T00:00:00Z"}})")});
  const auto window = client.renewal_info(*cert);
  BOOST_REQUIRE(window.has_value());
  BOOST_TEST((window->end - window->start == std::chrono::hours(24)));
  BOOST_TEST(ca.requests.back().url == url);
  BOOST_TEST(ca.requests.back().method == "GET");

  ca.script(url, {reply(200, R"({"suggestedWindow":{}})")});
  BOOST_CHECK_THROW(client.renewal_info(*cert), acme::AcmeError);
  BOOST_CHECK_THROW(client.renewal_info(*certificate(/*with_aki=*/false)), acme::AcmeError);
}

BOOST_AUTO_TEST_CASE(a_missing_challenge_type_names_the_offered_ones) {
  register_account();
  script_pending_order(
      R"({"status":"pending","identifier":{"type":"dns","value":"hooks.example.com"},
      "challenges":[{"type":"dns-01","url":"https://ca/chall/d","token":"td"},
                    {"type":"tls-alpn-01","url":"https://ca/chall/a","token":"ta"}]})");
  BOOST_TEST(std::string(order_error().what()) ==
             "authorization for hooks.example.com: the CA offers no http-01 challenge (only "
             "dns-01, tls-alpn-01)");
  BOOST_TEST(responder.presented.empty());
}

BOOST_AUTO_TEST_CASE(retry_after_is_obeyed_capped_and_the_challenge_error_reported) {
  register_account();
  script_pending_order();
  ca.script("https://ca/chall/h",
            {reply(200, R"({"status":"processing"})", {{"retry-after", "3"}})});
  ca.script("https://ca/authz/1",
            {reply(200, authz("pending", ""), {{"retry-after", "3600"}}),
             reply(200, authz("pending", ""), {{"retry-after", "Thu, 01 Jan 1970 00:00:00 GMT"}}),
             reply(200, authz("invalid", R"({"type":"urn:ietf:params:acme:error:incorrectResponse",
                 "detail":"wrong body"})"))});
  const acme::AcmeError e = order_error();
  BOOST_TEST(std::string(e.what()) ==
             "authorization for hooks.example.com: incorrectResponse: wrong body");
  BOOST_TEST((sleeps == std::vector<milliseconds>{milliseconds(3000), milliseconds(10000),
                                                  milliseconds(100)}));
  BOOST_TEST(responder.presented == std::vector<std::string>{"hooks.example.com/th"});
  BOOST_TEST(responder.cleaned == responder.presented);
  BOOST_TEST(posts_to(ca, "https://ca/chall/h").size() == 1u);
}

BOOST_AUTO_TEST_CASE(polling_is_bounded_and_stops_when_asked) {
  register_account();
  script_pending_order();
  ca.set_default("https://ca/authz/1", reply(200, authz("pending", "")));
  const acme::AcmeError bounded = order_error();
  BOOST_TEST(std::string(bounded.what()).find("still not done") != std::string::npos);
  BOOST_TEST(sleeps.size() == 120u);  // 250 ms, then 1 s each, up to 2 minutes
  BOOST_TEST(responder.cleaned.size() == 1u);

  script_pending_order();
  stopping = true;
  BOOST_TEST(std::string(order_error().what()) == "authorization for hooks.example.com: stopped");
  BOOST_TEST(responder.cleaned.size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
