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
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "hookd/auth/throttle.hpp"
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
  // `limit` 0: a quarter of the machine's physical memory. One source (an address, an IPv6
  // prefix: the caller's key) may hold at most a quarter of it, or one `max_body` when that
  // is more, so that a few connections from one source cannot answer everybody else 503.
  BodyBudget(std::size_t limit, std::size_t max_body);
  bool try_reserve(const std::string& source, std::size_t bytes);
  void release(const std::string& source, std::size_t bytes);
  std::size_t limit() const { return limit_; }
  std::size_t source_limit() const { return source_limit_; }

 private:
  std::size_t limit_;
  std::size_t source_limit_;
  std::mutex mutex_;
  std::size_t used_ = 0;
  std::unordered_map<std::string, std::size_t> by_source_;
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
  // The peer as the per-source limits count it (IPv6 by its prefix): once per connection,
  // not per request.
  const std::string source = auth::Throttle::peer_key(peer, env.limits.ipv6_prefix);
};

namespace request_detail {

using Parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

constexpr std::size_t kHeaderLimit = 32 * 1024;
constexpr std::size_t kReadReserve = 16 * 1024;  // a TLS record's plaintext
// How far a body's budget reservation runs ahead of the bytes received.
constexpr std::size_t kReserveStep = 64 * 1024;
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

// A request's share of the BodyBudget: it grows with the body bytes received (never
// ahead of them by more than a step), and is given back when the request is done.
class Reservation {
 public:
  Reservation(BodyBudget& budget, std::string source) : budget_(budget), source_(std::move(source)) {}
  Reservation(const Reservation&) = delete;
  Reservation& operator=(const Reservation&) = delete;
  ~Reservation() { release(); }
  // Holds at least `bytes` (taking the missing part); false when the budget (or this
  // source's share of it) has no room.
  bool cover(std::size_t bytes) {
    if (bytes <= bytes_) return true;
    if (!budget_.try_reserve(source_, bytes - bytes_)) return false;
    bytes_ = bytes;
    return true;
  }
  void release() {
    if (bytes_ > 0) budget_.release(source_, bytes_);
    bytes_ = 0;
  }

 private:
  BodyBudget& budget_;
  std::string source_;
  std::size_t bytes_ = 0;
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
  // The endpoint's own body limit (the token endpoint takes a small form), within max_body.
  const std::size_t max_body = router->body_limit(view.path(), limits.max_body);
  if (auto len = parser.content_length(); len && *len > max_body) {
    router->count(view.path(), 413);
    co_await answer_early(too_large_response(max_body));
    co_return false;
  }
  // The body budget is taken as the bytes arrive, a step ahead: a declared length or a
  // chunked body reserves nothing it has not been sent (a 1-byte chunked body used to
  // reserve max_body), and one source holds at most its share of the budget.
  Reservation reservation(env.bodies, c.source);
  const auto busy = [&]() -> asio::awaitable<bool> {
    spdlog::debug("{}: request bodies in flight exceed server.limits.max_buffered_bodies ({}, "
                  "{} per source)",
                  peer, env.bodies.limit(), env.bodies.source_limit());
    auto answer = http::Response::error(503, "server busy, retry later");
    answer.headers.emplace_back("Retry-After", "1");
    answer.close = true;
    router->count(view.path(), 503);
    co_return co_await answer_early(answer);
  };
  const auto step = [&](std::size_t received) {
    const std::size_t declared = parser.content_length().value_or(max_body);
    // Never more than the most one source can hold: the step must not refuse a body that
    // fits.
    return std::max(received, std::min<std::size_t>({received + kReserveStep, declared,
                                                     max_body, env.bodies.source_limit()}));
  };
  if (!parser.is_done() && !reservation.cover(step(0))) {
    co_await busy();
    co_return false;
  }

  if (auto expect = req[bhttp::field::expect]; http::iequals(expect, "100-continue")) {
    bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, req.version()};
    stream.expires_after(limits.body_timeout);
    auto [cec, cn] = co_await bhttp::async_write(stream, cont, kTuple);
    if (cec) co_return false;
  }
  // What the answer needs of the head: the parser that holds it changes body type below.
  const unsigned version = req.version();
  const bool keep_alive = req.keep_alive();
  const bool to_head = req.method() == bhttp::verb::head;
  // The body as it arrives, in a string that grows with it (string_body reserves a
  // declared Content-Length up front), under body_timeout and min_body_rate.
  std::string body;
  bhttp::request_parser<bhttp::buffer_body> reader(std::move(parser));
  std::array<char, kReadReserve> chunk;
  const auto started = std::chrono::steady_clock::now();
  const auto body_deadline = started + limits.body_timeout;
  // An answer in the middle of the body: the rest is not read, the connection closes.
  const auto answer_midway = [&](const http::Response& answer) -> asio::awaitable<void> {
    if (co_await write_response(stream, out, answer, version, false, limits.body_timeout,
                                to_head)) {
      co_await linger(stream);
    }
    graceful = false;
  };
  while (!reader.is_done()) {
    // min_body_rate: after a grace of one second, the body so far must have come at that
    // rate; a read waits no longer than the next byte is due.
    auto deadline = body_deadline;
    if (limits.min_body_rate > 0) {
      const auto due = started + std::chrono::seconds(1) +
                       std::chrono::milliseconds((body.size() + 1) * 1000 / limits.min_body_rate);
      deadline = std::min(deadline, due);
    }
    const auto now = std::chrono::steady_clock::now();
    if (deadline <= now) {
      graceful = false;
      co_return false;
    }
    stream.expires_after(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
    reader.get().body().data = chunk.data();
    reader.get().body().size = chunk.size();
    auto [bec, bn] = co_await bhttp::async_read(stream, buffer, reader, kTuple);
    const std::size_t got = chunk.size() - reader.get().body().size;
    if (bec == bhttp::error::need_buffer) bec = {};
    if (bec == bhttp::error::body_limit || (!bec && body.size() + got > max_body)) {
      router->count(view.path(), 413);
      co_await answer_midway(too_large_response(max_body));
      co_return false;
    }
    if (!bec && got > 0) {
      if (!reservation.cover(step(body.size() + got))) {
        co_await busy();
        co_return false;
      }
      body.append(chunk.data(), got);
    }
    if (bec) {
      spdlog::debug("{}: reading the body failed: {}", peer, bec.message());
      // Bad framing inside the body (a chunk size that overflows or is not hex, a bare LF,
      // a forbidden trailer): 400 as for a bad head, then close. A client that went away
      // or stalled (body_timeout, min_body_rate) gets nothing.
      if (bec.category() == bhttp::make_error_code(bhttp::error::bad_chunk).category() &&
          bec != bhttp::error::partial_message && bec != bhttp::error::end_of_stream) {
        router->count(view.path(), 400);
        auto malformed = http::Response::error(400, "malformed request: " + bec.message());
        co_await answer_midway(malformed);
        co_return false;
      }
      graceful = bec != beast::error::timeout;
      co_return false;
    }
  }
  env.body_bytes.inc(body.size());
  view.body = std::move(body);

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
  bool keep = keep_alive && !response.close && !env.draining.load();
  if (!co_await write_response(stream, out, response, version, keep, limits.body_timeout,
                               to_head)) {
    graceful = false;
    co_return false;
  }
  co_return keep;
}

}  // namespace hookd::net
