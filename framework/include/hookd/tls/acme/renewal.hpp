// When to renew and when to retry, as pure functions with the time passed in (certmagic's
// model): renew when a third of the lifetime remains or `renew_before` is reached, or in
// the CA's ARI window (RFC 9773) when it offers one; retry failures with exponential
// backoff and jitter, the first retry within a minute, capped at an hour.
#pragma once

#include <chrono>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "hookd/tls/certified_key.hpp"

namespace hookd::tls::acme {

using Duration = std::chrono::milliseconds;

struct RenewalWindow {
  SystemClock::time_point start;
  SystemClock::time_point end;
};

struct RenewalTime {
  SystemClock::time_point at;  // renew at or after this time
  // renew_before was at least the certificate's lifetime: it would renew in a loop, so the
  // default (a third of the lifetime) was used instead; the caller warns.
  bool renew_before_ignored = false;
};

// Without `ari`: not_after - renew_before, or (no renew_before) not_after - lifetime/3.
// With `ari`: a uniformly random time in the window (from `rng`), which wins over both.
RenewalTime renewal_time(const CertifiedKey& cert, std::optional<Duration> renew_before,
                         const std::optional<RenewalWindow>& ari, std::mt19937_64& rng);

// The delay before retry number `failures` (1 = after the first failure): 30 s·2^(n-1)
// capped at an hour, with ±25 % jitter from `rng` (never above the hour).
Duration retry_delay(int failures, std::mt19937_64& rng);

// The ARI certificate identifier: base64url(authorityKeyIdentifier keyIdentifier) "."
// base64url(DER serial number bytes), RFC 9773 §4.1. Empty when the certificate has no AKI.
std::string ari_certificate_id(const CertifiedKey& cert);

// {"suggestedWindow":{"start":"RFC3339","end":"RFC3339"}, ...}; nullopt when malformed or
// when end is not after start.
std::optional<RenewalWindow> parse_renewal_info(std::string_view json);

}  // namespace hookd::tls::acme
