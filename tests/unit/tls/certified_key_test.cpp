// parse_certified_key: what a SIGHUP reload and a restart with stored ACME state rely on to
// refuse a bad pair (expired, mismatched key, a chain entry that does not parse, an
// encrypted key) and to describe a good one (names, serial, validity); and the served
// certificate's expiry metric (one series, the served certificate's).
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <string>

#include "hookd/crypto/openssl_ptr.hpp"
#include "hookd/metrics/registry.hpp"
#include "hookd/tls/certified_key.hpp"
#include "hookd/tls/server_certificates.hpp"

namespace {

using hookd::crypto::OsslPtr;
using hookd::tls::parse_certified_key;
using hookd::tls::SystemClock;

struct Pem {
  std::string cert;
  std::string key;
};

std::string to_pem(const std::function<int(BIO*)>& write) {
  OsslPtr<BIO, BIO_free_all> bio(BIO_new(BIO_s_mem()));
  BOOST_REQUIRE(write(bio.get()) == 1);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

// A self-signed P-256 certificate valid from now+from_days to now+to_days, serial `serial`.
Pem make_pair(long from_days, long to_days, long serial, const char* san) {
  OsslPtr<EVP_PKEY, EVP_PKEY_free> key(EVP_EC_gen("P-256"));
  OsslPtr<X509, X509_free> cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), from_days * 86400);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), to_days * 86400);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("test"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  OsslPtr<X509_EXTENSION, X509_EXTENSION_free> ext(
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san));
  X509_add_ext(cert.get(), ext.get(), -1);
  X509_sign(cert.get(), key.get(), EVP_sha256());
  return {to_pem([&](BIO* b) { return PEM_write_bio_X509(b, cert.get()); }), to_pem([&](BIO* b) {
            return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
          })};
}

std::string error_of(const std::string& chain, const std::string& key) {
  try {
    parse_certified_key(chain, key, SystemClock::now());
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tls_certified_key)

BOOST_AUTO_TEST_CASE(describes_a_good_pair_with_its_chain) {
  Pem leaf = make_pair(-1, 30, 0x1234AB, "DNS:hooks.example.com,IP:192.0.2.7,IP:2001:db8::1");
  Pem intermediate = make_pair(-1, 300, 7, "DNS:ca.example");
  auto cert = parse_certified_key(leaf.cert + intermediate.cert, leaf.key, SystemClock::now());
  BOOST_TEST(cert->serial == "1234AB");
  BOOST_TEST(
      cert->names == (std::vector<std::string>{"hooks.example.com", "192.0.2.7", "2001:db8::1"}),
      boost::test_tools::per_element());
  BOOST_TEST(cert->chain.size() == 1u);
  auto days = std::chrono::duration_cast<std::chrono::hours>(cert->not_after - cert->not_before);
  BOOST_TEST(days.count() == 31 * 24);
  BOOST_TEST(hookd::tls::chain_pem(*cert) == leaf.cert + intermediate.cert);
}

BOOST_AUTO_TEST_CASE(refuses_bad_pairs_with_a_reason) {
  Pem good = make_pair(-1, 30, 1, "DNS:a.example");
  Pem other = make_pair(-1, 30, 2, "DNS:a.example");
  Pem expired = make_pair(-10, -1, 3, "DNS:a.example");
  BOOST_TEST(error_of(good.cert, other.key) == "the private key does not match the certificate");
  BOOST_TEST(error_of(expired.cert, expired.key) == "the certificate has expired");
  BOOST_TEST(error_of("", good.key) == "no certificate found");
  BOOST_TEST(error_of(good.cert, "") ==
             "the private key does not parse (an encrypted key is not supported)");
  std::string broken = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  BOOST_TEST(error_of(good.cert + broken, good.key) == "certificate 2 of the chain does not parse");

  // An encrypted key is refused, never prompted for; the message quotes no key material.
  OsslPtr<BIO, BIO_free_all> bio(
      BIO_new_mem_buf(good.key.data(), static_cast<int>(good.key.size())));
  OsslPtr<EVP_PKEY, EVP_PKEY_free> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  std::string encrypted = to_pem([&](BIO* b) {
    return PEM_write_bio_PKCS8PrivateKey(b, key.get(), EVP_aes_256_cbc(), "pw", 2, nullptr,
                                         nullptr);
  });
  std::string why = error_of(good.cert, encrypted);
  BOOST_TEST(why == "the private key does not parse (an encrypted key is not supported)");
}

BOOST_AUTO_TEST_CASE(the_expiry_metric_follows_the_served_certificate) {
  hookd::metrics::Registry metrics;
  hookd::tls::ServerCertificates certs(&metrics);
  BOOST_TEST(certs.current() == nullptr);
  certs.set_unavailable_reason("waiting");
  BOOST_TEST(certs.unavailable_reason() == "waiting");

  Pem a = make_pair(-1, 30, 1, "DNS:a.example,DNS:www.a.example");
  Pem b = make_pair(-1, 60, 2, "DNS:b.example");
  auto ca = parse_certified_key(a.cert, a.key, SystemClock::now());
  certs.set_current(ca);
  BOOST_TEST(certs.unavailable_reason().empty());
  std::string text = metrics.expose();
  auto expiry = std::chrono::duration_cast<std::chrono::seconds>(ca->not_after.time_since_epoch());
  BOOST_TEST(text.find("hookd_tls_certificate_expiry_timestamp_seconds{names=\"a.example,www.a."
                       "example\"} " +
                       std::to_string(expiry.count())) != std::string::npos,
             text);

  certs.set_current(parse_certified_key(b.cert, b.key, SystemClock::now()));
  text = metrics.expose();
  BOOST_TEST(text.find("names=\"b.example\"") != std::string::npos, text);
  BOOST_TEST(text.find("a.example") == std::string::npos, text);
}

BOOST_AUTO_TEST_SUITE_END()
