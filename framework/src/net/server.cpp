// Server: binds listeners, runs one io_context per I/O thread and hands each accepted
// connection to one of them (round robin), and drains on SIGTERM/SIGINT.
#include "hookd/auth/throttle.hpp"
#include "hookd/net/server.hpp"

#include <unordered_map>
#include <mutex>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "hookd/config/address.hpp"
#include "hookd/log/failure_log.hpp"
#include "hookd/log/thread_name.hpp"
#include "hookd/metrics/registry.hpp"
#include "hookd/net/tls.hpp"
#include "session.hpp"

namespace hookd::net {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// A validated listen address (config/address) → endpoints; a name may resolve to several.
std::vector<tcp::endpoint> resolve_listen(asio::io_context& ioc, const std::string& text) {
  auto addr = config::parse_listen_address(text);
  if (!addr) throw std::runtime_error("bad listen address " + text);
  tcp::resolver resolver(ioc);
  boost::system::error_code ec;
  auto results = resolver.resolve(addr->host, std::to_string(addr->port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec) throw std::runtime_error("cannot resolve listen address " + text + ": " + ec.message());
  std::vector<tcp::endpoint> out;
  for (const auto& r : results) {
    if (std::find(out.begin(), out.end(), r.endpoint()) == out.end()) out.push_back(r.endpoint());
  }
  return out;
}

tcp::acceptor bind(asio::io_context& ioc, const tcp::endpoint& ep, const std::string& text) {
  tcp::acceptor acceptor(ioc);
  boost::system::error_code ec;
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec && ep.address().is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + text + ": " + ec.message());
  return acceptor;
}

std::string describe(const tcp::endpoint& ep) {
  return ep.address().is_v6() ? "[" + ep.address().to_string() + "]:" + std::to_string(ep.port())
                              : ep.address().to_string() + ":" + std::to_string(ep.port());
}

// An adopted socket is an already listening descriptor: only the protocol is needed.
tcp::acceptor adopt_socket(asio::io_context& ioc, const service::PassedSocket& s) {
  tcp::acceptor acceptor(ioc);
  boost::system::error_code ec;
  acceptor.assign(s.ipv6 ? tcp::v6() : tcp::v4(), s.fd, ec);
  if (ec) throw std::runtime_error("cannot serve on the passed socket " + s.describe() + ": " +
                                   ec.message());
  return acceptor;
}

bool same_address(const service::PassedSocket& s, const tcp::endpoint& ep) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(s.address, ec);
  return !ec && address == ep.address() && s.port == ep.port();
}

// RLIMIT_NOFILE's soft value (serve raised it to the hard one), or no limit.
std::uint64_t descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return std::numeric_limits<std::uint64_t>::max();
  }
  return limit.rlim_cur;
}

unsigned io_thread_count(const config::Config& config) {
  unsigned n = config.server.io_threads;
  return n != 0 ? n : std::max(1u, std::thread::hardware_concurrency());
}

// Runs `context` until it stops. An exception out of a handler is logged and the loop goes
// on (Asio lets run() be called again after one): one bad connection must not end the
// process. Only stop() ends it.
void run_context(asio::io_context& context) {
  for (;;) {
    try {
      context.run();
      return;
    } catch (const std::exception& e) {
      spdlog::error("I/O thread: unexpected exception, serving on: {}", e.what());
    } catch (...) {
      spdlog::error("I/O thread: unexpected exception, serving on");
    }
  }
}

// Logs an exception that ended a connection's coroutine (it is closed; nothing else is).
void log_session_end(std::exception_ptr e, const char* listener) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& err) {
    spdlog::error("a connection on {} ended with an exception: {}", listener, err.what());
  } catch (...) {
    spdlog::error("a connection on {} ended with an exception", listener);
  }
}

}  // namespace

