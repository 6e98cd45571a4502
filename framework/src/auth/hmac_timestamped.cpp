// The schemes that sign a timestamp with the body: stripe, slack, standard-webhooks (v1).
// Order of checks: headers present, signature, then tolerance — so `stale_timestamp` only
// ever reports an authentic request that is too old or too far in the future.
#include <openssl/crypto.h>

#include "hmac_schemes.hpp"
#include "hookd/crypto/encoding.hpp"

namespace hookd::auth::hmac {
namespace {

// Calls f(key, value) for each `key=value` item of a comma-separated header; items are
// trimmed and those without '=' skipped.
template <class F>
void for_each_pair(std::string_view header, F&& f) {
  while (!header.empty()) {
    auto comma = header.find(',');
    std::string_view item = trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    auto eq = item.find('=');
    if (eq != std::string_view::npos) f(item.substr(0, eq), item.substr(eq + 1));
  }
}

// Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...][,v0=...]`, HMAC-SHA256 with
// the secret's UTF-8 bytes (whsec_ included) over "{t}.{body}". Only v1 entries count.
class Stripe final : public Check {
 public:
  Stripe(KeySet keys, config::Duration tolerance) : keys_(std::move(keys)), tolerance_(tolerance) {}

  Result check(const http::Request& request, const Context& context) const override {
    auto header = request.header("Stripe-Signature");
    if (!header) return missing();
    std::optional<std::string_view> t;
    for_each_pair(*header, [&](std::string_view key, std::string_view value) {
      if (key == "t" && !t) t = value;
    });
    std::optional<std::int64_t> seconds;
    if (t) seconds = parse_unix_seconds(*t);
    if (!seconds) return bad_signature();
    std::optional<Macs> macs;  // computed at the first well-formed v1
    bool ok = false;
    for_each_pair(*header, [&](std::string_view key, std::string_view value) {
      if (key != "v1") return;
      auto presented = crypto::hex_decode(value);
      if (!presented) return;
      if (!macs) macs = keys_.macs({*t, ".", request.body});
      ok |= matches(*macs, *presented);
    });
    if (!ok) return bad_signature();
    if (!within_tolerance(*seconds, context, tolerance_)) return stale();
    return Result::ok();
  }
  Result check_head(const http::Request& head, const Context&) const override {
    return require_headers(head, {"Stripe-Signature"});
  }

 private:
  KeySet keys_;
  config::Duration tolerance_;
};

// Slack: `X-Slack-Signature: v0=<hex>` over "v0:{X-Slack-Request-Timestamp}:{body}".
class Slack final : public Check {
 public:
  Slack(KeySet keys, config::Duration tolerance) : keys_(std::move(keys)), tolerance_(tolerance) {}

  Result check(const http::Request& request, const Context& context) const override {
    auto signature = request.header("X-Slack-Signature");
    auto timestamp = request.header("X-Slack-Request-Timestamp");
    if (!signature || !timestamp) return missing();
    std::string_view ts = trim(*timestamp), value = trim(*signature);
    auto seconds = parse_unix_seconds(ts);
    if (!seconds || !value.starts_with("v0=")) return bad_signature();
    auto presented = crypto::hex_decode(value.substr(3));
    if (!presented) return bad_signature();
    if (!matches(keys_.macs({"v0:", ts, ":", request.body}), *presented)) return bad_signature();
    if (!within_tolerance(*seconds, context, tolerance_)) return stale();
    return Result::ok();
  }
  Result check_head(const http::Request& head, const Context&) const override {
    return require_headers(head, {"X-Slack-Signature", "X-Slack-Request-Timestamp"});
  }

 private:
  KeySet keys_;
  config::Duration tolerance_;
};

// Standard Webhooks: `webhook-signature: v1,<base64> [v1,<base64> ...]` (space-separated)
// over "{webhook-id}.{webhook-timestamp}.{body}", key = base64 after `whsec_`. Other
// versions (v1a: see signature.cpp) are skipped. Svix's `svix-*` header names are
// accepted when no `webhook-*` header is present (one family per request). The verified
// `webhook-id` is handed to the route as the event's dedupe id (Result::message_id).
class StandardWebhooks final : public Check {
 public:
  StandardWebhooks(KeySet keys, config::Duration tolerance)
      : keys_(std::move(keys)), tolerance_(tolerance) {}

  Result check(const http::Request& request, const Context& context) const override {
    auto headers = standard_webhooks_headers(request);
    if (!headers) return missing();
    const std::string_view ts = headers->timestamp, msg_id = headers->id;
    auto seconds = parse_unix_seconds(ts);
    if (!seconds || msg_id.empty()) return bad_signature();
    std::optional<Macs> macs;
    bool ok = false;
    std::string_view rest = headers->signature;
    while (!rest.empty()) {
      auto space = rest.find(' ');
      std::string_view entry = rest.substr(0, space);
      rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
      if (!entry.starts_with("v1,")) continue;
      auto presented = crypto::base64_decode(entry.substr(3));
      if (!presented) continue;
      if (!macs) macs = keys_.macs({msg_id, ".", ts, ".", request.body});
      ok |= matches(*macs, *presented);
    }
    if (!ok) return bad_signature();
    if (!within_tolerance(*seconds, context, tolerance_)) return stale();
    Result r;
    r.message_id = msg_id;
    return r;
  }
  Result check_head(const http::Request& head, const Context&) const override {
    return standard_webhooks_headers(head) ? Result::ok() : missing();
  }

 private:
  KeySet keys_;
  config::Duration tolerance_;
};

}  // namespace

std::unique_ptr<Check> make_stripe(const config::HmacAuthConfig& c, const config::Location& w) {
  return std::make_unique<Stripe>(plain_keys(c, crypto::MacAlgorithm::sha256, w), c.tolerance);
}

std::unique_ptr<Check> make_slack(const config::HmacAuthConfig& c, const config::Location& w) {
  return std::make_unique<Slack>(plain_keys(c, crypto::MacAlgorithm::sha256, w), c.tolerance);
}

std::unique_ptr<Check> make_standard_webhooks(const config::HmacAuthConfig& c,
                                              const config::Location& w) {
  if (c.secrets.empty()) throw BuildError(w, "hmac: 'secrets' needs at least one secret");
  std::vector<crypto::HmacKey> keys;
  for (std::size_t i = 0; i < c.secrets.size(); ++i) {
    const std::string& secret = c.secrets[i].str();
    std::string where = "hmac: secrets[" + std::to_string(i) + "]: ";
    if (!secret.starts_with("whsec_")) {
      throw BuildError(w, where + "standard-webhooks secrets start with whsec_");
    }
    auto key = crypto::base64_decode(std::string_view(secret).substr(6));
    if (!key) throw BuildError(w, where + "not valid base64 after whsec_");
    if (key->empty()) throw BuildError(w, where + "the key after whsec_ is empty");
    keys.push_back(make_key(crypto::MacAlgorithm::sha256, *key, w));
    OPENSSL_cleanse(key->data(), key->size());
  }
  return std::make_unique<StandardWebhooks>(KeySet(std::move(keys)), c.tolerance);
}

}  // namespace hookd::auth::hmac
