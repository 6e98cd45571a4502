// Key authorizations, the tls-alpn-01 challenge certificate and the finalize CSR
// (RFC 8555 §8.1 and §7.4, RFC 8737, RFC 8738), built with OpenSSL 3.
#include "hookd/tls/acme/challenge.hpp"

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <stdexcept>

#include "hookd/crypto/compare.hpp"
#include "hookd/crypto/openssl_ptr.hpp"
#include "../fail.hpp"

namespace hookd::tls::acme {
namespace {

using PKey = crypto::OsslPtr<EVP_PKEY, EVP_PKEY_free>;
using Cert = crypto::OsslPtr<X509, X509_free>;
using Req = crypto::OsslPtr<X509_REQ, X509_REQ_free>;
using Names = crypto::OsslPtr<GENERAL_NAMES, GENERAL_NAMES_free>;
using Ext = crypto::OsslPtr<X509_EXTENSION, X509_EXTENSION_free>;
using Object = crypto::OsslPtr<ASN1_OBJECT, ASN1_OBJECT_free>;
using OctetString = crypto::OsslPtr<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>;

void free_extensions(STACK_OF(X509_EXTENSION) * exts) {
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}
using Extensions = crypto::OsslPtr<STACK_OF(X509_EXTENSION), free_extensions>;

constexpr const char* kAcmeIdentifierOid = "1.3.6.1.5.5.7.1.31";  // id-pe-acmeIdentifier

// Network byte order; empty when `name` is not an address. inet_pton accepts only the
// strict forms (dotted quad, RFC 4291 text), which is what ACME "ip" identifiers use.
std::string ip_bytes(std::string_view name) {
  if (name.find('\0') != std::string_view::npos) return {};  // c_str() would cut it short
  const std::string text(name);
  std::array<unsigned char, 16> buf{};
  if (inet_pton(AF_INET, text.c_str(), buf.data()) == 1) {
    return {reinterpret_cast<const char*>(buf.data()), 4};
  }
  if (inet_pton(AF_INET6, text.c_str(), buf.data()) == 1) {
    return {reinterpret_cast<const char*>(buf.data()), 16};
  }
  return {};
}

// The names come from configuration; refusing anything but LDH labels, dots and a wildcard
// keeps a typo from becoming a malformed dNSName that the CA rejects far from its cause.
bool plausible_dns_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '*' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// Built as GENERAL_NAMEs rather than a "DNS:…,IP:…" config string, so a name can never be
// parsed as more than one entry.
Names subject_alt_names(const std::vector<std::string>& names) {
  Names out(GENERAL_NAMES_new());
  if (!out) fail("out of memory");
  for (const std::string& name : names) {
    GENERAL_NAME* gen = GENERAL_NAME_new();
    if (gen == nullptr) fail("out of memory");
    const std::string ip = ip_bytes(name);
    ASN1_STRING* value = ASN1_STRING_type_new(ip.empty() ? V_ASN1_IA5STRING : V_ASN1_OCTET_STRING);
    const std::string& bytes = ip.empty() ? name : ip;
    if (value == nullptr ||
        ASN1_STRING_set(value, bytes.data(), static_cast<int>(bytes.size())) != 1) {
      ASN1_STRING_free(value);
      GENERAL_NAME_free(gen);
      fail("out of memory");
    }
    GENERAL_NAME_set0_value(gen, ip.empty() ? GEN_DNS : GEN_IPADD, value);
    if (sk_GENERAL_NAME_push(out.get(), gen) == 0) {
      GENERAL_NAME_free(gen);
      fail("out of memory");
    }
  }
  return out;
}

void check_names(const std::vector<std::string>& names) {
  if (names.empty()) fail("a certificate needs at least one name");
  for (const std::string& name : names) {
    if (!is_ip_identifier(name) && !plausible_dns_name(name)) {
      fail("not a DNS name or IP address: \"" + name + "\"");
    }
  }
}

void set_random_serial(X509* cert) {
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) fail("RAND_bytes failed");
  serial[0] &= 0x7F;  // a positive INTEGER without a leading zero byte
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  const bool ok = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nullptr;
  BN_free(bn);
  if (!ok) fail("cannot set the certificate serial");
}

// The critical acmeIdentifier extension: its extnValue holds the DER encoding of
// Authorization ::= OCTET STRING (SIZE (32)), i.e. 04 20 followed by the digest.
void add_acme_identifier(X509* cert, std::string_view key_authorization) {
  const std::string digest = crypto::sha256(key_authorization);
  std::string der = {'\x04', '\x20'};
  der += digest;
  Object oid(OBJ_txt2obj(kAcmeIdentifierOid, 1));
  OctetString value(ASN1_OCTET_STRING_new());
  if (!oid || !value ||
      ASN1_OCTET_STRING_set(value.get(), reinterpret_cast<const unsigned char*>(der.data()),
                            static_cast<int>(der.size())) != 1) {
    fail("out of memory");
  }
  Ext ext(X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), 1, value.get()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    fail("cannot add the acmeIdentifier extension");
  }
}

}  // namespace