std::size_t webhook_connection_cap(const config::Config& cfg, std::uint64_t nofile) {
  const auto& limits = cfg.server.limits;
  std::uint64_t kept = kDescriptorReserve;
  if (!cfg.admin.listen.empty()) kept += limits.max_admin_connections;
  const auto& acme = cfg.server.tls.acme;
  if (acme && acme->challenge == config::AcmeConfig::Challenge::http_01) {
    kept += limits.max_acme_http_connections;
  }
  const std::uint64_t room = nofile > kept ? nofile - kept : 1;
  return static_cast<std::size_t>(std::min<std::uint64_t>(limits.max_connections, room));
}

struct Server::Impl {
  Impl(const config::Config& cfg, std::shared_ptr<const http::Router> r, metrics::Registry& m,
       tls::ServerCertificates& certs, std::function<std::string()> store_unavailable)
      : config(cfg),
        metrics(m),
        certificates(certs),
        tls(make_server_tls_context(cfg.server.tls, certs)),
        router(std::move(r)),
        session_env{tls,
                    m.counter("hookd_tls_handshake_failures_total", "Failed TLS handshakes."),
                    m.gauge("hookd_connections_open", "Open webhook connections."),
                    {config.server.limits, draining, [this] { return current_router(); },
                     m.counter("hookd_http_request_body_bytes_total",
                               "Request body bytes received on the webhook listener."),
                     bodies}},
        admin_env{m,
                  [this, store = std::move(store_unavailable)]() -> std::string {
                    if (draining.load()) return "draining";
                    if (!listening.load()) return "the listeners are not bound yet";
                    if (auto why = certificates.unavailable_reason(); !why.empty()) return why;
                    return store();
                  }},
        accepted(m.counter("hookd_connections_accepted_total", "Accepted webhook connections.")),
        rejected(m.counter("hookd_connections_rejected_total",
                           "Connections closed at once because max_connections was reached.")),
        source_rejected(m.counter(
            "hookd_connections_rejected_per_source_total",
            "Webhook connections closed at once because their source held "
            "server.limits.max_connections_per_source already.")),
        idle_closed(m.counter("hookd_idle_connections_closed_total",
                              "Idle keep-alive webhook connections closed to make room for a new "
                              "one (max_connections reached).")),
        admin_rejected(m.counter("hookd_listener_connections_rejected_total",
                                 "Connections closed at once because their plain-HTTP listener "
                                 "was full (server.limits.max_admin_connections, "
                                 "max_acme_http_connections).",
                                 {{"listener", "admin"}})),
        acme_http_rejected(m.counter("hookd_listener_connections_rejected_total", "",
                                     {{"listener", "acme-http"}})),
        webhook_cap(webhook_connection_cap(cfg, descriptor_limit())),
        // Of the connections the listener may really hold (the descriptor limit may leave
        // fewer than max_connections).
        per_source_cap(cfg.server.limits.max_connections_per_source != 0
                           ? cfg.server.limits.max_connections_per_source
                           : std::max<std::size_t>(1, webhook_cap / 4)),
        threads(make_threads(io_thread_count(cfg), m)),
        ioc(*threads.front().context) {}

  // One per I/O thread: an io_context run by that thread alone, so a connection's handlers
  // (it lives on one context from accept to close) need no strand and no request hops
  // between threads; the outbox writer's completion wakes the connection's own thread.
  struct IoThread {
    // Before the context: destroying a context destroys the sessions still on it, which
    // leave the tracker.
    std::unique_ptr<SessionTracker> tracker;
    std::unique_ptr<asio::io_context> context;
    metrics::Gauge* connections;  // open webhook connections served by this thread
  };
  static std::vector<IoThread> make_threads(unsigned n, metrics::Registry& m) {
    std::vector<IoThread> out;
    for (unsigned i = 0; i < n; ++i) {
      // Concurrency hint 1: one thread runs it (handlers it posts to itself take no lock).
      auto context = std::make_unique<asio::io_context>(1);
      // Asio makes a context's reactor (epoll, eventfd, timerfd: three descriptors) when
      // its first socket or timer is made. Made here, at startup, where a failure is an
      // error that names itself, not at the first connection accepted onto this thread,
      // which under descriptor exhaustion would throw out of the accept.
      { tcp::socket reactor_now(*context); }
      out.push_back(
          {std::make_unique<SessionTracker>(), std::move(context),
           &m.gauge("hookd_io_thread_connections", "Open webhook connections per I/O thread.",
                    {{"thread", std::to_string(i)}})});
    }
    return out;
  }
  // The next I/O thread for an accepted webhook connection. Only the accept loops (on
  // threads[0]) call it.
  IoThread& next_thread() {
    IoThread& t = threads[next % threads.size()];
    ++next;
    return t;
  }
  void stop_all() {
    for (auto& t : threads) t.context->stop();
  }
  std::size_t open_sessions() const {
    std::size_t n = 0;
    for (const auto& t : threads) n += t.tracker->size();
    return n;
  }

