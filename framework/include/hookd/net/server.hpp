// The network front: the TLS webhook listeners, the plain-HTTP admin listener, the I/O
// threads, and graceful shutdown on SIGTERM/SIGINT.
// Thread-safety: construct and run() from one thread; set_router() from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hookd/config/config.hpp"
#include "hookd/http/router.hpp"
#include "hookd/service/listen_fds.hpp"
#include "hookd/tls/server_certificates.hpp"

namespace hookd::metrics {
class Registry;
}

namespace hookd::net {

// Descriptors kept out of the connections' reach: the listeners, the store, plugin hosts,
// logs, certificate reloads.
inline constexpr std::size_t kDescriptorReserve = 128;

// The most webhook connections served at once: server.limits.max_connections, or fewer
// when the descriptor limit `nofile` (RLIMIT_NOFILE) leaves less room beside
// kDescriptorReserve and the caps of the admin and http-01 listeners that are configured.
// Past it a new connection is closed at once, so that the process never runs out of
// descriptors (at least 1).
std::size_t webhook_connection_cap(const config::Config& cfg, std::uint64_t nofile);

class Server {
 public:
  // `store_unavailable` answers /readyz together with the listeners' state: why the store
  // cannot take appends now, empty when it can (called on an I/O thread: keep it cheap).
  // `metrics` and `certificates` must outlive the Server; handshakes serve what
  // `certificates` holds at the time (and /readyz is 503 while it holds none). With
  // server.tls.acme and http-01, run() also binds acme.http_listen.
  Server(const config::Config& config, std::shared_ptr<const http::Router> router,
         metrics::Registry& metrics, tls::ServerCertificates& certificates,
         std::function<std::string()> store_unavailable);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds (or adopts, see adopt()) every listener (throws naming the address on failure),
  // logs where it listens, serves until SIGTERM or SIGINT, then stops accepting, lets
  // in-flight requests finish (up to server.shutdown_grace) and returns. Asynchronous work
  // that completes after run() returned (an outbox callback) is discarded safely until the
  // Server is destroyed.
  void run();

  // Called on the I/O thread at each SIGHUP while run() serves; keep it short (hand the
  // work to another thread). Set before run().
  void on_hangup(std::function<void()> callback);

  // Called on the I/O thread once every listener is bound, before the first accept
  // (where the ACME manager may start ordering: its challenges need the listeners).
  // Set before run().
  void on_listening(std::function<void()> callback);

  // Sockets passed by the service manager, served instead of binding: each is matched to
  // a configured endpoint of server.listen, admin.listen or acme.http_listen with the same
  // address and port, else by name (https, admin, acme-http; a listener with named sockets
  // binds none of its configured addresses). A configured endpoint without one is bound as
  // usual; run() throws naming a socket that matches nothing. The Server owns the
  // descriptors from now on. Set before run().
  void adopt(std::vector<service::PassedSocket> sockets);

  // Called on the I/O thread when SIGTERM/SIGINT starts the drain. Set before run().
  void on_draining(std::function<void()> callback);

  // Runs `answer` once every I/O thread has got to it: a liveness probe (the watchdog's).
  // Never runs once run() has returned.
  void probe(std::function<void()> answer);

  // The webhook listeners' addresses ("127.0.0.1:8443"), once on_listening was called.
  std::vector<std::string> webhook_addresses() const;

  // The router answering new requests from now on (a config reload).
  void set_router(std::shared_ptr<const http::Router> router);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hookd::net
