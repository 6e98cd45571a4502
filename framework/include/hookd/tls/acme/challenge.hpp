// What answering a challenge takes: the key authorization (RFC 8555 §8.1), the tls-alpn-01
// certificate (RFC 8737 §3), and the CSR for the order's names.
#pragma once

#include <openssl/types.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/tls/certified_key.hpp"

namespace hookd::tls::acme {

// token + "." + thumbprint: the http-01 response body.
std::string key_authorization(std::string_view token, std::string_view thumbprint);

// True when `name` is an IPv4 or IPv6 address (RFC 8738 identifier type "ip").
bool is_ip_identifier(std::string_view name);

// The tls-alpn-01 certificate for one identifier: self-signed with a fresh P-256 key,
// subjectAltName the DNS name (or the IP address), and the critical id-pe-acmeIdentifier
// extension (1.3.6.1.5.5.7.1.31) holding the DER OCTET STRING of SHA-256(key_authorization).
std::shared_ptr<const CertifiedKey> tls_alpn_certificate(std::string_view identifier,
                                                         std::string_view key_authorization);

// DER PKCS#10 request signed by `key` with every name as a subjectAltName (DNS or IP) and
// the first DNS name (if any) as the subject CN.
std::string csr_der(const std::vector<std::string>& names, const EVP_PKEY& key);

// The name a tls-alpn-01 validation for `identifier` sends as SNI: the DNS name itself, or
// for an IP address its reverse-DNS name (RFC 8738 §6: 1.0.0.127.in-addr.arpa).
std::string tls_alpn_server_name(std::string_view identifier);

}  // namespace hookd::tls::acme