  std::shared_ptr<const http::Router> current_router() {
    std::lock_guard lock(router_mutex);
    return router;
  }

  enum class Listener { webhook, admin, acme_http };

  // Binds or adopts every listener of every kind (see Server::adopt).
  void open_listeners();

  // Runs on threads[0]; a webhook connection is accepted onto the next I/O thread's
  // context and served there, the admin and ACME ones stay on threads[0]. Nothing escapes
  // it but the end of the listener: a failed accept (EMFILE, ENFILE, ENOBUFS, ...) or an
  // exception pauses this listener briefly and it goes on.
  asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, Listener kind) {
    log::FailureLog failures{std::string("accepting on ") + listener_name(kind),
                             log::FailureLog::Level::warn, std::chrono::seconds(60)};
    for (;;) {
      std::string failure;
      try {
        IoThread& thread = kind == Listener::webhook ? next_thread() : threads.front();
        auto [ec, socket] = co_await acceptor.async_accept(*thread.context, kTuple);
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        // A connection reset before it was accepted: the next one is not affected.
        if (ec == asio::error::connection_aborted) continue;
        if (ec) {
          failure = ec.message();
        } else {
          if (std::uint64_t n = failures.succeeded(); n > 0) {
            spdlog::info("accepting on {} works again after {} failed accepts",
                         listener_name(kind), n);
          }
          serve(kind, thread, std::move(socket));
        }
      } catch (const std::exception& e) {
        failure = e.what();
      }
      if (failure.empty()) continue;
      // Out of descriptors (or memory): the connection waits in the listen backlog while
      // the ones open finish; retrying at once would spin.
      failures.failed(failure + "; pausing this listener for 100 ms");
      asio::steady_timer t(ioc, std::chrono::milliseconds(100));
      co_await t.async_wait(kTuple);
    }
  }

  static const char* listener_name(Listener kind) {
    switch (kind) {
      case Listener::webhook:
        return "the webhook listener";
      case Listener::admin:
        return "the admin listener";
      case Listener::acme_http:
        return "the http-01 listener";
    }
    return "a listener";
  }

  // Serves an accepted connection, or closes it at once when its listener is full.
  void serve(Listener kind, IoThread& thread, tcp::socket socket) {
    auto ex = socket.get_executor();
    if (kind != Listener::webhook) {
      // A small plain-HTTP listener on threads[0]: capped, so that idle connections to it
      // cannot take the descriptors the webhook listener and the store need.
      const bool admin = kind == Listener::admin;
      std::size_t& open = admin ? admin_open : acme_http_open;
      const std::size_t cap = admin ? config.server.limits.max_admin_connections
                                    : config.server.limits.max_acme_http_connections;
      if (open >= cap) {
        (admin ? admin_rejected : acme_http_rejected).inc();
        boost::system::error_code ignored;
        socket.close(ignored);
        return;
      }
      ++open;
      auto done = [&open, kind](std::exception_ptr e) {
        --open;
        log_session_end(e, listener_name(kind));
      };
      if (admin) {
        asio::co_spawn(ex, run_admin_session(std::move(socket), admin_env), std::move(done));
      } else {
        asio::co_spawn(ex, run_acme_http_session(std::move(socket), *acme_http_env),
                       std::move(done));
      }
      return;
    }
    boost::system::error_code ec;
    const auto peer = socket.remote_endpoint(ec);
    std::string source =
        ec ? std::string() : auth::Throttle::peer_key(peer.address().to_string(),
                                                      config.server.limits.ipv6_prefix);
    if (!ec) {
      std::lock_guard lock(sources_mutex);
      std::size_t& held = sources[source];
      if (held >= per_source_cap) {
        source_rejected.inc();
        socket.close(ec);
        return;
      }
      ++held;
    }
    const auto release_source = [this, source] {
      if (source.empty()) return;
      std::lock_guard lock(sources_mutex);
      if (auto it = sources.find(source); it != sources.end() && --it->second == 0) {
        sources.erase(it);
      }
    };
    if (open_sessions() >= webhook_cap && !close_an_idle_connection()) {
      rejected.inc();
      release_source();
      socket.close(ec);
      return;
    }
    accepted.inc();
    metrics::Gauge& open = *thread.connections;
    open.add(1);
    asio::co_spawn(ex, run_session(std::move(socket), session_env, *thread.tracker),
                   [&open, release_source](std::exception_ptr e) {
                     open.add(-1);
                     release_source();
                     log_session_end(e, listener_name(Listener::webhook));
                   });
  }

  // The table is full: ends the keep-alive wait of the oldest connection waiting for its
  // next request, on an I/O thread that has one, so that a new connection takes its place
  // (for a moment one more is open). False when no connection waits: the new one is
  // refused. Idle keep-alives held by one source cannot keep the legitimate senders out.
  bool close_an_idle_connection() {
    for (auto& t : threads) {
      if (!t.tracker->claim_waiting()) continue;
      asio::post(*t.context, [this, &tracker = *t.tracker] {
        if (tracker.close_oldest_waiting()) idle_closed.inc();
      });
      return true;
    }
    return false;
  }

  // Stop accepting, close idle connections, wait for busy ones up to the grace period.
  asio::awaitable<void> drain() {
    draining = true;
    for (auto* list : {&acceptors, &admin_acceptors, &acme_http_acceptors}) {
      for (auto& a : *list) {
        boost::system::error_code ignored;
        a.close(ignored);
      }
    }
    auto deadline = std::chrono::steady_clock::now() + config.server.shutdown_grace;
    asio::steady_timer timer(ioc);
    while (open_sessions() > 0 && std::chrono::steady_clock::now() < deadline) {
      for (auto& t : threads) {
        asio::post(*t.context, [&tracker = *t.tracker] { tracker.close_idle(); });
      }
      timer.expires_after(std::chrono::milliseconds(20));
      co_await timer.async_wait(kTuple);
    }
    if (std::size_t open = open_sessions(); open > 0) {
      spdlog::warn("shutdown grace period over with {} connections still open", open);
    }
    stop_all();
  }

  const config::Config& config;
  metrics::Registry& metrics;
  tls::ServerCertificates& certificates;
  asio::ssl::context tls;
  std::function<void()> on_hangup;
  std::function<void()> on_listening;
  std::function<void()> on_draining;
  std::vector<service::PassedSocket> passed;
  std::vector<std::string> webhook_addresses;  // set before on_listening
  void wait_hangup() {
    hangups.async_wait([this](const boost::system::error_code& ec, int) {
      if (ec) return;
      spdlog::info("received SIGHUP");
      on_hangup();
      wait_hangup();
    });
  }

  std::mutex router_mutex;
  std::shared_ptr<const http::Router> router;
  std::atomic<bool> draining{false};
  std::atomic<bool> listening{false};
  BodyBudget bodies{config.server.limits.max_buffered_bodies, config.server.limits.max_body};
  SessionEnv session_env;
  AdminEnv admin_env;
  metrics::Counter& accepted;
  metrics::Counter& rejected;
  metrics::Counter& source_rejected;
  metrics::Counter& idle_closed;
  // Open webhook connections per source (auth::Throttle::peer_key): counted up by the accept
  // loop, down by each session's end on its own thread.
  std::mutex sources_mutex;
  std::unordered_map<std::string, std::size_t> sources;
  metrics::Counter& admin_rejected;
  metrics::Counter& acme_http_rejected;
  const std::size_t webhook_cap;  // max_connections within the descriptor limit
  const std::size_t per_source_cap;
  std::size_t admin_open = 0;     // connections open on the plain listeners (threads[0] only)
  std::size_t acme_http_open = 0;
  // After what the sessions use: destroying a context destroys the sessions still on it
  // (past the shutdown grace), and their cleanup reaches the tracker and the gauges. The I/O
  // objects below go before the contexts.
  std::vector<IoThread> threads;
  std::size_t next = 0;
  asio::io_context& ioc;  // threads[0]: acceptors, signals, admin and ACME listeners
  // SIGHUP: one wait at a time, re-armed after each signal until the drain cancels it.
  asio::signal_set hangups{ioc};
  std::vector<tcp::acceptor> acceptors;
  std::vector<tcp::acceptor> admin_acceptors;
  std::vector<tcp::acceptor> acme_http_acceptors;
  std::optional<AcmeHttpEnv> acme_http_env;  // set once the webhook port is known
};

