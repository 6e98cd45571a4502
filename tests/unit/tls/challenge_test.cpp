// Key authorizations, the tls-alpn-01 certificate (RFC 8737 §3) and the finalize CSR, read
// back with OpenSSL; expected digests and reverse names were computed outside this code
// (openssl dgst, Python's ipaddress.reverse_pointer).
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hookd/crypto/encoding.hpp"
#include "hookd/tls/acme/challenge.hpp"
#include "hookd/tls/acme/jws.hpp"
#include "hookd/tls/certified_key.hpp"

using namespace hookd::tls::acme;

namespace {

// The token of the RFC 8737 §3 example challenge, with the thumbprint of the fixed key in
// jws_test.cpp; the digest is `printf '%s' TOKEN.THUMBPRINT | openssl dgst -sha256`.
constexpr const char* kToken = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
constexpr const char* kThumbprint = "g20pjhj6vHnPfWGgfYysNKaXcvfaEpN1vxodYi4aFkw";
constexpr const char* kDigestHex =
    "20928e1fcb25d866f1daa7fc237bc91d70c8cdb5cf2e2dace5010cc8afbd7c2a";

// (GEN_DNS | GEN_IPADD, text) for every subjectAltName entry.
using San = std::pair<int, std::string>;

std::vector<San> describe(const GENERAL_NAMES* names) {
  std::vector<San> out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    int type = 0;
    const ASN1_STRING* value = static_cast<const ASN1_STRING*>(GENERAL_NAME_get0_value(n, &type));
    if (type == GEN_IPADD) {
      // Raw network-order bytes, hex: compared with the expected bytes below.
      out.emplace_back(type, hookd::crypto::hex_encode(std::string(
                                 reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                                 static_cast<std::size_t>(ASN1_STRING_length(value)))));
    } else {
      out.emplace_back(type,
                       std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                                   static_cast<std::size_t>(ASN1_STRING_length(value))));
    }
  }
  return out;
}

std::vector<San> cert_sans(X509* cert) {
  int critical = -1;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, &critical, nullptr));
  BOOST_REQUIRE(names != nullptr);
  std::vector<San> out = describe(names);
  GENERAL_NAMES_free(names);
  return out;
}

std::string acme_identifier_value(X509* cert, bool& critical) {
  ASN1_OBJECT* oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
  const int index = X509_get_ext_by_OBJ(cert, oid, -1);
  BOOST_REQUIRE(index >= 0);
  BOOST_TEST(X509_get_ext_by_OBJ(cert, oid, index) == -1);  // exactly one
  ASN1_OBJECT_free(oid);
  X509_EXTENSION* ext = X509_get_ext(cert, index);
  critical = X509_EXTENSION_get_critical(ext) == 1;
  const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
  return {reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
          static_cast<std::size_t>(ASN1_STRING_length(data))};
}

std::shared_ptr<X509_REQ> parse_csr(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509_REQ* req = d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size()));
  BOOST_REQUIRE(req != nullptr);
  BOOST_TEST(p == reinterpret_cast<const unsigned char*>(der.data()) + der.size());
  return {req, X509_REQ_free};
}

bool csr_signature_ok(X509_REQ* req) {
  EVP_PKEY* key = X509_REQ_get0_pubkey(req);
  return key != nullptr && X509_REQ_verify(req, key) == 1;
}

std::vector<San> csr_sans(X509_REQ* req) {
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req);
  BOOST_REQUIRE(exts != nullptr);
  std::vector<San> out;
  for (int i = 0; i < sk_X509_EXTENSION_num(exts); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts, i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name) continue;
    auto* names = static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext));
    BOOST_REQUIRE(names != nullptr);
    out = describe(names);
    GENERAL_NAMES_free(names);
  }
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  return out;
}

std::string subject_cn(X509_REQ* req) {
  char buf[256] = {};
  const int n =
      X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req), NID_commonName, buf, sizeof buf);
  return n < 0 ? std::string() : std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(acme_challenge)

// RFC 8555 §8.3 example (http-01).
BOOST_AUTO_TEST_CASE(key_authorization_is_token_dot_thumbprint) {
  BOOST_TEST(key_authorization("LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0",
                               "9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI") ==
             "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0."
             "9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI");
}

BOOST_AUTO_TEST_CASE(ip_identifiers) {
  for (const char* ip : {"127.0.0.1", "192.0.2.7", "::1", "2001:db8::1"}) {
    BOOST_TEST(is_ip_identifier(ip), ip);
  }
  for (const char* name :
       {"hooks.example.com", "", "1.2.3", "127.0.0.1 ", "[::1]", "fe80::1%eth0", "0x7f.0.0.1"}) {
    BOOST_TEST(!is_ip_identifier(name), name);
  }
}

