// Router: path lookup, 404/405, and the per-route request counters.
#include "hookd/http/router.hpp"

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
  auto it = endpoints_.find(path);
  return it == endpoints_.end() ? nullptr : it->second.endpoint.get();
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
  auto it = endpoints_.find(path);
  if (it == endpoints_.end()) {
    count(unrouted_, kNoRoute, status);
  } else {
    count(it->second.counters, it->second.endpoint->name(), status);
  }
}

boost::asio::awaitable<Response> Router::handle(Request& request) const {
  auto it = endpoints_.find(request.path());
  Response r;
  if (it == endpoints_.end()) {
    r = Response::error(404, "no such route");
  } else if (!method_allowed(it->second.endpoint->allow(), request.method)) {
    r = Response::error(405, "method not allowed");
    r.headers.emplace_back("Allow", std::string(it->second.endpoint->allow()));
  } else {
    r = co_await it->second.endpoint->handle(request);
  }
  if (it == endpoints_.end()) {
    count(unrouted_, kNoRoute, r.status);
  } else {
    count(it->second.counters, it->second.endpoint->name(), r.status);
  }
  co_return r;
}

}  // namespace hookd::http
