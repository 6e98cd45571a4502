// make_signature: asymmetric webhook signatures — SendGrid (ECDSA P-256) and Standard
// Webhooks v1a (Ed25519). Public keys are parsed and their type checked at build time.
#include "hmac_schemes.hpp"
#include "hookd/crypto/encoding.hpp"
#include "hookd/crypto/keys.hpp"

namespace hookd::auth {
namespace {

using hmac::bad_signature;
using hmac::missing;
using hmac::stale;

// Any key verifying the signature passes.
bool any_verifies(const std::vector<crypto::PublicKey>& keys,
                  std::initializer_list<std::string_view> message, std::string_view signature) {
  for (const auto& key : keys) {
    if (key.verify(message, signature)) return true;
  }
  return false;
}

// SendGrid Event Webhook: `X-Twilio-Email-Event-Webhook-Signature` (base64 DER ECDSA
// P-256/SHA-256) over `X-Twilio-Email-Event-Webhook-Timestamp` + body.
class SendGrid final : public Check {
 public:
  SendGrid(std::vector<crypto::PublicKey> keys, config::Duration tolerance)
      : keys_(std::move(keys)), tolerance_(tolerance) {}

  Result check(const http::Request& request, const Context& context) const override {
    auto signature = request.header("X-Twilio-Email-Event-Webhook-Signature");
    auto timestamp = request.header("X-Twilio-Email-Event-Webhook-Timestamp");
    if (!signature || !timestamp) return missing();
    std::string_view ts = hmac::trim(*timestamp);
    auto seconds = hmac::parse_unix_seconds(ts);
    if (!seconds) return bad_signature();
    auto der = crypto::base64_decode(hmac::trim(*signature));
    if (!der) return bad_signature();
    if (!any_verifies(keys_, {ts, request.body}, *der)) return bad_signature();
    if (!hmac::within_tolerance(*seconds, context, tolerance_)) return stale();
    return Result::ok();
  }
  Result check_head(const http::Request& head, const Context&) const override {
    return hmac::require_headers(head, {"X-Twilio-Email-Event-Webhook-Signature",
                                        "X-Twilio-Email-Event-Webhook-Timestamp"});
  }

 private:
  std::vector<crypto::PublicKey> keys_;
  config::Duration tolerance_;
};

// Standard Webhooks asymmetric: `webhook-signature: v1a,<base64 Ed25519> [...]` over
// "{webhook-id}.{webhook-timestamp}.{body}"; `v1,` entries (hmac) are skipped, `svix-*`
// names accepted when no `webhook-*` header is present; the verified id is the dedupe id.
class StandardWebhooksV1a final : public Check {
 public:
  StandardWebhooksV1a(std::vector<crypto::PublicKey> keys, config::Duration tolerance)
      : keys_(std::move(keys)), tolerance_(tolerance) {}

  Result check(const http::Request& request, const Context& context) const override {
    auto headers = hmac::standard_webhooks_headers(request);
    if (!headers) return missing();
    const std::string_view ts = headers->timestamp, msg_id = headers->id;
    auto seconds = hmac::parse_unix_seconds(ts);
    if (!seconds || msg_id.empty()) return bad_signature();
    // Each entry costs a full verification: look at a bounded number of them.
    static constexpr int kMaxEntries = 8;
    int tried = 0;
    bool ok = false;
    std::string_view rest = headers->signature;
    while (!ok && !rest.empty() && tried < kMaxEntries) {
      auto space = rest.find(' ');
      std::string_view entry = rest.substr(0, space);
      rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
      if (!entry.starts_with("v1a,")) continue;
      auto raw = crypto::base64_decode(entry.substr(4));
      if (!raw || raw->size() != 64) continue;
      ++tried;
      ok = any_verifies(keys_, {msg_id, ".", ts, ".", request.body}, *raw);
    }
    if (!ok) return bad_signature();
    if (!hmac::within_tolerance(*seconds, context, tolerance_)) return stale();
    Result r;
    r.message_id = msg_id;
    return r;
  }
  Result check_head(const http::Request& head, const Context&) const override {
    return hmac::standard_webhooks_headers(head) ? Result::ok() : missing();
  }

 private:
  std::vector<crypto::PublicKey> keys_;
  config::Duration tolerance_;
};

std::vector<crypto::PublicKey> parse_keys(const config::SignatureAuthConfig& c,
                                          crypto::PublicKey::Type type, std::string_view expected,
                                          const config::Location& w) {
  if (c.public_keys.empty())
    throw BuildError(w, "signature: missing the required key 'public_key'");
  std::vector<crypto::PublicKey> keys;
  for (std::size_t i = 0; i < c.public_keys.size(); ++i) {
    std::string where = "signature: public_key";
    if (c.public_keys.size() > 1) where += "[" + std::to_string(i) + "]";
    std::string error;
    auto key = crypto::PublicKey::parse(c.public_keys[i], error);
    if (!key) throw BuildError(w, where + ": " + error);
    if (key->type() != type) {
      throw BuildError(
          w, where + ": scheme " + c.scheme + " needs " + std::string(expected) +
                 " keys, this is " +
                 (key->type() == crypto::PublicKey::Type::ed25519 ? "an Ed25519" : "an EC P-256") +
                 " key");
    }
    keys.push_back(std::move(*key));
  }
  return keys;
}

}  // namespace

std::unique_ptr<Check> make_signature(const config::SignatureAuthConfig& config,
                                      const config::Location& where) {
  using Type = crypto::PublicKey::Type;
  if (config.scheme == "sendgrid") {
    return std::make_unique<SendGrid>(parse_keys(config, Type::ec_p256, "EC P-256", where),
                                      config.tolerance);
  }
  if (config.scheme == "standard-webhooks") {
    return std::make_unique<StandardWebhooksV1a>(
        parse_keys(config, Type::ed25519, "Ed25519", where), config.tolerance);
  }
  throw BuildError(where, "signature: unknown scheme '" + config.scheme +
                              "' (expected sendgrid or standard-webhooks)");
}

}  // namespace hookd::auth