Server::Server(const config::Config& config, std::shared_ptr<const http::Router> router,
               metrics::Registry& metrics, tls::ServerCertificates& certificates,
               std::function<std::string()> store_unavailable)
    : impl_(std::make_unique<Impl>(config, std::move(router), metrics, certificates,
                                   std::move(store_unavailable))) {
  const auto& limits = config.server.limits;
  if (impl_->bodies.limit() < limits.max_body) {
    spdlog::warn(
        "server.limits.max_buffered_bodies ({} bytes) is below max_body ({} bytes): a request "
        "declaring a larger body always gets 503",
        impl_->bodies.limit(), limits.max_body);
  }
}

Server::~Server() = default;

void Server::set_router(std::shared_ptr<const http::Router> router) {
  std::lock_guard lock(impl_->router_mutex);
  impl_->router = std::move(router);
}

void Server::on_hangup(std::function<void()> callback) {
  impl_->on_hangup = std::move(callback);
}

void Server::on_listening(std::function<void()> callback) {
  impl_->on_listening = std::move(callback);
}

void Server::adopt(std::vector<service::PassedSocket> sockets) {
  impl_->passed = std::move(sockets);
}

void Server::on_draining(std::function<void()> callback) {
  impl_->on_draining = std::move(callback);
}

void Server::probe(std::function<void()> answer) {
  // Answered once every I/O thread ran it: a stuck thread holds its connections, however
  // free the others are.
  auto left = std::make_shared<std::atomic<std::size_t>>(impl_->threads.size());
  auto shared = std::make_shared<std::function<void()>>(std::move(answer));
  for (auto& t : impl_->threads) {
    asio::post(*t.context, [left, shared] {
      if (left->fetch_sub(1) == 1) (*shared)();
    });
  }
}

