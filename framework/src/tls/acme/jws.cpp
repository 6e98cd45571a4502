// The ACME account key and the JWS that carries every ACME request (RFC 8555 §6.2, RFC 7515,
// RFC 7638), over OpenSSL 3 EVP only.
#include "hookd/tls/acme/jws.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/json/serialize.hpp>
#include <optional>
#include <stdexcept>
#include <vector>

#include "hookd/crypto/compare.hpp"
#include "hookd/crypto/encoding.hpp"
#include "hookd/crypto/openssl_ptr.hpp"
#include "../fail.hpp"

namespace hookd::tls::acme {
namespace {

constexpr std::size_t kCoordinateSize = 32;  // P-256: x, y, r and s are 32 bytes each

using Bio = crypto::OsslPtr<BIO, BIO_free_all>;
using Bignum = crypto::OsslPtr<BIGNUM, BN_free>;
using MdCtx = crypto::OsslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;
using EcdsaSig = crypto::OsslPtr<ECDSA_SIG, ECDSA_SIG_free>;

// Everything below assumes P-256 (fixed coordinate sizes, ES256), so other keys are refused
// up front rather than producing a JWS the CA rejects with a vague badSignatureAlgorithm.
void require_p256(const EVP_PKEY& key) {
  char group[64] = {};
  if (!EVP_PKEY_is_a(&key, "EC") ||
      EVP_PKEY_get_utf8_string_param(&key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                     nullptr) != 1 ||
      std::string_view(group) != "prime256v1") {
    fail("the ACME account key is not an EC P-256 key");
  }
}

std::string coordinate(const EVP_PKEY& key, const char* param) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(&key, param, &raw) != 1) fail("cannot read the EC public key");
  Bignum bn(raw);
  // JWK coordinates are fixed-length (RFC 7518 §6.2.1.2): keep leading zero bytes.
  std::string out(kCoordinateSize, '\0');
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()),
                   static_cast<int>(out.size())) != static_cast<int>(kCoordinateSize)) {
    fail("the EC public key coordinate does not fit 32 bytes");
  }
  return out;
}

std::string json_string(std::string_view text) {
  return boost::json::serialize(text);
}

// The DER ECDSA-Sig-Value from EVP_DigestSign → the fixed 64-byte r||s JWS wants.
std::string raw_signature(const unsigned char* der, std::size_t size) {
  const unsigned char* p = der;
  EcdsaSig sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(size)));
  if (!sig) fail("cannot decode the ECDSA signature");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string out(2 * kCoordinateSize, '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(r, bytes, kCoordinateSize) != static_cast<int>(kCoordinateSize) ||
      BN_bn2binpad(s, bytes + kCoordinateSize, kCoordinateSize) !=
          static_cast<int>(kCoordinateSize)) {
    fail("the ECDSA signature does not fit 64 bytes");
  }
  return out;
}

std::string es256(const EVP_PKEY& key, std::string_view signing_input) {
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx) fail("out of memory");
  // EVP_DigestSignInit only takes a reference to the key and never modifies it; the
  // signature lacks const for historical reasons.
  if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, const_cast<EVP_PKEY*>(&key)) !=
      1) {
    fail("cannot initialise ES256 signing");
  }
  const auto* data = reinterpret_cast<const unsigned char*>(signing_input.data());
  std::size_t size = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &size, data, signing_input.size()) != 1) {
    fail("cannot size the ES256 signature");
  }
  std::vector<unsigned char> der(size);
  if (EVP_DigestSign(ctx.get(), der.data(), &size, data, signing_input.size()) != 1) {
    fail("ES256 signing failed");
  }
  return raw_signature(der.data(), size);
}

std::string flattened(const std::string& protected_b64, const std::string& payload_b64,
                      std::string_view signature) {
  return R"({"protected":")" + protected_b64 + R"(","payload":")" + payload_b64 +
         R"(","signature":")" + crypto::base64url_encode(signature) + R"("})";
}

// OpenSSL's default callback would prompt on the terminal for an encrypted key; a daemon
// has none, so such a key is refused instead.
int no_passphrase(char*, int, int, void*) {
  return -1;
}

}  // namespace

