// The ACME client against a real Pebble: certificates for an IP address and a DNS name
// (resolved by pebble-challtestsrv) over http-01 answered by a tiny server in the test,
// the chain checked against Pebble's root, a stable account URL, and the refusals.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "hookd/tls/acme/client.hpp"
#include "loopback.hpp"
#include "pebble.hpp"

namespace acme = hookd::tls::acme;
using hookd::test::Pebble;

namespace {

// http-01 for the validations Pebble sends to 127.0.0.1: serves each presented key
// authorization at /.well-known/acme-challenge/TOKEN (404 otherwise), one blocking
// connection at a time. `wrong` serves a key authorization that does not match.
class HttpResponder : public acme::ChallengeResponder {
 public:
  explicit HttpResponder(bool wrong = false) : wrong_(wrong) {
    fd_ = hookd::test::listen_loopback(port_, 16);
    thread_ = std::thread([this] { serve(); });
  }
  ~HttpResponder() override {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }

  std::uint16_t port() const { return port_; }
  int presented() const { return presented_; }
  std::size_t outstanding() {
    std::lock_guard lock(mutex_);
    return tokens_.size();
  }

  void present(acme::ChallengeType type, const std::string&, const std::string& token,
               const std::string& key_authorization) override {
    BOOST_REQUIRE(type == acme::ChallengeType::http_01);
    std::lock_guard lock(mutex_);
    tokens_[token] = wrong_ ? key_authorization + "-not-it" : key_authorization;
    ++presented_;
  }
  void clean_up(acme::ChallengeType, const std::string&, const std::string& token) override {
    std::lock_guard lock(mutex_);
    tokens_.erase(token);
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      timeval tv{2, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      std::string request;
      char buf[2048];
      while (request.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        request.append(buf, static_cast<std::size_t>(n));
      }
      const std::string prefix = "GET /.well-known/acme-challenge/";
      std::string status = "404 Not Found", body;
      if (request.starts_with(prefix)) {
        const std::string token =
            request.substr(prefix.size(), request.find(' ', prefix.size()) - prefix.size());
        std::lock_guard lock(mutex_);
        if (auto it = tokens_.find(token); it != tokens_.end()) {
          status = "200 OK";
          body = it->second;
        }
      }
      const std::string reply =
          "HTTP/1.1 " + status +
          "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
          "\r\nConnection: close\r\n\r\n" + body;
      (void)::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }

  bool wrong_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::map<std::string, std::string> tokens_;
  int presented_ = 0;
  std::thread thread_;
};

bool real_sleep(std::chrono::milliseconds d) {
  std::this_thread::sleep_for(d);
  return true;
}

acme::AccountRequest agreed() {
  return {"ops@hooks.test", true, {}, {}};
}

// X509_verify_cert of the leaf with the downloaded intermediates as untrusted and Pebble's
// root as the only trust anchor.
void check_chain(const acme::Issued& issued, const std::string& root_pem) {
  BIO* bio = BIO_new_mem_buf(root_pem.data(), static_cast<int>(root_pem.size()));
  X509* root = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  BOOST_REQUIRE(root != nullptr);
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, root);
  X509_free(root);
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  for (const auto& c : issued.cert->chain) sk_X509_push(untrusted, c.get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, issued.cert->leaf.get(), untrusted);
  const int ok = X509_verify_cert(ctx);
  const int error = X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  sk_X509_free(untrusted);
  X509_STORE_free(store);
  BOOST_TEST(ok == 1, "chain does not verify: " << X509_verify_cert_error_string(error));
}

bool has_name(const acme::Issued& issued, const std::string& name) {
  const auto& names = issued.cert->names;
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(acme_client_pebble)

BOOST_AUTO_TEST_CASE(issues_certificates_for_an_ip_address_and_a_dns_name) {
  HttpResponder responder;
  const auto started = std::chrono::steady_clock::now();
  Pebble pebble({.http_port = responder.port(), .dns = true});
  const auto pebble_up = std::chrono::steady_clock::now();
  auto transport = acme::make_https_transport(pebble.ca_bundle(), std::chrono::seconds(10));
  acme::Client client(*transport, pebble.directory_url(), acme::generate_p256_key(), real_sleep);
  BOOST_TEST(client.directory().terms_of_service != "");
  client.register_account(agreed());

  const acme::Issued ip =
      client.order_certificate({"127.0.0.1"}, acme::ChallengeType::http_01, responder);
  const auto first = std::chrono::steady_clock::now();
  using ms = std::chrono::milliseconds;
  BOOST_TEST_MESSAGE("time to the first certificate: "
                     << std::chrono::duration_cast<ms>(first - pebble_up).count()
                     << " ms (directory, account, order, http-01, finalize, download), plus "
                     << std::chrono::duration_cast<ms>(pebble_up - started).count()
                     << " ms to start Pebble");
  check_chain(ip, pebble.root_pem());
  BOOST_TEST(has_name(ip, "127.0.0.1"));
  BOOST_TEST(ip.key_pem.find("BEGIN PRIVATE KEY") != std::string::npos);
  BOOST_TEST(responder.presented() == 1);

  const acme::Issued dns = client.order_certificate({"hooks.test", "www.hooks.test"},
                                                    acme::ChallengeType::http_01, responder);
  check_chain(dns, pebble.root_pem());
  BOOST_TEST(has_name(dns, "hooks.test"));
  BOOST_TEST(has_name(dns, "www.hooks.test"));
  BOOST_TEST(dns.cert->serial != ip.cert->serial);
  BOOST_TEST(responder.outstanding() == 0u);  // every token cleaned up

  // Pebble 2.4 has no renewalInfo in its directory: no window, no request.
  BOOST_TEST(!client.renewal_info(*dns.cert).has_value());
}

BOOST_AUTO_TEST_CASE(the_same_key_finds_the_same_account) {
  const std::uint16_t port = hookd::test::free_port();  // a directory URL known beforehand
  Pebble pebble({.port = port});
  BOOST_TEST(pebble.directory_url() == "https://127.0.0.1:" + std::to_string(port) + "/dir");
  auto transport = acme::make_https_transport(pebble.ca_bundle(), std::chrono::seconds(10));
  const acme::KeyPtr key = acme::generate_p256_key();
  acme::Client first(*transport, pebble.directory_url(), key, real_sleep);
  acme::Client second(*transport, pebble.directory_url(), key, real_sleep);
  const std::string url = first.register_account(agreed());
  BOOST_TEST(url.starts_with("https://127.0.0.1:"));
  BOOST_TEST(second.register_account(agreed()) == url);
  acme::Client other(*transport, pebble.directory_url(), acme::generate_p256_key(), real_sleep);
  BOOST_TEST(other.register_account(agreed()) != url);
}

BOOST_AUTO_TEST_CASE(a_wrong_key_authorization_is_unauthorized) {
  HttpResponder responder(/*wrong=*/true);
  Pebble pebble({.http_port = responder.port()});
  auto transport = acme::make_https_transport(pebble.ca_bundle(), std::chrono::seconds(10));
  acme::Client client(*transport, pebble.directory_url(), acme::generate_p256_key(), real_sleep);
  client.register_account(agreed());
  try {
    client.order_certificate({"127.0.0.1"}, acme::ChallengeType::http_01, responder);
    BOOST_FAIL("the order succeeded with a wrong key authorization");
  } catch (const acme::AcmeError& e) {
    BOOST_TEST_MESSAGE("refused as expected: " << e.what());
    BOOST_REQUIRE(e.problem.has_value());
    const std::string type = e.problem->short_type();
    BOOST_TEST((type == "unauthorized" || type == "incorrectResponse"), type);
    BOOST_TEST(std::string(e.what()).starts_with("authorization for 127.0.0.1: "));
  }
  BOOST_TEST(responder.presented() == 1);
  BOOST_TEST(responder.outstanding() == 0u);  // cleaned up on failure too
}

BOOST_AUTO_TEST_CASE(terms_of_service_not_agreed_is_refused) {
  Pebble pebble({});
  auto transport = acme::make_https_transport(pebble.ca_bundle(), std::chrono::seconds(10));
  acme::Client client(*transport, pebble.directory_url(), acme::generate_p256_key(), real_sleep);
  acme::AccountRequest request = agreed();
  request.agree_tos = false;
  try {
    client.register_account(request);
    BOOST_FAIL("an account without agreeing to the terms of service");
  } catch (const acme::AcmeError& e) {
    BOOST_TEST(std::string(e.what()).find("agree_tos") != std::string::npos, e.what());
  }
}

BOOST_AUTO_TEST_SUITE_END()
