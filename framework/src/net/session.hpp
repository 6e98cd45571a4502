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
    // Waiting for the next request after one was answered (keep-alive): the first to be
    // closed when the listener is full (close_oldest_waiting).
    bool waiting = false;
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

  // A session's keep-alive wait begins and ends (sets entry.waiting).
  void wait_begins(Entry& e);
  void wait_ends(Entry& e);
  // From the accept loop (one thread): true, and one more eviction is claimed, when more
  // sessions wait than evictions are claimed already; then post close_oldest_waiting() to
  // the tracker's thread.
  bool claim_waiting();
  // Ends the keep-alive wait of the session that has been in this tracker longest among
  // those waiting (it closes, as after idle_timeout), and releases a claim; false when none
  // waits any more.
  bool close_oldest_waiting();

 private:
  Entry* head_ = nullptr;
  Entry* tail_ = nullptr;  // the oldest
  std::atomic<std::size_t> size_{0};
  std::atomic<std::size_t> waiting_{0};
  std::atomic<std::size_t> claimed_{0};
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
