// Router: path lookup, 404/405, and the per-route request counters.
#include "hookd/http/router.hpp"

#include <algorithm>
#include <string>

#include "hookd/metrics/registry.hpp"

namespace hookd::http {
namespace {
const std::string kNoRoute = "(none)";

// `allow` is a comma-separated token list such as "GET, POST".
bool method_allowed(std::string_view allow, std::string_view method) {
  while (!allow.empty()) {
    auto comma = allow.find(',');
    auto token = allow.substr(0, comma);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    if (token == method) return true;
    if (comma == std::string_view::npos) break;
    allow.remove_prefix(comma + 1);
  }
  return false;
}
}  // namespace

constexpr const char* kRequestsName = "hookd_http_requests_total";
constexpr const char* kRequestsHelp = "Requests on the webhook listener by route and status.";
constexpr unsigned kUsualStatuses[] = {200, 202, 400, 401, 403, 404, 405, 413, 429, 431, 500, 503};

Router::Router(metrics::Registry& metrics)
    : metrics_(metrics), unrouted_(make_counters(kNoRoute)) {}

Router::Counters Router::make_counters(const std::string& route) const {
  Counters out;
  for (unsigned status : kUsualStatuses) {
    out.emplace_back(status,
                     &metrics_.counter(kRequestsName, kRequestsHelp,
                                       {{"route", route}, {"status", std::to_string(status)}}));
  }
  return out;
}

void Router::add(std::string path, std::shared_ptr<Endpoint> endpoint) {
  auto counters = make_counters(endpoint->name());
  endpoints_[std::move(path)] = Entry{std::move(endpoint), std::move(counters)};
}

const Endpoint* Router::find(std::string_view path) const {
  const Entry* e = entry(path);
  return e == nullptr ? nullptr : e->endpoint.get();
}

std::size_t Router::body_limit(std::string_view path, std::size_t max_body) const {
  const Endpoint* e = find(path);
  const auto own = e == nullptr ? std::nullopt : e->body_limit();
  return own ? std::min(*own, max_body) : max_body;
}

void Router::count(const Counters& counters, const std::string& route, unsigned status) const {
  for (const auto& [s, counter] : counters) {
    if (s == status) {
      counter->inc();
      return;
    }
  }
  metrics_
      .counter(kRequestsName, kRequestsHelp, {{"route", route}, {"status", std::to_string(status)}})
      .inc();
}

void Router::count(std::string_view path, unsigned status) const {
  count(entry(path), status);
}

std::optional<Response> Router::unroutable(const Entry* entry, const Request& request) {
  if (entry == nullptr) return Response::error(404, "no such route");
  if (method_allowed(entry->endpoint->allow(), request.method)) return std::nullopt;
  Response r = Response::error(405, "method not allowed");
  r.headers.emplace_back("Allow", std::string(entry->endpoint->allow()));
  return r;
}

void Router::count(const Entry* entry, unsigned status) const {
  if (entry == nullptr) {
    count(unrouted_, kNoRoute, status);
  } else {
    count(entry->counters, entry->endpoint->name(), status);
  }
}

const Router::Entry* Router::entry(std::string_view path) const {
  auto it = endpoints_.find(path);
  return it == endpoints_.end() ? nullptr : &it->second;
}

std::optional<Response> Router::admit(const Request& head) const {
  const Entry* e = entry(head.path());
  std::optional<Response> r = unroutable(e, head);
  if (!r) r = e->endpoint->admit(head);
  if (r) count(e, r->status);
  return r;
}

boost::asio::awaitable<Response> Router::handle(Request& request) const {
  const Entry* e = entry(request.path());
  // No co_await inside a conditional expression: GCC 12 destroys its temporary twice.
  Response r;
  if (auto early = unroutable(e, request)) {
    r = std::move(*early);
  } else {
    r = co_await e->endpoint->handle(request);
  }
  count(e, r.status);
  co_return r;
}

}  // namespace hookd::http
