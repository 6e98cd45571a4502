// One HTTP/1.1 request on an open connection: the head under its limits, the framing
// checks, admission before the body, the body under the per-request and server-wide
// limits, the route and the answer. A template over the stream, so that the sessions run
// it over TLS (net/session.cpp) and the fuzz target over bytes in memory
// (tests/fuzz/http_request.cpp): one request path, tested as it runs. It instantiates
// Beast's HTTP parser, so only net/ and that target include it.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "hookd/config/config.hpp"
#include "hookd/http/request.hpp"
#include "hookd/http/response_writer.hpp"
#include "hookd/http/router.hpp"
#include "hookd/metrics/registry.hpp"

namespace hookd::net {

// The bytes of request bodies buffered at once over all sessions (server.limits.
// max_buffered_bodies): a request reserves its declared size before its body is read and
// gives it back once answered, so pre-auth memory has a bound however many connections
// are open. Thread-safe (one atomic).
class BodyBudget {
 public:
  // `limit` 0: a quarter of the machine's physical memory.
  explicit BodyBudget(std::size_t limit);
  bool try_reserve(std::size_t bytes);
  void release(std::size_t bytes);
  std::size_t limit() const { return limit_; }

 private:
  std::size_t limit_;
  std::atomic<std::size_t> used_{0};
};

// What the requests of every connection share. Everything must outlive the connections.
struct RequestEnv {
  const config::LimitsConfig& limits;
  const std::atomic<bool>& draining;  // answers say `Connection: close` once set
  std::function<std::shared_ptr<const http::Router>()> router;  // the current one
  metrics::Counter& body_bytes;
  BodyBudget& bodies;
};

// What one request of a connection works with. `Stream` is an asynchronous read/write
// stream with `expires_after(duration)`, the deadline of its operations from then on.
template <class Stream>
struct Connection {
  Stream& stream;
  boost::beast::flat_buffer& buffer;  // bytes read past a request stay for the next one
  std::string& out;                   // the serialized response, reused across requests
  bool& idle;                         // set false once a request's head is in
  const std::string& peer;
  RequestEnv& env;
  bool graceful = true;  // the connection may end with a TLS close_notify
};

namespace request_detail {

using Parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

constexpr std::size_t kHeaderLimit = 32 * 1024;
constexpr std::size_t kReadReserve = 16 * 1024;  // a TLS record's plaintext
// A refused request's body up to this size is read and dropped, so that the connection
// stays usable (senders and clients reuse it after a 401); a larger or chunked one, or one
// the client waits to send (`Expect: 100-continue`), closes the connection instead.
constexpr std::uint64_t kDiscardMax = 64 * 1024;

inline constexpr auto kTuple = boost::asio::as_tuple(boost::asio::use_awaitable);

// RFC 9112 6.1 and 6.3: 0 when the Transfer-Encoding framing is sound (absent, or a single
// final `chunked`), else the status to answer: 400 for framing that cannot be trusted
// (TE.CL smuggling, HTTP/1.0, chunked twice), 501 for a coding hookd does not decode.
unsigned check_framing(const Parser::value_type& req);
// The head as the layers above see it, taken before the body is read (so that a chunked
// trailer can neither add nor replace a field auth and extraction read).
void head_view(const Parser::value_type& req, const std::string& peer, http::Request& view);
// The contract: 413, and the connection is closed.
http::Response too_large_response(std::size_t max_body);
std::string_view path_of(std::string_view target);

// A reservation of the BodyBudget, given back when the request is done.
class Reservation {
 public:
  Reservation(BodyBudget& budget, std::size_t bytes) : budget_(budget), bytes_(bytes) {}
  Reservation(const Reservation&) = delete;
  Reservation& operator=(const Reservation&) = delete;
  ~Reservation() { release(); }
  void release() {
    budget_.release(bytes_);
    bytes_ = 0;
  }

