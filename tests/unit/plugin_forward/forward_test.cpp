// The bundled `forward` plugin through the real loader against a local scripted HTTPS
// server: what is sent (body, headers, re-signing), outcomes per status, network failures.
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "hookd/crypto/encoding.hpp"
#include "hookd/crypto/hmac.hpp"
#include "hookd/plugin/loader.hpp"
#include "plugins.hpp"
#include "temp_dir.hpp"
#include "loopback.hpp"
#include "tls_test_server.hpp"

using namespace hookd::test;
using hookd::plugin::Instance;
using hookd::plugin::Library;
using hookd::plugin::Outcome;
using hookd::plugin::Result;
using namespace std::chrono_literals;

using hookd::test::contains;
using hookd::test::create_error;

namespace {

Instance make(const std::string& yaml) {
  return Library::load(bundled_plugin("forward"))->create(yaml);
}

struct Server {
  TempDir dir;
  TlsTestServer server{dir.path().string()};

  std::string url() const { return "https://127.0.0.1:" + std::to_string(server.port()); }
  std::string config(const std::string& extra = "") const {
    return "url: " + url() + "/hook?x=1\nca_file: " + server.cert_file() + "\ntimeout: 5s\n" +
           extra;
  }
  Result forward(const std::string& extra = "") {
    TestEvent event;
    return make(config(extra)).handle(event.view());
  }
  Result answer(Reply reply, const std::string& extra = "") {
    server.set_reply(std::move(reply));
    return forward(extra);
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(forward, Server)

BOOST_AUTO_TEST_CASE(sends_the_body_and_the_original_headers) {
  TestEvent event;
  event.attempt = 3;
  event.body = std::string("{\"a\":1}\0tail", 12);
  event.headers = {{"Content-Type", "application/json"},
                   {"X-GitHub-Event", "push"},
                   {"X-Hub-Signature-256", "sha256=abc"},
                   {"Authorization", "[redacted]"},
                   {"Cookie", "[redacted]"},
                   {"Proxy-Authorization", "[redacted]"},
                   {"Host", "original.example"},
                   {"Content-Length", "12"},
                   {"Connection", "keep-alive"},
                   {"Accept-Encoding", "gzip"},
                   {"Expect", "100-continue"},
                   {"X-Hookd-Event-Id", "spoofed"},
                   {"X-Bad", "a\r\nInjected: yes"}};
  const Result r = make(config()).handle(event.view());
  BOOST_TEST((r.outcome == Outcome::ok), r.message);
  BOOST_TEST(contains(r.message, "200"));

  const auto got = server.received();
  BOOST_TEST_REQUIRE(got.size() == 1u);
  const Received& req = got[0];
  BOOST_TEST(req.method == "POST");
  BOOST_TEST(req.target == "/hook?x=1");
  BOOST_TEST(req.body == event.body);
  BOOST_TEST(req.header("content-type").value_or("") == "application/json");
  BOOST_TEST(req.header("x-github-event").value_or("") == "push");
  BOOST_TEST(req.header("x-hub-signature-256").value_or("") == "sha256=abc");
  for (const char* gone : {"authorization", "cookie", "proxy-authorization", "accept-encoding",
                           "expect", "x-bad", "injected"}) {
    BOOST_TEST(req.count(gone) == 0u, gone);
  }
  BOOST_TEST(req.count("host") == 1u);
  BOOST_TEST(*req.header("host") == "127.0.0.1:" + std::to_string(server.port()));
  BOOST_TEST(req.count("content-length") == 1u);
  BOOST_TEST(*req.header("content-length") == "12");
  BOOST_TEST(req.count("connection") == 1u);
  BOOST_TEST(*req.header("connection") == "close");
  BOOST_TEST(req.count("x-hookd-event-id") == 1u);
  BOOST_TEST(*req.header("x-hookd-event-id") == "evt-1");
  BOOST_TEST(req.header("x-hookd-route").value_or("") == "r");
  BOOST_TEST(req.header("x-hookd-attempt").value_or("") == "3");
}

BOOST_AUTO_TEST_CASE(configured_headers_override_the_original_ones) {
  TestEvent event;
  event.headers = {{"x-github-event", "push"}, {"X-Keep", "1"}};
  const Result r =
      make(config("headers:\n  X-GitHub-Event: overridden\n  Authorization: Bearer t0k\n"))
          .handle(event.view());
  BOOST_TEST((r.outcome == Outcome::ok), r.message);
  const auto got = server.received();
  BOOST_TEST_REQUIRE(got.size() == 1u);
  BOOST_TEST(got[0].count("x-github-event") == 1u);
  BOOST_TEST(*got[0].header("x-github-event") == "overridden");
  BOOST_TEST(got[0].header("authorization").value_or("") == "Bearer t0k");
  BOOST_TEST(got[0].header("x-keep").value_or("") == "1");
}

BOOST_AUTO_TEST_CASE(resign_signs_per_standard_webhooks) {
  using hookd::crypto::HmacKey;
  using hookd::crypto::MacAlgorithm;
  const std::string key = *hookd::crypto::base64_decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  const HmacKey hmac(MacAlgorithm::sha256, key);
  // The test's own computation reproduces the published vector (signature-vectors.md).
  BOOST_TEST(hookd::crypto::base64_encode(hmac.mac({"msg_p5jXN8AQM9LWM0D4loKWxJek", ".",
                                                    "1614265330", ".", R"({"test": 2432232314})"})
                                              .view()) ==
             "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");

  TestEvent event;
  event.id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
  event.body = R"({"test": 2432232314})";
  event.headers = {{"webhook-id", "original"},
                   {"Webhook-Timestamp", "1"},
                   {"webhook-signature", "v1,original"},
                   {"X-Hub-Signature-256", "sha256=abc"},
                   {"Content-Type", "application/json"}};
  const auto before = std::chrono::system_clock::now();
  const Result r = make(config("resign:\n  secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n"))
                       .handle(event.view());
  BOOST_TEST((r.outcome == Outcome::ok), r.message);
  const auto got = server.received();
  BOOST_TEST_REQUIRE(got.size() == 1u);
  const Received& req = got[0];
  BOOST_TEST(req.count("webhook-id") == 1u);
  BOOST_TEST(req.count("webhook-timestamp") == 1u);
  BOOST_TEST(req.count("webhook-signature") == 1u);
  BOOST_TEST(req.count("x-hub-signature-256") == 0u);
  BOOST_TEST(req.header("content-type").value_or("") == "application/json");
  BOOST_TEST(*req.header("webhook-id") == event.id);
  const std::string ts = *req.header("webhook-timestamp");
  const long long t = std::stoll(ts);
  const long long now_s =
      std::chrono::duration_cast<std::chrono::seconds>(before.time_since_epoch()).count();
  BOOST_TEST(t >= now_s - 1);
  BOOST_TEST(t <= now_s + 60);
  const std::string expected =
      "v1," + hookd::crypto::base64_encode(hmac.mac({event.id, ".", ts, ".", event.body}).view());
  BOOST_TEST(*req.header("webhook-signature") == expected);
}

BOOST_AUTO_TEST_CASE(status_codes_map_to_outcomes) {
  const std::vector<std::pair<int, Outcome>> cases = {
      {200, Outcome::ok},    {201, Outcome::ok},    {204, Outcome::ok},    {500, Outcome::retry},
      {502, Outcome::retry}, {503, Outcome::retry}, {429, Outcome::retry}, {400, Outcome::fail},
      {404, Outcome::fail},  {410, Outcome::fail},  {301, Outcome::fail}};
  for (const auto& [status, expected] : cases) {
    Reply reply;
    reply.status = status;
    reply.body = status == 204 ? "" : "details of " + std::to_string(status);
    const Result r = answer(reply);
    BOOST_TEST((r.outcome == expected), status << ": " << r.message);
    BOOST_TEST(contains(r.message, "HTTP " + std::to_string(status)), r.message);
    if (expected != Outcome::ok) {
      BOOST_TEST(contains(r.message, "details of " + std::to_string(status)), r.message);
      BOOST_TEST(!contains(r.message, "/hook"), r.message);  // the path may carry tokens
    }
    BOOST_TEST(r.retry_after == 0ms);
  }
}

BOOST_AUTO_TEST_CASE(retry_after_is_honoured_and_capped) {
  Reply reply;
  reply.status = 429;
  reply.headers = {{"Retry-After", "7"}};
  Result r = answer(reply);
  BOOST_TEST((r.outcome == Outcome::retry));
  BOOST_TEST(r.retry_after == 7000ms);

  reply.status = 503;
  reply.headers = {{"Retry-After", "86400"}};
  r = answer(reply);
  BOOST_TEST((r.outcome == Outcome::retry));
  BOOST_TEST(r.retry_after == 3600000ms);

  reply.headers = {{"Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"}};
  r = answer(reply);
  BOOST_TEST((r.outcome == Outcome::retry));
  BOOST_TEST(r.retry_after == 0ms);
}

BOOST_AUTO_TEST_CASE(response_bodies_chunked_or_until_close_are_read) {
  Reply reply;
  reply.status = 400;
  reply.chunked = true;
  reply.body = "field 'amount' is missing from the event";
  Result r = answer(reply);
  BOOST_TEST((r.outcome == Outcome::fail), r.message);
  BOOST_TEST(contains(r.message, reply.body), r.message);

  reply.status = 200;
  r = answer(reply);
  BOOST_TEST((r.outcome == Outcome::ok), r.message);

  reply.status = 503;
  reply.chunked = false;
  reply.until_close = true;
  reply.body = "down for maintenance";
  r = answer(reply);
  BOOST_TEST((r.outcome == Outcome::retry), r.message);
  BOOST_TEST(contains(r.message, reply.body), r.message);

  reply.until_close = false;
  reply.body = std::string(5000, 'x') + "\x01\xff";
  r = answer(reply);
  BOOST_TEST((r.outcome == Outcome::retry), r.message);
  BOOST_TEST(contains(r.message, std::string(200, 'x') + "..."), r.message);
  BOOST_TEST(!contains(r.message, std::string(201, 'x')), r.message);
}

BOOST_AUTO_TEST_CASE(a_silent_server_times_out_into_retry) {
  Reply reply;
  reply.never_answer = true;
  server.set_reply(reply);
  TestEvent event;
  const std::string yaml =
      "url: " + url() + "/\nca_file: " + server.cert_file() + "\ntimeout: 300ms\n";
  const Result r = make(yaml).handle(event.view());
  BOOST_TEST_MESSAGE(r.message);
  BOOST_TEST((r.outcome == Outcome::retry), r.message);
  BOOST_TEST(contains(r.message, "timed out"), r.message);

  reply.never_answer = false;  // slow but within the timeout: delivered
  reply.delay = 150ms;
  server.set_reply(reply);
  const Result slow = make(config()).handle(event.view());
  BOOST_TEST((slow.outcome == Outcome::ok), slow.message);
}

BOOST_AUTO_TEST_CASE(connection_refused_is_retried) {
  TestEvent event;
  const std::string yaml =
      "url: https://127.0.0.1:" + std::to_string(free_port()) + "/\ntimeout: 2s\n";
  const Result r = make(yaml).handle(event.view());
  BOOST_TEST_MESSAGE(r.message);
  BOOST_TEST((r.outcome == Outcome::retry), r.message);
  BOOST_TEST(contains(r.message, "cannot connect"), r.message);
}

BOOST_AUTO_TEST_CASE(an_untrusted_certificate_is_retried_with_a_clear_message) {
  TestEvent event;  // no ca_file: the system trust store does not know the self-signed cert
  const Result r = make("url: " + url() + "/\ntimeout: 5s\n").handle(event.view());
  BOOST_TEST_MESSAGE(r.message);
  BOOST_TEST((r.outcome == Outcome::retry), r.message);
  BOOST_TEST(contains(r.message, "certificate verification"), r.message);
  BOOST_TEST(server.received().empty());
}

BOOST_AUTO_TEST_CASE(a_host_name_is_resolved_and_verified) {
  TestEvent event;  // the certificate names localhost; localhost may resolve to ::1 first
  const std::string yaml = "url: https://localhost:" + std::to_string(server.port()) +
                           "/x\nca_file: " + server.cert_file() + "\n";
  const Result r = make(yaml).handle(event.view());
  BOOST_TEST((r.outcome == Outcome::ok), r.message);
  const auto got = server.received();
  BOOST_TEST_REQUIRE(got.size() == 1u);
  BOOST_TEST(*got[0].header("host") == "localhost:" + std::to_string(server.port()));
}

BOOST_AUTO_TEST_CASE(a_server_closing_mid_request_is_retried_without_sigpipe) {
  Reply reply;
  reply.close_early = true;
  server.set_reply(reply);
  TestEvent event;
  event.body = std::string(8 << 20, 'b');
  const Result r = make(config()).handle(event.view());
  BOOST_TEST_MESSAGE(r.message);
  BOOST_TEST((r.outcome == Outcome::retry), r.message);
}

BOOST_AUTO_TEST_CASE(bad_configs_are_refused) {
  const std::string ca = "\nca_file: " + server.cert_file() + "\n";
  BOOST_TEST(contains(create_error("forward", "url: http://127.0.0.1:1/hook\n"), "https://"));
  BOOST_TEST(contains(create_error("forward", "url: ftp://example.com/\n"), "https://"));
  BOOST_TEST(contains(create_error("forward", "timeout: 5s\n"), "url"));
  BOOST_TEST(contains(create_error("forward", "url: https://user:pw@example.com/\n"), "user info"));
  BOOST_TEST(contains(create_error("forward", "url: https://example.com:99999/\n"), "port"));
  BOOST_TEST(contains(create_error("forward", "url: https://example.com/\nbogus: 1\n"), "bogus"));
  BOOST_TEST(
      contains(create_error("forward", "url: https://example.com/\ntimeout: 0s\n"), "timeout"));
  BOOST_TEST(
      contains(create_error("forward", "url: https://example.com/\nca_file: /nonexistent.pem\n"),
               "ca_file"));
  BOOST_TEST(
      contains(create_error("forward", "url: " + url() + ca + "headers:\n  Content-Length: 3\n"),
               "Content-Length"));
  BOOST_TEST(
      contains(create_error("forward", "url: " + url() + ca + "headers:\n  X-Hookd-Route: x\n"),
               "X-Hookd-Route"));
  for (const char* secret :
       {"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_not*base64!", "whsec_QUJD="}) {
    const std::string e =
        create_error("forward", "url: " + url() + ca + "resign:\n  secret: \"" + secret + "\"\n");
    BOOST_TEST(contains(e, "secret"), e);
    BOOST_TEST((std::string(secret).size() < 8 || !contains(e, secret)), e);  // not echoed
  }
  BOOST_TEST(
      contains(create_error("forward", "url: " + url() + ca + "resign:\n  key: x\n"), "key"));
  // A good secret with or without base64 padding is accepted.
  make("url: " + url() + ca + "resign:\n  secret: whsec_QUJD\n");
  make("url: " + url() + ca + "resign:\n  secret: whsec_QUI=\n");
}

BOOST_AUTO_TEST_CASE(eight_threads_forward_concurrently) {
  const Instance instance = make(config());
  constexpr int kThreads = 8;
  constexpr int kEach = 5;
  std::vector<std::thread> threads;
  std::vector<int> ok(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        TestEvent event;
        event.id = "evt-" + std::to_string(t) + "-" + std::to_string(i);
        event.body = "{\"n\":\"" + event.id + "\"}";
        if (instance.handle(event.view()).outcome == Outcome::ok) ++ok[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) BOOST_TEST(ok[t] == kEach);
  std::set<std::string> ids;
  for (const auto& req : server.received()) {
    const std::string id = req.header("x-hookd-event-id").value_or("");
    BOOST_TEST(req.body == "{\"n\":\"" + id + "\"}");
    ids.insert(id);
  }
  BOOST_TEST(ids.size() == static_cast<std::size_t>(kThreads * kEach));
}

BOOST_AUTO_TEST_SUITE_END()
