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

Router::Router(metrics::Registry& metrics) : metrics_(metrics) {}

void Router::add(std::string path, std::shared_ptr<Endpoint> endpoint) {
  endpoints_[std::move(path)] = std::move(endpoint);
}

const Endpoint* Router::find(std::string_view path) const {
  auto it = endpoints_.find(path);
  return it == endpoints_.end() ? nullptr : it->second.get();
}

void Router::count(std::string_view path, unsigned status) const {
  const Endpoint* e = find(path);
  metrics_
      .counter("hookd_http_requests_total", "Requests on the webhook listener by route and status.",
               {{"route", e ? e->name() : kNoRoute}, {"status", std::to_string(status)}})
      .inc();
}

boost::asio::awaitable<Response> Router::handle(Request& request) const {
  auto it = endpoints_.find(request.path());
  Response r;
  if (it == endpoints_.end()) {
    r = Response::error(404, "no such route");
  } else if (!method_allowed(it->second->allow(), request.method)) {
    r = Response::error(405, "method not allowed");
    r.headers.emplace_back("Allow", std::string(it->second->allow()));
  } else {
    r = co_await it->second->handle(request);
  }
  count(request.path(), r.status);
  co_return r;
}

}  // namespace hookd::http
