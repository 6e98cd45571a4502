// Internal to net/: the per-connection coroutines and what they share with the Server.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

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

class TlsStream;

// The open sessions of one I/O thread, so that shutdown can close the idle ones at once
// and wait for the busy ones. An entry lives in its session's coroutine frame: tracking
// a connection allocates nothing. add(), remove() and close_idle() run on the I/O thread
// (or once its context has stopped), size() anywhere.
class SessionTracker {
 public:
  struct Entry {
    TlsStream* stream = nullptr;
    bool idle = true;  // between requests: shutdown may close it
    Entry* prev = nullptr;
    Entry* next = nullptr;
  };
  SessionTracker() = default;
  SessionTracker(const SessionTracker&) = delete;
  SessionTracker& operator=(const SessionTracker&) = delete;

  void add(Entry& e);
  void remove(Entry& e);
  void close_idle();  // cancels the idle sessions' pending waits
  std::size_t size() const { return size_.load(std::memory_order_relaxed); }

 private:
  Entry* head_ = nullptr;
  std::atomic<std::size_t> size_{0};
};

struct SessionEnv {
  boost::asio::ssl::context& tls;
  metrics::Counter& handshake_failures;
  metrics::Gauge& open_connections;
  RequestEnv request;  // limits, draining, router, ... (net/request_loop.hpp)
};

// `tracker`: that of the I/O thread the socket belongs to.
boost::asio::awaitable<void> run_session(boost::asio::ip::tcp::socket socket, SessionEnv& env,
                                         SessionTracker& tracker);

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
