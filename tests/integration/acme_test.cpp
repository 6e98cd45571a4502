// Built-in ACME end to end: the real hookd binary against a real Pebble on loopback, which
// validates every challenge against hookd itself (tls-alpn-01 on the webhook port, http-01
// on acme.http_listen; names resolved by pebble-challtestsrv, or IP identifiers).
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "eventually.hpp"
#include "hookd/crypto/encoding.hpp"
#include "hookd/tls/files.hpp"
#include "pebble.hpp"
#include "server_process.hpp"
#include "signing.hpp"
#include "tls_client.hpp"

using namespace hookd::test;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kSecret = "gh-secret";

// hookd on 127.0.0.1:`port` (where Pebble validates tls-alpn-01) with one GitHub-signed
// route and the acme block.
std::string acme_config(std::uint16_t port, const Pebble& pebble, const std::string& acme_extra,
                        const std::string& names = "[hooks.test]",
                        const std::string& directory = "") {
  return "server:\n"
         "  listen: 127.0.0.1:" +
         std::to_string(port) +
         "\n"
         "  io_threads: 2\n"
         "  shutdown_grace: 2s\n"
         "  tls:\n"
         "    acme:\n"
         "      names: " +
         names +
         "\n"
         "      agree_tos: true\n"
         "      email: ops@example.com\n"
         "      directory: " +
         (directory.empty() ? pebble.directory_url() : directory) +
         "\n"
         "      ca_bundle: " +
         pebble.ca_bundle() + "\n" + acme_extra +
         "admin:\n"
         "  listen: 127.0.0.1:0\n"
         "storage:\n"
         "  path: hookd.db\n"
         "routes:\n"
         "  - name: github\n"
         "    path: /github\n"
         "    auth: [ { hmac: { scheme: github, secrets: [" +
         kSecret +
         "] } } ]\n"
         "    event: { id: header:X-GitHub-Delivery, type: header:X-GitHub-Event }\n";
}

int post_signed(TlsClient& c, const std::string& id) {
  std::string body = R"({"zen":"hi"})";
  auto sig = "sha256=" + hookd::crypto::hex_encode(hmac_sha256(kSecret, body));
  return c
      .post("/github", body,
            {{"X-Hub-Signature-256", sig}, {"X-GitHub-Delivery", id}, {"X-GitHub-Event", "ping"}})
      .status;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

unsigned mode_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 0777;
}

// Pebble's root in a file: what a client that trusts only the test CA uses.
std::string write_root(const TempDir& dir, const Pebble& pebble) {
  dir.write("pebble-root.pem", pebble.root_pem());
  return dir.file("pebble-root.pem");
}

std::string serial_of_new_connection(std::uint16_t port, const std::string& root,
                                     const std::string& name) {
  TlsClient c(port, root, name);
  return c.peer_serial();
}

