// A TLS stream in which OpenSSL reads and writes the non-blocking socket itself and Asio
// only waits for readiness: no intermediate record buffers per connection (asio::ssl::stream
// keeps four of 17 KiB each, beast::ssl_stream one more), no copies between them, and with
// SSL_MODE_RELEASE_BUFFERS an idle connection holds no record buffer at all. One deadline
// per stream (as beast::tcp_stream): an operation that is pending when it passes fails
// with beast::error::timeout. Models Asio's AsyncReadStream and AsyncWriteStream, except
// that an operation that does not block completes inside its initiating call (see run()):
// meant for coroutines (use_awaitable), where that saves a post per read and write.
//
// Thread-safety: as an Asio socket; one operation of each direction at a time, all on the
// stream's executor (a strand, or an io_context that one thread runs).
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <memory>

namespace hookd::net {

class TlsStream {
 public:
  using executor_type = boost::asio::any_io_executor;
  using Socket = boost::asio::ip::tcp::socket;
  enum class Role { client, server };

  // Takes a connected socket. Throws std::runtime_error when OpenSSL cannot make the SSL.
  TlsStream(Socket socket, boost::asio::ssl::context& context, Role role);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  executor_type get_executor() { return socket_.get_executor(); }
  Socket& socket() { return socket_; }
  SSL* native_handle() { return ssl_; }

  // The deadline of the operations from now on; a new call replaces it.
  void expires_after(std::chrono::steady_clock::duration d);
  void expires_never();
  // Makes pending operations complete with operation_aborted (e.g. to close an idle
  // connection at shutdown).
  void cancel();

  template <class Token>
  auto async_handshake(Token&& token) {
    return run(
        [](SSL* ssl, std::size_t& n) {
          n = 0;
          return SSL_do_handshake(ssl);
        },
        std::forward<Token>(token));
  }

  // Completes when application data can be read (a record is in or buffered), without
  // taking any and without a caller's buffer: the wait of an idle keep-alive connection.
  template <class Token>
  auto async_wait_readable(Token&& token) {
    return run(
        [](SSL* ssl, std::size_t& n) {
          char c;
          int r = SSL_peek_ex(ssl, &c, 1, &n);
          n = 0;
          return r;
        },
        std::forward<Token>(token));
  }

  // Sends close_notify (without waiting for the peer's).
  template <class Token>
  auto async_shutdown(Token&& token) {
    return run(
        [](SSL* ssl, std::size_t& n) {
          n = 0;
          int r = SSL_shutdown(ssl);
          return r == 0 ? 1 : r;
        },
        std::forward<Token>(token));
  }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    boost::asio::mutable_buffer b;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      if (b = *it; b.size() > 0) break;
    }
    return run([b](SSL* ssl, std::size_t& n) { return SSL_read_ex(ssl, b.data(), b.size(), &n); },
               std::forward<Token>(token), b.size() == 0);
  }

  // Writes one TLS record: the buffers are gathered first (up to 16 KiB, the record size)
  // when there are several, so a response's header and body go out in one record and one
  // send().
  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    bool empty = boost::asio::buffer_size(buffers) == 0;
    return run(
        [this, buffers](SSL* ssl, std::size_t& n) {
          // Gathered at each attempt, in one go with the write: the scratch is per thread.
          boost::asio::const_buffer b = gather(boost::asio::buffer_sequence_begin(buffers),
                                               boost::asio::buffer_sequence_end(buffers));
          return SSL_write_ex(ssl, b.data(), b.size(), &n);
        },
        std::forward<Token>(token), empty);
  }

 private:
  struct Watch;
  static constexpr std::size_t kGather = 16 * 1024;

  // One attempt of an SSL call: > 0 done (n set), else SSL_get_error decides. The first
  // attempt is made at once, and an operation that does not block completes inline, in
  // the initiating call: no post per read and write of a request. So that a peer whose
  // data keeps arriving cannot nest such completions without bound (a pipelined flood of
  // refused requests never waits), a completion nested kMaxInline deep on a thread is
  // posted instead.
  template <class Attempt, class Token>
  auto run(Attempt attempt, Token&& token, bool nothing_to_do = false) {
    return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
        [this, attempt, nothing_to_do, posted = false, result = boost::system::error_code(),
         n = std::size_t(0)](auto& self, boost::system::error_code ec = {},
                             std::size_t = 0) mutable {
          if (posted) return self.complete(result, n);  // a completion deferred below
          if (ec) {
            result = wait_error(ec);
          } else if (!nothing_to_do) {
            Wait wait = Wait::none;
            // SSL_get_error needs an empty error queue; step() leaves it so after a
            // failure, and peeking is much cheaper than clearing an empty queue.
            if (ERR_peek_error() != 0) ERR_clear_error();
            errno = 0;  // an EOF sets none; a stale EAGAIN must not look like one
            result = step(attempt(ssl_, n), wait);
            if (wait == Wait::read) {
              return socket_.async_wait(Socket::wait_read, std::move(self));
            }
            if (wait == Wait::write) {
              return socket_.async_wait(Socket::wait_write, std::move(self));
            }
          }
          int& depth = inline_depth();  // thread-local: valid when the stream is gone
          if (depth >= kMaxInline) {
            posted = true;
            return boost::asio::post(socket_.get_executor(), std::move(self));
          }
          ++depth;
          self.complete(result, n);
          --depth;
        },
        token, socket_);
  }
  static constexpr int kMaxInline = 16;
  static int& inline_depth();

  enum class Wait { none, read, write };
  // Classifies the last SSL call by its return value `ret` (> 0: done): no error, an
  // error, or what to wait for; arms the deadline timer when waiting, and fails with
  // beast::error::timeout instead once the deadline has passed.
  boost::system::error_code step(int ret, Wait& wait);
  boost::system::error_code wait_error(boost::system::error_code ec) const;
  void arm();

  template <class It>
  boost::asio::const_buffer gather(It begin, It end) {
    if (begin == end) return {};
    It second = begin;
    ++second;
    if (second == end) return *begin;  // one buffer: no copy
    std::size_t used = 0;
    for (It it = begin; it != end && used < kGather; ++it) {
      boost::asio::const_buffer b = *it;
      std::size_t take = std::min(b.size(), kGather - used);
      std::memcpy(scratch().data() + used, b.data(), take);
      used += take;
    }
    return {scratch().data(), used};
  }
  // Per thread: a retried SSL_write may come from another thread with the same bytes in
  // another place, which SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER allows.
  static std::array<char, kGather>& scratch();

  Socket socket_;
  SSL* ssl_ = nullptr;
  boost::asio::steady_timer timer_;
  std::shared_ptr<Watch> watch_;
};

}  // namespace hookd::net
