// The renewal schedule with the time passed in: default and configured renewal times, the
// ARI window, retry backoff, the ARI certificate id (RFC 9773's example) and renewalInfo.
#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <limits>
#include <memory>
#include <string>

#include "hookd/tls/acme/renewal.hpp"

using namespace hookd::tls::acme;
using hookd::tls::CertifiedKey;
using hookd::tls::SystemClock;
using namespace std::chrono_literals;

namespace {

constexpr auto kDay = std::chrono::hours(24);

// 2025-01-01T00:00:00Z
const SystemClock::time_point kEpoch = SystemClock::time_point(std::chrono::seconds(1735689600));

CertifiedKey cert_with_lifetime(std::chrono::hours lifetime) {
  CertifiedKey cert;
  cert.not_before = kEpoch;
  cert.not_after = kEpoch + lifetime;
  return cert;
}

// A self-signed certificate with the given serial and, when not empty, an AKI keyIdentifier.
std::shared_ptr<const CertifiedKey> make_cert(std::uint64_t serial, const std::string& key_id) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("ari.example"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_set_pubkey(x, key);
  if (!key_id.empty()) {
    AUTHORITY_KEYID* aki = AUTHORITY_KEYID_new();
    aki->keyid = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(aki->keyid, reinterpret_cast<const unsigned char*>(key_id.data()),
                          static_cast<int>(key_id.size()));
    X509_add1_ext_i2d(x, NID_authority_key_identifier, aki, 0, X509V3_ADD_DEFAULT);
    AUTHORITY_KEYID_free(aki);
  }
  X509_sign(x, key, EVP_sha256());
  auto cert = hookd::tls::make_certified_key(x, key);
  X509_free(x);
  EVP_PKEY_free(key);
  return cert;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(acme_renewal)

BOOST_AUTO_TEST_CASE(default_is_a_third_of_the_lifetime_before_expiry) {
  std::mt19937_64 rng(1);
  const CertifiedKey cert = cert_with_lifetime(90 * kDay);
  const RenewalTime t = renewal_time(cert, std::nullopt, std::nullopt, rng);
  BOOST_TEST((t.at == cert.not_after - 30 * kDay));
  BOOST_TEST(!t.renew_before_ignored);
}

BOOST_AUTO_TEST_CASE(renew_before_counts_back_from_expiry) {
  std::mt19937_64 rng(1);
  const CertifiedKey cert = cert_with_lifetime(90 * kDay);
  const RenewalTime t = renewal_time(cert, Duration(10 * kDay), std::nullopt, rng);
  BOOST_TEST((t.at == cert.not_after - 10 * kDay));
  BOOST_TEST(!t.renew_before_ignored);
}

BOOST_AUTO_TEST_CASE(renew_before_of_the_whole_lifetime_falls_back_to_the_default) {
  std::mt19937_64 rng(1);
  const CertifiedKey cert = cert_with_lifetime(6 * kDay);  // a short-lived certificate
  for (const Duration before : {Duration(6 * kDay), Duration(30 * kDay)}) {
    const RenewalTime t = renewal_time(cert, before, std::nullopt, rng);
    BOOST_TEST((t.at == cert.not_after - 2 * kDay));
    BOOST_TEST(t.renew_before_ignored);
  }
}

BOOST_AUTO_TEST_CASE(the_ari_window_wins_and_the_time_lies_inside_it) {
  const CertifiedKey cert = cert_with_lifetime(90 * kDay);
  const RenewalWindow window{kEpoch + 70 * kDay, kEpoch + 72 * kDay};
  std::mt19937_64 rng(42);
  SystemClock::time_point first{}, last{};
  for (int i = 0; i < 200; ++i) {
    const RenewalTime t = renewal_time(cert, Duration(10 * kDay), window, rng);
    BOOST_TEST((t.at >= window.start && t.at <= window.end));
    BOOST_TEST(!t.renew_before_ignored);
    first = i == 0 ? t.at : std::min(first, t.at);
    last = i == 0 ? t.at : std::max(last, t.at);
  }
  // Spread over the window rather than stuck at one end.
  BOOST_TEST((last - first > 36h));
  // The same seed gives the same time.
  std::mt19937_64 a(7), b(7);
  BOOST_TEST((renewal_time(cert, std::nullopt, window, a).at ==
              renewal_time(cert, std::nullopt, window, b).at));
}

BOOST_AUTO_TEST_CASE(retry_delay_starts_within_a_minute_grows_and_stops_at_an_hour) {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 100; ++i) {
    const Duration first = retry_delay(1, rng);
    BOOST_TEST((first >= 22500ms && first <= 37500ms), first.count());
  }
  Duration previous{0};
  for (int failures = 1; failures <= 7; ++failures) {
    const Duration d = retry_delay(failures, rng);
    BOOST_TEST((d > previous), failures);  // ±25 % ranges of successive doublings do not overlap
    previous = d;
  }
  for (int failures : {8, 9, 20, 1000, std::numeric_limits<int>::max()}) {
    for (int i = 0; i < 20; ++i) {
      const Duration d = retry_delay(failures, rng);
      BOOST_TEST((d >= 45min && d <= 1h), failures << ": " << d.count());
    }
  }
}

BOOST_AUTO_TEST_CASE(ari_certificate_id_matches_the_rfc_9773_example) {
  // RFC 9773 §4.1: AKI keyIdentifier 69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:
  // C8:D4 and serial 0x87654321 (DER 00 87 65 43 21: the high bit needs a leading zero).
  const std::string key_id =
      "\x69\x88\x5B\x6B\x87\x46\x40\x41\xE1\xB3\x7B\x84\x7B\xA0\xAE\x2C\xDE\x01\xC8\xD4";
  const auto cert = make_cert(0x87654321, key_id);
  BOOST_TEST(ari_certificate_id(*cert) == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
  // Without the high bit there is no leading zero.
  BOOST_TEST(ari_certificate_id(*make_cert(0x1234, key_id)) == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.EjQ");
}

BOOST_AUTO_TEST_CASE(ari_certificate_id_is_empty_without_an_aki) {
  BOOST_TEST(ari_certificate_id(*make_cert(5, "")).empty());
  BOOST_TEST(ari_certificate_id(CertifiedKey{}).empty());
}

BOOST_AUTO_TEST_CASE(parse_renewal_info_reads_the_suggested_window) {
  const auto window = parse_renewal_info(R"({
    "suggestedWindow": {"start": "2025-01-02T04:00:00Z", "end": "2025-01-03T04:00:00.5Z"},
    "explanationURL": "https://acme.example.com/docs/ari"})");
  BOOST_TEST_REQUIRE(window.has_value());
  BOOST_TEST((window->start == kEpoch + 28h));
  BOOST_TEST((window->end == kEpoch + 52h + 500ms));
}

BOOST_AUTO_TEST_CASE(parse_renewal_info_reads_offsets_and_fractions) {
  const auto window =
      parse_renewal_info(R"({"suggestedWindow":{"start":"2025-01-01T02:30:00.123456789+02:30",)"
                         R"("end":"2025-01-01t23:00:00-01:00"}})");
  BOOST_TEST_REQUIRE(window.has_value());
  BOOST_TEST((window->start == kEpoch + std::chrono::nanoseconds(123456789)));
  BOOST_TEST((window->end == kEpoch + 24h));
}

BOOST_AUTO_TEST_CASE(parse_renewal_info_rejects_malformed_documents) {
  for (
      const char* json : {
          "",
          "not json",
          "[]",
          R"({})",
          R"({"suggestedWindow":"2025-01-01T00:00:00Z"})",
          R"({"suggestedWindow":{"start":"2025-01-01T00:00:00Z"}})",
          R"({"suggestedWindow":{"start":1,"end":2}})",
          // end not after start
          R"({"suggestedWindow":{"start":"2025-01-02T00:00:00Z","end":"2025-01-02T00:00:00Z"}})",
          R"({"suggestedWindow":{"start":"2025-01-03T00:00:00Z","end":"2025-01-02T00:00:00Z"}})",
          // not RFC 3339: no zone, a date only, an impossible date, a bad offset, trailing text
          R"({"suggestedWindow":{"start":"2025-01-01T00:00:00","end":"2025-01-02T00:00:00Z"}})",
          R"({"suggestedWindow":{"start":"2025-01-01","end":"2025-01-02T00:00:00Z"}})",
          R"({"suggestedWindow":{"start":"2025-02-30T00:00:00Z","end":"2025-03-02T00:00:00Z"}})",
          R"({"suggestedWindow":{"start":"2025-01-01T24:00:00Z","end":"2025-01-02T00:00:00Z"}})",
          R"({"suggestedWindow":{"start":"2025-01-01T00:00:00+0100","end":"2025-01-02T00:00:00Z"}})",
          R"({"suggestedWindow":{"start":"2025-01-01T00:00:00.Z","end":"2025-01-02T00:00:00Z"}})",
          R"({"suggestedWindow":{"start":"2025-01-01T00:00:00Zx","end":"2025-01-02T00:00:00Z"}})",
          R"({"suggestedWindow":{"start":"+025-01-01T00:00:00Z","end":"2025-01-02T00:00:00Z"}})",
      }) {
    BOOST_TEST(!parse_renewal_info(json).has_value(), json);
  }
}

BOOST_AUTO_TEST_SUITE_END()
