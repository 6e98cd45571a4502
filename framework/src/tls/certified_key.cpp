// Parsing and checking a certificate chain and its key (PEM), for files and ACME alike.
#include "hookd/tls/certified_key.hpp"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "fail.hpp"

namespace hookd::tls {
namespace {

std::shared_ptr<BIO> memory_bio(std::string_view text) {
  BIO* bio = BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
  if (bio == nullptr) fail("out of memory");
  return {bio, BIO_free};
}

SystemClock::time_point to_time_point(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) fail("the certificate has a malformed validity time");
  return SystemClock::from_time_t(timegm(&tm));
}

std::vector<std::string> subject_alt_names(X509* cert) {
  std::vector<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type == GEN_DNS) {
      const ASN1_IA5STRING* s = n->d.dNSName;
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<std::size_t>(ASN1_STRING_length(s)));
    } else if (n->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = n->d.iPAddress;
      int len = ASN1_STRING_length(ip);
      char text[INET6_ADDRSTRLEN] = {};
      if ((len == 4 || len == 16) &&
          inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(ip), text, sizeof text) !=
              nullptr) {
        out.emplace_back(text);
      }
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

std::string serial_of(X509* cert) {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  BIGNUM* bn = ASN1_INTEGER_to_BN(serial, nullptr);
  if (bn == nullptr) return {};
  char* hex = BN_bn2hex(bn);
  std::string out = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

std::shared_ptr<CertifiedKey> describe(std::shared_ptr<X509> leaf, std::shared_ptr<EVP_PKEY> key) {
  auto out = std::make_shared<CertifiedKey>();
  out->not_before = to_time_point(X509_get0_notBefore(leaf.get()));
  out->not_after = to_time_point(X509_get0_notAfter(leaf.get()));
  out->names = subject_alt_names(leaf.get());
  out->serial = serial_of(leaf.get());
  out->leaf = std::move(leaf);
  out->key = std::move(key);
  return out;
}

std::string read_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read TLS " + std::string(what) + " " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

std::shared_ptr<const CertifiedKey> parse_certified_key(std::string_view chain_pem,
                                                        std::string_view key_pem,
                                                        SystemClock::time_point now) {
  ERR_clear_error();
  std::vector<std::shared_ptr<X509>> certs;
  auto bio = memory_bio(chain_pem);
  for (;;) {
    X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (cert == nullptr) break;
    certs.emplace_back(cert, X509_free);
  }
  // The loop ends at the first thing that is not a certificate: only "no more PEM" is fine.
  unsigned long err = ERR_peek_last_error();
  if (err != 0 &&
      !(ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE)) {
    ERR_clear_error();
    fail("certificate " + std::to_string(certs.size() + 1) + " of the chain does not parse");
  }
  ERR_clear_error();
  if (certs.empty()) fail("no certificate found");

  auto key_bio = memory_bio(key_pem);
  // A passphrase callback that gives none: an encrypted key is refused, never prompted for.
  auto no_passphrase = [](char*, int, int, void*) { return 0; };
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(key_bio.get(), nullptr, no_passphrase, nullptr);
  ERR_clear_error();
  if (raw == nullptr) fail("the private key does not parse (an encrypted key is not supported)");
  std::shared_ptr<EVP_PKEY> key(raw, EVP_PKEY_free);
  if (X509_check_private_key(certs.front().get(), key.get()) != 1) {
    ERR_clear_error();
    fail("the private key does not match the certificate");
  }
  auto out = describe(certs.front(), std::move(key));
  out->chain.assign(certs.begin() + 1, certs.end());
  if (out->not_after <= now) fail("the certificate has expired");
  return out;
}

std::shared_ptr<const CertifiedKey> load_certified_key(const std::string& cert_path,
                                                       const std::string& key_path,
                                                       SystemClock::time_point now) {
  std::string chain = read_file(cert_path, "certificate");
  std::string key = read_file(key_path, "key");
  try {
    return parse_certified_key(chain, key, now);
  } catch (const std::exception& e) {
    fail("TLS certificate " + cert_path + " / key " + key_path + ": " + e.what());
  }
}

std::shared_ptr<const CertifiedKey> make_certified_key(X509* leaf, EVP_PKEY* key) {
  X509_up_ref(leaf);
  EVP_PKEY_up_ref(key);
  return describe(std::shared_ptr<X509>(leaf, X509_free),
                  std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free));
}

std::string chain_pem(const CertifiedKey& cert) {
  std::shared_ptr<BIO> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_X509(bio.get(), cert.leaf.get());
  for (const auto& c : cert.chain) PEM_write_bio_X509(bio.get(), c.get());
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace hookd::tls
