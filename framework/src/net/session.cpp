// One TLS connection on the webhook listener: handshake, then HTTP/1.1 requests with
// keep-alive (net/request_loop.hpp), each phase under its own deadline, until the peer
// leaves, a deadline passes, or the server drains. The one file that instantiates Beast
// HTTP over SSL.
// GCC 12 at -O2 takes the inlined aligned_alloc of Asio's frame recycling for a mismatch
// with the frame's class operator delete (which frees it with free()): a false positive
// that this file's deferred idle wait brings out in serve_request's instantiation.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
#include "session.hpp"
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
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
constexpr auto kDeferredTuple = asio::as_tuple(asio::deferred);
constexpr auto kTlsShutdownTimeout = std::chrono::seconds(2);

using Stream = TlsStream;

}  // namespace

void SessionTracker::add(Entry& e) {
  e.prev = nullptr;
  e.next = head_;
  if (head_ != nullptr) head_->prev = &e;
  head_ = &e;
  if (tail_ == nullptr) tail_ = &e;
  size_.fetch_add(1, std::memory_order_relaxed);
}

void SessionTracker::remove(Entry& e) {
  if (e.waiting) wait_ends(e);
  (e.prev != nullptr ? e.prev->next : head_) = e.next;
  (e.next != nullptr ? e.next->prev : tail_) = e.prev;
  e.prev = e.next = nullptr;
  size_.fetch_sub(1, std::memory_order_relaxed);
}

void SessionTracker::wait_begins(Entry& e) {
  e.waiting = true;
  waiting_.fetch_add(1, std::memory_order_relaxed);
}

void SessionTracker::wait_ends(Entry& e) {
  e.waiting = false;
  waiting_.fetch_sub(1, std::memory_order_relaxed);
}

bool SessionTracker::claim_waiting() {
  if (waiting_.load(std::memory_order_relaxed) <= claimed_.load(std::memory_order_relaxed)) {
    return false;
  }
  claimed_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool SessionTracker::close_oldest_waiting() {
  claimed_.fetch_sub(1, std::memory_order_relaxed);
  for (Entry* e = tail_; e != nullptr; e = e->prev) {
    if (e->waiting) {
      wait_ends(*e);  // once: a second eviction picks another
      e->stream->cancel();
      return true;
    }
  }
  return false;
}

void SessionTracker::close_idle() {
  for (Entry* e = head_; e != nullptr; e = e->next) {
    if (e->idle) e->stream->cancel();
  }
}

asio::awaitable<void> run_session(tcp::socket socket, SessionEnv& env,
                                  SessionTracker& tracker) {
  const auto& limits = env.request.limits;
  boost::system::error_code ec;
  std::string peer = socket.remote_endpoint(ec).address().to_string();

  Stream stream(std::move(socket), env.tls, Stream::Role::server);
  SessionTracker::Entry entry{&stream};
  tracker.add(entry);
  env.open_connections.add(1);
  struct Cleanup {
    SessionEnv& env;
    SessionTracker& tracker;
    SessionTracker::Entry& entry;
    ~Cleanup() {
      tracker.remove(entry);
      env.open_connections.add(-1);
    }
  } cleanup{env, tracker, entry};

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
  Connection<Stream> connection{stream, buffer, out, entry.idle, peer, env.request};
  bool first = true;
  for (;;) {
    entry.idle = true;
    if (env.request.draining.load()) break;
    if (!first) {
      // Keep-alive: wait up to idle_timeout for the next request's first bytes, then
      // give the whole header phase header_timeout. An idle connection holds no buffer:
      // the read and response buffers are freed and the wait takes no bytes (nor does
      // OpenSSL keep a record buffer, see TlsStream).
      if (buffer.size() == 0) {
        buffer.shrink_to_fit();
        std::string().swap(out);
        stream.expires_after(limits.idle_timeout);
        // A deferred operation is awaited without use_awaitable's coroutine frame per
        // operation: about 0.2 KiB less per idle connection.
        tracker.wait_begins(entry);
        auto [rec, n] = co_await stream.async_wait_readable(kDeferredTuple);
        if (entry.waiting) tracker.wait_ends(entry);
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
