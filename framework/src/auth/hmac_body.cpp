// The schemes whose MAC covers the body alone: github (hex), shopify and docusign (base64).
// None has a timestamp; see docs/security.md for what protects them against replays.
#include "hmac_schemes.hpp"
#include "hookd/crypto/encoding.hpp"

namespace hookd::auth::hmac {
namespace {

// GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`. The legacy SHA-1
// `X-Hub-Signature` is not accepted.
class GitHub final : public Check {
 public:
  explicit GitHub(KeySet keys) : keys_(std::move(keys)) {}

  Result check(const http::Request& request, const Context&) const override {
    auto header = request.header("X-Hub-Signature-256");
    if (!header) return missing();
    std::string_view value = trim(*header);
    if (!value.starts_with("sha256=")) return bad_signature();
    auto presented = crypto::hex_decode(value.substr(7));
    if (!presented) return bad_signature();
    return matches(keys_.macs({request.body}), *presented) ? Result::ok() : bad_signature();
  }
  Result check_head(const http::Request& head, const Context&) const override {
    return require_headers(head, {"X-Hub-Signature-256"});
  }

 private:
  KeySet keys_;
};

// Shopify: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(secret, body)>`.
class Shopify final : public Check {
 public:
  explicit Shopify(KeySet keys) : keys_(std::move(keys)) {}

  Result check(const http::Request& request, const Context&) const override {
    auto header = request.header("X-Shopify-Hmac-Sha256");
    if (!header) return missing();
    auto presented = crypto::base64_decode(trim(*header));
    if (!presented) return bad_signature();
    return matches(keys_.macs({request.body}), *presented) ? Result::ok() : bad_signature();
  }
  Result check_head(const http::Request& head, const Context&) const override {
    return require_headers(head, {"X-Shopify-Hmac-Sha256"});
  }

 private:
  KeySet keys_;
};

// DocuSign Connect: one `X-DocuSign-Signature-<n>` header per active Connect key, each
// base64(HMAC-SHA256(key, body)). Any header matching any configured secret passes. Every
// header named so is considered (not only 1..10), up to kMaxHeaders of them.
class DocuSign final : public Check {
 public:
  explicit DocuSign(KeySet keys) : keys_(std::move(keys)) {}

  static constexpr std::string_view kPrefix = "X-DocuSign-Signature-";

  Result check(const http::Request& request, const Context&) const override {
    static constexpr std::size_t kMaxHeaders = 100;
    std::optional<Macs> macs;  // computed at the first signature header
    std::size_t seen = 0;
    bool ok = false;
    for (const auto& [name, value] : request.headers) {
      if (!starts_with_icase(name, kPrefix) || !numbered(name.substr(kPrefix.size()))) continue;
      if (++seen > kMaxHeaders) break;
      auto presented = crypto::base64_decode(trim(value));
      if (!presented) continue;
      if (!macs) macs = keys_.macs({request.body});
      ok |= matches(*macs, *presented);
    }
    if (seen == 0) return missing();
    return ok ? Result::ok() : bad_signature();
  }
  Result check_head(const http::Request& head, const Context&) const override {
    for (const auto& [name, value] : head.headers) {
      if (starts_with_icase(name, kPrefix) && numbered(name.substr(kPrefix.size()))) {
        return Result::ok();
      }
    }
    return missing();
  }

 private:
  static bool numbered(std::string_view suffix) {
    if (suffix.empty() || suffix.size() > 3) return false;
    for (char c : suffix) {
      if (c < '0' || c > '9') return false;
    }
    return true;
  }

  KeySet keys_;
};

}  // namespace

std::unique_ptr<Check> make_github(const config::HmacAuthConfig& c, const config::Location& w) {
  return std::make_unique<GitHub>(plain_keys(c, crypto::MacAlgorithm::sha256, w));
}

std::unique_ptr<Check> make_shopify(const config::HmacAuthConfig& c, const config::Location& w) {
  return std::make_unique<Shopify>(plain_keys(c, crypto::MacAlgorithm::sha256, w));
}

std::unique_ptr<Check> make_docusign(const config::HmacAuthConfig& c, const config::Location& w) {
  return std::make_unique<DocuSign>(plain_keys(c, crypto::MacAlgorithm::sha256, w));
}

}  // namespace hookd::auth::hmac