void check_secret_free(const std::string& log) {
  BOOST_TEST(log.find("PRIVATE KEY") == std::string::npos);
  BOOST_TEST(log.find("\"protected\"") == std::string::npos);
  BOOST_TEST(log.find("\"signature\"") == std::string::npos);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(acme)

BOOST_AUTO_TEST_CASE(tls_alpn_01_first_certificate_restart_and_renewal) {
  TempDir dir;
  std::uint16_t port = free_port();
  Pebble pebble({.tls_port = port, .dns = true});
  std::string root = write_root(dir, pebble);
  std::string config = acme_config(port, pebble, "      challenge: tls-alpn-01\n");

  std::string first;
  {
    auto started = Clock::now();
    ServerProcess server(dir, config, /*wait_ready=*/false);
    BOOST_REQUIRE_MESSAGE(eventually([&] { return server.ready(); }, std::chrono::seconds(60)),
                          server.log());
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    BOOST_TEST_MESSAGE("time to the first certificate (start to /readyz 200): " << took.count()
                                                                                << " ms");
    // A client that trusts only Pebble's root verifies the chain and the name.
    TlsClient client(port, root, "hooks.test");
    first = client.peer_serial();
    BOOST_TEST(post_signed(client, "d1") == 202);
    std::string log = server.log();
    BOOST_TEST(count(log, "obtained a certificate for hooks.test") == 1u, log);
    auto metrics = http_get(server.admin_port(), "/metrics").body;
    BOOST_TEST(metrics.find("hookd_acme_orders_total{outcome=\"valid\"} 1") != std::string::npos,
               metrics);
    BOOST_TEST(
        metrics.find("hookd_tls_certificate_expiry_timestamp_seconds{names=\"hooks.test\"}") !=
        std::string::npos);
    for (const char* f :
         {"acme/certificate.pem", "acme/certificate.key", "acme/certificate.json"}) {
      BOOST_TEST(mode_of(dir.file(f)) == 0600u, f);
    }
    check_secret_free(log);
    server.signal(SIGTERM);
    BOOST_TEST(server.wait() == 0);
  }

  // A restart serves the stored certificate: no new order.
  ServerProcess server(dir, config);
  BOOST_TEST(serial_of_new_connection(port, root, "hooks.test") == first);
  std::string log = server.log();
  BOOST_TEST(log.find("serving the stored ACME certificate for hooks.test") != std::string::npos,
             log);
  BOOST_TEST(log.find("ordering a certificate") == std::string::npos, log);

  // renew_before longer than the lifetime: renews once, then warns instead of looping. The
  // keep-alive connection opened before keeps working on the old certificate.
  TlsClient before(port, root, "hooks.test");
  BOOST_TEST(post_signed(before, "d2") == 202);
  dir.write(
      "hookd.yaml",
      acme_config(port, pebble, "      challenge: tls-alpn-01\n      renew_before: 36500d\n"));
  auto renewal_started = Clock::now();
  server.signal(SIGHUP);
  BOOST_REQUIRE_MESSAGE(
      eventually([&] { return serial_of_new_connection(port, root, "hooks.test") != first; }),
      server.log());
  BOOST_TEST_MESSAGE(
      "renewal: from SIGHUP to the new certificate on a new connection: "
      << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - renewal_started)
             .count()
      << " ms");
  BOOST_TEST(post_signed(before, "d3") == 202);
  BOOST_TEST(before.peer_serial() == first);
  BOOST_REQUIRE(eventually([&] {
    return server.log().find("renewing when a third of the lifetime remains instead") !=
           std::string::npos;
  }));
  log = server.log();
  BOOST_TEST(log.find("renewing once now") != std::string::npos, log);
  BOOST_TEST(count(log, "obtained a certificate for hooks.test") == 1u, log);
  check_secret_free(log);
}

BOOST_AUTO_TEST_CASE(http_01_for_an_ip_address_and_the_redirect) {
  TempDir dir;
  std::uint16_t port = free_port();
  std::uint16_t http_port = free_port();
  Pebble pebble({.http_port = http_port});
  std::string root = write_root(dir, pebble);
  ServerProcess server(dir,
                       acme_config(port, pebble,
                                   "      challenge: http-01\n      http_listen: 127.0.0.1:" +
                                       std::to_string(http_port) + "\n",
                                   "[127.0.0.1]"),
                       /*wait_ready=*/false);
  BOOST_REQUIRE_MESSAGE(eventually([&] { return server.ready(); }, std::chrono::seconds(60)),
                        server.log());
  TlsClient client(port, root, "127.0.0.1");
  BOOST_TEST(post_signed(client, "d1") == 202);

  // The http-01 listener serves only challenges: the rest goes to https.
  auto redirect = http_get(http_port, "/github?x=1");
  BOOST_TEST(redirect.status == 301);
  // http_get sends Host: localhost; the redirect keeps the host and points at the https port.
  BOOST_TEST(redirect.header("location") ==
             "https://localhost:" + std::to_string(port) + "/github?x=1");
  BOOST_TEST(http_get(http_port, "/.well-known/acme-challenge/unknown").status == 404);
  check_secret_free(server.log());
}

