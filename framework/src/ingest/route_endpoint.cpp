// RouteEndpoint: turns an authenticated request into an outbox event and answers
// 202 accepted / 200 duplicate / 400 / 503 as the contract says.
#include "hookd/ingest/route_endpoint.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <algorithm>
#include <chrono>
#include <memory>

#include "hookd/auth/items.hpp"
#include "hookd/crypto/compare.hpp"
#include "hookd/crypto/encoding.hpp"
#include "hookd/ingest/extract.hpp"
#include "hookd/metrics/registry.hpp"
#include "hookd/log/fields.hpp"

namespace hookd::ingest {
namespace asio = boost::asio;

bool is_redacted_header(std::string_view name) {
  return http::iequals(name, "authorization") || http::iequals(name, "cookie") ||
         http::iequals(name, "proxy-authorization");
}

asio::awaitable<outbox::AppendResult> async_append(outbox::Writer& writer, outbox::NewEvent event) {
  auto initiate = [&writer](auto handler, outbox::NewEvent ev) {
    // The coroutine's handler is move-only and AppendCallback must be copyable: the
    // callback holds a plain pointer (which std::function stores without allocating) to
    // one allocation with the handler, its executor and the result. The writer calls it
    // exactly once; the post back to the session's executor owns it from then on.
    using Handler = decltype(handler);
    struct Op {
      Handler handler;
      asio::associated_executor_t<Handler> executor;
      outbox::AppendResult result;
    };
    auto executor = asio::get_associated_executor(handler);
    auto* op = new Op{std::move(handler), std::move(executor), {}};
    writer.append(std::move(ev), [op](outbox::AppendResult result) {
      op->result = std::move(result);
      asio::post(op->executor, [owned = std::unique_ptr<Op>(op)]() mutable {
        owned->handler(std::move(owned->result));
      });
    });
  };
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&,
                                          void(outbox::AppendResult)>(initiate, asio::use_awaitable,
                                                                      std::move(event));
}

namespace {

bool has_basic(const std::vector<config::AuthItemConfig>& items) {
  return std::any_of(items.begin(), items.end(), [](const config::AuthItemConfig& item) {
    return item.kind == config::AuthItemConfig::Kind::basic || has_basic(item.any);
  });
}

// The per-source throttle's key: route and source address (an IPv6 source by its prefix).
std::string throttle_key(const std::string& route, std::string_view peer, unsigned ipv6_prefix) {
  std::string key = auth::Throttle::peer_key(peer, ipv6_prefix);
  key += '@';
  key += route;
  return key;
}

}  // namespace

RouteEndpoint::RouteEndpoint(config::RouteConfig route, std::unique_ptr<auth::Chain> chain,
                             outbox::Writer& writer, metrics::Registry& metrics,
                             auth::RouteThrottles& throttles, std::size_t max_event_id)
    : route_(std::move(route)),
      chain_(std::move(chain)),
      writer_(writer),
      metrics_(metrics),
      throttles_(throttles),
      max_event_id_(max_event_id),
      has_basic_(has_basic(route_.auth.items)),
      throttled_(metrics.counter("hookd_auth_throttled_total",
                                 "Requests refused with 429 because their source failed "
                                 "authentication too often on this route.",
                                 {{"route", route_.name}})),
      credential_throttled_(metrics.counter(
          "hookd_auth_credential_throttled_total",
          "Requests refused with 429 because their credential (a Basic user name, an OAuth "
          "client id) failed too often over all sources: many sources failing at once.",
          {{"route", route_.name}})) {}

std::optional<std::string> RouteEndpoint::credential_key(const http::Request& request) const {
  if (!has_basic_) return std::nullopt;
  auto user = auth::basic_user(request);
  if (!user) return std::nullopt;
  // A user name can be as long as the header: a long one is counted by its digest.
  if (user->size() > 64) return "basic-sha256:" + crypto::hex_encode(crypto::sha256(*user));
  return "basic:" + *user;
}

std::optional<http::Response> RouteEndpoint::throttled(const http::Request& request,
                                                       const auth::Context& context) {
  std::chrono::seconds wait{0};
  bool by_credential = false;
  if (!throttles_.sources.empty()) {  // nobody is failing: no key to build
    wait = throttles_.sources.retry_after(
        throttle_key(route_.name, request.peer, throttles_.ipv6_prefix), context.now);
  }
  if (!throttles_.credentials.empty()) {
    if (auto key = credential_key(request)) {
      const auto credential_wait = throttles_.credentials.retry_after(*key, context.now);
      by_credential = credential_wait > wait;
      wait = std::max(wait, credential_wait);
    }
  }
  if (wait.count() == 0) return std::nullopt;
  (by_credential ? credential_throttled_ : throttled_).inc();
  auto r = http::Response::error(429, "too many failed authentications; retry later");
  r.headers.emplace_back("Retry-After", std::to_string(wait.count()));
  return r;
}

// The throttle guards secrets that can be guessed (basic, bearer). A route whose chain
// verifies a signature over the body is asked after its checks instead: a request whose
// signature verifies is never throttled (a valid MAC is no guess, and GitHub, Stripe and
// other senders share their source addresses among all their customers), and a throttled
// source gets 429 for every other answer, so that it learns nothing from a guess.
std::optional<http::Response> RouteEndpoint::admit(const http::Request& head) {
  auth::Context context;
  const bool signed_route = chain_->reads_body();
  if (!signed_route) {
    if (auto r = throttled(head, context)) return r;
  }
  if (auto verdict = chain_->check_head(head, context); !verdict.passed()) {
    if (signed_route) {
      if (auto r = throttled(head, context)) return r;
    }
    return refuse(verdict, head, context);
  }
  return std::nullopt;
}

http::Response RouteEndpoint::refuse(const auth::Result& result, const http::Request& request,
                                     const auth::Context& context) {
  metrics_
      .counter("hookd_auth_failures_total", "Requests refused by a route's auth chain.",
               {{"route", route_.name}, {"reason", std::string(result.reason)}})
      .inc();
  // A source that fails too often is throttled, where the secret can be guessed (basic,
  // bearer): not for a bad signature (a MAC is not guessed) or an address not allowed.
  bool blocked = false;
  if (result.guess) {
    blocked = throttles_.sources.record_failure(
        throttle_key(route_.name, request.peer, throttles_.ipv6_prefix), context.now);
    if (auto key = credential_key(request)) {
      blocked = throttles_.credentials.record_failure(*key, context.now) || blocked;
    }
  }
  // One line per second at most per route, so a flood of bad requests cannot flood the log.
  if (auto more = refused_log_.admit(context.now)) {
    log::Fields fields{{"route", route_.name}, {"peer", std::string(request.peer)}};
    spdlog::warn("route '{}': refused a request from {}: {}{}{}", route_.name, request.peer,
                 result.reason, blocked ? "; this source is throttled (429) for a while" : "",
                 *more ? fmt::format(" ({} more refused since the last line)", *more) : "");
  }
  if (result.verdict == auth::Verdict::forbidden) return http::Response::error(403, "forbidden");
  auto r = http::Response::error(401, "unauthorized");
  if (!result.challenge.empty()) r.headers.emplace_back("WWW-Authenticate", result.challenge);
  return r;
}

asio::awaitable<http::Response> RouteEndpoint::handle(http::Request& request) {
  // Nothing is parsed or stored before the sender is proven (the body size and the
  // timeouts were enforced by the session already).
  // admit() asked the throttle and ran the head checks, whose answers for basic, bearer
  // and ip_allow are final: here the items that sign the body.
  auth::Context context;
  const auth::Result verdict = chain_->check_body(request, context);
  if (chain_->reads_body() && !(verdict.passed() && verdict.keyed)) {
    // Passed without a signature (an `any` that took basic or bearer), or failed: the
    // throttle decides as it would have before the body (see admit).
    if (auto r = throttled(request, context)) co_return std::move(*r);
  }
  if (!verdict.passed()) co_return refuse(verdict, request, context);
  outbox::NewEvent event;
  {
    Extractor extract(request);
    std::string error;
    if (route_.event.id.kind == config::FieldRef::Kind::header && !verdict.message_id.empty()) {
      // The id the sender signed, whatever the id header is called in the config: an
      // unsigned header beside a captured signature cannot make a replay a new event.
      event.id = std::string(verdict.message_id);
    } else if (route_.event.id.set()) {
      auto id = extract.get(route_.event.id, error);
      if (!id) co_return http::Response::error(400, error);
      event.id = std::move(*id);
    } else {
      event.id = generate_event_id();
    }
    // A key of the store's index and a column of every listing: bounded.
    if (event.id.size() > max_event_id_) {
      co_return http::Response::error(
          400, fmt::format("event id ({}) is {} bytes, over the limit of {} "
                           "(server.limits.max_event_id)",
                           route_.event.id.text, event.id.size(), max_event_id_));
    }
    if (route_.event.type.set()) {
      auto type = extract.get(route_.event.type, error);
      if (!type) co_return http::Response::error(400, error);
      event.type = std::move(*type);
    }
    // One delivery per handler whose types match. A missing ordering key leaves that
    // delivery unordered rather than refusing an event the sender signed correctly.
    for (const config::HandlerConfig& h : route_.handlers) {
      if (!h.matches(event.type)) continue;
      outbox::NewDelivery delivery{h.plugin, {}};
      if (h.ordered_by.set()) {
        std::string ignored;
        if (auto key = extract.get(h.ordered_by, ignored)) delivery.ordering_key = std::move(*key);
      }
      event.deliveries.push_back(std::move(delivery));
    }
  }
  event.route = route_.name;
  event.test = route_.test;
  event.received_at_us = outbox::unix_now_us();
  event.headers.reserve(request.headers.size());
  for (const auto& [name, value] : request.headers) {
    event.headers.push_back({std::string(name), is_redacted_header(name) ? std::string("[redacted]")
                                                                         : std::string(value)});
  }
  event.body = std::move(request.body);
  std::string id = event.id;

  auto result = co_await async_append(writer_, std::move(event));
  auto quoted = boost::json::serialize(boost::json::string(id));
  switch (result.status) {
    case outbox::AppendStatus::accepted:
      co_return http::Response::json(202, "{\"status\":\"accepted\",\"id\":" + quoted + "}");
    case outbox::AppendStatus::duplicate:
      co_return http::Response::json(200, "{\"status\":\"duplicate\",\"id\":" + quoted + "}");
    case outbox::AppendStatus::unavailable:
      break;
  }
  auto r = http::Response::error(503, "storage unavailable, retry later");
  r.headers.emplace_back("Retry-After", "5");
  co_return r;
}

}  // namespace hookd::ingest
