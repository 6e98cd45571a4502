// The sender's side of each hmac scheme (see sign.hpp): the same message layouts the
// verifiers in hmac_*.cpp check, built from one configured secret.
#include "hookd/auth/sign.hpp"

#include <algorithm>
#include <stdexcept>

#include "hookd/auth/oauth.hpp"
#include "hookd/crypto/compare.hpp"
#include "hookd/crypto/encoding.hpp"

namespace hookd::auth {
namespace {

using A = crypto::MacAlgorithm;

crypto::HmacKey make_key(const config::HmacAuthConfig& c) {
  if (c.secrets.empty()) throw std::invalid_argument("hmac: no secret to sign with");
  const std::string& secret = c.secrets.front().str();
  if (c.scheme == "standard-webhooks") {
    auto key =
        secret.starts_with("whsec_") ? crypto::base64_decode(secret.substr(6)) : std::nullopt;
    if (!key) throw std::invalid_argument("standard-webhooks: the secret is not whsec_ + base64");
    return crypto::HmacKey(A::sha256, *key);
  }
  if (c.scheme == "twilio") return crypto::HmacKey(A::sha1, secret);
  if (c.scheme == "generic") {
    auto alg = crypto::parse_mac_algorithm(c.algorithm);
    if (!alg) throw std::invalid_argument("generic: unknown algorithm '" + c.algorithm + "'");
    return crypto::HmacKey(*alg, secret);
  }
  static const std::string_view kSha256Schemes[] = {"github", "stripe", "slack", "shopify",
                                                    "docusign"};
  if (std::find(std::begin(kSha256Schemes), std::end(kSha256Schemes), c.scheme) ==
      std::end(kSha256Schemes)) {
    throw std::invalid_argument("hmac: unknown scheme '" + c.scheme + "'");
  }
  return crypto::HmacKey(A::sha256, secret);
}

// application/x-www-form-urlencoded pairs sorted and concatenated as Twilio signs them.
std::string twilio_params(std::string_view body) {
  auto pairs = parse_form(body);
  if (!pairs) throw std::invalid_argument("twilio: the body is not valid form data");
  std::sort(pairs->begin(), pairs->end());
  std::string out;
  for (const auto& [k, v] : *pairs) out += k + v;
  return out;
}

std::string hex(const crypto::MacValue& m) {
  return crypto::hex_encode(m.view());
}
std::string b64(const crypto::MacValue& m) {
  return crypto::base64_encode(m.view());
}

}  // namespace

HmacSigner::HmacSigner(config::HmacAuthConfig config)
    : config_(std::move(config)), key_(make_key(config_)) {}

Signed HmacSigner::sign(std::string_view body, std::string_view id, std::string_view type,
                        std::string_view ts, std::string_view content_type) const {
  const std::string& s = config_.scheme;
  Signed out;
  auto add = [&out](std::string_view name, std::string value) {
    out.headers.emplace_back(std::string(name), std::move(value));
  };
  if (s == "github") {
    add("X-Hub-Signature-256", "sha256=" + hex(key_.mac(body)));
    add("X-GitHub-Delivery", std::string(id));
    add("X-GitHub-Event", std::string(type));
  } else if (s == "stripe") {
    add("Stripe-Signature", "t=" + std::string(ts) + ",v1=" + hex(key_.mac({ts, ".", body})));
  } else if (s == "standard-webhooks") {
    add("webhook-id", std::string(id));
    add("webhook-timestamp", std::string(ts));
    add("webhook-signature", "v1," + b64(key_.mac({id, ".", ts, ".", body})));
  } else if (s == "slack") {
    add("X-Slack-Request-Timestamp", std::string(ts));
    add("X-Slack-Signature", "v0=" + hex(key_.mac({"v0:", ts, ":", body})));
  } else if (s == "shopify") {
    add("X-Shopify-Hmac-Sha256", b64(key_.mac(body)));
  } else if (s == "docusign") {
    add("X-DocuSign-Signature-1", b64(key_.mac(body)));
  } else if (s == "twilio") {
    std::string url = config_.url;
    if (content_type.starts_with("application/x-www-form-urlencoded")) {
      url += twilio_params(body);
    } else {
      out.query = "bodySHA256=" + crypto::hex_encode(crypto::sha256(body));
      url += (url.find('?') == std::string::npos ? "?" : "&") + out.query;
    }
    add("X-Twilio-Signature", b64(key_.mac(url)));
  } else {  // generic
    std::string payload = config_.payload;
    auto replace = [&payload](std::string_view key, std::string_view value) {
      for (auto p = payload.find(key); p != std::string::npos;
           p = payload.find(key, p + value.size())) {
        payload.replace(p, key.size(), value);
      }
    };
    replace("{timestamp}", ts);
    replace("{id}", id);
    replace("{body}", body);
    auto m = key_.mac(payload);
    add(config_.header, config_.prefix + (config_.encoding == "base64" ? b64(m) : hex(m)));
    if (!config_.timestamp_header.empty()) add(config_.timestamp_header, std::string(ts));
    if (!config_.id_header.empty()) add(config_.id_header, std::string(id));
  }
  return out;
}

std::string basic_authorization(std::string_view username, std::string_view password) {
  std::string pair;
  pair.reserve(username.size() + 1 + password.size());
  pair.append(username).append(":").append(password);
  return "Basic " + crypto::base64_encode(pair);
}

}  // namespace hookd::auth
