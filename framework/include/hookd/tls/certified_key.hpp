// A certificate chain with its private key, parsed and checked once; what a handshake
// serves. Immutable after construction: share it as shared_ptr<const CertifiedKey>.
#pragma once

#include <openssl/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hookd::tls {

using SystemClock = std::chrono::system_clock;

// Thread-safety: immutable; OpenSSL allows many handshakes to use the same X509 and
// EVP_PKEY at once (SSL_use_certificate/SSL_use_PrivateKey take their own references).
struct CertifiedKey {
  std::shared_ptr<X509> leaf;
  std::vector<std::shared_ptr<X509>> chain;  // intermediates, leaf excluded, in order
  std::shared_ptr<EVP_PKEY> key;
  SystemClock::time_point not_before;
  SystemClock::time_point not_after;
  std::vector<std::string> names;  // subjectAltName DNS names and IP addresses, as text
  std::string serial;              // hex, upper case (as `openssl x509 -serial`)
};

// Parses a PEM chain (leaf first, then intermediates) and a PEM private key. Throws
// std::runtime_error with a reason that never quotes the key: no certificate, a chain
// entry that does not parse, a key that does not parse or does not match the leaf, a
// leaf already expired at `now`.
std::shared_ptr<const CertifiedKey> parse_certified_key(std::string_view chain_pem,
                                                        std::string_view key_pem,
                                                        SystemClock::time_point now);

// Reads both files and parses them as above; the reason names the file that failed.
std::shared_ptr<const CertifiedKey> load_certified_key(const std::string& cert_path,
                                                       const std::string& key_path,
                                                       SystemClock::time_point now);

// Wraps already built objects (a challenge certificate); takes references.
std::shared_ptr<const CertifiedKey> make_certified_key(X509* leaf, EVP_PKEY* key);

// PEM of the leaf followed by the chain.
std::string chain_pem(const CertifiedKey& cert);

}  // namespace hookd::tls
