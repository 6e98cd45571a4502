// The server TLS context (Mozilla "intermediate": TLS 1.2+ with ECDHE + AEAD suites only),
// serving whatever tls::ServerCertificates holds at each handshake.
#pragma once

#include <openssl/types.h>

#include <boost/asio/ssl/context.hpp>

#include "hookd/config/config.hpp"
#include "hookd/tls/server_certificates.hpp"

namespace hookd::net {

// `certificates` must outlive the context. A handshake without a current certificate (or
// an acme-tls/1 handshake without a challenge for its server name) fails with an alert.
boost::asio::ssl::context make_server_tls_context(const config::TlsConfig& tls,
                                                  tls::ServerCertificates& certificates);

// True after the handshake of a tls-alpn-01 validation: no HTTP follows (RFC 8737 §3).
bool is_acme_validation(SSL* ssl);

}  // namespace hookd::net
