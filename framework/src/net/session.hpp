// Internal to net/: the per-connection coroutines and what they share with the Server.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "hookd/config/config.hpp"
#include "hookd/http/router.hpp"
#include "hookd/net/request_loop.hpp"
#include "hookd/tls/server_certificates.hpp"

namespace hookd::metrics {
class Registry;
class Counter;
class Gauge;
}  // namespace hookd::metrics

namespace hookd::net {

// The open sessions, so that shutdown can close the idle ones at once and wait for the
// busy ones. Each session registers a closer that cancels it if it is idle.
class SessionTracker {
 public:
  std::uint64_t add(std::function<void()> close_if_idle);
  void remove(std::uint64_t id);
  void close_idle();  // calls every closer
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::uint64_t next_ = 0;
  std::unordered_map<std::uint64_t, std::function<void()>> closers_;
};

struct SessionEnv {
  boost::asio::ssl::context& tls;
  SessionTracker& tracker;
  metrics::Counter& handshake_failures;
  metrics::Gauge& open_connections;
  RequestEnv request;  // limits, draining, router, ... (net/request_loop.hpp)
};

boost::asio::awaitable<void> run_session(boost::asio::ip::tcp::socket socket, SessionEnv& env);

struct AdminEnv {
  metrics::Registry& metrics;
  std::function<std::string()> unready;  // why /readyz is 503; empty: ready
};

boost::asio::awaitable<void> run_admin_session(boost::asio::ip::tcp::socket socket,
                                               AdminEnv& env);

struct AcmeHttpEnv {
  const tls::ServerCertificates& certificates;
  std::uint16_t https_port;  // where redirects point (the first webhook listener's port)
};

boost::asio::awaitable<void> run_acme_http_session(boost::asio::ip::tcp::socket socket,
                                                   AcmeHttpEnv& env);

}  // namespace hookd::net
