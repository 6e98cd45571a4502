// The ACME HTTPS transport against a local scripted TLS server: what a GET and a JOSE POST
// send, how answers with and without a body come back, and which failures throw.
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>

#include "hookd/tls/acme/transport.hpp"
#include "temp_dir.hpp"
#include "loopback.hpp"
#include "tls_test_server.hpp"

using namespace hookd::test;
using namespace std::chrono_literals;
using hookd::tls::acme::HttpReply;
using hookd::tls::acme::make_https_transport;
using hookd::tls::acme::TransportError;

namespace {

struct Server {
  TempDir dir;
  TlsTestServer server{dir.path().string()};

  std::string url(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(server.port()) + path;
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(acme_transport, Server)

BOOST_AUTO_TEST_CASE(get_returns_status_headers_and_body) {
  Reply reply;
  reply.headers = {
      {"Replay-Nonce", "first"}, {"Replay-Nonce", "second"}, {"Content-Type", "application/json"}};
  reply.body = R"({"newNonce":"https://ca/nonce"})";
  server.set_reply(reply);
  const auto transport = make_https_transport(server.cert_file(), 5s);
  const HttpReply got = transport->get(url("/directory?x=1"));
  BOOST_TEST(got.status == 200);
  BOOST_TEST(got.body == reply.body);
  BOOST_TEST(got.header("content-type") == "application/json");
  BOOST_TEST(got.header("replay-nonce") == "second");  // repeated: the last wins
  BOOST_TEST(got.header("location").empty());

  const auto received = server.received();
  BOOST_TEST_REQUIRE(received.size() == 1u);
  BOOST_TEST(received[0].method == "GET");
  BOOST_TEST(received[0].target == "/directory?x=1");
  BOOST_TEST(received[0].header("user-agent").value_or("").starts_with("hookd"));
  BOOST_TEST(received[0].header("host").value_or("") ==
             "127.0.0.1:" + std::to_string(server.port()));
  BOOST_TEST(!received[0].header("content-type").has_value());
  BOOST_TEST(received[0].body.empty());
}

BOOST_AUTO_TEST_CASE(a_204_without_body_or_length_does_not_wait_for_the_close) {
  Reply reply;
  reply.status = 204;
  reply.headers = {{"Replay-Nonce", "abc"}};
  reply.until_close = true;  // no Content-Length header
  reply.keep_open = true;    // and the connection stays open
  server.set_reply(reply);
  // Waiting for the close would take the whole timeout, 30 s: far beyond the bound below,
  // which a loaded machine does not reach otherwise.
  const auto transport = make_https_transport(server.cert_file(), 30s);
  const auto start = std::chrono::steady_clock::now();
  const HttpReply got = transport->get(url("/nonce"));
  BOOST_TEST((std::chrono::steady_clock::now() - start < 10s));
  BOOST_TEST(got.status == 204);
  BOOST_TEST(got.body.empty());
  BOOST_TEST(got.header("replay-nonce") == "abc");
}

BOOST_AUTO_TEST_CASE(post_jose_sends_the_content_type_and_the_body) {
  Reply reply;
  reply.status = 201;
  reply.headers = {{"Location", "https://ca/acct/1"}};
  reply.body = "{}";
  reply.chunked = true;
  server.set_reply(reply);
  const std::string jws = R"({"protected":"eyJ","payload":"","signature":"c2ln"})";
  const HttpReply got = make_https_transport(server.cert_file(), 5s)->post_jose(url("/acct"), jws);
  BOOST_TEST(got.status == 201);
  BOOST_TEST(got.body == "{}");
  BOOST_TEST(got.header("location") == "https://ca/acct/1");

  const auto received = server.received();
  BOOST_TEST_REQUIRE(received.size() == 1u);
  BOOST_TEST(received[0].method == "POST");
  BOOST_TEST(received[0].target == "/acct");
  BOOST_TEST(received[0].header("content-type").value_or("") == "application/jose+json");
  BOOST_TEST(received[0].body == jws);
}

BOOST_AUTO_TEST_CASE(an_untrusted_server_certificate_throws) {
  const TempDir other_dir;  // another self-signed localhost certificate as the only anchor
  const TlsTestServer other(other_dir.path().string());
  const auto transport = make_https_transport(other.cert_file(), 5s);
  try {
    transport->get(url("/directory"));
    BOOST_FAIL("expected a TransportError");
  } catch (const TransportError& e) {
    BOOST_TEST(std::string(e.what()).find("certificate") != std::string::npos, e.what());
  }
  // The system's store does not know the test server's self-signed certificate either.
  BOOST_CHECK_THROW(make_https_transport("", 5s)->get(url("/directory")), TransportError);
}

BOOST_AUTO_TEST_CASE(a_server_that_never_answers_times_out) {
  Reply reply;
  reply.never_answer = true;
  server.set_reply(reply);
  const auto transport = make_https_transport(server.cert_file(), 300ms);
  const auto start = std::chrono::steady_clock::now();
  try {
    transport->get(url("/directory"));
    BOOST_FAIL("expected a TransportError");
  } catch (const TransportError& e) {
    BOOST_TEST(std::string(e.what()).find("timed out") != std::string::npos, e.what());
  }
  const auto took = std::chrono::steady_clock::now() - start;
  BOOST_TEST((took >= 250ms && took < 10s));  // by the timeout, not hung: a loose upper bound
}

BOOST_AUTO_TEST_CASE(refused_connections_and_bad_urls_throw) {
  const auto transport = make_https_transport(server.cert_file(), 2s);
  const std::string refused = "https://127.0.0.1:" + std::to_string(free_port()) + "/";
  BOOST_CHECK_THROW(transport->get(refused), TransportError);
  BOOST_CHECK_THROW(transport->get("http://127.0.0.1/directory"), TransportError);
}

BOOST_AUTO_TEST_CASE(a_body_over_one_mebibyte_throws) {
  Reply reply;
  reply.body.assign(1024 * 1024 + 1, 'x');
  server.set_reply(reply);
  BOOST_CHECK_THROW(make_https_transport(server.cert_file(), 5s)->get(url("/cert")),
                    TransportError);
}

BOOST_AUTO_TEST_CASE(an_unreadable_bundle_is_a_runtime_error) {
  BOOST_CHECK_THROW(make_https_transport((dir.path() / "missing.pem").string(), 1s),
                    std::runtime_error);
}

BOOST_AUTO_TEST_SUITE_END()