BOOST_AUTO_TEST_CASE(an_unreachable_ca_is_retried_and_readyz_says_why) {
  TempDir dir;
  std::uint16_t port = free_port();
  std::uint16_t ca_port = free_port();
  // The directory URL is known before Pebble runs: hookd starts first and cannot reach it.
  // Its ca_bundle is a placeholder until Pebble exists (the transport reads it per order).
  std::string directory = "https://127.0.0.1:" + std::to_string(ca_port) + "/dir";
  hookd::tls::create_self_signed(dir.file("ca.pem"), dir.file("placeholder.key"));
  std::string config = "server:\n  listen: 127.0.0.1:" + std::to_string(port) +
                       "\n  tls:\n    acme:\n      names: [127.0.0.1]\n      agree_tos: true\n"
                       "      directory: " +
                       directory +
                       "\n      ca_bundle: ca.pem\n      challenge: tls-alpn-01\n"
                       "admin:\n  listen: 127.0.0.1:0\nstorage:\n  path: hookd.db\n"
                       "routes:\n  - { name: r, path: /r, auth: none }\n";
  ServerProcess server(dir, config, /*wait_ready=*/false);
  BOOST_REQUIRE_MESSAGE(eventually([&] {
                          return server.log().find(
                                     "ACME order for 127.0.0.1 failed: cannot reach "
                                     "the ACME server") != std::string::npos;
                        }),
                        server.log());
  auto readyz = http_get(server.admin_port(), "/readyz");
  BOOST_TEST(readyz.status == 503);
  BOOST_TEST(readyz.body.find("no TLS certificate yet: the ACME order for 127.0.0.1 failed") !=
                 std::string::npos,
             readyz.body);
  BOOST_TEST(server.log().find("retrying the ACME order in") != std::string::npos);
  // Ordinary handshakes fail cleanly meanwhile.
  BOOST_CHECK_THROW(TlsClient c(port), std::exception);

  // The CA comes up; hookd's own retry (the first within 22.5–37.5 s) obtains the
  // certificate, without a signal.
  Pebble pebble(Pebble::Options{.tls_port = port, .port = ca_port});
  std::ifstream bundle(pebble.ca_bundle());
  std::ostringstream text;
  text << bundle.rdbuf();
  dir.write("ca.pem", text.str());
  BOOST_REQUIRE_MESSAGE(eventually([&] { return server.ready(); }, std::chrono::seconds(60)),
                        server.log());
  BOOST_TEST(server.log().find("obtained a certificate for 127.0.0.1") != std::string::npos);
  TlsClient client(port, write_root(dir, pebble), "127.0.0.1");
  BOOST_TEST(client.post("/r", "{}").status == 202);
}

// A SIGHUP retries a failed order at once instead of waiting for the backoff.
BOOST_AUTO_TEST_CASE(a_sighup_retries_a_failed_order_at_once) {
  TempDir dir;
  std::uint16_t port = free_port();
  std::string config = "server:\n  listen: 127.0.0.1:" + std::to_string(port) +
                       "\n  tls:\n    acme:\n      names: [127.0.0.1]\n      agree_tos: true\n"
                       "      directory: https://127.0.0.1:" +
                       std::to_string(free_port()) +
                       "/dir\n"
                       "admin:\n  listen: 127.0.0.1:0\nstorage:\n  path: hookd.db\n"
                       "routes:\n  - { name: r, path: /r, auth: none }\n";
  ServerProcess server(dir, config, /*wait_ready=*/false);
  BOOST_REQUIRE(
      eventually([&] { return server.log().find("(attempt 1 failed)") != std::string::npos; }));
  server.signal(SIGHUP);
  // The backoff would wait at least 22.5 s; the SIGHUP's attempt fails within seconds.
  BOOST_TEST(
      eventually([&] { return server.log().find("(attempt 2 failed)") != std::string::npos; },
                 std::chrono::seconds(10)),
      server.log());
}

BOOST_AUTO_TEST_SUITE_END()
