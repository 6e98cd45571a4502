// A self-signed localhost certificate (EC P-256, SANs localhost/127.0.0.1/::1) so that
// the default config serves HTTPS out of the box.
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "hookd/crypto/openssl_ptr.hpp"
#include "hookd/tls/files.hpp"
#include "fail.hpp"

namespace hookd::tls {
namespace {

using PKey = crypto::OsslPtr<EVP_PKEY, EVP_PKEY_free>;
using Cert = crypto::OsslPtr<X509, X509_free>;
using Ext = crypto::OsslPtr<X509_EXTENSION, X509_EXTENSION_free>;

void add_extension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  Ext ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) fail("cannot add certificate extension");
}

}  // namespace

void create_self_signed(const std::string& cert_path, const std::string& key_path) {
  PKey key(EVP_EC_gen("P-256"));
  if (!key) fail("cannot generate an EC P-256 key");

  Cert cert(X509_new());
  if (!cert) fail("X509_new failed");
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) fail("RAND_bytes failed");
  serial[0] &= 0x7F;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 365L * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("hookd self-signed"), -1, -1,
                             0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  add_extension(cert.get(), NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1");
  add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), NID_key_usage, "critical,digitalSignature");
  add_extension(cert.get(), NID_ext_key_usage, "serverAuth");
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) fail("cannot sign the certificate");

  auto pem = [](auto write) {
    crypto::OsslPtr<BIO, BIO_free_all> bio(BIO_new(BIO_s_mem()));
    if (!bio || write(bio.get()) != 1) fail("cannot encode the self-signed pair");
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
  };
  write_file_atomically(key_path, pem([&](BIO* b) {
                          return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0,
                                                          nullptr, nullptr);
                        }),
                        0600);
  write_file_atomically(cert_path, pem([&](BIO* b) { return PEM_write_bio_X509(b, cert.get()); }),
                        0644);
}

}  // namespace hookd::tls