 private:
  BodyBudget& budget_;
  std::size_t bytes_;
};

// The answer goes out as one buffer, serialized into the connection's reused `out`: one
// TLS record, and no Beast message (a dozen allocations) per response.
template <class Stream>
boost::asio::awaitable<bool> write_response(Stream& stream, std::string& out,
                                            const http::Response& r, unsigned version,
                                            bool keep_alive, std::chrono::milliseconds timeout,
                                            bool to_head = false) {
  http::serialize_response(r, version, keep_alive, out, to_head);
  stream.expires_after(timeout);
  auto [ec, n] = co_await boost::asio::async_write(stream, boost::asio::buffer(out), kTuple);
  co_return !ec;
}

// After an early answer (413) the client may still be sending its body. Closing with
// unread input makes the kernel send a reset, which can destroy the answer before the
// client reads it; so read and discard for a short while first ("lingering close").
template <class Stream>
boost::asio::awaitable<void> linger(Stream& stream) {
  constexpr std::size_t kMaxDiscard = 8 * 1024 * 1024;
  std::array<char, 16 * 1024> scratch;
  std::size_t total = 0;
  stream.expires_after(std::chrono::seconds(2));
  while (total < kMaxDiscard) {
    auto [ec, n] = co_await stream.async_read_some(boost::asio::buffer(scratch), kTuple);
    if (ec) break;
    total += n;
  }
}

// Reads the rest of the body into a scratch buffer and drops it; false when the read fails.
// `parser` is moved from.
template <class Stream>
boost::asio::awaitable<bool> discard_body(Stream& stream, boost::beast::flat_buffer& buffer,
                                          Parser& parser, std::chrono::milliseconds timeout) {
  namespace bhttp = boost::beast::http;
  bhttp::request_parser<bhttp::buffer_body> drop(std::move(parser));
  std::array<char, 16 * 1024> scratch;
  stream.expires_after(timeout);
  while (!drop.is_done()) {
    drop.get().body().data = scratch.data();
    drop.get().body().size = scratch.size();
    auto [ec, n] = co_await bhttp::async_read(stream, buffer, drop, kTuple);
    if (ec && ec != bhttp::error::need_buffer) co_return false;
  }
  co_return true;
}

}  // namespace request_detail

// One request: read it, answer it; true when the connection stays open for the next. A
// coroutine of its own so that the parser, the request, the response and the frame slots
// of every temporary take memory while a request is in progress only, not for the whole
// life of an idle keep-alive connection (its frame is recycled by the thread).
template <class Stream>
boost::asio::awaitable<bool> serve_request(Connection<Stream>& c) {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  namespace bhttp = boost::beast::http;
  using namespace request_detail;
  Stream& stream = c.stream;
  beast::flat_buffer& buffer = c.buffer;
  std::string& out = c.out;
  const std::string& peer = c.peer;
  RequestEnv& env = c.env;
  bool& graceful = c.graceful;
  const auto& limits = env.limits;

  // One allocation, taken when the request starts, and one read for a request that came
  // in one TLS record, instead of growing from 512 bytes over several reads.
  if (buffer.capacity() < kReadReserve) buffer.reserve(kReadReserve);
  Parser parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(limits.max_body);
  auto [hec, hn] = co_await bhttp::async_read_header(stream, buffer, parser, kTuple);
  if (hec) {
    if (hec == bhttp::error::end_of_stream || hec == asio::ssl::error::stream_truncated ||
        hec == asio::error::operation_aborted) {
      co_return false;
    }
    if (hec == beast::error::timeout) {
      spdlog::debug("{}: header timeout", peer);
      graceful = false;
      co_return false;
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
    co_return false;
  }
  c.idle = false;
  auto& req = parser.get();
  auto router = env.router();

  // An answer before (or instead of) the body. The connection stays open when no body
  // is left to read or a small one could be dropped; true when it does.
  auto answer_early = [&](const http::Response& answer) -> asio::awaitable<bool> {
    const unsigned version = req.version();
    const bool body_left = !parser.is_done();
    bool keep = req.keep_alive() && !answer.close && !env.draining.load();
    if (keep && body_left) {
      const auto length = parser.content_length();
      keep = length && *length <= kDiscardMax &&
             !http::iequals(req[bhttp::field::expect], "100-continue");
      if (keep) keep = co_await discard_body(stream, buffer, parser, limits.body_timeout);
    }
    if (!co_await write_response(stream, out, answer, version, keep, limits.body_timeout,
                                 req.method() == bhttp::verb::head)) {
      graceful = false;
      co_return false;
    }
    // Unread input (a body, or bytes after bad framing) would make the close a reset.
    if (!keep && (body_left || answer.close)) {
      co_await linger(stream);
      graceful = false;
    }
    co_return keep;
  };

  if (unsigned status = check_framing(req); status != 0) {
    router->count(path_of(req.target()), status);
    auto refused = http::Response::error(
        status, status == 501 ? "unsupported transfer coding (only chunked is accepted)"
                              : "bad request framing (Transfer-Encoding)");
    refused.close = true;  // whatever Beast made of the framing, nothing more is read
    co_await answer_early(refused);
    co_return false;
  }
  if (auto len = parser.content_length(); len && *len > limits.max_body) {
    router->count(path_of(req.target()), 413);
    co_await answer_early(too_large_response(limits.max_body));
    co_return false;
  }

  http::Request view;
  head_view(req, peer, view);
  // Unknown paths, wrong methods, throttled sources and credentials that cannot pass are
  // answered before anything is buffered or `100 Continue` invites the body.
  if (auto refused = router->admit(view)) {
    if (co_await answer_early(*refused)) co_return true;
    co_return false;
  }
  // A chunked body may grow to max_body (or to the whole budget, when that is smaller).
  const std::size_t reserved = parser.is_done()
                                   ? 0
                                   : static_cast<std::size_t>(parser.content_length().value_or(
                                         std::min(limits.max_body, env.bodies.limit())));
  if (!env.bodies.try_reserve(reserved)) {
    spdlog::debug("{}: request bodies in flight exceed server.limits.max_buffered_bodies ({})",
                  peer, env.bodies.limit());
    auto busy = http::Response::error(503, "server busy, retry later");
    busy.headers.emplace_back("Retry-After", "1");
    router->count(view.path(), 503);
    co_await answer_early(busy);
    co_return false;
  }
  Reservation reservation(env.bodies, reserved);

  if (auto expect = req[bhttp::field::expect]; http::iequals(expect, "100-continue")) {
    bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, req.version()};
    stream.expires_after(limits.body_timeout);
    auto [cec, cn] = co_await bhttp::async_write(stream, cont, kTuple);
    if (cec) co_return false;
  }
  stream.expires_after(limits.body_timeout);
  auto [bec, bn] = co_await bhttp::async_read(stream, buffer, parser, kTuple);
  if (bec == bhttp::error::body_limit) {
    router->count(view.path(), 413);
    co_await answer_early(too_large_response(limits.max_body));
    co_return false;
  }
  if (bec) {
    spdlog::debug("{}: reading the body failed: {}", peer, bec.message());
    // Bad framing inside the body (a chunk size that overflows or is not hex, a bare LF, a
    // forbidden trailer): 400 as for a bad head, then close. A client that went away or
    // stalled gets nothing.
    if (bec.category() == bhttp::make_error_code(bhttp::error::bad_chunk).category() &&
        bec != bhttp::error::partial_message && bec != bhttp::error::end_of_stream) {
      router->count(view.path(), 400);
      auto malformed = http::Response::error(400, "malformed request: " + bec.message());
      malformed.close = true;  // where the framing broke, nothing after it is a request
      co_await answer_early(malformed);
      co_return false;
    }
    graceful = bec != beast::error::timeout;
    co_return false;
  }
  env.body_bytes.inc(req.body().size());
  view.body = std::move(req.body());

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
  reservation.release();  // the body is in the store (or dropped) by now
  bool keep = req.keep_alive() && !response.close && !env.draining.load();
  if (!co_await write_response(stream, out, response, req.version(), keep, limits.body_timeout,
                               req.method() == bhttp::verb::head)) {
    graceful = false;
    co_return false;
  }
  co_return keep;
}

}  // namespace hookd::net
