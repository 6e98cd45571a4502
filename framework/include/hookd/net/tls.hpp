// The server TLS context (Mozilla "intermediate": TLS 1.2+ with ECDHE + AEAD suites only)
// and the self-signed localhost certificate created on first start.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <string>

#include "hookd/config/config.hpp"

namespace hookd::net {

// Builds the context from the tls section. When self_signed is set and both files are
// missing, creates them first (see create_self_signed). Throws std::runtime_error with a
// message naming the file on failure.
boost::asio::ssl::context make_server_tls_context(const config::TlsConfig& tls);

// Writes an EC P-256 key (mode 0600) and a one-year certificate for localhost,
// 127.0.0.1 and ::1, creating parent directories.
void create_self_signed(const std::string& cert_path, const std::string& key_path);

}  // namespace hookd::net