std::vector<std::string> Server::webhook_addresses() const {
  return impl_->webhook_addresses;
}

void Server::Impl::open_listeners() {
  struct Planned {
    Listener kind;
    std::string text;  // the configured address, for messages
    tcp::endpoint endpoint;
    std::optional<std::size_t> socket;  // index into `passed` when adopted
  };
  const auto& acme = config.server.tls.acme;
  const bool acme_http = acme && acme->challenge == config::AcmeConfig::Challenge::http_01;
  std::vector<Planned> plan;
  auto add = [&](Listener kind, const std::string& text) {
    for (const auto& ep : resolve_listen(ioc, text)) plan.push_back({kind, text, ep, {}});
  };
  for (const auto& text : config.server.listen) add(Listener::webhook, text);
  for (const auto& text : config.admin.listen) add(Listener::admin, text);
  if (acme_http) add(Listener::acme_http, acme->http_listen);

  // By address first, then by name: a socket named for one listener but bound to another's
  // address serves the address.
  std::vector<bool> used(passed.size(), false);
  for (auto& p : plan) {
    for (std::size_t i = 0; i < passed.size(); ++i) {
      if (!used[i] && same_address(passed[i], p.endpoint)) {
        p.socket = i;
        used[i] = true;
        break;
      }
    }
  }
  auto kind_of = [](const std::string& name) -> std::optional<Listener> {
    if (name == "https") return Listener::webhook;
    if (name == "admin") return Listener::admin;
    if (name == "acme-http") return Listener::acme_http;
    return std::nullopt;
  };
  std::vector<bool> named(3, false);  // per Listener: has sockets passed by name
  for (std::size_t i = 0; i < passed.size(); ++i) {
    if (used[i]) continue;
    const auto kind = kind_of(passed[i].name);
    const bool configured = kind && std::any_of(plan.begin(), plan.end(), [&](const Planned& p) {
                              return p.kind == *kind;
                            });
    if (!configured) {
      throw std::runtime_error(
          "the socket passed by the service manager (" + passed[i].describe() +
          ") matches no listener: its address is not in server.listen, admin.listen or "
          "acme.http_listen, and its name is not https, admin or acme-http for a configured "
          "one");
    }
    named[static_cast<std::size_t>(*kind)] = true;
    plan.push_back({*kind, "'" + passed[i].name + "'", tcp::endpoint(), i});
    used[i] = true;
  }

  for (const auto& p : plan) {
    auto& list = p.kind == Listener::webhook ? acceptors
                 : p.kind == Listener::admin ? admin_acceptors
                                             : acme_http_acceptors;
    if (p.socket) {
      list.push_back(adopt_socket(ioc, passed[*p.socket]));
    } else if (named[static_cast<std::size_t>(p.kind)]) {
      spdlog::info("not binding {}: the service manager passed the sockets for it", p.text);
      continue;
    } else {
      list.push_back(bind(ioc, p.endpoint, p.text));
    }
    const std::string where = describe(list.back().local_endpoint());
    const std::string how =
        p.socket ? " (passed socket fd " + std::to_string(passed[*p.socket].fd) + ")" : "";
    switch (p.kind) {
      case Listener::webhook:
        webhook_addresses.push_back(where);
        spdlog::info("listening for webhooks on https://{}{}", where, how);
        break;
      case Listener::admin:
        spdlog::info("admin listening on http://{}{}", where, how);
        break;
      case Listener::acme_http:
        spdlog::info("answering ACME http-01 challenges on http://{}{}", where, how);
        break;
    }
  }
  passed.clear();  // owned by the acceptors now
  if (acme_http) {
    acme_http_env.emplace(AcmeHttpEnv{certificates, acceptors.front().local_endpoint().port()});
  }
}

