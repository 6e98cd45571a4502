// Private to auth/: what the hmac schemes (hmac_*.cpp) and signature.cpp share — key sets
// for rotation, timestamp tolerance, header parsing helpers — and one factory per scheme.
#pragma once

#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/auth/check.hpp"
#include "hookd/auth/items.hpp"
#include "hookd/config/config.hpp"
#include "hookd/crypto/hmac.hpp"

namespace hookd::auth::hmac {

// The reasons these items report (labels for metrics and logs).
inline constexpr std::string_view kMissing = "missing_credentials";  // a required header absent
inline constexpr std::string_view kBadSignature = "bad_signature";   // malformed or no match
inline constexpr std::string_view kStale = "stale_timestamp";        // authentic, outside tolerance

inline Result missing() {
  return Result::unauthorized(kMissing);
}
inline Result bad_signature() {
  return Result::unauthorized(kBadSignature);
}
inline Result stale() {
  return Result::unauthorized(kStale);
}

// The MACs of one message under every key of a KeySet; inline for up to 4 keys.
using Macs = boost::container::small_vector<crypto::MacValue, 4>;

// The keys of one item; several at once for rotation. Immutable, shared by all threads.
class KeySet {
 public:
  KeySet() = default;
  explicit KeySet(std::vector<crypto::HmacKey> keys) : keys_(std::move(keys)) {}

  // The MAC of the pieces of `message` under each key, each computed once per request.
  Macs macs(std::span<const std::string_view> message) const;
  Macs macs(std::initializer_list<std::string_view> message) const {
    return macs(std::span<const std::string_view>(message.begin(), message.size()));
  }
  std::size_t size() const { return keys_.size(); }

 private:
  std::vector<crypto::HmacKey> keys_;
};

// True when `presented` (raw bytes, decoded from the header) equals one of `macs`.
// Every comparison is constant-time.
bool matches(const Macs& macs, std::string_view presented);

// An HmacKey, with OpenSSL's refusal of the algorithm turned into a BuildError (the message
// never holds the key).
crypto::HmacKey make_key(crypto::MacAlgorithm algorithm, std::string_view key,
                         const config::Location& where);

// The configured secrets as UTF-8 bytes (every hmac scheme but standard-webhooks).
// Throws BuildError when there is no secret.
KeySet plain_keys(const config::HmacAuthConfig& config, crypto::MacAlgorithm algorithm,
                  const config::Location& where);

// Unix seconds as sent in a timestamp header: 1 to 12 ASCII digits, nothing else.
std::optional<std::int64_t> parse_unix_seconds(std::string_view text);
// True when |now - t| <= tolerance (two-sided: stale and future timestamps both fail).
bool within_tolerance(std::int64_t unix_seconds, const Context& context,
                      config::Duration tolerance);

std::string_view trim(std::string_view text);  // spaces and tabs on both ends
bool starts_with_icase(std::string_view text, std::string_view prefix);

// missing() unless every one of `names` is present: the head check of the items that sign
// the body (Check::check_head).
Result require_headers(const http::Request& request,
                       std::initializer_list<std::string_view> names);

// Standard Webhooks' three headers (v1 and v1a), all of one family: `webhook-*` when any of
// them is present, else Svix's `svix-*`; never mixed, so a captured triple cannot be sent
// with another id header beside it. nullopt when the family is incomplete.
struct SignedMessageHeaders {
  std::string_view id;  // trimmed
  std::string_view timestamp;  // trimmed
  std::string_view signature;
};
std::optional<SignedMessageHeaders> standard_webhooks_headers(const http::Request& request);

// Factories, one per scheme; each validates its part of the config and throws BuildError.
std::unique_ptr<Check> make_github(const config::HmacAuthConfig& c, const config::Location& w);
std::unique_ptr<Check> make_shopify(const config::HmacAuthConfig& c, const config::Location& w);
std::unique_ptr<Check> make_docusign(const config::HmacAuthConfig& c, const config::Location& w);
std::unique_ptr<Check> make_stripe(const config::HmacAuthConfig& c, const config::Location& w);
std::unique_ptr<Check> make_slack(const config::HmacAuthConfig& c, const config::Location& w);
std::unique_ptr<Check> make_standard_webhooks(const config::HmacAuthConfig& c,
                                              const config::Location& w);
std::unique_ptr<Check> make_twilio(const config::HmacAuthConfig& c, const config::Location& w);
std::unique_ptr<Check> make_generic(const config::HmacAuthConfig& c, const config::Location& w);

}  // namespace hookd::auth::hmac
