// The listener's TLS context picks the certificate per handshake: the current one (swapped
// for new handshakes while an open connection keeps its own), none before there is one, and
// the tls-alpn-01 challenge certificate only for a client offering acme-tls/1 — in TLS 1.3
// and 1.2. Handshakes run over in-memory BIO pairs: no sockets.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>

#include "hookd/net/tls.hpp"
#include "hookd/tls/acme/challenge.hpp"
#include "hookd/tls/files.hpp"
#include "temp_dir.hpp"

namespace {

using hookd::tls::CertifiedKey;

std::shared_ptr<const CertifiedKey> fresh_pair(const hookd::test::TempDir& dir,
                                               const std::string& name) {
  hookd::config::TlsConfig c;
  c.cert = (dir.path() / (name + ".pem")).string();
  c.key = (dir.path() / (name + ".key")).string();
  return hookd::tls::load_tls_files(c);
}

std::string serial_of(X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  char* hex = BN_bn2hex(bn);
  std::string out = hex;
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

// One client/server connection over a BIO pair.
struct Connection {
  std::unique_ptr<SSL, decltype(&SSL_free)> client{nullptr, SSL_free};
  std::unique_ptr<SSL, decltype(&SSL_free)> server{nullptr, SSL_free};
  bool established = false;

  Connection(SSL_CTX* server_ctx, SSL_CTX* client_ctx, const std::string& alpn,
             const std::string& sni) {
    client.reset(SSL_new(client_ctx));
    server.reset(SSL_new(server_ctx));
    BIO* c = nullptr;
    BIO* s = nullptr;
    BIO_new_bio_pair(&c, 0, &s, 0);
    SSL_set_bio(client.get(), c, c);
    SSL_set_bio(server.get(), s, s);
    SSL_set_connect_state(client.get());
    SSL_set_accept_state(server.get());
    if (!sni.empty()) SSL_set_tlsext_host_name(client.get(), sni.c_str());
    if (!alpn.empty()) {
      std::string wire;
      for (std::size_t start = 0; start < alpn.size();) {  // "a,b" → length-prefixed list
        auto comma = alpn.find(',', start);
        if (comma == std::string::npos) comma = alpn.size();
        wire += static_cast<char>(comma - start);
        wire += alpn.substr(start, comma - start);
        start = comma + 1;
      }
      SSL_set_alpn_protos(client.get(), reinterpret_cast<const unsigned char*>(wire.data()),
                          static_cast<unsigned>(wire.size()));
    }
    for (int i = 0; i < 50 && !established; ++i) {
      int rc = SSL_do_handshake(client.get());
      int rs = SSL_do_handshake(server.get());
      if (rc == 1 && rs == 1) established = true;
      int ec = SSL_get_error(client.get(), rc);
      int es = SSL_get_error(server.get(), rs);
      bool stuck_c = rc != 1 && ec != SSL_ERROR_WANT_READ && ec != SSL_ERROR_WANT_WRITE;
      bool stuck_s = rs != 1 && es != SSL_ERROR_WANT_READ && es != SSL_ERROR_WANT_WRITE;
      if (stuck_c || stuck_s) break;
    }
    ERR_clear_error();
  }

  std::string peer_serial() const {
    X509* cert = SSL_get1_peer_certificate(client.get());
    if (cert == nullptr) return {};
    std::string s = serial_of(cert);
    X509_free(cert);
    return s;
  }

  std::string alpn() const {
    const unsigned char* p = nullptr;
    unsigned n = 0;
    SSL_get0_alpn_selected(client.get(), &p, &n);
    return std::string(reinterpret_cast<const char*>(p), n);
  }

  // Application data both ways still flows.
  bool exchange() {
    char buf[16];
    if (SSL_write(client.get(), "ping", 4) != 4) return false;
    if (SSL_read(server.get(), buf, sizeof buf) != 4) return false;
    if (SSL_write(server.get(), "pong", 4) != 4) return false;
    return SSL_read(client.get(), buf, sizeof buf) == 4 && std::string(buf, 4) == "pong";
  }
};

struct Fixture {
  hookd::test::TempDir dir;
  hookd::tls::ServerCertificates certificates;
  hookd::config::TlsConfig config;
  boost::asio::ssl::context server{hookd::net::make_server_tls_context(config, certificates)};
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> client{SSL_CTX_new(TLS_client_method()),
                                                           SSL_CTX_free};

  Connection connect(const std::string& alpn = "http/1.1", const std::string& sni = "") {
    return Connection(server.native_handle(), client.get(), alpn, sni);
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(net_tls_context)

BOOST_FIXTURE_TEST_CASE(no_certificate_yet_fails_the_handshake, Fixture) {
  BOOST_TEST(!connect().established);
  certificates.set_current(fresh_pair(dir, "a"));
  BOOST_TEST(connect().established);
}

BOOST_FIXTURE_TEST_CASE(a_new_certificate_reaches_new_handshakes_only, Fixture) {
  auto a = fresh_pair(dir, "a");
  auto b = fresh_pair(dir, "b");
  certificates.set_current(a);
  Connection before = connect();
  BOOST_REQUIRE(before.established);
  BOOST_TEST(before.peer_serial() == a->serial);
  BOOST_TEST(before.alpn() == "http/1.1");

  certificates.set_current(b);
  Connection after = connect();
  BOOST_REQUIRE(after.established);
  BOOST_TEST(after.peer_serial() == b->serial);
  BOOST_TEST(before.exchange());  // the open connection goes on with the old certificate
  BOOST_TEST(after.exchange());
}

BOOST_FIXTURE_TEST_CASE(clients_without_alpn_or_http11_still_connect, Fixture) {
  certificates.set_current(fresh_pair(dir, "a"));
  Connection none = connect("");
  BOOST_TEST(none.established);
  BOOST_TEST(none.alpn().empty());
  Connection h2 = connect("h2");
  BOOST_TEST(h2.established);
  BOOST_TEST(h2.alpn().empty());
}

BOOST_FIXTURE_TEST_CASE(acme_tls_alpn_gets_the_challenge_certificate_only, Fixture) {
  auto a = fresh_pair(dir, "a");
  certificates.set_current(a);
  // Without a challenge for the name, an acme-tls/1 client gets nothing.
  BOOST_TEST(!connect("acme-tls/1", "hooks.test").established);

  auto challenge = hookd::tls::acme::tls_alpn_certificate("hooks.test", "token.thumbprint");
  certificates.add_challenge("hooks.test", challenge);
  for (int max : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    SSL_CTX_set_max_proto_version(client.get(), max);
    BOOST_TEST_CONTEXT("max version " << max) {
      Connection v = connect("acme-tls/1", "hooks.test");
      BOOST_REQUIRE(v.established);
      BOOST_TEST(v.peer_serial() == challenge->serial);
      BOOST_TEST(v.alpn() == "acme-tls/1");
      BOOST_TEST(hookd::net::is_acme_validation(v.server.get()));

      // An ordinary client for the same name never sees the challenge certificate.
      Connection ordinary = connect("http/1.1", "hooks.test");
      BOOST_REQUIRE(ordinary.established);
      BOOST_TEST(ordinary.peer_serial() == a->serial);
      BOOST_TEST(!hookd::net::is_acme_validation(ordinary.server.get()));
    }
  }
  // The name is matched case-insensitively (SNI is a DNS name); another name gets nothing.
  BOOST_TEST(connect("acme-tls/1", "HOOKS.test").established);
  BOOST_TEST(!connect("acme-tls/1", "other.test").established);

  certificates.remove_challenge("hooks.test");
  BOOST_TEST(!connect("acme-tls/1", "hooks.test").established);
}

BOOST_AUTO_TEST_SUITE_END()