KeyPtr generate_p256_key() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) fail("cannot generate an EC P-256 key");
  return {key, EVP_PKEY_free};
}

std::string private_key_pem(const EVP_PKEY& key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio) fail("out of memory");
  // PEM_write_bio_PrivateKey writes PKCS#8 ("BEGIN PRIVATE KEY") in OpenSSL 3.
  if (PEM_write_bio_PrivateKey(bio.get(), &key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    fail("cannot encode the private key");
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  std::string out(data, static_cast<std::size_t>(n));
  // The memory BIO frees its buffer without wiping it; wipe the key text ourselves.
  OPENSSL_cleanse(data, static_cast<std::size_t>(n));
  return out;
}

KeyPtr parse_private_key_pem(std::string_view pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) fail("out of memory");
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr);
  if (raw == nullptr) fail("the ACME account key is not an unencrypted PEM private key");
  KeyPtr key(raw, EVP_PKEY_free);
  require_p256(*key);
  return key;
}

std::string jwk_json(const EVP_PKEY& key) {
  require_p256(key);
  // Written by hand: the RFC 7638 thumbprint hashes exactly these bytes, so member order
  // and the absence of whitespace must not depend on a JSON library's choices.
  return R"({"crv":"P-256","kty":"EC","x":")" +
         crypto::base64url_encode(coordinate(key, OSSL_PKEY_PARAM_EC_PUB_X)) + R"(","y":")" +
         crypto::base64url_encode(coordinate(key, OSSL_PKEY_PARAM_EC_PUB_Y)) + R"("})";
}

std::string jwk_thumbprint(const EVP_PKEY& key) {
  return crypto::base64url_encode(crypto::sha256(jwk_json(key)));
}

std::string sign_jws(const EVP_PKEY& key, const JwsHeader& header, std::string_view payload) {
  if (header.url.empty() || header.nonce.empty()) {
    throw std::invalid_argument("a JWS needs the request url and a nonce");
  }
  // RFC 8555 §6.2: exactly one of `jwk` (newAccount, revocation by certificate key) and
  // `kid` (everything after the account exists).
  std::string protected_json = R"({"alg":"ES256",)";
  protected_json +=
      header.kid.empty() ? R"("jwk":)" + jwk_json(key) : R"("kid":)" + json_string(header.kid);
  protected_json +=
      R"(,"nonce":)" + json_string(header.nonce) + R"(,"url":)" + json_string(header.url) + "}";
  const std::string protected_b64 = crypto::base64url_encode(protected_json);
  const std::string payload_b64 = crypto::base64url_encode(payload);
  return flattened(protected_b64, payload_b64, es256(key, protected_b64 + "." + payload_b64));
}

std::string external_account_binding(std::string_view kid, std::string_view hmac_key_b64url,
                                     const EVP_PKEY& account_key, std::string_view url) {
  std::optional<std::string> hmac_key = crypto::base64url_decode(hmac_key_b64url);
  if (!hmac_key || hmac_key->empty()) {
    fail("the external account binding HMAC key is not base64url");
  }
  const std::string protected_b64 = crypto::base64url_encode(
      R"({"alg":"HS256","kid":)" + json_string(kid) + R"(,"url":)" + json_string(url) + "}");
  const std::string payload_b64 = crypto::base64url_encode(jwk_json(account_key));
  const std::string signing_input = protected_b64 + "." + payload_b64;

  // One-shot EVP_Q_mac rather than crypto::HmacKey: this runs once per account, and HmacKey
  // would keep a keyed context (with the key schedule) cached on this thread.
  unsigned char mac[EVP_MAX_MD_SIZE];
  std::size_t mac_size = 0;
  const unsigned char* ok =
      EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, hmac_key->data(), hmac_key->size(),
                reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(),
                mac, sizeof mac, &mac_size);
  OPENSSL_cleanse(hmac_key->data(), hmac_key->size());
  if (ok == nullptr) fail("HMAC-SHA256 for the external account binding failed");
  return flattened(protected_b64, payload_b64,
                   std::string_view(reinterpret_cast<const char*>(mac), mac_size));
}

}  // namespace hookd::tls::acme
