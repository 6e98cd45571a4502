// One request to the ACME server with what RFC 8555 wraps around it: the JWS (jwk or kid),
// the Replay-Nonce pool with badNonce retry, and non-2xx answers turned into AcmeError.
// Private to the client; thread-safety: one thread at a time, like the Client.
#pragma once

#include <boost/json/object.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "hookd/tls/acme/client.hpp"

namespace hookd::tls::acme {

class Exchange {
 public:
  Exchange(Transport& transport, KeyPtr account_key);

  void set_new_nonce_url(std::string url) { new_nonce_url_ = std::move(url); }
  void set_account_url(std::string url) { account_url_ = std::move(url); }
  const EVP_PKEY& account_key() const { return *account_key_; }

  // A 2xx answer, or AcmeError "<doing>: <problem summary>" (or the transport's failure).
  HttpReply get(const std::string& url, const std::string& doing);
  // A JWS POST (an empty payload is POST-as-GET). Signed with `kid` once the account URL is
  // known, with `jwk` before that or when `with_jwk` (newAccount always uses jwk, §6.2).
  HttpReply post(const std::string& url, std::string_view payload, const std::string& doing,
                 bool with_jwk = false);

 private:
  HttpReply send_get(const std::string& url);
  HttpReply send_post(const std::string& url, const std::string& body);
  void keep_nonce(const HttpReply& reply);
  std::string take_nonce(const std::string& doing);

  Transport& transport_;
  KeyPtr account_key_;
  std::string new_nonce_url_;
  std::string account_url_;
  std::string nonce_;  // the newest unused Replay-Nonce; empty when spent
};

// The body as a JSON object, or AcmeError "<doing>: the answer is not a JSON object".
boost::json::object parse_object(const HttpReply& reply, const std::string& doing);
// The string member `key` of `object`, empty when absent or not a string.
std::string string_member(const boost::json::object& object, std::string_view key);

// Retry-After as a delay from `now`: delta-seconds or an HTTP date (RFC 9110 §10.2.3);
// nullopt when absent or unreadable. A date in the past is a zero delay.
std::optional<std::chrono::milliseconds> retry_after(const HttpReply& reply,
                                                     SystemClock::time_point now);

}  // namespace hookd::tls::acme
