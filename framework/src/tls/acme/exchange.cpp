// Signed ACME requests: nonce bookkeeping, badNonce retry and error mapping (RFC 8555 §6).
#include "exchange.hpp"

#include <spdlog/spdlog.h>

#include <boost/json/parse.hpp>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <utility>

namespace hookd::tls::acme {
namespace {

constexpr std::string_view kBadNonce = "urn:ietf:params:acme:error:badNonce";
// 5 % of Pebble's nonces are rejected on purpose and Boulder rejects stale ones; a few
// retries absorb that, more would hide a server that rejects every nonce.
constexpr int kBadNonceRetries = 4;

bool is_success(const HttpReply& reply) {
  return reply.status >= 200 && reply.status < 300;
}

[[noreturn]] void fail_reply(const HttpReply& reply, std::optional<Problem> problem,
                             const std::string& doing) {
  if (problem) {
    std::string what = doing + ": " + problem->summary();
    throw AcmeError(what, std::move(problem));
  }
  throw AcmeError(doing + ": HTTP " + std::to_string(reply.status) + " without a problem document");
}

}  // namespace

Exchange::Exchange(Transport& transport, KeyPtr account_key)
    : transport_(transport), account_key_(std::move(account_key)) {}

HttpReply Exchange::send_get(const std::string& url) {
  try {
    HttpReply reply = transport_.get(url);
    keep_nonce(reply);
    return reply;
  } catch (const TransportError& e) {
    throw AcmeError("cannot reach the ACME server at " + url + ": " + e.what());
  }
}

HttpReply Exchange::send_post(const std::string& url, const std::string& body) {
  try {
    HttpReply reply = transport_.post_jose(url, body);
    keep_nonce(reply);
    return reply;
  } catch (const TransportError& e) {
    throw AcmeError("cannot reach the ACME server at " + url + ": " + e.what());
  }
}

// Every answer, error or not, may carry a nonce (§6.5); keeping it saves a newNonce round
// trip for the next request.
void Exchange::keep_nonce(const HttpReply& reply) {
  if (std::string nonce = reply.header("replay-nonce"); !nonce.empty()) nonce_ = std::move(nonce);
}

std::string Exchange::take_nonce(const std::string& doing) {
  if (nonce_.empty()) {
    if (new_nonce_url_.empty()) throw AcmeError(doing + ": no newNonce URL (directory not read)");
    HttpReply reply = send_get(new_nonce_url_);
    if (!is_success(reply)) fail_reply(reply, parse_problem(reply.body), "newNonce");
    if (nonce_.empty()) throw AcmeError("newNonce: the answer has no Replay-Nonce");
  }
  return std::exchange(nonce_, std::string());
}

HttpReply Exchange::get(const std::string& url, const std::string& doing) {
  HttpReply reply = send_get(url);
  if (!is_success(reply)) fail_reply(reply, parse_problem(reply.body), doing);
  return reply;
}

HttpReply Exchange::post(const std::string& url, std::string_view payload, const std::string& doing,
                         bool with_jwk) {
  const JwsHeader header_template{url, {}, with_jwk ? std::string() : account_url_};
  for (int attempt = 0;; ++attempt) {
    JwsHeader header = header_template;
    header.nonce = take_nonce(doing);
    std::string jws;
    try {
      jws = sign_jws(*account_key_, header, payload);
    } catch (const std::exception& e) {
      throw AcmeError(doing + ": cannot sign the request: " + e.what());
    }
    HttpReply reply = send_post(url, jws);
    if (is_success(reply)) return reply;
    std::optional<Problem> problem = parse_problem(reply.body);
    // The error answer carries a fresh nonce (kept by send_post), so the retry is one
    // request, not two.
    if (problem && problem->type == kBadNonce && attempt < kBadNonceRetries) {
      spdlog::debug("ACME {}: badNonce, retrying with a fresh nonce", doing);
      continue;
    }
    fail_reply(reply, std::move(problem), doing);
  }
}

boost::json::object parse_object(const HttpReply& reply, const std::string& doing) {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(reply.body, ec);
  if (ec || !value.is_object()) throw AcmeError(doing + ": the answer is not a JSON object");
  return std::move(value.as_object());
}

std::string string_member(const boost::json::object& object, std::string_view key) {
  const boost::json::value* v = object.if_contains(key);
  if (v == nullptr || !v->is_string()) return {};
  return std::string(v->as_string());
}

std::optional<std::chrono::milliseconds> retry_after(const HttpReply& reply,
                                                     SystemClock::time_point now) {
  const std::string value = reply.header("retry-after");
  if (value.empty()) return std::nullopt;
  long long seconds = 0;
  const char* end = value.data() + value.size();
  const auto [ptr, ec] = std::from_chars(value.data(), end, seconds);
  if (ptr == end && ec == std::errc()) return std::chrono::seconds(std::max(seconds, 0LL));
  // Too many digits to count: longer than any cap the caller applies.
  if (ptr == end && ec == std::errc::result_out_of_range) return std::chrono::hours(24);
  std::tm tm{};
  const char* parsed = ::strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (parsed == nullptr || *parsed != '\0') return std::nullopt;
  const auto at = SystemClock::from_time_t(::timegm(&tm));
  if (at <= now) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(at - now);
}

}  // namespace hookd::tls::acme
