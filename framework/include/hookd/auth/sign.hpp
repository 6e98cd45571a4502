// The sender's side of the hmac schemes: the headers a provider attaches to a body, made
// with a configured secret. Used by `hookd sign` and by hookd-bench, so both sign exactly
// as the verifiers expect.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hookd/config/config.hpp"
#include "hookd/crypto/hmac.hpp"

namespace hookd::auth {

struct Signed {
  std::vector<std::pair<std::string, std::string>> headers;
  std::string query;  // to append to the path (twilio with a JSON body)
};

// Signs with the first secret of an `hmac` item. Immutable once made; sign() is const and
// may be called from many threads (the HMAC key keeps one context per thread).
class HmacSigner {
 public:
  // Throws std::invalid_argument when the config cannot sign: no secret, an unknown scheme
  // or algorithm, a standard-webhooks secret that is not `whsec_` + base64.
  explicit HmacSigner(config::HmacAuthConfig config);

  // The headers for `body`. `id` is the event id for schemes that carry one in a header
  // (github X-GitHub-Delivery, standard-webhooks webhook-id, generic id_header), `type`
  // the event type where the scheme has a header for it (github X-GitHub-Event),
  // `unix_ts` the signing time in seconds. Throws std::invalid_argument for a twilio form
  // body that does not parse.
  Signed sign(std::string_view body, std::string_view id, std::string_view type,
              std::string_view unix_ts, std::string_view content_type) const;

  const std::string& scheme() const { return config_.scheme; }

 private:
  config::HmacAuthConfig config_;
  crypto::HmacKey key_;
};

// `Authorization: Basic base64(user:password)`.
std::string basic_authorization(std::string_view username, std::string_view password);

}  // namespace hookd::auth
