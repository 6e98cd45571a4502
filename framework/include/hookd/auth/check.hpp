// The authentication middleware: one Check per auth item, and the Chain of a route.
// A Check never throws for a bad credential: it returns a Result with a reason.
// Thread-safety: check() is const and called concurrently from every I/O thread.
#pragma once

#include <chrono>
#include <memory>
#include <string_view>
#include <vector>

#include "hookd/http/request.hpp"

namespace hookd::auth {

enum class Verdict {
  pass,
  unauthorized,  // 401 (with a WWW-Authenticate challenge where the item has one)
  forbidden,     // 403 (source address not allowed)
};

struct Result {
  Verdict verdict = Verdict::pass;
  // A short label for metrics and logs, never a secret: missing_credentials,
  // bad_credentials, bad_signature, stale_timestamp, invalid_token, expired_token, ip_denied.
  std::string_view reason;
  // The WWW-Authenticate value to send, or empty: `Basic realm="hookd"`,
  // `Bearer error="invalid_token"`.
  std::string_view challenge;
  // A message id that the item authenticated (Standard Webhooks' `webhook-id`, a generic
  // template's {id}), pointing into the request; empty when the item signs none. The route
  // dedupes on it, so a replay cannot pass as a new event under another id header.
  std::string_view message_id;
  // Set by the combinators (Chain, `any`) from which items answered: `keyed` on a pass that
  // rests on a signature over the request (an hmac or signature item passed): a valid MAC
  // is no guess, so such a request is never throttled. `guess` on a failure of an item whose
  // secret can be guessed (basic, bearer): only those count toward the throttle.
  bool keyed = false;
  bool guess = false;

  static Result ok() { return {}; }
  static Result unauthorized(std::string_view reason, std::string_view challenge = {}) {
    return {Verdict::unauthorized, reason, challenge};
  }
  static Result forbidden(std::string_view reason) { return {Verdict::forbidden, reason, {}}; }
  bool passed() const { return verdict == Verdict::pass; }
};

// What a check may need besides the request: the time (tests fix it).
struct Context {
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
};

class Check {
 public:
  virtual ~Check() = default;
  virtual Result check(const http::Request& request, const Context& context) const = 0;
  // What can be decided from the head alone, before the body is read (and before
  // `100 Continue`): a failure, or pass meaning "nothing wrong so far". The default runs
  // check() on the head, which is the final answer of the items that never read the body
  // (basic, bearer, ip_allow); items that sign the body override it and check only that
  // their headers are present. check() runs on the whole request afterwards all the same.
  virtual Result check_head(const http::Request& head, const Context& context) const {
    return check(head, context);
  }
  // False when check_head() is the final answer (the item never reads the body), so that
  // Chain::check_body() need not run it again. True by default: a new item that forgets
  // to say so costs a second check, never a skipped one.
  virtual bool reads_body() const { return true; }
  // True for Chain and `any`, whose results say `keyed` and `guess` themselves; a single
  // item's are what reads_body() says (the items that read the body verify a signature).
  virtual bool combines() const { return false; }
};

// An item that never reads the body (basic, bearer, ip_allow): its head check is final.
class HeadCheck : public Check {
 public:
  Result check_head(const http::Request& head, const Context& context) const final {
    return check(head, context);
  }
  bool reads_body() const final { return false; }
};

// Every item must pass, in order; the first failure is the answer. An empty chain passes
// (a route with `auth: none`).
class Chain final : public Check {
 public:
  explicit Chain(std::vector<std::unique_ptr<Check>> items) : items_(std::move(items)) {}
  Result check(const http::Request& request, const Context& context) const override;
  Result check_head(const http::Request& head, const Context& context) const override;
  bool reads_body() const override;
  bool combines() const override { return true; }
  // After check_head() passed on this request's head: only the items that read the body
  // (a signature over it), each on the whole request. The same answer as check(), with
  // the head-only items (a bearer token's signature, Basic's digests) checked once.
  Result check_body(const http::Request& request, const Context& context) const;
  bool empty() const { return items_.empty(); }

 private:
  std::vector<std::unique_ptr<Check>> items_;
};

}  // namespace hookd::auth
