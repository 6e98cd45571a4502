// The server's TLS context: protocol floor, ECDHE+AEAD cipher suites, cert and key.
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <stdexcept>

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
}  // namespace

ssl::context make_server_tls_context(const config::TlsConfig& tls) {
  namespace fs = std::filesystem;
  bool cert_exists = fs::exists(tls.cert);
  bool key_exists = fs::exists(tls.key);
  if (!cert_exists && !key_exists && tls.self_signed) {
    spdlog::warn("creating a self-signed certificate for localhost: {} (key {})", tls.cert,
                 tls.key);
    create_self_signed(tls.cert, tls.key);
  } else if (!cert_exists || !key_exists) {
    throw std::runtime_error("TLS " + std::string(cert_exists ? "key " + tls.key
                                                               : "certificate " + tls.cert) +
                             " does not exist");
  }

  ssl::context ctx(ssl::context::tls_server);
  SSL_CTX* native = ctx.native_handle();
  SSL_CTX_set_min_proto_version(native, tls.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                  ssl::context::single_dh_use);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1) {
    throw std::runtime_error("cannot set the TLS 1.2 cipher list");
  }
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(tls.cert, ec);
  if (ec) throw std::runtime_error("cannot load TLS certificate " + tls.cert + ": " + ec.message());
  ctx.use_private_key_file(tls.key, ssl::context::pem, ec);
  if (ec) throw std::runtime_error("cannot load TLS key " + tls.key + ": " + ec.message());
  if (SSL_CTX_check_private_key(native) != 1) {
    throw std::runtime_error("TLS key " + tls.key + " does not match certificate " + tls.cert);
  }
  return ctx;
}

}  // namespace hookd::net
