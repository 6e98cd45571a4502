// The listener's certificate slot and the ACME challenge responses it serves.
#include "hookd/tls/server_certificates.hpp"

#include "hookd/metrics/registry.hpp"

namespace hookd::tls {

ServerCertificates::ServerCertificates(metrics::Registry* metrics) : metrics_(metrics) {}

std::shared_ptr<const CertifiedKey> ServerCertificates::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

namespace {

constexpr std::string_view kExpiry = "hookd_tls_certificate_expiry_timestamp_seconds";

std::string names_label(const CertifiedKey& cert) {
  std::string names;
  for (const auto& n : cert.names) names += (names.empty() ? "" : ",") + n;
  return names;
}

}  // namespace

void ServerCertificates::set_current(std::shared_ptr<const CertifiedKey> cert) {
  if (!cert) return;
  std::lock_guard lock(mutex_);
  if (metrics_ != nullptr) {
    // One series, the served certificate's: an old one left behind would alert on a
    // certificate nobody serves any more.
    if (current_ && names_label(*current_) != names_label(*cert)) {
      metrics_->remove_gauge(kExpiry, {{"names", names_label(*current_)}});
    }
    metrics_
        ->gauge(kExpiry, "When the served TLS certificate expires (Unix time).",
                {{"names", names_label(*cert)}})
        .set(static_cast<double>(
            std::chrono::duration_cast<std::chrono::seconds>(cert->not_after.time_since_epoch())
                .count()));
  }
  current_ = std::move(cert);
  unavailable_.clear();
}

std::string ServerCertificates::unavailable_reason() const {
  std::lock_guard lock(mutex_);
  return current_ ? std::string() : unavailable_;
}

void ServerCertificates::set_unavailable_reason(std::string reason) {
  std::lock_guard lock(mutex_);
  unavailable_ = std::move(reason);
}

void ServerCertificates::add_challenge(const std::string& server_name,
                                       std::shared_ptr<const CertifiedKey> cert) {
  std::lock_guard lock(mutex_);
  challenges_[server_name] = std::move(cert);
}

void ServerCertificates::remove_challenge(const std::string& server_name) {
  std::lock_guard lock(mutex_);
  challenges_.erase(server_name);
}

std::shared_ptr<const CertifiedKey> ServerCertificates::challenge(
    std::string_view server_name) const {
  std::lock_guard lock(mutex_);
  auto it = challenges_.find(server_name);
  return it == challenges_.end() ? nullptr : it->second;
}

void ServerCertificates::add_token(const std::string& token, std::string key_authorization) {
  std::lock_guard lock(mutex_);
  tokens_[token] = std::move(key_authorization);
}

void ServerCertificates::remove_token(const std::string& token) {
  std::lock_guard lock(mutex_);
  tokens_.erase(token);
}

std::optional<std::string> ServerCertificates::token(std::string_view token) const {
  std::lock_guard lock(mutex_);
  auto it = tokens_.find(token);
  if (it == tokens_.end()) return std::nullopt;
  return it->second;
}

}  // namespace hookd::tls
