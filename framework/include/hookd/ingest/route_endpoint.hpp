// The endpoint of one webhook route: auth chain → extraction → outbox append → answer.
// Thread-safety: handle() may run concurrently on many sessions; the object is immutable.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "hookd/auth/check.hpp"
#include "hookd/auth/log_limiter.hpp"
#include "hookd/auth/throttle.hpp"
#include "hookd/config/config.hpp"
#include "hookd/http/router.hpp"
#include "hookd/outbox/writer.hpp"

namespace hookd::ingest {

class RouteEndpoint final : public http::Endpoint {
 public:
  // `writer`, `metrics` and `throttles` must outlive the endpoint. `chain` is the route's
  // auth; `throttles` count the failures whose secret can be guessed (basic, bearer) per
  // source and route, and per Basic user name (shared by all routes and kept across
  // reloads). A sender's event id longer than `max_event_id` bytes gets 400
  // (server.limits.max_event_id).
  RouteEndpoint(config::RouteConfig route, std::unique_ptr<auth::Chain> chain,
                outbox::Writer& writer, metrics::Registry& metrics,
                auth::RouteThrottles& throttles, std::size_t max_event_id);

  const std::string& name() const override { return route_.name; }
  // Before the body: the throttle and the auth items that need no body.
  std::optional<http::Response> admit(const http::Request& head) override;
  boost::asio::awaitable<http::Response> handle(http::Request& request) override;

 private:
  // 429 while the request's source is throttled on this route, or its Basic user name over
  // all routes and sources.
  std::optional<http::Response> throttled(const http::Request& request,
                                          const auth::Context& context);
  // The per-credential throttle's key: the request's Basic user name, on a route with a
  // basic item.
  std::optional<std::string> credential_key(const http::Request& request) const;
  http::Response refuse(const auth::Result& result, const http::Request& request,
                        const auth::Context& context);

  config::RouteConfig route_;
  std::unique_ptr<auth::Chain> chain_;
  outbox::Writer& writer_;
  metrics::Registry& metrics_;
  auth::RouteThrottles& throttles_;
  std::size_t max_event_id_;
  bool has_basic_;  // an item of the chain (or of an `any`) is basic
  metrics::Counter& throttled_;
  metrics::Counter& credential_throttled_;
  auth::LogLimiter refused_log_{std::chrono::seconds(1)};
};

// Awaits an append: resumes the calling coroutine on its own executor after the writer
// committed (or failed) the batch holding the event.
boost::asio::awaitable<outbox::AppendResult> async_append(outbox::Writer& writer,
                                                          outbox::NewEvent event);

// Header values stored as "[redacted]": credentials that must not sit in the database.
bool is_redacted_header(std::string_view name);

}  // namespace hookd::ingest