void Server::run() {
  auto& d = *impl_;
  // Signals first: once the listeners are logged, a SIGTERM must drain, not kill.
  asio::signal_set signals(d.ioc, SIGINT, SIGTERM);
  signals.async_wait([&d](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    spdlog::info("received signal {}, draining", signo);
    if (d.on_draining) d.on_draining();
    d.hangups.cancel();
    asio::co_spawn(d.ioc, d.drain(), asio::detached);
  });
  if (d.on_hangup) {
    d.hangups.add(SIGHUP);
    d.wait_hangup();
  }
  d.open_listeners();
  using Listener = Impl::Listener;
  for (auto& a : d.acceptors) {
    asio::co_spawn(d.ioc, d.accept_loop(a, Listener::webhook), asio::detached);
  }
  for (auto& a : d.admin_acceptors) {
    asio::co_spawn(d.ioc, d.accept_loop(a, Listener::admin), asio::detached);
  }
  for (auto& a : d.acme_http_acceptors) {
    asio::co_spawn(d.ioc, d.accept_loop(a, Listener::acme_http), asio::detached);
  }
  d.listening = true;
  if (d.on_listening) d.on_listening();

  // The other threads' contexts have no work of their own until a connection arrives.
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < d.threads.size(); ++i) {
    threads.emplace_back([&d, i] {
      log::set_thread_name(fmt::format("io-{}", i));
      auto guard = asio::make_work_guard(*d.threads[i].context);
      run_context(*d.threads[i].context);
    });
  }
  run_context(d.ioc);
  d.stop_all();  // also when threads[0] ran out of work without a drain
  for (auto& t : threads) t.join();
  spdlog::info("stopped accepting; {} connections were still open", d.open_sessions());
}

}  // namespace hookd::net
