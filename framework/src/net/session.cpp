// One TLS connection on the webhook listener: handshake, then HTTP/1.1 requests with
// keep-alive, each phase under its own deadline, until the peer leaves, a deadline
// passes, or the server drains. The one file that instantiates Beast HTTP over SSL.
#include "session.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>

#include "hookd/http/response_writer.hpp"
#include "hookd/metrics/registry.hpp"
#include "hookd/net/tls_stream.hpp"

namespace hookd::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kHeaderLimit = 32 * 1024;
constexpr auto kTlsShutdownTimeout = std::chrono::seconds(2);

using Stream = TlsStream;

// What shutdown may touch: the stream while the session is idle. Only accessed on the
// session's strand.
struct Slot {
  Stream* stream = nullptr;
  bool idle = true;
};

// The answer goes out as one buffer, serialized into the session's reused `out`: one TLS
// record, and no Beast message (a dozen allocations) per response.
asio::awaitable<bool> write_response(Stream& stream, std::string& out, const http::Response& r,
                                     unsigned version, bool keep_alive,
                                     std::chrono::milliseconds timeout) {
  http::serialize_response(r, version, keep_alive, out);
  stream.expires_after(timeout);
  auto [ec, n] = co_await asio::async_write(stream, asio::buffer(out), kTuple);
  co_return !ec;
}

// After an early answer (413) the client may still be sending its body. Closing with
// unread input makes the kernel send a reset, which can destroy the answer before the
// client reads it; so read and discard for a short while first ("lingering close").
asio::awaitable<void> linger(Stream& stream) {
  constexpr std::size_t kMaxDiscard = 8 * 1024 * 1024;
  std::array<char, 16 * 1024> scratch;
  std::size_t total = 0;
  stream.expires_after(std::chrono::seconds(2));
  while (total < kMaxDiscard) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(scratch), kTuple);
    if (ec) break;
    total += n;
  }
}

http::Response too_large_response(std::size_t max_body) {
  return http::Response::error(413,
                               "body exceeds the limit of " + std::to_string(max_body) + " bytes");
}

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

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
  const auto& limits = env.limits;
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

  beast::flat_buffer buffer;
  std::string out;  // the serialized response, reused across the connection's requests
  bool first = true;
  bool graceful = true;  // send close_notify at the end
  for (;;) {
    slot->idle = true;
    if (env.draining.load()) break;
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
          graceful = rec != beast::error::timeout;
          break;
        }
      }
      stream.expires_after(limits.header_timeout);
    }
    first = false;

    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(limits.max_body);
    auto [hec, hn] = co_await bhttp::async_read_header(stream, buffer, parser, kTuple);
    if (hec) {
      if (hec == bhttp::error::end_of_stream || hec == asio::ssl::error::stream_truncated ||
          hec == asio::error::operation_aborted) {
        break;
      }
      if (hec == beast::error::timeout) {
        spdlog::debug("{}: header timeout", peer);
        graceful = false;
        break;
      }
      // An oversized declared body (the parser checks Content-Length against the limit
      // while reading the header), a malformed request or an oversized header: answer
      // once and close.
      unsigned status = hec == bhttp::error::body_limit     ? 413
                        : hec == bhttp::error::header_limit ? 431
                                                            : 400;
      auto answer = status == 413
                        ? too_large_response(limits.max_body)
                        : http::Response::error(status, "malformed request: " + hec.message());
      auto& partial = parser.get();
      if (auto router = env.router())
        router->count(status == 413 ? path_of(partial.target()) : "", status);
      if (co_await write_response(stream, out, answer, 11, false, limits.body_timeout)) {
        co_await linger(stream);
      }
      graceful = false;
      break;
    }
    slot->idle = false;
    auto& req = parser.get();
    auto router = env.router();

    auto too_large = [&]() -> asio::awaitable<void> {
      router->count(path_of(req.target()), 413);
      if (co_await write_response(stream, out, too_large_response(limits.max_body), req.version(),
                                  false, limits.body_timeout)) {
        co_await linger(stream);
      }
      graceful = false;
    };
    if (auto len = parser.content_length(); len && *len > limits.max_body) {
      co_await too_large();
      break;
    }
    if (auto expect = req[bhttp::field::expect]; http::iequals(expect, "100-continue")) {
      bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, req.version()};
      stream.expires_after(limits.body_timeout);
      auto [cec, cn] = co_await bhttp::async_write(stream, cont, kTuple);
      if (cec) break;
    }
    stream.expires_after(limits.body_timeout);
    auto [bec, bn] = co_await bhttp::async_read(stream, buffer, parser, kTuple);
    if (bec == bhttp::error::body_limit) {
      co_await too_large();
      break;
    }
    if (bec) {
      graceful = bec != beast::error::timeout;
      spdlog::debug("{}: reading the body failed: {}", peer, bec.message());
      break;
    }
    env.body_bytes.inc(req.body().size());

    http::Request view;
    view.method = req.method_string();
    view.target = req.target();
    view.headers.reserve(16);
    for (const auto& field : req) view.headers.emplace_back(field.name_string(), field.value());
    view.body = std::move(req.body());
    view.peer = peer;

    http::Response response;
    bool failed = false;
    try {
      response = co_await router->handle(view);
    } catch (const std::exception& e) {
      spdlog::error("request to {} failed: {}", view.path(), e.what());
      failed = true;
    }
    if (failed) {
      response = http::Response::error(500, "internal error");
      router->count(view.path(), 500);
    }
    bool keep = req.keep_alive() && !response.close && !env.draining.load();
    if (!co_await write_response(stream, out, response, req.version(), keep, limits.body_timeout)) {
      graceful = false;
      break;
    }
    if (!keep) break;
  }

  if (graceful) {
    stream.expires_after(kTlsShutdownTimeout);
    co_await stream.async_shutdown(kTuple);
  }
}

}  // namespace hookd::net
