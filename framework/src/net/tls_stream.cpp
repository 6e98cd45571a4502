// TlsStream's non-template half (see hookd/net/tls_stream.hpp): the SSL and its socket BIO,
// error mapping, and the deadline timer.
#include "hookd/net/tls_stream.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <cerrno>
#include <stdexcept>

namespace hookd::net {
namespace asio = boost::asio;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

// A socket BIO that sends with MSG_NOSIGNAL, so a peer that is gone gives EPIPE instead of
// SIGPIPE (hookd installs no SIGPIPE handler: plugins keep the default disposition).
int fd_of(BIO* bio) {
  return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(bio)));
}

bool would_block(int e) {
  return e == EAGAIN || e == EWOULDBLOCK || e == EINTR;
}

int bio_write(BIO* bio, const char* data, int len) {
  BIO_clear_retry_flags(bio);
  ssize_t n = ::send(fd_of(bio), data, static_cast<std::size_t>(len), MSG_NOSIGNAL);
  if (n < 0 && would_block(errno)) BIO_set_retry_write(bio);
  return static_cast<int>(n);
}

int bio_read(BIO* bio, char* out, int len) {
  BIO_clear_retry_flags(bio);
  ssize_t n = ::recv(fd_of(bio), out, static_cast<std::size_t>(len), 0);
  if (n < 0 && would_block(errno)) BIO_set_retry_read(bio);
  return static_cast<int>(n);
}

long bio_ctrl(BIO*, int cmd, long, void*) {
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

int bio_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

const BIO_METHOD* socket_method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "hookd socket");
    if (m == nullptr || BIO_meth_set_write(m, bio_write) != 1 ||
        BIO_meth_set_read(m, bio_read) != 1 || BIO_meth_set_ctrl(m, bio_ctrl) != 1 ||
        BIO_meth_set_create(m, bio_create) != 1) {
      throw std::runtime_error("cannot create the socket BIO method");
    }
    return m;  // lives as long as the process
  }();
  return method;
}

}  // namespace

// The deadline, shared with the timer's handler (which may run after the stream is gone).
struct TlsStream::Watch {
  Clock::time_point deadline = Clock::time_point::max();
  Clock::time_point armed_for = Clock::time_point::max();  // max: the timer is not waiting
  std::uint64_t generation = 0;
  bool timed_out = false;
  bool alive = true;
};

TlsStream::TlsStream(Socket socket, asio::ssl::context& context, Role role)
    : socket_(std::move(socket)),
      timer_(socket_.get_executor()),
      watch_(std::make_shared<Watch>()) {
  socket_.non_blocking(true);
  ssl_ = SSL_new(context.native_handle());
  BIO* bio = ssl_ ? BIO_new(socket_method()) : nullptr;
  if (bio == nullptr) {
    SSL_free(ssl_);
    throw std::runtime_error("cannot create an SSL connection");
  }
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(socket_.native_handle())));
  SSL_set_bio(ssl_, bio, bio);  // the SSL owns the BIO
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                         SSL_MODE_RELEASE_BUFFERS);
  if (role == Role::server) {
    SSL_set_accept_state(ssl_);
  } else {
    SSL_set_connect_state(ssl_);
  }
}

TlsStream::~TlsStream() {
  watch_->alive = false;
  SSL_free(ssl_);
}

int& TlsStream::inline_depth() {
  static thread_local int depth = 0;
  return depth;
}

std::array<char, TlsStream::kGather>& TlsStream::scratch() {
  static thread_local std::array<char, kGather> buffer;
  return buffer;
}

void TlsStream::expires_after(Clock::duration d) {
  watch_->deadline = Clock::now() + d;
  watch_->timed_out = false;
  // A timer waiting for a later time is moved; one waiting for an earlier time re-arms
  // itself when it fires.
  if (watch_->armed_for != Clock::time_point::max() && watch_->deadline < watch_->armed_for) {
    watch_->armed_for = Clock::time_point::max();
    arm();
  }
}

void TlsStream::expires_never() {
  watch_->deadline = Clock::time_point::max();
  watch_->timed_out = false;
}

void TlsStream::cancel() {
  socket_.cancel();
}

void TlsStream::arm() {
  Watch& w = *watch_;
  if (w.deadline == Clock::time_point::max() || w.armed_for != Clock::time_point::max()) return;
  w.armed_for = w.deadline;
  std::uint64_t generation = ++w.generation;
  timer_.expires_at(w.deadline);
  timer_.async_wait([this, watch = watch_, generation](error_code ec) {
    if (!watch->alive || generation != watch->generation) return;  // gone, or re-armed
    watch->armed_for = Clock::time_point::max();
    if (ec) return;
    if (Clock::now() >= watch->deadline) {
      watch->timed_out = true;
      socket_.cancel();  // the pending wait completes with operation_aborted → timeout
    } else {
      arm();  // the deadline moved later meanwhile
    }
  });
}

error_code TlsStream::wait_error(error_code ec) const {
  if (ec == asio::error::operation_aborted && watch_->timed_out)
    return boost::beast::error::timeout;
  return ec;
}

error_code TlsStream::step(int ret, Wait& wait) {
  wait = Wait::none;
  if (ret > 0) return {};
  int saved_errno = errno;
  int err = SSL_get_error(ssl_, ret);
  switch (err) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE: {
      if (watch_->timed_out || Clock::now() >= watch_->deadline) {
        watch_->timed_out = true;
        return boost::beast::error::timeout;
      }
      wait = err == SSL_ERROR_WANT_WRITE ? Wait::write : Wait::read;
      arm();
      return {};
    }
    case SSL_ERROR_ZERO_RETURN:
      return asio::error::eof;  // the peer's close_notify
    case SSL_ERROR_SYSCALL:
      if (ERR_peek_error() == 0) {
        ERR_clear_error();
        // EOF without close_notify, or a socket error (reset, broken pipe).
        return saved_errno == 0 ? error_code(asio::ssl::error::stream_truncated)
                                : error_code(saved_errno, boost::system::system_category());
      }
      [[fallthrough]];
    default: {
      unsigned long e = ERR_get_error();
      ERR_clear_error();
      if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        return asio::ssl::error::stream_truncated;
      }
      return error_code(static_cast<int>(e), asio::error::get_ssl_category());
    }
  }
}

}  // namespace hookd::net