BOOST_AUTO_TEST_CASE(tls_alpn_server_names) {
  BOOST_TEST(tls_alpn_server_name("hooks.example.com") == "hooks.example.com");
  BOOST_TEST(tls_alpn_server_name("127.0.0.1") == "1.0.0.127.in-addr.arpa");
  BOOST_TEST(tls_alpn_server_name("2001:db8::1") ==
             "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

BOOST_AUTO_TEST_CASE(tls_alpn_certificate_for_a_dns_name) {
  const std::string keyauth = key_authorization(kToken, kThumbprint);
  auto cert = tls_alpn_certificate("hooks.example.com", keyauth);
  BOOST_REQUIRE(cert);
  X509* leaf = cert->leaf.get();

  bool critical = false;
  const std::string value = acme_identifier_value(leaf, critical);
  BOOST_TEST(critical);
  BOOST_TEST(hookd::crypto::hex_encode(value) == std::string("0420") + kDigestHex);

  BOOST_TEST((cert_sans(leaf) == std::vector<San>{{GEN_DNS, "hooks.example.com"}}));
  BOOST_TEST((cert->names == std::vector<std::string>{"hooks.example.com"}));

  // Self-signed by the key it carries, and a CertifiedKey the file path would accept too.
  BOOST_TEST(X509_verify(leaf, cert->key.get()) == 1);
  BOOST_TEST(X509_check_private_key(leaf, cert->key.get()) == 1);
  auto reparsed = hookd::tls::parse_certified_key(
      hookd::tls::chain_pem(*cert), private_key_pem(*cert->key), std::chrono::system_clock::now());
  BOOST_TEST(reparsed->serial == cert->serial);
  BOOST_TEST((cert->not_before <= std::chrono::system_clock::now()));
  BOOST_TEST((cert->not_after > std::chrono::system_clock::now() + std::chrono::hours(24)));

  // A fresh key per certificate.
  auto other = tls_alpn_certificate("hooks.example.com", keyauth);
  BOOST_TEST(EVP_PKEY_eq(other->key.get(), cert->key.get()) != 1);
}

BOOST_AUTO_TEST_CASE(tls_alpn_certificate_for_ip_addresses) {
  auto v4 = tls_alpn_certificate("192.0.2.7", "a.b");
  BOOST_TEST((cert_sans(v4->leaf.get()) == std::vector<San>{{GEN_IPADD, "c0000207"}}));
  BOOST_TEST((v4->names == std::vector<std::string>{"192.0.2.7"}));

  auto v6 = tls_alpn_certificate("2001:db8::1", "a.b");
  BOOST_TEST((cert_sans(v6->leaf.get()) ==
              std::vector<San>{{GEN_IPADD, "20010db8000000000000000000000001"}}));
  bool critical = false;
  BOOST_TEST(acme_identifier_value(v6->leaf.get(), critical).size() == 34u);
  BOOST_TEST(critical);
}

BOOST_AUTO_TEST_CASE(names_that_could_smuggle_entries_are_refused) {
  BOOST_CHECK_THROW(tls_alpn_certificate("a.example,DNS:evil.example", "a.b"), std::runtime_error);
  BOOST_CHECK_THROW(tls_alpn_certificate("", "a.b"), std::runtime_error);
  BOOST_CHECK_THROW(tls_alpn_certificate(std::string("127.0.0.1\0.evil", 15), "a.b"),
                    std::runtime_error);
  KeyPtr key = generate_p256_key();
  BOOST_CHECK_THROW(csr_der({}, *key), std::runtime_error);
  BOOST_CHECK_THROW(csr_der({"ok.example", "bad name"}, *key), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(csr_carries_every_name_and_verifies) {
  KeyPtr key = generate_p256_key();
  const std::string der =
      csr_der({"192.0.2.7", "hooks.example.com", "*.example.com", "2001:db8::1"}, *key);
  auto req = parse_csr(der);
  BOOST_TEST(csr_signature_ok(req.get()));
  BOOST_TEST(EVP_PKEY_eq(X509_REQ_get0_pubkey(req.get()), key.get()) == 1);
  BOOST_TEST(X509_REQ_get_version(req.get()) == 0);
  BOOST_TEST(subject_cn(req.get()) == "hooks.example.com");  // the first DNS name
  BOOST_TEST(
      (csr_sans(req.get()) == std::vector<San>{{GEN_IPADD, "c0000207"},
                                               {GEN_DNS, "hooks.example.com"},
                                               {GEN_DNS, "*.example.com"},
                                               {GEN_IPADD, "20010db8000000000000000000000001"}}));

  // The same check rejects a request whose signed content was altered.
  std::string tampered = der;
  const auto at = tampered.find("hooks.example.com");
  BOOST_REQUIRE(at != std::string::npos);
  tampered[at] = 'j';
  auto bad = parse_csr(tampered);
  BOOST_TEST(!csr_signature_ok(bad.get()));
}

BOOST_AUTO_TEST_CASE(csr_without_dns_names_has_no_cn) {
  KeyPtr key = generate_p256_key();
  auto req = parse_csr(csr_der({"127.0.0.1"}, *key));
  BOOST_TEST(csr_signature_ok(req.get()));
  BOOST_TEST(X509_NAME_entry_count(X509_REQ_get_subject_name(req.get())) == 0);
  BOOST_TEST((csr_sans(req.get()) == std::vector<San>{{GEN_IPADD, "7f000001"}}));
}

BOOST_AUTO_TEST_SUITE_END()
