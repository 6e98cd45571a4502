// Router: exact path → Endpoint, and the answers for unknown paths (404) and methods (405).
// Thread-safety: a Router is immutable after construction and shared by all sessions;
// a config reload builds a new one.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hookd/http/request.hpp"

namespace hookd::metrics {
class Registry;
class Counter;
}  // namespace hookd::metrics

namespace hookd::http {

// One thing reachable at one path. handle() runs on the session's strand; it must not
// block (no SQLite, no plugin calls): it awaits asynchronous work instead.
class Endpoint {
 public:
  virtual ~Endpoint() = default;
  // The methods it answers, as sent in `Allow` ("POST", "GET").
  virtual std::string_view allow() const { return "POST"; }
  // The label of its request metrics (the route name).
  virtual const std::string& name() const = 0;
  // Called with the head (no body yet) before the body is read and before `100 Continue`:
  // an answer refuses the request at once (the session then closes the connection), so
  // that no body is buffered for a sender that cannot pass. Runs on the session's strand;
  // must not block.
  virtual std::optional<Response> admit(const Request& /*head*/) { return std::nullopt; }
  // The largest body it takes, when smaller than server.limits.max_body (a longer one gets
  // 413 before it is read).
  virtual std::optional<std::size_t> body_limit() const { return std::nullopt; }
  // The whole request, once admit() let it through.
  virtual boost::asio::awaitable<Response> handle(Request& request) = 0;
};

class Router {
 public:
  explicit Router(metrics::Registry& metrics);
  void add(std::string path, std::shared_ptr<Endpoint> endpoint);

  const Endpoint* find(std::string_view path) const;
  // Before the body: 404, 405 or the endpoint's own refusal (counted), else nullopt.
  std::optional<Response> admit(const Request& head) const;
  // Routes, checks the method, runs the endpoint, counts the answer.
  boost::asio::awaitable<Response> handle(Request& request) const;
  // The body limit of the endpoint at `path`: its own, or `max_body` when it has none or a
  // larger one.
  std::size_t body_limit(std::string_view path, std::size_t max_body) const;
  // Counts an answer the session gave itself (413, 400 for a malformed request).
  void count(std::string_view path, unsigned status) const;

 private:
  // The request counters of one route for the usual statuses, looked up once, so that
  // counting an answer takes no lock; other statuses go through the registry.
  using Counters = std::vector<std::pair<unsigned, metrics::Counter*>>;
  struct Entry {
    std::shared_ptr<Endpoint> endpoint;
    Counters counters;
  };
  Counters make_counters(const std::string& route) const;
  void count(const Counters& counters, const std::string& route, unsigned status) const;
  void count(const Entry* entry, unsigned status) const;  // null: route "(none)"
  const Entry* entry(std::string_view path) const;        // null when no endpoint has it
  // 404 (no entry) or 405 (a method the entry does not allow); nullopt otherwise.
  static std::optional<Response> unroutable(const Entry* entry, const Request& request);

  metrics::Registry& metrics_;
  std::map<std::string, Entry, std::less<>> endpoints_;
  Counters unrouted_;  // route "(none)": unknown paths, malformed requests
};

}  // namespace hookd::http