std::string key_authorization(std::string_view token, std::string_view thumbprint) {
  std::string out(token);
  out += '.';
  out += thumbprint;
  return out;
}

bool is_ip_identifier(std::string_view name) {
  return !ip_bytes(name).empty();
}

std::shared_ptr<const CertifiedKey> tls_alpn_certificate(std::string_view identifier,
                                                         std::string_view key_authorization) {
  const std::vector<std::string> names{std::string(identifier)};
  check_names(names);
  PKey key(EVP_EC_gen("P-256"));
  if (!key) fail("cannot generate an EC P-256 key");

  Cert cert(X509_new());
  if (!cert) fail("out of memory");
  X509_set_version(cert.get(), 2);
  set_random_serial(cert.get());
  // The CA validates within minutes; a week leaves room for clock skew and slow orders.
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 7L * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  // RFC 8737 §3 requires the identifier as the only subjectAltName and says nothing of the
  // subject; an empty subject avoids the 64-character CN limit for long DNS names.
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));

  Names sans = subject_alt_names(names);
  if (X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, sans.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    fail("cannot add the subjectAltName extension");
  }
  add_acme_identifier(cert.get(), key_authorization);
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    fail("cannot sign the challenge certificate");
  }
  return make_certified_key(cert.get(), key.get());
}

std::string csr_der(const std::vector<std::string>& names, const EVP_PKEY& key) {
  check_names(names);
  Req req(X509_REQ_new());
  if (!req) fail("out of memory");
  X509_REQ_set_version(req.get(), 0);  // PKCS#10 v1, the only version
  // CAs take the names from the SANs; the CN is for older tooling. A CN is limited to 64
  // characters, so a longer first name goes without one rather than failing the order.
  const auto first_dns = std::find_if(names.begin(), names.end(),
                                      [](const std::string& n) { return !is_ip_identifier(n); });
  if (first_dns != names.end() && first_dns->size() <= 64 &&
      X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req.get()), "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(first_dns->c_str()), -1, -1,
                                 0) != 1) {
    fail("cannot set the CSR subject");
  }
  // X509_REQ_set_pubkey and X509_REQ_sign only read the key (they take their own
  // reference); their parameters lack const for historical reasons.
  auto* pkey = const_cast<EVP_PKEY*>(&key);
  if (X509_REQ_set_pubkey(req.get(), pkey) != 1) fail("cannot set the CSR public key");

  Names sans = subject_alt_names(names);
  STACK_OF(X509_EXTENSION)* raw_exts = nullptr;  // X509V3_add1_i2d allocates the stack
  const int added =
      X509V3_add1_i2d(&raw_exts, NID_subject_alt_name, sans.get(), 0, X509V3_ADD_DEFAULT);
  Extensions exts(raw_exts);
  if (added != 1) fail("cannot build the CSR extensions");
  if (X509_REQ_add_extensions(req.get(), exts.get()) != 1) fail("cannot add the CSR extensions");
  if (X509_REQ_sign(req.get(), pkey, EVP_sha256()) == 0) fail("cannot sign the CSR");

  const int size = i2d_X509_REQ(req.get(), nullptr);
  if (size <= 0) fail("cannot encode the CSR");
  std::string out(static_cast<std::size_t>(size), '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  if (i2d_X509_REQ(req.get(), &p) != size) fail("cannot encode the CSR");
  return out;
}

std::string tls_alpn_server_name(std::string_view identifier) {
  const std::string ip = ip_bytes(identifier);
  if (ip.empty()) return std::string(identifier);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  if (ip.size() == 4) {
    for (auto it = ip.rbegin(); it != ip.rend(); ++it) {
      out += std::to_string(static_cast<unsigned char>(*it));
      out += '.';
    }
    return out + "in-addr.arpa";
  }
  // RFC 3596 §2.5: one label per nibble, least significant first.
  for (auto it = ip.rbegin(); it != ip.rend(); ++it) {
    const auto byte = static_cast<unsigned char>(*it);
    out += kHex[byte & 0x0F];
    out += '.';
    out += kHex[byte >> 4];
    out += '.';
  }
  return out + "ip6.arpa";
}

}  // namespace hookd::tls::acme
