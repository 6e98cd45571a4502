// One TLS connection on the webhook listener: handshake, then HTTP/1.1 requests with
// keep-alive (net/request_loop.hpp), each phase under its own deadline, until the peer
// leaves, a deadline passes, or the server drains. The one file that instantiates Beast
// HTTP over SSL.
#include "session.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>

#include "hookd/metrics/registry.hpp"
#include "hookd/net/request_loop.hpp"
#include "hookd/net/tls.hpp"
#include "hookd/net/tls_stream.hpp"

namespace hookd::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr auto kTlsShutdownTimeout = std::chrono::seconds(2);

using Stream = TlsStream;

// What shutdown may touch: the stream while the session is idle. Only accessed on the
// session's I/O thread.
struct Slot {
  Stream* stream = nullptr;
  bool idle = true;
};

}  // namespace

std::uint64_t SessionTracker::add(std::function<void()> close_if_idle) {
  std::lock_guard lock(mutex_);
  closers_.emplace(++next_, std::move(close_if_idle));
  return next_;
}

void SessionTracker::remove(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  closers_.erase(id);
}

void SessionTracker::close_idle() {
  std::lock_guard lock(mutex_);
  for (auto& [id, close] : closers_) close();
}

std::size_t SessionTracker::size() const {
  std::lock_guard lock(mutex_);
  return closers_.size();
}

asio::awaitable<void> run_session(tcp::socket socket, SessionEnv& env) {
  const auto& limits = env.request.limits;
  boost::system::error_code ec;
  std::string peer = socket.remote_endpoint(ec).address().to_string();
  auto executor = socket.get_executor();

  Stream stream(std::move(socket), env.tls, Stream::Role::server);
  auto slot = std::make_shared<Slot>();
  slot->stream = &stream;
  auto tracker_id = env.tracker.add([slot, executor] {
    asio::post(executor, [slot] {
      if (slot->stream != nullptr && slot->idle) slot->stream->cancel();
    });
  });
  env.open_connections.add(1);
  struct Cleanup {
    SessionEnv& env;
    std::shared_ptr<Slot> slot;
    std::uint64_t id;
    ~Cleanup() {
      slot->stream = nullptr;
      env.tracker.remove(id);
      env.open_connections.add(-1);
    }
  } cleanup{env, slot, tracker_id};

  // The header deadline runs from accept: it covers the handshake and the first header.
  stream.expires_after(limits.header_timeout);
  auto [hs_ec, hs_n] = co_await stream.async_handshake(kTuple);
  if (hs_ec) {
    env.handshake_failures.inc();
    spdlog::debug("TLS handshake with {} failed: {}", peer, hs_ec.message());
    co_return;
  }
  if (is_acme_validation(stream.native_handle())) {
    // tls-alpn-01: the handshake was the answer; the CA's validator sends no request.
    stream.expires_after(kTlsShutdownTimeout);
    co_await stream.async_shutdown(kTuple);
    co_return;
  }

  beast::flat_buffer buffer;
  std::string out;
  Connection<Stream> connection{stream, buffer, out, slot->idle, peer, env.request};
  bool first = true;
  for (;;) {
    slot->idle = true;
    if (env.request.draining.load()) break;
    if (!first) {
      // Keep-alive: wait up to idle_timeout for the next request's first bytes, then
      // give the whole header phase header_timeout. An idle connection holds no buffer:
      // the read buffer is freed and the wait takes no bytes (nor does OpenSSL keep a
      // record buffer, see TlsStream).
      if (buffer.size() == 0) {
        buffer.shrink_to_fit();
        stream.expires_after(limits.idle_timeout);
        auto [rec, n] = co_await stream.async_wait_readable(kTuple);
        if (rec) {
          connection.graceful = rec != beast::error::timeout;
          break;
        }
      }
      stream.expires_after(limits.header_timeout);
    }
    first = false;

    if (!co_await serve_request(connection)) break;
  }

  if (connection.graceful) {
    stream.expires_after(kTlsShutdownTimeout);
    co_await stream.async_shutdown(kTuple);
  }
}

}  // namespace hookd::net
