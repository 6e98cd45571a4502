// The server's TLS context: protocol floor, ECDHE+AEAD cipher suites, and the certificate
// chosen per handshake from tls::ServerCertificates (so a renewed or reloaded certificate
// reaches new handshakes while open connections keep theirs, as nginx does on reload), or
// the tls-alpn-01 challenge certificate for an ACME validation (ALPN acme-tls/1 only).
#include <openssl/ssl.h>
#include <openssl/tls1.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <string>
#include <string_view>

#include "hookd/net/tls.hpp"

namespace hookd::net {
namespace ssl = boost::asio::ssl;

namespace {
// Mozilla "intermediate" TLS 1.2 suites without the DHE ones: ECDHE key exchange with
// AEAD ciphers only (no CBC, RC4, 3DES, NULL or anonymous suites).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

constexpr std::string_view kAcmeAlpn = "acme-tls/1";  // RFC 8737 §6.2
constexpr std::string_view kHttp11Alpn = "http/1.1";

// Marks an SSL as an ACME validation (ex_data): the ALPN callback then selects acme-tls/1.
int acme_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// The protocol names of a ClientHello's ALPN extension (RFC 7301 §3.1), as views into it.
std::vector<std::string_view> offered_protocols(SSL* ssl) {
  std::vector<std::string_view> out;
  const unsigned char* data = nullptr;
  std::size_t len = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &data,
                                &len) != 1 ||
      len < 2) {
    return out;
  }
  std::size_t list = (std::size_t{data[0]} << 8) | data[1];
  if (list != len - 2) return {};
  for (std::size_t i = 2; i < len;) {
    std::size_t n = data[i];
    if (n == 0 || i + 1 + n > len) return {};
    out.emplace_back(reinterpret_cast<const char*>(data + i + 1), n);
    i += 1 + n;
  }
  return out;
}

// The host_name of the ClientHello's server_name extension (RFC 6066 §3), lower case.
std::string requested_server_name(SSL* ssl) {
  const unsigned char* data = nullptr;
  std::size_t len = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &data, &len) != 1 || len < 5) {
    return {};
  }
  std::size_t list = (std::size_t{data[0]} << 8) | data[1];
  if (list != len - 2 || data[2] != TLSEXT_NAMETYPE_host_name) return {};
  std::size_t n = (std::size_t{data[3]} << 8) | data[4];
  if (5 + n > len) return {};
  std::string name(reinterpret_cast<const char*>(data + 5), n);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}

bool use(SSL* ssl, const tls::CertifiedKey& cert) {
  if (SSL_use_certificate(ssl, cert.leaf.get()) != 1) return false;
  if (SSL_use_PrivateKey(ssl, cert.key.get()) != 1) return false;
  SSL_clear_chain_certs(ssl);
  for (const auto& c : cert.chain) {
    if (SSL_add1_chain_cert(ssl, c.get()) != 1) return false;
  }
  return true;
}

// Runs first in every handshake, before SNI, ALPN and cipher selection (so the choice is
// the same in TLS 1.2, where ALPN is negotiated after the certificate callback, and 1.3).
int on_client_hello(SSL* ssl, int* alert, void* arg) {
  auto& certs = *static_cast<tls::ServerCertificates*>(arg);
  auto offered = offered_protocols(ssl);
  std::shared_ptr<const tls::CertifiedKey> cert;
  if (std::find(offered.begin(), offered.end(), kAcmeAlpn) != offered.end()) {
    // Only a validation offers acme-tls/1; it gets the challenge certificate or nothing.
    cert = certs.challenge(requested_server_name(ssl));
    if (!cert) {
      *alert = SSL_AD_NO_APPLICATION_PROTOCOL;
      return SSL_CLIENT_HELLO_ERROR;
    }
    SSL_set_ex_data(ssl, acme_index(), ssl);
  } else {
    cert = certs.current();
    if (!cert) {  // no certificate yet (waiting for the first ACME order)
      *alert = SSL_AD_INTERNAL_ERROR;
      return SSL_CLIENT_HELLO_ERROR;
    }
  }
  if (!use(ssl, *cert)) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

int on_alpn(SSL* ssl, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
            unsigned int inlen, void*) {
  std::string_view want = SSL_get_ex_data(ssl, acme_index()) != nullptr ? kAcmeAlpn : kHttp11Alpn;
  for (unsigned int i = 0; i < inlen;) {
    unsigned int n = in[i];
    if (i + 1 + n > inlen) break;
    if (std::string_view(reinterpret_cast<const char*>(in + i + 1), n) == want) {
      *out = in + i + 1;
      *outlen = static_cast<unsigned char>(n);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + n;
  }
  // An ordinary client that offers no http/1.1 (h2 only) goes on without ALPN.
  return want == kAcmeAlpn ? SSL_TLSEXT_ERR_ALERT_FATAL : SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

ssl::context make_server_tls_context(const config::TlsConfig& tls,
                                     tls::ServerCertificates& certificates) {
  ssl::context ctx(ssl::context::tls_server);
  SSL_CTX* native = ctx.native_handle();
  SSL_CTX_set_min_proto_version(native, tls.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                  ssl::context::single_dh_use);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1) {
    throw std::runtime_error("cannot set the TLS 1.2 cipher list");
  }
  SSL_CTX_set_client_hello_cb(native, on_client_hello, &certificates);
  SSL_CTX_set_alpn_select_cb(native, on_alpn, nullptr);
  return ctx;
}

bool is_acme_validation(SSL* ssl) {
  return SSL_get_ex_data(ssl, acme_index()) != nullptr;
}

}  // namespace hookd::net
