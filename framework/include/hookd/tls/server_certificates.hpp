// What the webhook listener serves in a handshake: the current certificate (from files or
// ACME), and while an ACME order is validated, the tls-alpn-01 challenge certificates and
// http-01 tokens. Sources write here; the listener only reads (net/tls_context.cpp).
// Thread-safety: every member may be called from any thread (one mutex, held briefly:
// handshakes copy a shared_ptr out).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "hookd/tls/certified_key.hpp"

namespace hookd::metrics {
class Registry;
}

namespace hookd::tls {

class ServerCertificates {
 public:
  // `metrics` (may be null) gets hookd_tls_certificate_expiry_timestamp_seconds{names}.
  explicit ServerCertificates(metrics::Registry* metrics = nullptr);

  // The certificate for new handshakes; null until a source has one.
  std::shared_ptr<const CertifiedKey> current() const;
  // Swaps the certificate for new handshakes; open connections keep the one they got.
  // Null is ignored (there is no way back to "no certificate").
  void set_current(std::shared_ptr<const CertifiedKey> cert);

  // Why there is no certificate to serve ("waiting for the first ACME certificate: …"),
  // empty once there is one. /readyz answers 503 with it.
  std::string unavailable_reason() const;
  void set_unavailable_reason(std::string reason);

  // tls-alpn-01: the certificate for a handshake with ALPN acme-tls/1 and SNI
  // `server_name` (lower case; see acme::tls_alpn_server_name).
  void add_challenge(const std::string& server_name, std::shared_ptr<const CertifiedKey> cert);
  void remove_challenge(const std::string& server_name);
  std::shared_ptr<const CertifiedKey> challenge(std::string_view server_name) const;

  // http-01: the key authorization served at /.well-known/acme-challenge/<token>.
  void add_token(const std::string& token, std::string key_authorization);
  void remove_token(const std::string& token);
  std::optional<std::string> token(std::string_view token) const;

 private:
  metrics::Registry* metrics_;
  mutable std::mutex mutex_;
  std::shared_ptr<const CertifiedKey> current_;
  std::string unavailable_;
  std::map<std::string, std::shared_ptr<const CertifiedKey>, std::less<>> challenges_;
  std::map<std::string, std::string, std::less<>> tokens_;
};

}  // namespace hookd::tls
