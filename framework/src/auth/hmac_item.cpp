// make_hmac: picks the scheme; and the helpers every scheme shares (keys, timestamps).
#include <charconv>
#include <cstdlib>
#include <stdexcept>

#include "hmac_schemes.hpp"
#include "hookd/crypto/compare.hpp"

namespace hookd::auth {
namespace hmac {

Macs KeySet::macs(std::span<const std::string_view> message) const {
  Macs out;
  for (const auto& key : keys_) out.push_back(key.mac(message));
  return out;
}

bool matches(const Macs& macs, std::string_view presented) {
  bool found = false;
  for (const auto& mac : macs) found |= crypto::constant_time_equal(mac.view(), presented);
  return found;
}

KeySet plain_keys(const config::HmacAuthConfig& config, crypto::MacAlgorithm algorithm,
                  const config::Location& where) {
  if (config.secrets.empty()) {
    throw BuildError(where, "hmac: 'secrets' needs at least one secret");
  }
  std::vector<crypto::HmacKey> keys;
  for (std::size_t i = 0; i < config.secrets.size(); ++i) {
    if (config.secrets[i].empty()) {
      throw BuildError(where, "hmac: secrets[" + std::to_string(i) + "] is empty");
    }
    keys.push_back(make_key(algorithm, config.secrets[i].str(), where));
  }
  return KeySet(std::move(keys));
}

crypto::HmacKey make_key(crypto::MacAlgorithm algorithm, std::string_view key,
                         const config::Location& where) {
  try {
    return crypto::HmacKey(algorithm, key);
  } catch (const std::runtime_error& e) {  // OpenSSL refused the digest (e.g. FIPS and SHA-1)
    throw BuildError(where, std::string("hmac: ") + e.what());
  }
}

std::optional<std::int64_t> parse_unix_seconds(std::string_view text) {
  if (text.empty() || text.size() > 12) return std::nullopt;
  std::int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

bool within_tolerance(std::int64_t unix_seconds, const Context& context,
                      config::Duration tolerance) {
  using std::chrono::milliseconds;
  std::int64_t now_ms =
      std::chrono::duration_cast<milliseconds>(context.now.time_since_epoch()).count();
  std::int64_t skew_ms = now_ms - unix_seconds * 1000;
  return std::llabs(skew_ms) <= tolerance.count();
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool starts_with_icase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && http::iequals(text.substr(0, prefix.size()), prefix);
}

Result require_headers(const http::Request& request,
                       std::initializer_list<std::string_view> names) {
  for (auto name : names) {
    if (!request.header(name)) return missing();
  }
  return Result::ok();
}

std::optional<SignedMessageHeaders> standard_webhooks_headers(const http::Request& request) {
  for (std::string_view family : {"webhook-", "svix-"}) {
    const std::string prefix(family);
    auto id = request.header(prefix + "id");
    auto timestamp = request.header(prefix + "timestamp");
    auto signature = request.header(prefix + "signature");
    if (id || timestamp || signature) {
      if (!id || !timestamp || !signature) return std::nullopt;
      return SignedMessageHeaders{trim(*id), trim(*timestamp), *signature};
    }
  }
  return std::nullopt;
}

}  // namespace hmac

std::unique_ptr<Check> make_hmac(const config::HmacAuthConfig& config,
                                 const config::Location& where) {
  const std::string& s = config.scheme;
  if (s == "github") return hmac::make_github(config, where);
  if (s == "stripe") return hmac::make_stripe(config, where);
  if (s == "standard-webhooks") return hmac::make_standard_webhooks(config, where);
  if (s == "slack") return hmac::make_slack(config, where);
  if (s == "shopify") return hmac::make_shopify(config, where);
  if (s == "docusign") return hmac::make_docusign(config, where);
  if (s == "twilio") return hmac::make_twilio(config, where);
  if (s == "generic") return hmac::make_generic(config, where);
  throw BuildError(where, "hmac: unknown scheme '" + s +
                              "' (expected github, stripe, standard-webhooks, slack, shopify, "
                              "docusign, twilio or generic)");
}

}  // namespace hookd::auth
