// SIGHUP re-reads server.tls cert/key: a pair that does not load is refused (the old one
// keeps serving), a good one reaches new connections while a keep-alive connection opened
// before goes on. This is what certbot's --deploy-hook relies on.
#include <csignal>

#include <boost/test/unit_test.hpp>

#include "eventually.hpp"
#include "hookd/tls/files.hpp"
#include "server_process.hpp"
#include "tls_client.hpp"

using namespace hookd::test;

namespace {

std::string serial_of_new_connection(std::uint16_t port) {
  TlsClient c(port);
  return c.peer_serial();
}

int post_event(TlsClient& c, const std::string& id) {
  return c.post("/webhooks/incoming/jofi", R"({"id":")" + id + R"(","type":"t"})").status;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tls_reload)

BOOST_AUTO_TEST_CASE(sighup_swaps_a_good_pair_and_refuses_a_bad_one) {
  TempDir dir;
  ServerProcess server(dir, basic_config());
  TlsClient before(server.port());
  const std::string first = before.peer_serial();
  BOOST_REQUIRE(!first.empty());
  BOOST_TEST(post_event(before, "e1") == 202);

  // A key that belongs to another certificate: refused with the reason.
  hookd::tls::create_self_signed(dir.file("new/cert.pem"), dir.file("new/key.pem"));
  hookd::tls::create_self_signed(dir.file("other/cert.pem"), dir.file("other/key.pem"));
  std::string config = basic_config();
  auto point_at = [&](const std::string& cert, const std::string& key) {
    std::string c = config;
    c.replace(c.find("cert: tls/cert.pem, key: tls/key.pem"),
              std::string("cert: tls/cert.pem, key: tls/key.pem").size(),
              "cert: " + cert + ", key: " + key);
    return c;
  };
  dir.write("hookd.yaml", point_at("new/cert.pem", "other/key.pem"));
  server.signal(SIGHUP);
  BOOST_REQUIRE(eventually([&] {
    return server.log().find(
               "reload refused: TLS certificate new/cert.pem / key other/key.pem: "
               "the private key does not match the certificate") != std::string::npos;
  }));
  BOOST_TEST(serial_of_new_connection(server.port()) == first);

  // A file that is not a certificate at all: refused too.
  dir.write("garbage.pem", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
  dir.write("hookd.yaml", point_at("garbage.pem", "new/key.pem"));
  server.signal(SIGHUP);
  BOOST_REQUIRE(eventually([&] {
    return server.log().find(
               "garbage.pem / key new/key.pem: certificate 1 of the chain does not "
               "parse") != std::string::npos;
  }));
  BOOST_TEST(serial_of_new_connection(server.port()) == first);

  // The good pair: new connections get it; the connection opened before goes on.
  dir.write("hookd.yaml", point_at("new/cert.pem", "new/key.pem"));
  server.signal(SIGHUP);
  BOOST_REQUIRE(eventually([&] { return serial_of_new_connection(server.port()) != first; }));
  std::string second = serial_of_new_connection(server.port());
  BOOST_TEST(server.log().find("serving the TLS certificate new/cert.pem (serial " + second) !=
             std::string::npos);
  BOOST_TEST(post_event(before, "e2") == 202);
  BOOST_TEST(before.peer_serial() == first);
  TlsClient after(server.port());
  BOOST_TEST(post_event(after, "e3") == 202);

  // The key never appears in the log.
  BOOST_TEST(server.log().find("PRIVATE KEY") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
