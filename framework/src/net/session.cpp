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

#include <unistd.h>

#include <algorithm>
#include <array>
#include <vector>

#include "hookd/http/response_writer.hpp"
#include "hookd/metrics/registry.hpp"
#include "hookd/net/tls.hpp"
#include "hookd/net/tls_stream.hpp"

namespace hookd::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kHeaderLimit = 32 * 1024;
constexpr std::size_t kReadReserve = 16 * 1024;  // a TLS record's plaintext
constexpr auto kTlsShutdownTimeout = std::chrono::seconds(2);

using Stream = TlsStream;

// What shutdown may touch: the stream while the session is idle. Only accessed on the
// session's I/O thread.
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

// The contract: 413, and the connection is closed.
http::Response too_large_response(std::size_t max_body) {
  auto r = http::Response::error(413,
                                 "body exceeds the limit of " + std::to_string(max_body) + " bytes");
  r.close = true;
  return r;
}

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

using Parser = bhttp::request_parser<bhttp::string_body>;

// RFC 9112 6.1 and 6.3: a body is framed by Transfer-Encoding only when its final coding
// is `chunked` (which Beast decodes); any other use of the field is refused and the
// connection closed, so that no byte of a body can be read as the next request (TE.CL
// smuggling). Returns 0 when the framing is sound, else the status to answer: 400 for
// framing that cannot be trusted, 501 for a coding hookd does not decode (gzip, chunked).
unsigned check_framing(const Parser::value_type& req) {
  // Beast keeps an index of the fields by name: no walk over the head for the usual request.
  // equal_range() spans, in arrival order, the list from the first to the last such field
  // (other fields may sit between them).
  const auto [first, last] = req.equal_range(bhttp::field::transfer_encoding);
  if (first == last) return 0;
  std::vector<std::string_view> codings;
  for (auto field = first; field != last; ++field) {
    if (field->name() != bhttp::field::transfer_encoding) continue;
    std::string_view value = field->value();
    while (!value.empty()) {
      auto comma = value.find(',');
      std::string_view coding = value.substr(0, comma);
      coding = coding.substr(0, coding.find(';'));  // transfer parameters
      while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t')) {
        coding.remove_prefix(1);
      }
      while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t')) {
        coding.remove_suffix(1);
      }
      if (!coding.empty()) codings.push_back(coding);
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
  }
  // HTTP/1.0 has no transfer codings; with Content-Length beside it the framing is
  // ambiguous (RFC 9112 6.3 ¶3: "ought to be handled as an error").
  if (req.version() < 11 || req.count(bhttp::field::content_length) > 0) return 400;
  if (codings.empty() || !http::iequals(codings.back(), "chunked")) return 400;
  for (std::size_t i = 0; i + 1 < codings.size(); ++i) {
    if (http::iequals(codings[i], "chunked")) return 400;  // chunked twice
  }
  return codings.size() == 1 ? 0 : 501;
}

// The header fields as the layers above see them, taken before the body is read: fields
// of a chunked trailer, which Beast appends to the same list (as new elements, so these
// views stay valid) while reading the body, are not in it, so a trailer can neither add
// nor replace what auth and extraction read.
void head_view(const Parser::value_type& req, const std::string& peer, http::Request& view) {
  view.method = req.method_string();
  view.target = req.target();
  view.headers.reserve(16);
  for (const auto& field : req) view.headers.emplace_back(field.name_string(), field.value());
  view.peer = peer;
}

// A refused request's body up to this size is read and dropped, so that the connection
// stays usable (senders and clients reuse it after a 401); a larger or chunked one, or one
// the client waits to send (`Expect: 100-continue`), closes the connection instead.
constexpr std::uint64_t kDiscardMax = 64 * 1024;

// Reads the rest of the body into a scratch buffer and drops it; false when the read fails.
// `parser` is moved from.
asio::awaitable<bool> discard_body(Stream& stream, beast::flat_buffer& buffer, Parser& parser,
                                   std::chrono::milliseconds timeout) {
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

std::size_t physical_memory() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return std::size_t(1) << 30;
  return static_cast<std::size_t>(pages) * static_cast<std::size_t>(page_size);
}

}  // namespace

BodyBudget::BodyBudget(std::size_t limit) : limit_(limit != 0 ? limit : physical_memory() / 4) {}

bool BodyBudget::try_reserve(std::size_t bytes) {
  std::size_t used = used_.load(std::memory_order_relaxed);
  do {
    if (bytes > limit_ - std::min(used, limit_)) return false;
  } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
  return true;
}

void BodyBudget::release(std::size_t bytes) {
  used_.fetch_sub(bytes, std::memory_order_relaxed);
}

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

// What one request of a connection works with.
struct Connection {
  Stream& stream;
  beast::flat_buffer& buffer;
  std::string& out;  // the serialized response, reused across the connection's requests
  Slot& slot;
  const std::string& peer;
  SessionEnv& env;
  bool graceful = true;  // send close_notify at the end
};

// One request: read it, answer it; true when the connection stays open for the next. A
// coroutine of its own so that the parser, the request, the response and the frame slots
// of every temporary take memory while a request is in progress only, not for the whole
// life of an idle keep-alive connection (its frame is recycled by the thread).
asio::awaitable<bool> serve_request(Connection& c) {
  Stream& stream = c.stream;
  beast::flat_buffer& buffer = c.buffer;
  std::string& out = c.out;
  const std::string& peer = c.peer;
  SessionEnv& env = c.env;
  bool& graceful = c.graceful;
  const auto& limits = env.limits;

  // One allocation, taken when the request starts, and one read for a request that came
  // in one TLS record, instead of growing from 512 bytes over several reads.
  if (buffer.capacity() < kReadReserve) buffer.reserve(kReadReserve);
  bhttp::request_parser<bhttp::string_body> parser;
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
  c.slot.idle = false;
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
    if (!co_await write_response(stream, out, answer, version, keep, limits.body_timeout)) {
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
    graceful = bec != beast::error::timeout;
    spdlog::debug("{}: reading the body failed: {}", peer, bec.message());
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
  if (!co_await write_response(stream, out, response, req.version(), keep, limits.body_timeout)) {
    graceful = false;
    co_return false;
  }
  co_return keep;
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
  if (is_acme_validation(stream.native_handle())) {
    // tls-alpn-01: the handshake was the answer; the CA's validator sends no request.
    stream.expires_after(kTlsShutdownTimeout);
    co_await stream.async_shutdown(kTuple);
    co_return;
  }

  beast::flat_buffer buffer;
  std::string out;
  Connection connection{stream, buffer, out, *slot, peer, env};
  bool first = true;
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
